// Rendezvous registrations answered per CPU-second, against coturn's STUN Binding answers per
// CPU-second and a bare Node dgram STUN responder, all offered the same packets per second by one
// load-generator process. Server CPU is read from /proc/<pid>/stat (utime + stime, every thread)
// over the measured window, so other load on the shared cores does not enter the figure.
import { bundle } from './lib/bundle';
import { cpuSeconds, startChild } from './lib/proc';
import { ensureCoturn, ServerProcess, startBareStun, startCoturn, startRendezvousProcess } from './lib/servers';
import { fmt, si, sleep } from './lib/stats';
import type { BenchContext, BenchResult, Row } from './lib/types';
import type { LoadSpec } from './children/loadgen';

const TARGET_VS_COTURN = 0.65;

export interface ServerLoad {
  server: string;
  mode: 'stun' | 'register' | 'topics';
  offeredPerSecond: number;
  answers: number;
  sentInWindow: number;
  windowSeconds: number;
  serverCpuSeconds: number;
  answersPerCpuSecond: number;
  /** Server CPU over the window as a share of one core. */
  serverCpuShare: number;
  answeredShare: number;
  setupSeconds: number;
  /** CPU seconds of `extraPids` (e.g. a Redis the server uses) over the same window. */
  extraCpuSeconds?: number;
}

export async function measureLoad(server: ServerProcess, mode: 'stun' | 'register' | 'topics', opts: { rate: number; warmupMs: number; measureMs: number; members: number; sockets: number; extraPids?: number[] }): Promise<ServerLoad> {
  const spec: LoadSpec = { mode, host: '127.0.0.1', port: server.port, rate: opts.rate, sockets: opts.sockets, members: opts.members };
  const gen = startChild(process.execPath, [bundle('bench/children/loadgen.ts'), JSON.stringify(spec)]);
  try {
    const ready = await gen.waitFor((m) => m.ready === true, 120_000);
    const from = Date.now() + 50 + opts.warmupMs;
    const to = from + opts.measureMs;
    gen.proc.stdin!.write(JSON.stringify({ from, to }) + '\n');
    await sleep(from - Date.now());
    const extra = () => (opts.extraPids ?? []).reduce((t, pid) => t + cpuSeconds(pid), 0);
    const c0 = cpuSeconds(server.pid);
    const e0 = extra();
    await sleep(to - Date.now());
    const c1 = cpuSeconds(server.pid);
    const e1 = extra();
    const done = await gen.waitFor((m) => m.done === true, 30_000);
    const answers = done.answers as number;
    const cpu = c1 - c0;
    const windowSeconds = opts.measureMs / 1000;
    return {
      server: server.name,
      mode,
      offeredPerSecond: opts.rate,
      answers,
      sentInWindow: done.sentInWindow as number,
      windowSeconds,
      serverCpuSeconds: cpu,
      answersPerCpuSecond: answers / cpu,
      serverCpuShare: cpu / windowSeconds,
      answeredShare: answers / Math.max(1, done.sentInWindow as number),
      setupSeconds: ready.setupSeconds as number,
      ...(opts.extraPids ? { extraCpuSeconds: e1 - e0 } : {}),
    };
  } finally {
    await gen.stop();
  }
}

