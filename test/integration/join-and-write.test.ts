// `echo … | p2p-chat join …` into a room that already has several members, as real processes: the line
// is written before the joiner knows who is in the room, yet every member gets it exactly once, and the
// joiner reports it delivered (and exits 0) only after all of them acknowledged it. The rendezvous answers
// 300 ms late (its real sockets delay what they send), as a server across the internet would: on bare
// loopback the welcome would beat the line and hide the bug.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RendezvousServer } from '../../rendezvous/server';
import { createLogger } from '../../rendezvous/log';
import { impairedSocket, type ImpairedSocket } from '../helpers/impairedSocket';
import { ManagedProcess, spawnManaged, type JsonEvent } from '../helpers/proc';

const root = join(__dirname, '../..');
const PEER = join(root, 'dist/peer.js');

const connectedTo = (n: number) => (e: JsonEvent) => e.event === 'state' && (e.state as { kind: string; peers?: number }).kind === 'connected' && (e.state as { peers: number }).peers === n;
const messagesWith = (p: ManagedProcess, text: string) => p.events.filter((e) => e.event === 'message' && (e.body as { text?: string }).text === text);

describe('headless peer: a line piped in right after joining a room of several', function () {
  this.timeout(120000);
  const procs: ManagedProcess[] = [];
  let dir: string;
  let rendezvous: RendezvousServer | undefined;
  const sockets: ImpairedSocket[] = [];

  before(function () {
    if (!existsSync(PEER)) throw new Error('run `node scripts/build.mjs` first (the test command does)');
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'p2p-joinwrite-'));
  });
  afterEach(async () => {
    for (const p of procs.splice(0)) await p.kill(500);
    await rendezvous?.stop();
    for (const s of sockets.splice(0)) await s.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  for (const size of [3, 5]) {
    it(`room of ${size}: every one of the ${size - 1} members gets it exactly once; the sender reports delivered after all, and exits 0`, async () => {
      const main = await impairedSocket({ delayMs: 300 });
      const probe = await impairedSocket({ delayMs: 300 });
      sockets.push(main, probe);
      rendezvous = new RendezvousServer({ sockets: { main: main.socket, probe: probe.socket }, logger: createLogger({ level: 'error', sink: () => undefined }) });
      const { port, probePort } = await rendezvous.start();
      const server = `127.0.0.1:${port}`;
      const member = (args: string[], name: string) => {
        const p = spawnManaged(process.execPath, [PEER, ...args, '--name', name, '--json', '--stay', '--keepalive', '2', '--probe-port', String(probePort), '--data-dir', join(dir, name)], { name });
        procs.push(p);
        return p;
      };
      const first = member(['create', '--rendezvous', server], 'm0');
      const invite = (await first.waitForEvent((e) => e.event === 'ready', { timeoutMs: 10000, what: 'invite' })).invite as string;
      const members = [first];
      for (let i = 1; i < size - 1; i++) members.push(member(['join', invite], `m${i}`));
      await Promise.all(members.map((m) => m.waitForEvent(connectedTo(size - 2), { timeoutMs: 20000, what: `${m.name} in a mesh of ${size - 1}` })));

      // Literally `echo … | p2p-chat join …`: stdin ends at once; the peer lingers until delivered.
      const line = `hello from the newcomer ${size}`;
      const cmd = `echo '${line}' | '${process.execPath}' '${PEER}' join '${invite}' --name newcomer --json --linger 30 --probe-port ${probePort} --data-dir '${join(dir, 'newcomer')}'`;
      const joiner = spawnManaged('bash', ['-c', cmd], { name: 'newcomer' });
      procs.push(joiner);
      const exit = await joiner.waitForExit(40000);
      assert.equal(exit.code, 0, `exit code 0 (all delivered); output:\n${joiner.describe()}`);

      const sent = joiner.events.find((e) => e.event === 'sent');
      assert.ok(sent, 'the line was sent');
      const delivered = joiner.events.filter((e) => e.event === 'delivery' && e.id === sent.id && e.state === 'delivered');
      assert.equal(delivered.length, 1, 'one delivered mark');
      // Members print before they acknowledge, and the sender has left: nothing more can arrive once each
      // member's output has caught up with the line.
      await Promise.all(members.map((m) => m.waitForEvent((e) => e.event === 'message' && (e.body as { text?: string }).text === line, { timeoutMs: 5000, what: `${m.name} got the line` })));
      for (const m of members) {
        const got = messagesWith(m, line);
        assert.equal(got.length, 1, `${m.name} got it exactly once`);
        assert.ok((got[0].t as number) <= (delivered[0].t as number), `${m.name} printed it before the sender said delivered`);
      }
    });
  }
});
