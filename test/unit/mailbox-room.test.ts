// Offline delivery through the room mailbox, end to end on the simulated network: real Rooms, the
// real server-side MailboxService on a real Store, an injected clock (hours pass in milliseconds).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deriveRoomKeys, generateKeyPair, KeyPair } from '../../extension/core/noise';
import { MemoryRoomStore } from '../../extension/core/store/roomStore';
import type { DeliveryState } from '../../extension/core/types';
import { FileStore } from '../../rendezvous/store/fileStore';
import { MemoryStore } from '../../rendezvous/store/memoryStore';
import { SIM_WALL_BASE, SimMailbox } from '../helpers/simMailbox';
import { dmMailboxKeys } from '../../extension/core/mailbox/dm';
import { periodOf } from '../../extension/core/mailbox/keys';
import { queueName } from '../../rendezvous/mailbox';
import { FakeRendezvous, SimHost, SimNet } from '../helpers/simNet';

const keys = deriveRoomKeys(Buffer.alloc(16, 9));
const HOUR = 3600_000;

interface Peer {
  host: SimHost;
  texts: string[];
  ids: string[];
  delivery: Map<string, DeliveryState>;
  waiting: { ids: string[]; reason: string }[];
}

let port = 5000;
function peer(net: SimNet, name: string, opts: { identity?: KeyPair; store?: MemoryRoomStore; mailbox?: object } = {}): Peer {
  const host = net.addHost(name, { address: `10.0.0.${net.hosts.length + 2}`, port: port++ }, undefined, {
    roomId: keys.roomId,
    psk: keys.psk,
    keepaliveMs: 1000,
    lostAfterMs: 4000,
    ...(opts.identity ? { identity: opts.identity } : {}),
    ...(opts.store ? { store: opts.store } : {}),
    ...(opts.mailbox ? { mailbox: opts.mailbox } : {}),
  });
  const p: Peer = { host, texts: [], ids: [], delivery: new Map(), waiting: [] };
  host.room.events = {
    message: (m) => {
      p.texts.push(m.body.kind === 'text' ? m.body.text : '');
      p.ids.push(m.id);
    },
    delivery: (id, state) => void p.delivery.set(id, state),
    mailbox: (n) => {
      if (n.kind === 'waiting') p.waiting.push({ ids: n.ids ?? [], reason: n.reason });
    },
  };
  net.start(host);
  return p;
}

const count = (p: Peer, state: DeliveryState) => [...p.delivery.values()].filter((s) => s === state).length;

function tmp(): string {
  return fs.mkdtempSync(join(tmpdir(), 'p2p-mailbox-'));
}

