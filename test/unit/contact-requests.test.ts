import assert from 'node:assert/strict';
import { generateKeyPair, type KeyPair } from '../../extension/core/noise';
import { RequestExchange } from '../../extension/core/contacts/requestExchange';
import { RequestInbox, type IncomingRequest } from '../../extension/core/contacts/requests';
import { inboxTopic } from '../../extension/core/contacts/topics';
import {
  decodeContactPacket,
  decodeRequestPayload,
  encodeContactPacket,
  encodeRequestPayload,
  MAX_NOTE_CHARS,
  RequestStatus,
} from '../../extension/core/wire/contactRequest';
import { TopicKind } from '../../extension/core/wire/topics';
import type { Endpoint } from '../../extension/core/wire/endpoint';

const req = (key: string, note: string, address = '198.51.100.9'): Omit<IncomingRequest, 'id'> => ({
  staticKey: key,
  signingKey: '00'.repeat(32),
  handle: '',
  displayName: 'x',
  note,
  address,
  receivedAt: 0,
});
const K = (n: number) => n.toString(16).padStart(2, '0').repeat(32);

describe('contacts: request rules', () => {
  it('stores, deduplicates, and caps per sender, per address and in total', () => {
    const inbox = new RequestInbox(() => false, { maxPerSender: 2, maxPerAddress: 3, maxTotal: 5 });
    assert.equal(inbox.offer(req(K(1), 'hi')).verdict, 'stored');
    assert.equal(inbox.offer(req(K(1), 'hi')).verdict, 'duplicate');
    assert.equal(inbox.offer(req(K(1), 'hi again')).verdict, 'stored');
    assert.equal(inbox.offer(req(K(1), 'third')).verdict, 'senderCap');
    assert.equal(inbox.offer(req(K(2), 'a')).verdict, 'stored');
    assert.equal(inbox.offer(req(K(3), 'a')).verdict, 'addressCap', 'three from this address already');
    assert.equal(inbox.offer(req(K(3), 'a', '203.0.113.1')).verdict, 'stored');
    assert.equal(inbox.offer(req(K(4), 'a', '203.0.113.2')).verdict, 'stored');
    assert.equal(inbox.offer(req(K(5), 'a', '203.0.113.3')).verdict, 'full');
    assert.equal(inbox.list().length, 5);
  });

  it('accept removes every request of that key; ignore one; block drops and remembers the key', () => {
    const contacts = new Set<string>();
    const inbox = new RequestInbox((k) => contacts.has(k));
    const a = inbox.offer(req(K(1), 'one')).request!;
    inbox.offer(req(K(1), 'two'));
    const b = inbox.offer(req(K(2), 'b')).request!;
    const c = inbox.offer(req(K(3), 'c')).request!;
    assert.equal(inbox.accept(a.id)?.staticKey, K(1));
    contacts.add(K(1));
    assert.deepEqual(inbox.list().map((r) => r.staticKey), [K(2), K(3)]);
    assert.equal(inbox.offer(req(K(1), 'again')).verdict, 'contact');
    assert.equal(inbox.ignore(b.id)?.id, b.id);
    assert.equal(inbox.offer(req(K(2), 'b')).verdict, 'stored', 'an ignored sender may ask again');
    assert.equal(inbox.block(c.id), K(3));
    assert.equal(inbox.offer(req(K(3), 'c')).verdict, 'blocked');
    assert.equal(inbox.offer(req(K(3), 'other')).verdict, 'blocked');
    const restored = new RequestInbox(() => false, undefined, inbox.state());
    assert.ok(restored.isBlocked(K(3)));
    assert.equal(restored.list().length, 1);
    assert.equal(inbox.accept('nope'), undefined);
  });
});

