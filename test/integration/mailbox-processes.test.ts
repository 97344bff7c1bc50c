// Offline delivery with real processes: the rendezvous binary with --data-dir and a short TTL, and two
// terminal peers that are never online at the same time. The receiver starts after the sender quit
// (and, in the second case, after the rendezvous was killed with SIGKILL and restarted on its data).
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeUdpPort } from '../helpers/freePort';
import { ManagedProcess, spawnManaged } from '../helpers/proc';

const root = join(__dirname, '../..');
const PEER = join(root, 'dist/peer.js');
const RENDEZVOUS = join(root, 'dist/rendezvous.js');

type Ev = Record<string, unknown>;
const isMsg = (e: Ev) => e.event === 'message';
const textOf = (e: Ev) => (e.body as { text: string }).text;

describe('offline delivery through the mailbox, real processes', function () {
  this.timeout(120_000);
  const procs: ManagedProcess[] = [];
  let dir: string;

  before(function () {
    if (!existsSync(PEER) || !existsSync(RENDEZVOUS)) throw new Error('run `node scripts/build.mjs` first (the test command does)');
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'p2p-mailbox-'));
  });
  afterEach(async () => {
    for (const p of procs.splice(0)) await p.kill(500);
    rmSync(dir, { recursive: true, force: true });
  });

  /** A free port whose successor (the probe port) is free too: a restart must get both back. */
  async function freePair(): Promise<number> {
    for (;;) {
      const p = await freeUdpPort();
      if (p >= 65535) continue;
      const ok = await new Promise<boolean>((resolve) => {
        const s = dgram.createSocket('udp4');
        s.once('error', () => resolve(false));
        s.bind(p + 1, '127.0.0.1', () => s.close(() => resolve(true)));
      });
      if (ok) return p;
    }
  }

  const rendezvous = async (port: number) => {
    const rv = spawnManaged(process.execPath, [RENDEZVOUS, '--host', '127.0.0.1', '--port', String(port), '--refresh', '2', '--data-dir', join(dir, 'server'), '--mailbox-ttl', '120']);
    procs.push(rv);
    await rv.waitForEvent((e) => e.event === 'listening', { timeoutMs: 10000, what: 'rendezvous listening' });
    return rv;
  };
  const peer = (args: string[], data: string) => {
    const p = spawnManaged(process.execPath, [PEER, ...args, '--json', '--stay', '--keepalive', '1', '--data-dir', join(dir, data)]);
    procs.push(p);
    return p;
  };

  for (const crash of [false, true]) {
    it(`A sends 100 to an offline B and quits; B starts later${crash ? ', after the server was killed with SIGKILL and restarted' : ''}: 100/100 in order, once; A returns and sees them delivered`, async () => {
      const port = await freePair();
      let rv = await rendezvous(port);
      const server = `127.0.0.1:${port}`;
      const a = peer(['create', '--rendezvous', server, '--name', 'Alice'], 'a');
      const invite = (await a.waitForEvent((e) => e.event === 'ready', { timeoutMs: 10000, what: 'invite' })).invite as string;
      const canaries = Array.from({ length: 100 }, (_, i) => `canary-${i}-${Math.random().toString(36).slice(2)}`);
      for (const c of canaries) a.writeLine(c);
      const deposited = new Set<string>();
      await a.waitForEvent(
        (e) => {
          if (e.event === 'mailbox' && e.kind === 'deposited') for (const id of e.ids as string[]) deposited.add(id);
          return deposited.size === 100;
        },
        { timeoutMs: 30000, what: '100 deposits acknowledged' },
      );
      const ids = a.events.filter((e) => e.event === 'sent').map((e) => e.id as string);
      assert.equal(ids.length, 100);
      assert.ok(!a.events.some((e) => e.event === 'delivery' && e.state === 'delivered'), 'nobody has fetched yet');
      await a.kill(2000); // A quits
      if (crash) {
        rv.killSync(); // right after the acknowledgements: they must be on disk
        await rv.exited;
        const dump = Buffer.concat(readdirSync(join(dir, 'server')).map((f) => readFileSync(join(dir, 'server', f))));
        for (const c of canaries) assert.ok(!dump.includes(Buffer.from(c)), `${c} in the server's data`);
        rv = await rendezvous(port);
      }
      const b = peer(['join', invite, '--name', 'Bob'], 'b');
      await b.waitForEvent((e) => isMsg(e) && textOf(e) === canaries[99], { timeoutMs: 30000, what: 'B catches up' }).catch((e) => {
        throw new Error(`${(e as Error).message}\n${b.describe()}\n${rv.describe()}`);
      });
      await b.waitForEvent((e) => e.event === 'mailbox' && e.kind === 'receipted', { timeoutMs: 10000, what: 'B deposits its receipt' });
      const got = b.events.filter(isMsg);
      assert.deepEqual(got.map(textOf), canaries, '100/100, in order, once each');
      assert.deepEqual(got.map((e) => e.id), ids, 'the same message ids');
      assert.ok(got.every((e) => e.name === 'Alice'));
      await b.kill(2000); // B leaves before A comes back: the receipt has to travel through the mailbox
      const a2 = peer(['join', invite, '--name', 'Alice'], 'a');
      // Printed right after `ready`, before anything from the network: A still owes all 100.
      let pending = 0;
      await a2.waitForEvent((e) => e.event === 'pending' && ++pending === 100, { timeoutMs: 10000, what: 'A back, owing 100' });
      const delivered = new Set<string>();
      await a2.waitForEvent(
        (e) => {
          if (e.event === 'delivery' && e.state === 'delivered') delivered.add(e.id as string);
          return delivered.size === 100;
        },
        { timeoutMs: 30000, what: 'A sees 100 delivered' },
      );
      assert.deepEqual([...delivered].sort(), [...ids].sort());
      assert.ok(!a2.events.some((e) => e.event === 'state' && (e.state as { kind: string }).kind === 'connected'), 'A and B were never connected');
    });
  }
});
