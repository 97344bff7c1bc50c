// The editor's contacts service (extension/ui/contacts/contactsService.ts) and its DM sessions
// (RoomSession with a 'dm' target) against a real rendezvous on loopback, real UDP sockets, no editor:
// both sign up; Bob adds Alice by handle (the fingerprint is the directory record's); Alice accepts;
// presence turns online on both sides; they DM both ways; Alice goes away, Bob writes 3 messages,
// Alice comes back: the 3 arrive through the mailbox and Bob's marks turn delivered.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSigningKey } from '../../extension/core/account/signing';
import type { IncomingRequest } from '../../extension/core/contacts/requests';
import { fingerprint, generateKeyPair, type KeyPair } from '../../extension/core/noise';
import type { ChatMessage, DeliveryState } from '../../extension/core/types';
import { ContactsService } from '../../extension/ui/contacts/contactsService';
import { RoomSession } from '../../extension/ui/roomSession';
import { silentLogger } from '../../rendezvous/log';
import { RendezvousServer } from '../../rendezvous/server';

const REFRESH_S = 2;

function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const check = () => {
      if (cond()) return resolve();
      if (Date.now() - started > timeoutMs) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(check, 20);
    };
    check();
  });
}

interface User {
  name: string;
  dir: string;
  identity: KeyPair;
  service: ContactsService;
  requests: IncomingRequest[];
  accepted: string[];
  knocks: string[];
}

