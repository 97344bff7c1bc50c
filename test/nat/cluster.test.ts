// A room split across two rendezvous instances, behind real NATs: the instances share a real
// redis-server (inside the lab's public namespace), peer A registers with one and peer B with the
// other (same room secret, invites naming different instances), and they must still meet and chat,
// through cone and symmetric NATs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsonEvent, ManagedProcess } from '../helpers/proc';
import { redisMissing } from '../helpers/redis';
import { ADDR, NatKind } from './lab';
import { useLab } from './mocha-lab';

const root = join(__dirname, '../..');
const isType = (t: string) => (e: JsonEvent) => e.event === t;
const text = (t: string) => (e: JsonEvent) => e.event === 'message' && (e.body as { text?: string }).text === t;

describe('NAT lab: a room split across two instances sharing Redis', function () {
  this.timeout(180_000);
  const h = useLab({ natA: 'cone', natB: 'cone', resetBetween: true });
  const procs: ManagedProcess[] = [];
  let dir: string;

  beforeEach(() => {
    const missing = redisMissing();
    if (missing) throw new Error(missing);
    dir = mkdtempSync(join(tmpdir(), 'p2p-natcluster-'));
  });
  afterEach(async () => {
    for (const p of procs.splice(0).reverse()) await p.kill(300);
    rmSync(dir, { recursive: true, force: true });
  });

  for (const [natA, natB] of [
    ['cone', 'cone'],
    ['cone', 'symmetric'],
  ] as [NatKind, NatKind][]) {
    it(`A (${natA}) on instance 1, B (${natB}) on instance 2: they meet through Redis and chat`, async function () {
      const lab = h.lab;
      if (!lab) this.skip();
      lab.setNat('natA', natA);
      lab.setNat('natB', natB);
      const redisPort = 6390;
      const redis = lab.spawnIn('pub', 'redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', '', '--protected-mode', 'no', '--loglevel', 'warning']);
      procs.push(redis);
      await waitForTcp(lab, redisPort);
      const url = `redis://127.0.0.1:${redisPort}`;
      for (const port of [7000, 7100]) {
        const rv = lab.spawnNode('pub', join(root, 'dist/rendezvous.js'), ['--host', ADDR.pub, '--port', String(port), '--redis', url, '--log-level', 'warn']);
        procs.push(rv);
        await lab.waitForUdpListener('pub', ADDR.pub, port, 5000, rv);
      }
      const common = ['--json', '--stay', '--keepalive', '5'];
      const a = lab.spawnNode('hostA', join(root, 'dist/peer.js'), ['create', '--name', 'A', '--rendezvous', `${ADDR.pub}:7000`, '--data-dir', join(dir, 'a'), ...common]);
      procs.push(a);
      const invite = (await a.waitForEvent(isType('ready'), { timeoutMs: 10000, what: 'A ready' })).invite as string;
      // The same room secret, naming the other instance: B lands there.
      const other = invite.replace(`@${ADDR.pub}:7000`, `@${ADDR.pub}:7100`);
      if (other === invite) throw new Error(`unexpected invite ${invite}`);
      const b = lab.spawnNode('hostB', join(root, 'dist/peer.js'), ['join', other, '--name', 'B', '--data-dir', join(dir, 'b'), ...common]);
      procs.push(b);
      await b.waitForEvent(isType('link'), { timeoutMs: 30000, what: 'B linked' });
      await a.waitForEvent(isType('link'), { timeoutMs: 30000, what: 'A linked' });
      const mark = b.mark();
      a.writeLine('across instances');
      await b.waitForEvent(text('across instances'), { timeoutMs: 10000, from: mark, what: 'message from A' });
    });
  }

  it('a DM split across the instances (cone ↔ cone): request, accept and messages both ways through Redis-shared topics', async function () {
    const lab = h.lab;
    if (!lab) this.skip();
    lab.setNat('natA', 'cone');
    lab.setNat('natB', 'cone');
    const redisPort = 6391;
    const redis = lab.spawnIn('pub', 'redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', '', '--protected-mode', 'no', '--loglevel', 'warning']);
    procs.push(redis);
    await waitForTcp(lab, redisPort);
    const url = `redis://127.0.0.1:${redisPort}`;
    for (const port of [7000, 7100]) {
      const rv = lab.spawnNode('pub', join(root, 'dist/rendezvous.js'), ['--host', ADDR.pub, '--port', String(port), '--redis', url, '--log-level', 'warn', '--refresh', '5']);
      procs.push(rv);
      await lab.waitForUdpListener('pub', ADDR.pub, port, 5000, rv);
    }
    const PEER = join(root, 'dist/peer.js');
    const one = `${ADDR.pub}:7000`; // bob's only instance
    const two = `${ADDR.pub}:7100`; // alice's only instance
    const A = join(dir, 'a');
    const B = join(dir, 'b');
    const oneShot = async (role: 'hostA' | 'hostB', args: string[]) => {
      const p = lab.spawnNode(role, PEER, [...args, '--json']);
      procs.push(p);
      const exit = await p.waitForExit(30000);
      if (exit.code !== 0) throw new Error(`${args[0]} failed:\n${p.describe()}`);
      return [...p.events];
    };
    const bobWatch = lab.spawnNode('hostB', PEER, ['contacts', '--watch', '--json', '--rendezvous', one, '--data-dir', B]);
    procs.push(bobWatch);
    await bobWatch.waitForEvent(isType('online'), { timeoutMs: 10000, what: 'bob online on instance 1' });
    const link = (await oneShot('hostB', ['contacts', 'link', '--rendezvous', one, '--name', 'bob', '--data-dir', B])).find(isType('link'))!;
    await oneShot('hostA', ['contacts', 'add-link', String(link.link), '--name', 'alice', '--note', 'split', '--rendezvous', two, '--data-dir', A]);
    const req = await bobWatch.waitForEvent(isType('request'), { timeoutMs: 10000, what: 'request from instance 2 to instance 1' });
    await oneShot('hostB', ['accept', String(req.id), '--rendezvous', one, '--data-dir', B]);
    await bobWatch.kill(1000);
    const a = lab.spawnNode('hostA', PEER, ['dm', 'bob', '--json', '--stay', '--rendezvous', two, '--data-dir', A]);
    const b = lab.spawnNode('hostB', PEER, ['dm', 'alice', '--json', '--stay', '--rendezvous', one, '--data-dir', B]);
    procs.push(a, b);
    await a.waitForEvent(isType('ready'), { timeoutMs: 10000 });
    await b.waitForEvent(isType('ready'), { timeoutMs: 10000 });
    a.writeLine('split but together');
    await b.waitForEvent(text('split but together'), { timeoutMs: 30000, what: 'DM from alice (instance 2) to bob (instance 1)' });
    b.writeLine('and back');
    await a.waitForEvent(text('and back'), { timeoutMs: 15000, what: 'reply' });
  });
});

async function waitForTcp(lab: NonNullable<ReturnType<typeof useLab>['lab']>, port: number): Promise<void> {
  const end = Date.now() + 10_000;
  while (Date.now() < end) {
    const out = lab.run('pub', 'redis-cli', ['-p', String(port), 'ping'], { allowFail: true });
    if (out.includes('PONG')) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('redis-server did not answer in the lab namespace');
}