describe('room mailbox on a simulated network (injected clock)', function () {
  this.timeout(60_000);

  async function hundredWhileOffline(restartServer?: (sim: SimMailbox) => Promise<void>, makeStore: () => Promise<MemoryStore | FileStore> = async () => new MemoryStore()) {
    const net = new SimNet(3);
    const sim = new SimMailbox(net, await makeStore());
    const idA = generateKeyPair();
    const storeA = new MemoryRoomStore();
    const a = peer(net, 'A', { identity: idA, store: storeA });
    await sim.run(2000);
    const sent = [];
    for (let i = 0; i < 100; i++) sent.push(a.host.room.send({ kind: 'text', text: `m${i}` }, net.now).id);
    assert.ok(await sim.run(net.now + 60_000, () => count(a, 'sent') === 100), `A deposited: ${count(a, 'sent')}`);
    assert.equal(count(a, 'delivered'), 0, 'nobody has fetched yet');
    a.host.down = true; // A quits
    if (restartServer) await restartServer(sim);
    await sim.run(net.now + HOUR);
    const b = peer(net, 'B');
    assert.ok(await sim.run(net.now + 60_000, () => b.texts.length >= 100), `B got ${b.texts.length}`);
    await sim.run(net.now + 5000); // anything more would be a duplicate
    assert.deepEqual(b.texts, sent.map((_, i) => `m${i}`), '100/100, in order, once each');
    assert.deepEqual(b.ids, sent, 'the same message ids the direct path would carry');
    b.host.down = true; // B's receipt is in the mailbox now; B leaves before A returns
    await sim.run(net.now + HOUR);
    const a2 = peer(net, 'A again', { identity: idA, store: storeA });
    assert.ok(await sim.run(net.now + 60_000, () => count(a2, 'delivered') === 100), `A sees ${count(a2, 'delivered')} delivered`);
    assert.deepEqual([...a2.delivery.keys()].sort(), [...sent].sort());
    assert.equal(a2.host.room.pendingMessages().length, 0, 'the outbox is empty');
    return { net, sim };
  }

  it('A sends 100 while B is offline and quits; B starts an hour later: 100/100 in order, once; A returns and sees 100 delivered', async () => {
    await hundredWhileOffline();
  });

  it('the same with the server restarted on its data directory between deposit and fetch', async () => {
    const dir = tmp();
    let store: FileStore | undefined;
    try {
      await hundredWhileOffline(
        async (sim) => {
          await store!.close();
          store = await FileStore.open(dir);
          sim.restart(store);
        },
        async () => (store = await FileStore.open(dir)),
      );
    } finally {
      await store?.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a room of 3 with one member offline for the whole conversation: it catches up on everything, in per-sender order', async () => {
    const net = new SimNet(5);
    const box = new SimMailbox(net, new MemoryStore());
    const a = peer(net, 'A');
    const b = peer(net, 'B');
    assert.ok(await box.run(10_000, () => a.host.room.state.kind === 'connected' && b.host.room.state.kind === 'connected'));
    const fromA: string[] = [];
    const fromB: string[] = [];
    for (let i = 0; i < 20; i++) {
      fromA.push(`a${i}`);
      a.host.room.send({ kind: 'text', text: `a${i}` }, net.now);
      await box.run(net.now + 50);
      fromB.push(`b${i}`);
      b.host.room.send({ kind: 'text', text: `b${i}` }, net.now);
      await box.run(net.now + 50);
    }
    // Long enough for both to fetch the mailbox again: the copies of what they had directly are dropped.
    await box.run(net.now + 3 * 60_000);
    assert.deepEqual(b.texts, fromA, 'B saw each of A’s messages once though both paths brought them');
    assert.deepEqual(a.texts, fromB);
    assert.ok(b.host.room.stats.duplicatesSuppressed >= 20, `B dropped the mailbox copies (${b.host.room.stats.duplicatesSuppressed})`);
    a.host.down = true;
    b.host.down = true;
    await box.run(net.now + 2 * HOUR);
    const c = peer(net, 'C');
    assert.ok(await box.run(net.now + 60_000, () => c.texts.length >= 40), `C got ${c.texts.length}`);
    await box.run(net.now + 5000);
    assert.deepEqual(c.texts.filter((t) => t.startsWith('a')), fromA, 'A’s messages, in A’s order');
    assert.deepEqual(c.texts.filter((t) => t.startsWith('b')), fromB, 'B’s messages, in B’s order');
    assert.equal(c.texts.length, 40, 'no duplicates');
  });

  it('over quota: the sender keeps the message, says the mailbox is full, and still delivers directly', async () => {
    const net = new SimNet(7);
    const box = new SimMailbox(net, new MemoryStore(), { maxItems: 10 });
    const a = peer(net, 'A', { mailbox: { backoffMs: 5000 } });
    await box.run(2000);
    for (let i = 0; i < 15; i++) a.host.room.send({ kind: 'text', text: `q${i}` }, net.now);
    assert.ok(await box.run(net.now + 30_000, () => a.waiting.length > 0), 'the sender is told');
    assert.equal(a.waiting[0].reason, "the recipient's mailbox is full");
    assert.equal(count(a, 'sent'), 10, 'ten deposited, the rest kept');
    assert.equal(a.host.room.pendingMessages().length, 15, 'nothing dropped: all 15 still in the outbox');
    const b = peer(net, 'B');
    assert.ok(await box.run(net.now + 30_000, () => b.texts.length === 15 && count(a, 'delivered') === 15), `B got ${b.texts.length}, A sees ${count(a, 'delivered')} delivered`);
    assert.deepEqual(b.texts, Array.from({ length: 15 }, (_, i) => `q${i}`));
  });

  it('TTL: an envelope nobody fetched in time is gone; the sender is told and delivers directly later', async () => {
    const net = new SimNet(8);
    const box = new SimMailbox(net, new MemoryStore(), { ttlMs: HOUR });
    const a = peer(net, 'A');
    await box.run(2000);
    for (let i = 0; i < 5; i++) a.host.room.send({ kind: 'text', text: `t${i}` }, net.now);
    assert.ok(await box.run(net.now + 10_000, () => count(a, 'sent') === 5));
    assert.ok(await box.run(net.now + 2 * HOUR, () => a.waiting.length > 0), 'the sender sees the expiry');
    assert.match(a.waiting[0].reason, /expired/);
    assert.equal(a.waiting[0].ids.length, 5);
    a.host.down = true;
    const b = peer(net, 'B');
    await box.run(net.now + 30_000);
    assert.deepEqual(b.texts, [], 'expired envelopes are not served');
    a.host.down = false;
    a.host.room.tick(net.now);
    assert.ok(await box.run(net.now + 60_000, () => b.texts.length === 5 && count(a, 'delivered') === 5), 'delivered directly once both are online');
  });

  it('large messages are split into envelopes under the cap and reassembled', async () => {
    const net = new SimNet(9);
    const box = new SimMailbox(net, new MemoryStore(), { maxEnvelopeBytes: 512 });
    const a = peer(net, 'A');
    await box.run(2000);
    const big = 'x'.repeat(5000);
    a.host.room.send({ kind: 'text', text: big }, net.now);
    a.host.room.send({ kind: 'text', text: 'after' }, net.now);
    assert.ok(await box.run(net.now + 30_000, () => count(a, 'sent') === 2));
    assert.ok(box.service.stats.deposits >= 10, `split into ${box.service.stats.deposits} deposits of at most 512 bytes`);
    a.host.down = true;
    const b = peer(net, 'B');
    assert.ok(await box.run(net.now + 30_000, () => b.texts.length === 2));
    assert.deepEqual(b.texts, [big, 'after']);
  });
});

describe('direct-message mailbox on a simulated network (injected clock)', function () {
  this.timeout(60_000);

  function dm(net: SimNet, name: string, me: KeyPair, contact: KeyPair, store = new MemoryRoomStore()): Peer {
    const host = net.addHost(name, { address: `10.0.1.${net.hosts.length + 2}`, port: port++ }, undefined, {
      identity: me,
      // A DM room's id and psk come from the pair secret (contacts/topics.ts); any shared bytes do here.
      roomId: Buffer.alloc(32, 1),
      psk: Buffer.alloc(32, 2),
      store,
      discovery: 'external',
      onlyPeer: contact.publicKey,
      mailboxCookie: () => FakeRendezvous.COOKIE,
    });
    const p: Peer = { host, texts: [], ids: [], delivery: new Map(), waiting: [] };
    host.room.events = {
      message: (m) => {
        p.texts.push(m.body.kind === 'text' ? m.body.text : '');
        p.ids.push(m.id);
      },
      delivery: (id, state) => void p.delivery.set(id, state),
    };
    net.start(host);
    return p;
  }

  it('A writes to B while B is away and quits; B reads it later (only from A), A later sees it delivered; the mailbox is emptied', async () => {
    const net = new SimNet(21);
    const store = new MemoryStore();
    const box = new SimMailbox(net, store);
    const alice = generateKeyPair();
    const bob = generateKeyPair();
    const carol = generateKeyPair();
    const storeA = new MemoryRoomStore();
    const a = dm(net, 'A', alice, bob, storeA);
    await box.run(2000);
    const sent = Array.from({ length: 20 }, (_, i) => a.host.room.send({ kind: 'text', text: `dm${i}` }, net.now).id);
    assert.ok(await box.run(net.now + 30_000, () => count(a, 'sent') === 20), `deposited ${count(a, 'sent')}`);
    const outbox = queueName(dmMailboxKeys(alice, bob.publicKey, periodOf(SIM_WALL_BASE + net.now), 'outgoing').mailboxId);
    assert.equal((await store.queueStats(outbox)).items, 20, 'twenty envelopes wait in the A → B mailbox');
    a.host.down = true;
    // Carol, not Bob's contact, writes to Bob too: into her own pair's mailbox, which Bob never reads.
    const c = dm(net, 'C', carol, bob);
    c.host.room.send({ kind: 'text', text: 'spam from a stranger' }, net.now);
    await box.run(net.now + 10_000);
    c.host.down = true;
    await box.run(net.now + HOUR);
    const b = dm(net, 'B', bob, alice);
    assert.ok(await box.run(net.now + 30_000, () => b.texts.length >= 20), `B got ${b.texts.length}`);
    await box.run(net.now + 5000);
    assert.deepEqual(b.texts, sent.map((_, i) => `dm${i}`), 'in order, once, and nothing from Carol');
    assert.deepEqual(b.ids, sent);
    assert.equal((await store.queueStats(outbox)).items, 0, 'B, the reader, deleted what it fetched');
    b.host.down = true;
    await box.run(net.now + HOUR);
    const a2 = dm(net, 'A again', alice, bob, storeA);
    assert.ok(await box.run(net.now + 30_000, () => count(a2, 'delivered') === 20), `A sees ${count(a2, 'delivered')} delivered`);
  });
});
