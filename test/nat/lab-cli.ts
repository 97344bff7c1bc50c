// Brings a lab up by hand and keeps it until Ctrl-C or stdin closes:
//   sudo node -r tsx/cjs test/nat/lab-cli.ts [--natA cone|cone-reject|fullcone|symmetric|open] [--natB ...]
//        [--delay MS] [--loss P] [--turn] [--second-pub]
// Prints one JSON line {"ev":"ready","prefix":...,"ns":{role: namespace},...}; then e.g.
//   ip netns exec <ns.hostA> ping 203.0.113.1
// The tests also use it as a child they crash on purpose (stale-cleanup and signal cases).

import { ADDR, createLab, NAT_KINDS, type Impairment, type NatKind } from './lab';

function opt(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function natKind(name: string): NatKind | undefined {
  const v = opt(name);
  if (v === undefined) return undefined;
  if (!(NAT_KINDS as readonly string[]).includes(v)) throw new Error(`--${name} must be one of ${NAT_KINDS.join(', ')}`);
  return v as NatKind;
}

async function main(): Promise<void> {
  const delay = Number(opt('delay') ?? 0);
  const loss = Number(opt('loss') ?? 0);
  const imp: Impairment = { delayMs: delay, loss };
  const lab = await createLab({
    natA: natKind('natA'),
    natB: natKind('natB'),
    secondPubAddress: process.argv.includes('--second-pub'),
    impair: { natA: imp, natB: imp },
    log: (m) => process.stderr.write(`${m}\n`),
  });
  const turn = process.argv.includes('--turn') ? await lab.startTurn({ secret: opt('turn-secret') ?? 'lab-secret' }) : undefined;
  process.stdout.write(
    `${JSON.stringify({
      ev: 'ready',
      pid: process.pid,
      prefix: lab.prefix,
      ns: lab.ns,
      addr: ADDR,
      turn: turn ? { url: turn.url, secret: turn.secret, realm: turn.realm, pid: turn.proc.pid } : undefined,
      forwarders: lab.processes().filter((p) => p.name.startsWith('delay-forwarder')).map((p) => p.pid),
    })}\n`,
  );
  process.stdin.resume();
  process.stdin.on('end', () => {
    void lab.destroy().then(() => process.exit(0));
  });
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