describe('contacts: request wire', () => {
  it('payload golden bytes and limits', () => {
    const p = { signingKey: Buffer.alloc(32, 1), handle: 'alice@h:1', displayName: 'Alice', note: 'hi' };
    const hex = '01' + '01'.repeat(32) + '09' + Buffer.from('alice@h:1').toString('hex') + '05' + Buffer.from('Alice').toString('hex') + '0002' + Buffer.from('hi').toString('hex');
    assert.equal(encodeRequestPayload(p).toString('hex'), hex);
    const d = decodeRequestPayload(Buffer.from(hex, 'hex'));
    assert.ok(d.ok);
    assert.deepEqual(d.value, p);
    assert.throws(() => encodeRequestPayload({ ...p, note: 'x'.repeat(MAX_NOTE_CHARS + 1) }), /280 characters/);
    assert.ok(encodeRequestPayload({ ...p, note: 'é'.repeat(MAX_NOTE_CHARS) }).length < 1200 - 200);
    assert.ok(encodeRequestPayload({ ...p, note: '🚀'.repeat(210) }).length < 1200 - 200);
    assert.throws(() => encodeRequestPayload({ ...p, note: '🚀'.repeat(MAX_NOTE_CHARS) }), /840 bytes/);
    const full = Buffer.from(hex, 'hex');
    for (let n = 0; n < full.length; n++) assert.equal(decodeRequestPayload(full.subarray(0, n)).ok, false);
    const badUtf8 = Buffer.from(hex, 'hex');
    badUtf8[badUtf8.length - 1] = 0xff;
    assert.equal(decodeRequestPayload(badUtf8).ok, false);
  });

  it('packet golden bytes; no-throw decoder', () => {
    assert.equal(encodeContactPacket({ type: 'requestHello', sender: 0x01020304, noise: Buffer.from('abcd', 'hex') }).toString('hex'), 'c5011401020304abcd');
    assert.equal(encodeContactPacket({ type: 'requestReply', receiver: 5, noise: Buffer.from('ee', 'hex') }).toString('hex'), 'c5011500000005ee');
    assert.equal(encodeContactPacket({ type: 'requestPunch', nonce: Buffer.alloc(8, 7) }).toString('hex'), 'c50116' + '07'.repeat(8));
    for (const hex of ['', 'c5', 'c50114', 'c5011400', 'c50116' + '07'.repeat(7), 'c5011f', 'c50216' + '07'.repeat(8)]) {
      assert.equal(decodeContactPacket(Buffer.from(hex, 'hex')).ok, false, hex);
    }
  });
});

/** Two exchanges wired back to back, datagrams delivered synchronously (with an optional filter). */
function pair(opts: { bobToken?: Buffer; rate?: number } = {}) {
  const alice = generateKeyPair();
  const bob = generateKeyPair();
  const token = Buffer.alloc(16, 5);
  const A: Endpoint = { address: '198.51.100.1', port: 1 };
  const B: Endpoint = { address: '198.51.100.2', port: 2 };
  const wire: { from: Endpoint; to: Endpoint; data: Buffer }[] = [];
  const contactsOfBob = new Set<string>();
  const bobInbox = new RequestInbox((k) => contactsOfBob.has(k));
  const mk = (self: KeyPair, me: Endpoint, inbox: RequestInbox, tok: Buffer) =>
    new RequestExchange({ self, requestToken: () => tok, inbox, send: (to, data) => wire.push({ from: me, to, data }), maxHandshakesPerSecond: opts.rate });
  const ax = mk(alice, A, new RequestInbox(() => false), Buffer.alloc(16, 1));
  const bx = mk(bob, B, bobInbox, opts.bobToken ?? token);
  const pump = (now: number) => {
    while (wire.length) {
      const d = wire.shift()!;
      if (d.to.port === 1) ax.receive(d.data, d.from, now);
      else if (d.to.port === 2) bx.receive(d.data, d.from, now);
    }
  };
  return { alice, bob, token, A, B, ax, bx, pump, wire, bobInbox, contactsOfBob };
}

