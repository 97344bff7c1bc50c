// Room names with the terminal peer as real processes and the real rendezvous on loopback UDP: the
// creator's --room-name is in the invite (sealed), a "/name" line renames the room for every member, a
// member who was not running meanwhile learns the new name when it comes back, and the rendezvous's
// traffic never carries the name.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseInvite } from '../../extension/core/invite';
import { ManagedProcess, spawnManaged } from '../helpers/proc';

const root = join(__dirname, '../..');
const PEER = join(root, 'dist/peer.js');
const RENDEZVOUS = join(root, 'dist/rendezvous.js');

type Ev = Record<string, unknown>;
const connected = (e: Ev) => e.event === 'state' && (e.state as { kind: string }).kind === 'connected';
const named = (name: string) => (e: Ev) => e.event === 'roomName' && e.name === name;

describe('terminal peer: room names (real processes, loopback)', function () {
  this.timeout(90000);
  const procs: ManagedProcess[] = [];
  let dir: string;

  before(function () {
    if (!existsSync(PEER) || !existsSync(RENDEZVOUS)) throw new Error('run `node scripts/build.mjs` first (the test command does)');
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'p2p-roomname-'));
  });
  afterEach(async () => {
    for (const p of procs.splice(0)) await p.kill(500);
    rmSync(dir, { recursive: true, force: true });
  });

  const peer = (args: string[], data: string) => {
    const p = spawnManaged(process.execPath, [PEER, ...args, '--json', '--stay', '--keepalive', '1', '--data-dir', join(dir, data)], { name: data });
    procs.push(p);
    return p;
  };

  it('create --room-name seals it into the invite; /name renames for everyone; a returning member converges; the server never sees it', async () => {
    // Every datagram to and from the rendezvous passes through a relay in this process, which looks for the names.
    const rv = spawnManaged(process.execPath, [RENDEZVOUS, '--host', '127.0.0.1', '--port', '0', '--refresh', '2']);
    procs.push(rv);
    const listening = await rv.waitForEvent((e) => e.event === 'listening', { timeoutMs: 10000, what: 'rendezvous listening' });
    const seen: Buffer[] = [];
    const relay = createSocket('udp4');
    const clients = new Map<string, { address: string; port: number }>();
    const upstream = new Map<string, ReturnType<typeof createSocket>>();
    relay.on('message', (msg, from) => {
      seen.push(Buffer.from(msg));
      const key = `${from.address}:${from.port}`;
      let up = upstream.get(key);
      if (!up) {
        up = createSocket('udp4');
        up.on('message', (reply) => {
          seen.push(Buffer.from(reply));
          relay.send(reply, from.port, from.address);
        });
        upstream.set(key, up);
        clients.set(key, from);
      }
      up.send(msg, listening.port as number, '127.0.0.1');
    });
    await new Promise<void>((r) => relay.bind(0, '127.0.0.1', () => r()));
    const server = `127.0.0.1:${relay.address().port}`;
    try {
      const alice = peer(['create', '--rendezvous', server, '--name', 'Alice', '--room-name', 'Release planning'], 'a');
      const ready = await alice.waitForEvent((e) => e.event === 'ready', { timeoutMs: 10000, what: 'invite' });
      const invite = ready.invite as string;
      assert.equal(ready.roomName, 'Release planning');
      const parsed = parseInvite(invite);
      assert.ok(parsed.ok && parsed.invite.name === 'Release planning', `the invite carries the name: ${invite}`);
      assert.ok(!invite.includes('Release'), 'sealed, not readable');

      const bob = peer(['join', invite, '--name', 'Bob'], 'b');
      const bobReady = await bob.waitForEvent((e) => e.event === 'ready', { timeoutMs: 10000, what: 'Bob ready' });
      assert.equal(bobReady.roomName, 'Release planning', 'known from the invite before any member says so');
      const carol = peer(['join', invite, '--name', 'Carol'], 'c');
      await Promise.all([alice, bob, carol].map((p) => p.waitForEvent((e) => connected(e) && (e.state as { peers: number }).peers === 2, { timeoutMs: 20000, what: `${p.name} connected to both` })));
      // Alice's record (lamport 1) reached both, over the links.
      await bob.waitForEvent((e) => named('Release planning')(e) && e.byName === 'Alice', { timeoutMs: 10000, what: "Bob got Alice's record" });

      // Carol stops; Bob renames; Alice follows at once.
      await carol.kill(2000);
      procs.splice(procs.indexOf(carol), 1);
      bob.writeLine('/name Release 2.0 planning');
      await alice.waitForEvent((e) => named('Release 2.0 planning')(e) && e.byName === 'Bob', { timeoutMs: 10000, what: 'Alice got the rename' });
      // Carol comes back with the same data directory: whoever she meets tells her.
      const carol2 = peer(['join', invite, '--name', 'Carol'], 'c');
      const back = await carol2.waitForEvent((e) => e.event === 'ready', { timeoutMs: 10000, what: 'Carol back' });
      assert.equal(back.roomName, 'Release planning', 'she remembers the old name until told');
      await carol2.waitForEvent(named('Release 2.0 planning'), { timeoutMs: 20000, what: 'Carol converged' });
      // "/name" alone prints it.
      carol2.writeLine('/name');
      await carol2.waitForEvent((e) => named('Release 2.0 planning')(e) && e.lamport === undefined, { timeoutMs: 5000, what: '/name prints the name' });

      // Nothing the rendezvous sent or received carries either name, in any encoding we know of.
      assert.ok(seen.length > 10, `the relay saw the rendezvous traffic (${seen.length} datagrams)`);
      const all = Buffer.concat(seen);
      for (const name of ['Release planning', 'Release 2.0 planning', 'Release']) {
        for (const enc of [Buffer.from(name, 'utf8'), Buffer.from(name, 'utf16le'), Buffer.from(Buffer.from(name).toString('base64'))]) {
          assert.equal(all.indexOf(enc), -1, `the rendezvous traffic contains ${JSON.stringify(name)}`);
        }
      }
    } finally {
      relay.close();
      for (const s of upstream.values()) s.close();
    }
  });

  it('--room-name with join renames once (not again on a rerun with the same name); an empty one is a usage error', async () => {
    const rv = spawnManaged(process.execPath, [RENDEZVOUS, '--host', '127.0.0.1', '--port', '0', '--refresh', '2']);
    procs.push(rv);
    const listening = await rv.waitForEvent((e) => e.event === 'listening', { timeoutMs: 10000, what: 'rendezvous listening' });
    const server = `127.0.0.1:${listening.port}`;
    const alice = peer(['create', '--rendezvous', server, '--name', 'Alice'], 'a');
    const invite = (await alice.waitForEvent((e) => e.event === 'ready', { timeoutMs: 10000, what: 'invite' })).invite as string;
    assert.equal(parseInvite(invite).ok && (parseInvite(invite) as { invite: { name?: string } }).invite.name, undefined, 'no --room-name: no name in the invite');
    const bob = peer(['join', invite, '--name', 'Bob', '--room-name', 'Ops'], 'b');
    await alice.waitForEvent(named('Ops'), { timeoutMs: 20000, what: 'Alice learns the name Bob gave' });
    await bob.kill(2000);
    procs.splice(procs.indexOf(bob), 1);
    const bob2 = peer(['join', invite, '--name', 'Bob', '--room-name', 'Ops'], 'b');
    await bob2.waitForEvent(connected, { timeoutMs: 20000, what: 'Bob back' });
    const r = await bob2.waitForEvent((e) => e.event === 'ready', { timeoutMs: 1000, what: 'ready' });
    assert.equal(r.roomName, 'Ops');
    // Not renamed again: the record stays at Lamport time 1.
    await new Promise((res) => setTimeout(res, 1500));
    assert.ok(!bob2.events.some((e) => e.event === 'roomName' && (e.lamport as number) > 1), JSON.stringify(bob2.events.filter((e) => e.event === 'roomName')));
    const bad = spawnManaged(process.execPath, [PEER, 'join', invite, '--room-name', ' \u200b ', '--data-dir', join(dir, 'x')]);
    procs.push(bad);
    assert.equal((await bad.exited).code, 2);
  });
});