export async function rendezvousLoad(ctx: BenchContext): Promise<BenchResult> {
  const rate = Number(process.env.BENCH_RZ_RATE ?? 20_000);
  const rounds = ctx.quick ? 1 : 3;
  const opts = { rate, warmupMs: ctx.quick ? 500 : 1000, measureMs: ctx.quick ? 1500 : 3000, members: ctx.quick ? 500 : 2000, sockets: 8 };
  const coturnMissing = ensureCoturn(ctx.log);
  const servers: ServerProcess[] = [];
  const all: ServerLoad[] = [];
  try {
    if (!coturnMissing) servers.push(await startCoturn());
    servers.push(await startBareStun());
    servers.push(await startRendezvousProcess());
    // Rounds alternate the servers, so a burst of load from elsewhere does not land on one alone.
    for (let round = 0; round < rounds; round++) {
      for (const server of servers) {
        for (const mode of server.name === 'rendezvous' ? (['stun', 'register'] as const) : (['stun'] as const)) {
          const r = await measureLoad(server, mode, opts);
          ctx.log(`${server.name} ${mode}: ${si(r.answersPerCpuSecond)} answers/CPU-s (server CPU ${fmt(r.serverCpuShare * 100)} %, answered ${fmt(r.answeredShare * 100, 1)} % of ${si(r.sentInWindow)})`);
          all.push(r);
        }
      }
    }
  } finally {
    for (const s of servers) await s.stop();
  }
  // Per server and load: the round with the median answers per CPU-second.
  const results: ServerLoad[] = [];
  for (const key of [...new Set(all.map((r) => `${r.server}|${r.mode}`))]) {
    const rs = all.filter((r) => `${r.server}|${r.mode}` === key).sort((a, b) => a.answersPerCpuSecond - b.answersPerCpuSecond);
    results.push(rs[(rs.length - 1) >> 1]);
  }

  const get = (server: string, mode: string) => results.find((r) => r.server === server && r.mode === mode);
  const coturn = get('coturn', 'stun');
  const bare = get('bare Node STUN', 'stun')!;
  const rzStun = get('rendezvous', 'stun')!;
  const rzReg = get('rendezvous', 'register')!;
  const ref = (x: ServerLoad) => `${si(x.answersPerCpuSecond)}/CPU-s`;
  const refs = `${coturn ? `coturn STUN ${ref(coturn)}; ` : ''}bare Node STUN ${ref(bare)}`;
  const rows: Row[] = [
    {
      what: 'rendezvous: registrations answered per CPU-second (cookie-verified register → welcome carrying the member list)',
      figure: ref(rzReg),
      reference: refs,
      ...(coturn
        ? { ratio: rzReg.answersPerCpuSecond / coturn.answersPerCpuSecond, ratioNote: '× coturn', target: `≥ ${TARGET_VS_COTURN}× coturn`, met: rzReg.answersPerCpuSecond / coturn.answersPerCpuSecond >= TARGET_VS_COTURN }
        : { ratio: rzReg.answersPerCpuSecond / bare.answersPerCpuSecond, ratioNote: '× bare Node (coturn missing)' }),
    },
    {
      what: 'rendezvous: STUN Binding answers per CPU-second (its rate-limited STUN lane)',
      figure: ref(rzStun),
      reference: refs,
      ratio: rzStun.answersPerCpuSecond / (coturn ?? bare).answersPerCpuSecond,
      ratioNote: coturn ? '× coturn' : '× bare Node',
    },
    {
      what: 'bare Node dgram STUN responder per CPU-second (the ceiling for a Node server)',
      figure: ref(bare),
      reference: coturn ? `coturn STUN ${ref(coturn)}` : 'coturn unavailable',
      ...(coturn ? { ratio: bare.answersPerCpuSecond / coturn.answersPerCpuSecond, ratioNote: '× coturn' } : {}),
    },
  ];
  const line = (r: ServerLoad) =>
    `| ${r.server} | ${r.mode} | ${fmt(r.answers)} in ${fmt(r.windowSeconds, 1)} s | ${fmt(r.answeredShare * 100, 1)} % | ${fmt(r.serverCpuSeconds, 2)} s (${fmt(r.serverCpuShare * 100)} % of a core) | ${fmt(r.answersPerCpuSecond)} |`;
  return {
    id: 'rendezvous',
    title: 'Rendezvous answers per CPU-second',
    method: `Each server runs as its own process on loopback; one load-generator process (${opts.sockets} sockets) offers ${fmt(rate)} packets/s to each in turn (warm-up ${opts.warmupMs / 1000} s, then ${opts.measureMs / 1000} s measured; ${rounds} round${rounds > 1 ? 's' : ''} alternating the servers, the median round reported) and counts answers; the server's CPU time (utime + stime of all its threads, /proc/<pid>/stat) over the same window gives answers per CPU-second. coturn ${coturnMissing ? `unavailable (${coturnMissing})` : '4.x from Debian, `--stun-only`, default threads'}; the bare responder is bench/children/bareStun.ts; the rendezvous is rendezvous/cli.ts bundled by esbuild from the current sources with its rate limits raised (all load comes from one address). Register load: ${opts.members} members in rooms of two, joined before the window; in the window each register carries a valid cookie and is answered with one welcome carrying the other member's record.`,
    rows,
    details: ['| server | load | answers | answered | server CPU | answers per CPU-s |', '|---|---|---|---|---|---|', ...results.map(line), '', `All rounds, answers per CPU-second: ${[...new Set(all.map((r) => `${r.server} ${r.mode}`))].map((k) => `${k} ${all.filter((r) => `${r.server} ${r.mode}` === k).map((r) => si(r.answersPerCpuSecond)).join(' / ')}`).join('; ')}.`],
    raw: { results: all },
  };
}