describe('contacts: request exchange (IKpsk1, one round trip)', () => {
  it('delivers a request: bob stores it with alice\'s proven key, alice learns it arrived', () => {
    const t = pair();
    const got: IncomingRequest[] = [];
    const delivered: RequestStatus[] = [];
    t.bx.events.request = (r) => got.push(r);
    t.ax.events.delivered = (_id, s) => delivered.push(s);
    t.ax.sendRequest({ staticKey: t.bob.publicKey, requestToken: t.token }, { signingKey: Buffer.alloc(32, 9), handle: '', displayName: 'Alice', note: 'from the meetup' }, 0);
    assert.deepEqual(t.ax.visitorEntries(), [{ topic: inboxTopic(t.bob.publicKey, t.token), kind: TopicKind.Visitor }]);
    assert.deepEqual(t.bx.inboxEntry(), { topic: inboxTopic(t.bob.publicKey, t.token), kind: TopicKind.Host });
    t.ax.onTopicPartner(inboxTopic(t.bob.publicKey, t.token), { clientId: Buffer.alloc(16), flags: 0, reflexive: t.B, candidates: [] }, 0);
    t.pump(0);
    assert.equal(got.length, 1);
    assert.equal(got[0].staticKey, t.alice.publicKey.toString('hex'));
    assert.equal(got[0].note, 'from the meetup');
    assert.deepEqual(delivered, [RequestStatus.Received]);
    assert.deepEqual(t.ax.visitorEntries(), [], 'a delivered request stops visiting');
  });

  it('a rotated token revokes old links: the hello fails, nothing is stored, nothing answered', () => {
    const t = pair({ bobToken: Buffer.alloc(16, 6) });
    t.ax.sendRequest({ staticKey: t.bob.publicKey, requestToken: t.token }, { signingKey: Buffer.alloc(32), handle: '', displayName: 'A', note: '' }, 0);
    t.ax.onTopicPartner(inboxTopic(t.bob.publicKey, t.token), { clientId: Buffer.alloc(16), flags: 0, reflexive: t.B, candidates: [] }, 0);
    const before = t.wire.length;
    assert.equal(before, 1);
    t.pump(0);
    assert.equal(t.bobInbox.list().length, 0);
    assert.equal(t.wire.length, 0, 'no reply');
  });

  it('a blocked key gets silence, and so does a request to a wrong static key', () => {
    const t = pair();
    t.bobInbox.block(t.alice.publicKey.toString('hex'));
    let delivered = 0;
    t.ax.events.delivered = () => delivered++;
    t.ax.sendRequest({ staticKey: t.bob.publicKey, requestToken: t.token }, { signingKey: Buffer.alloc(32), handle: '', displayName: 'A', note: '' }, 0);
    t.ax.onTopicPartner(inboxTopic(t.bob.publicKey, t.token), { clientId: Buffer.alloc(16), flags: 0, reflexive: t.B, candidates: [] }, 0);
    t.pump(0);
    assert.equal(delivered, 0);
    assert.equal(t.bobInbox.counters.blocked, 1);
  });

  it('a flood is throttled before any DH work: at most the rate per second is even tried', () => {
    const t = pair({ rate: 20 });
    const flood = generateKeyPair();
    const fx = new RequestExchange({ self: flood, requestToken: () => Buffer.alloc(16), inbox: new RequestInbox(() => false), send: () => undefined });
    void fx;
    // 200 distinct senders within one millisecond.
    for (let i = 0; i < 200; i++) {
      const k = generateKeyPair();
      const x = new RequestExchange({ self: k, requestToken: () => Buffer.alloc(16), inbox: new RequestInbox(() => false), send: (_to, data) => t.bx.receive(data, { address: `10.0.${i >> 8}.${i & 255}`, port: 9 }, 5) });
      x.sendRequest({ staticKey: t.bob.publicKey, requestToken: t.token }, { signingKey: Buffer.alloc(32), handle: '', displayName: 'spam', note: `${i}` }, 5);
      x.onTopicPartner(inboxTopic(t.bob.publicKey, t.token), { clientId: Buffer.alloc(16), flags: 0, reflexive: t.B, candidates: [] }, 5);
    }
    assert.ok(t.bx.stats.handshakesTried <= 20, `${t.bx.stats.handshakesTried} tried`);
    assert.equal(t.bx.stats.throttled, 200 - t.bx.stats.handshakesTried);
    // The inbox itself also caps in total (100 by default): 20 stored here.
    assert.equal(t.bobInbox.list().length, t.bx.stats.handshakesTried);
  });

  it('garbage on the request types never throws', () => {
    const t = pair();
    for (let i = 0; i < 500; i++) {
      const junk = Buffer.from(Array.from({ length: i % 300 }, (_, j) => (i * 13 + j * 7) & 0xff));
      if (junk.length > 2) {
        junk[0] = 0xc5;
        junk[1] = 1;
        junk[2] = 0x14 + (i % 3);
      }
      t.bx.receive(junk, t.A, i);
      t.ax.receive(junk, t.B, i);
    }
    assert.equal(t.bobInbox.list().length, 0);
  });
});