describe('contacts service: sign up, add by handle, accept, presence, DMs and the mailbox over a real rendezvous', function () {
  this.timeout(60000);
  let server: RendezvousServer;
  let port: number;
  let root: string;
  const users: User[] = [];
  const sessions: RoomSession[] = [];

  beforeEach(async () => {
    server = new RendezvousServer({ port: 0, host: '127.0.0.1', logger: silentLogger, refreshSeconds: REFRESH_S });
    port = (await server.start()).port;
    root = mkdtempSync(join(tmpdir(), 'p2p-contacts-service-'));
  });

  afterEach(async () => {
    for (const s of sessions.splice(0)) await s.stop().catch(() => undefined);
    for (const u of users.splice(0)) await u.service.stop();
    await server.stop();
    rmSync(root, { recursive: true, force: true });
  });

  function user(name: string): User {
    const identity = generateKeyPair();
    const dir = join(root, name);
    const u: User = {
      name,
      dir,
      identity,
      requests: [],
      accepted: [],
      knocks: [],
      service: new ContactsService({ dataDir: dir, identity, signing: generateSigningKey(), configuredServer: () => ({ host: '127.0.0.1', port }) }),
    };
    u.service.events = {
      request: (r) => u.requests.push(r),
      accepted: (c) => u.accepted.push(c.staticKey),
      knock: (c) => u.knocks.push(c.staticKey),
    };
    users.push(u);
    return u;
  }

  interface DmLog {
    messages: ChatMessage[];
    deliveries: Map<string, DeliveryState>;
    deposited: Set<string>;
  }

  function dm(u: User, peer: User, log: DmLog): RoomSession {
    const target = u.service.dmTarget(peer.identity.publicKey.toString('hex'));
    assert.ok(target, `${u.name} has ${peer.name} as an accepted contact`);
    const s = new RoomSession({ target, identity: u.identity, name: u.name, storageDir: u.dir });
    s.setEvents({
      message: (m) => log.messages.push(m),
      delivery: (id, d) => log.deliveries.set(id, d),
      mailbox: (n) => {
        if (n.kind === 'deposited') for (const id of n.ids ?? []) log.deposited.add(id);
      },
    });
    sessions.push(s);
    return s;
  }

  it('the story of issue #13 without an editor', async () => {
    const alice = user('alice');
    const bob = user('bob');
    const server0 = { host: '127.0.0.1', port };

    // Both sign up; a taken handle and a bad one are refused with the rule's words.
    const a = await alice.service.signUp('Alice', 'Alice A.', server0);
    assert.ok(a.ok, !a.ok ? a.message : '');
    assert.equal(a.account.address, `alice@127.0.0.1:${port}`);
    const b = await bob.service.signUp('bob', 'Bob B.', server0);
    assert.ok(b.ok, !b.ok ? b.message : '');
    const taken = await user('mallory').service.signUp('alice', 'Not Alice', server0);
    assert.ok(!taken.ok && /taken|exists|claimed/i.test(taken.message), JSON.stringify(taken));
    const bad = await bob.service.signUp('b!', 'x', server0);
    assert.ok(!bad.ok && /3–32 characters/.test(bad.message), JSON.stringify(bad));
    assert.ok(alice.service.online && bob.service.online, 'signed-up users are online');

    // Bob looks Alice up: the fingerprint he is shown is her key's.
    const found = await bob.service.resolveTarget(`alice@127.0.0.1:${port}`);
    assert.ok(found.ok, !found.ok ? found.message : '');
    assert.equal(found.target.fingerprint, fingerprint(alice.identity.publicKey));
    assert.equal(found.target.displayName, 'Alice A.');
    const missing = await bob.service.resolveTarget(`nobody@127.0.0.1:${port}`);
    assert.ok(!missing.ok && /no such account/.test(missing.message));

    const added = await bob.service.addContact(found.target, 'hi, Bob from the standup');
    assert.ok(added.ok);
    assert.equal(added.contact.state, 'requested');
    await until(() => alice.requests.length === 1, 10000, 'the request at Alice');
    const req = alice.requests[0];
    assert.equal(req.displayName, 'Bob B.');
    assert.equal(req.handle, `bob@127.0.0.1:${port}`);
    assert.equal(req.note, 'hi, Bob from the standup');
    assert.deepEqual(alice.service.requests().map((r) => r.id), [req.id]);

    const t0 = Date.now();
    const acc = alice.service.accept(req.id);
    assert.ok(acc.ok);
    assert.equal(alice.service.requests().length, 0);
    const bobKey = bob.identity.publicKey.toString('hex');
    const aliceKey = alice.identity.publicKey.toString('hex');
    await until(() => bob.accepted.includes(aliceKey) && bob.service.status(aliceKey) === 'online' && alice.service.status(bobKey) === 'online', 10000, 'both online');
    const onlineMs = Date.now() - t0;
    assert.ok(onlineMs < 2000 + 1000, `online after ${onlineMs} ms (issue #11: within 2 s)`);
    assert.equal(bob.service.contact(aliceKey)?.state, 'accepted');

    // Away is seen as away.
    alice.service.setOwnPresence('away');
    await until(() => bob.service.status(aliceKey) === 'away', 6000, 'away at Bob');
    alice.service.setOwnPresence('online');
    await until(() => bob.service.status(aliceKey) === 'online', 6000, 'online again at Bob');

    // DMs both ways: same conversation id on both sides.
    assert.equal(alice.service.conversationId(bobKey), bob.service.conversationId(aliceKey));
    const aliceLog: DmLog = { messages: [], deliveries: new Map(), deposited: new Set() };
    const bobLog: DmLog = { messages: [], deliveries: new Map(), deposited: new Set() };
    const bobDm = dm(bob, alice, bobLog);
    await bobDm.start();
    // Bob's DM knocks on Alice's presence socket: the app opens hers in the background.
    await until(() => alice.knocks.includes(bobKey), 10000, 'the knock at Alice');
    let aliceDm = dm(alice, bob, aliceLog);
    await aliceDm.start();
    const hello = bobDm.send({ kind: 'text', text: 'hello Alice' });
    await until(() => aliceLog.messages.some((m) => m.id === hello.id), 10000, 'Bob → Alice');
    const reply = aliceDm.send({ kind: 'text', text: 'hi Bob' });
    await until(() => bobLog.messages.some((m) => m.id === reply.id), 10000, 'Alice → Bob');
    await until(() => bobLog.deliveries.get(hello.id) === 'delivered', 10000, 'hello delivered');

    // Appear offline with the DM open: Bob sees her offline (both her registrations turn watcher), yet
    // she can still send to him.
    alice.service.setOwnPresence('offline');
    aliceDm.setOwnPresence('offline');
    await until(() => bob.service.status(aliceKey) === 'offline', 5000 + 1000, 'Alice appearing offline at Bob');
    const hidden = aliceDm.send({ kind: 'text', text: 'sent while appearing offline' });
    await until(() => bobLog.messages.some((m) => m.id === hidden.id), 10000, 'the hidden one at Bob');
    alice.service.setOwnPresence('online');
    aliceDm.setOwnPresence('online');
    await until(() => bob.service.status(aliceKey) === 'online', 6000, 'Alice visible again at Bob');

    // Alice closes her editor: her DM and presence go (gracefully), Bob sees her offline.
    await aliceDm.stop();
    await alice.service.stop();
    await until(() => bob.service.status(aliceKey) === 'offline', 5000 + 1000, 'Alice offline at Bob');
    const three = [1, 2, 3].map((i) => bobDm.send({ kind: 'text', text: `while you were away ${i}` }));
    // Deposited in the pair's mailbox (nobody to deliver to directly).
    await until(() => three.every((m) => bobLog.deposited.has(m.id)), 15000, 'the three deposited');
    assert.ok(three.every((m) => bobLog.deliveries.get(m.id) !== 'delivered'), 'not delivered while Alice is away');

    // Alice reopens: a new service and DM session on the same files.
    const again = new ContactsService({ dataDir: alice.dir, identity: alice.identity, signing: generateSigningKey(), configuredServer: () => server0 });
    users.push({ ...alice, service: again });
    await again.start();
    aliceLog.messages.length = 0;
    aliceDm = dm({ ...alice, service: again }, bob, aliceLog);
    await aliceDm.start();
    await until(() => three.every((m) => aliceLog.messages.some((x) => x.id === m.id)), 20000, 'the three at Alice');
    assert.deepEqual(
      aliceLog.messages.filter((m) => three.some((t) => t.id === m.id)).map((m) => m.body.kind === 'text' && m.body.text),
      ['while you were away 1', 'while you were away 2', 'while you were away 3'],
    );
    await until(() => three.every((m) => bobLog.deliveries.get(m.id) === 'delivered'), 20000, "Bob's marks delivered");
    await until(() => bob.service.status(aliceKey) === 'online', 6000, 'Alice online again at Bob');
  });

  it('ignore forgets a request, block drops the key silently, remove and rename', async () => {
    const alice = user('alice');
    const carol = user('carol');
    const server0 = { host: '127.0.0.1', port };
    assert.ok((await alice.service.signUp('alice', 'Alice', server0)).ok);
    await carol.service.start(); // no account: online on the configured server anyway
    const link = alice.service.contactLink();
    assert.ok(link.ok);
    assert.match(link.uri, /^vscode:\/\/.+\/contact\?link=p2pchat%3Acontact%3A/);
    const t = await carol.service.resolveTarget(link.uri);
    assert.ok(t.ok, !t.ok ? t.message : '');
    assert.equal(t.target.address, '');
    assert.ok((await carol.service.addContact(t.target, 'first')).ok);
    await until(() => alice.requests.length === 1, 10000, 'the first request');
    alice.service.ignore(alice.requests[0].id);
    assert.equal(alice.service.requests().length, 0);

    const carolKey = carol.identity.publicKey.toString('hex');
    assert.ok(alice.service.block(carolKey));
    carol.service.remove(alice.identity.publicKey.toString('hex'));
    assert.ok((await carol.service.addContact(t.target, 'second, after the block')).ok);
    // Nothing arrives: the handshake happens (the sender cannot tell), the request is dropped.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(alice.requests.length, 1);
    assert.equal(alice.service.requests().length, 0);

    const aliceKey = alice.identity.publicKey.toString('hex');
    const renamed = carol.service.rename(aliceKey, 'Alice (work)');
    assert.ok(renamed.ok);
    assert.equal(carol.service.contact(aliceKey)?.displayName, 'Alice (work)');
    assert.ok(!carol.service.rename(aliceKey, 'x'.repeat(200)).ok);
    carol.service.remove(aliceKey);
    assert.equal(carol.service.contacts().length, 0);
  });

  it('several instances of one server (no shared state): users listing them in different orders still meet, each topic on the instance HRW picks', async () => {
    // Without Redis nothing crosses between the two instances, so Alice (who lists hers first) and Bob
    // (who lists the other first) meet only if both rank each topic over the whole list.
    const second = new RendezvousServer({ port: 0, host: '127.0.0.1', logger: silentLogger, refreshSeconds: REFRESH_S });
    const port2 = (await second.start()).port;
    try {
      const s1 = { host: '127.0.0.1', port };
      const s2 = { host: '127.0.0.1', port: port2 };
      const mk = (name: string, first: typeof s1, list: (typeof s1)[]): User => {
        const identity = generateKeyPair();
        const dir = join(root, name);
        const u: User = { name, dir, identity, requests: [], accepted: [], knocks: [], service: new ContactsService({ dataDir: dir, identity, signing: generateSigningKey(), configuredServer: () => first, configuredServers: () => list }) };
        u.service.events = { request: (r) => u.requests.push(r), accepted: (c) => u.accepted.push(c.staticKey) };
        users.push(u);
        return u;
      };
      const alice = mk('alice', s1, [s1, s2]);
      const bob = mk('bob', s2, [s2, s1]);
      assert.ok((await alice.service.signUp('alice', 'Alice', s1)).ok);
      assert.ok((await bob.service.signUp('bob', 'Bob', s2)).ok);
      const found = await bob.service.resolveTarget(`alice@127.0.0.1:${port}`);
      assert.ok(found.ok, !found.ok ? found.message : '');
      assert.ok((await bob.service.addContact(found.target, 'hello')).ok);
      await until(() => alice.requests.length === 1, 10000, 'the request at Alice across the two instances');
      assert.ok(alice.service.accept(alice.requests[0].id).ok);
      const aliceKey = alice.identity.publicKey.toString('hex');
      const bobKey = bob.identity.publicKey.toString('hex');
      await until(() => bob.service.status(aliceKey) === 'online' && alice.service.status(bobKey) === 'online', 10000, 'both online');
      // A DM both ways: the pair's topic (and its mailbox) on the one instance both rank first.
      const aliceLog: DmLog = { messages: [], deliveries: new Map(), deposited: new Set() };
      const bobLog: DmLog = { messages: [], deliveries: new Map(), deposited: new Set() };
      assert.deepEqual(bob.service.dmTarget(aliceKey)?.instances?.length, 2, 'the DM target carries both instances');
      const bobDm = dm(bob, alice, bobLog);
      const aliceDm = dm(alice, bob, aliceLog);
      await Promise.all([bobDm.start(), aliceDm.start()]);
      const hello = bobDm.send({ kind: 'text', text: 'hello across instances' });
      await until(() => aliceLog.messages.some((m) => m.id === hello.id), 10000, 'Bob → Alice');
      const reply = aliceDm.send({ kind: 'text', text: 'hi' });
      await until(() => bobLog.messages.some((m) => m.id === reply.id), 10000, 'Alice → Bob');
      await until(() => bobLog.deliveries.get(hello.id) === 'delivered', 10000, 'hello delivered');
    } finally {
      for (const s of sessions.splice(0)) await s.stop().catch(() => undefined);
      for (const u of users.splice(0)) await u.service.stop();
      await second.stop();
    }
  });
});
