// A DM link (both static keys pinned in advance) runs KKpsk0 and carries the initiator's first queued inner
// packet in handshake message 1: the first message arrives one round trip after the pairing push, not two.
// Simulated network, injected clock; no sockets, no sleeps.
import assert from 'node:assert/strict';
import { generateKeyPair, HandshakeState, type KeyPair } from '../../extension/core/noise';
import { peerHint } from '../../extension/core/link/hints';
import { PairKeys } from '../../extension/core/contacts/topics';
import { decodePeer, encodePeer } from '../../extension/core/wire/peer';
import type { Endpoint } from '../../extension/core/wire/endpoint';
import { SimHost, SimNet } from '../helpers/simNet';

// The link's first two punches prime the sender's own NAT at a low TTL and never arrive (PRIME_TTL): the first
// full punch leaves 120 ms after the link starts, whatever the pattern. A 1 s one-way delay (2 s RTT) keeps that
// fixed cost from hiding the round trips being counted; see the bench for loopback figures.
const ONE_WAY_MS = 1000;
const RTT_MS = 2 * ONE_WAY_MS;

interface End {
  h: SimHost;
  key: KeyPair;
  got: string[];
  at: number[];
}

function dmPair(net: SimNet, opts: { dm?: boolean; pinB?: Buffer } = {}) {
  const a = generateKeyPair();
  const b = generateKeyPair();
  const mk = (name: string, ip: string, self: KeyPair, peer: Buffer): End => {
    const pair = new PairKeys(self, peer);
    const h = net.addHost(name, { address: ip, port: 5000 }, undefined, {
      identity: self,
      roomId: pair.conversationId,
      psk: pair.psk,
      discovery: 'external',
      ...(opts.dm === false ? {} : { onlyPeer: peer }),
    });
    const end: End = { h, key: self, got: [], at: [] };
    h.room.events = {
      message: (m) => {
        end.got.push(m.body.kind === 'text' ? m.body.text : '');
        end.at.push(net.now);
      },
    };
    return end;
  };
  // The pair's psk and conversation id come from both keys: B pinning someone else derives other ones.
  const A = mk('A', '192.0.2.1', a, opts.pinB ?? b.publicKey);
  const B = mk('B', '192.0.2.2', b, a.publicKey);
  return { A, B };
}

/** What the topic push tells each side: the other's key and address (no NAT here). */
function meet(net: SimNet, self: End, other: End): void {
  self.h.room.meet({ peerId: other.key.publicKey, name: other.h.name, flags: 0, reflexive: other.h.local, candidates: [] }, net.now);
  net.pump(self.h);
}

const initiatorOf = (A: End, B: End) => (Buffer.compare(A.key.publicKey, B.key.publicKey) < 0 ? [A, B] : [B, A]);

/** Both registered at `pairedAt`; the server's pushes reach both one one-way delay later. */
function pairAndMeet(net: SimNet, A: End, B: End): number {
  net.start(A.h);
  net.start(B.h);
  const pairedAt = net.now;
  net.run(pairedAt + ONE_WAY_MS - 1);
  net.now = pairedAt + ONE_WAY_MS;
  meet(net, A, B);
  meet(net, B, A);
  return pairedAt;
}

function newNet(seed = 1): SimNet {
  const net = new SimNet(seed);
  net.delayMs = ONE_WAY_MS;
  return net;
}

describe('DM links: KKpsk0 with data in message 1 (injected clock)', () => {
  it('the first DM message is delivered ≤ 1.2 RTT after both registered (the room XX path needs 2.0+)', () => {
    const rtts = (dm: boolean) => {
      const net = newNet(7);
      const { A, B } = dmPair(net, { dm });
      const [I, R] = initiatorOf(A, B);
      // Written before the link exists (the outbox keeps it): it rides in handshake message 1.
      I.h.room.send({ kind: 'text', text: 'first' }, net.now);
      const pairedAt = pairAndMeet(net, A, B);
      assert.ok(net.run(pairedAt + 20 * RTT_MS, () => R.got.length === 1), 'delivered');
      return (R.at[0] - pairedAt) / RTT_MS;
    };
    const kk = rtts(true);
    const xx = rtts(false); // the same two ends as a plain external room: no pinned key, XXpsk3
    assert.ok(kk <= 1.2, `KK: first message at ${kk.toFixed(3)} RTT`);
    assert.ok(xx >= 2.0, `XX: first message at ${xx.toFixed(3)} RTT`);
  });

  it('the responder’s first message follows message 2 and the initiator’s queued ones all arrive, exactly once, in order', () => {
    const net = newNet(2);
    const { A, B } = dmPair(net);
    const [I, R] = initiatorOf(A, B);
    for (let i = 0; i < 5; i++) I.h.room.send({ kind: 'text', text: `i${i}` }, net.now);
    R.h.room.send({ kind: 'text', text: 'r0' }, net.now);
    const pairedAt = pairAndMeet(net, A, B);
    assert.ok(net.run(pairedAt + 20 * RTT_MS, () => R.got.length === 5 && I.got.length === 1));
    net.run(net.now + 10 * RTT_MS);
    assert.deepEqual(R.got, ['i0', 'i1', 'i2', 'i3', 'i4']);
    assert.deepEqual(I.got, ['r0']);
    // The responder sends once message 1 authenticated the initiator: 1.5 RTT after pairing.
    assert.ok((I.at[0] - pairedAt) / RTT_MS <= 1.7, `responder's first at ${((I.at[0] - pairedAt) / RTT_MS).toFixed(2)} RTT`);
    assert.equal(I.h.room.pendingMessages().length, 0, 'the initiator saw every message acknowledged');
    assert.equal(R.h.room.pendingMessages().length, 0);
    const li = I.h.room.linkFor(R.h.room.selfId)!;
    assert.equal(li.stats.handshakes, 1);
    assert.ok(li.verified);
  });

  it('a responder with more queued than it may send before the path is proven (3× message 1) sends it all once proven', () => {
    const net = newNet(10);
    const { A, B } = dmPair(net);
    const [I, R] = initiatorOf(A, B);
    const big = Array.from({ length: 8 }, (_, i) => `r${i} ${'x'.repeat(400)}`);
    for (const t of big) R.h.room.send({ kind: 'text', text: t }, net.now);
    I.h.room.send({ kind: 'text', text: 'i0' }, net.now);
    const pairedAt = pairAndMeet(net, A, B);
    assert.ok(net.run(pairedAt + 40 * RTT_MS, () => I.got.length === 8 && R.h.room.pendingMessages().length === 0));
    net.run(net.now + 10 * RTT_MS);
    assert.deepEqual(I.got, big);
    assert.deepEqual(R.got, ['i0']);
    // Held back until the initiator's first data packet (1.5 RTT + priming), then one round trip.
    assert.ok((I.at[0] - pairedAt) / RTT_MS <= 2.7, `first at ${((I.at[0] - pairedAt) / RTT_MS).toFixed(2)} RTT`);
  });

  it('a replayed message 1 (same address, another address) delivers nothing twice and resets nothing', () => {
    const net = newNet(3);
    const { A, B } = dmPair(net);
    const [I, R] = initiatorOf(A, B);
    I.h.room.send({ kind: 'text', text: 'once' }, net.now);
    const hellos: { from: Endpoint; to: Endpoint; data: Buffer }[] = [];
    net.dropIf = (from, to, data) => {
      const p = decodePeer(data);
      if (p.ok && p.value.type === 'hello' && p.value.sender !== 0) hellos.push({ from, to, data: Buffer.from(data) });
      return false;
    };
    const pairedAt = pairAndMeet(net, A, B);
    assert.ok(net.run(pairedAt + 20 * RTT_MS, () => R.got.length === 1));
    net.run(net.now + 5 * RTT_MS);
    assert.ok(hellos.length >= 1, 'captured message 1');
    const rl = R.h.room.linkFor(I.h.room.selfId)!;
    const handshakes = rl.stats.handshakes;
    const attacker: Endpoint = { address: '203.0.113.66', port: 4444 };
    let backToAttacker = 0;
    net.dropIf = (_from, to, data) => {
      if (to.address === attacker.address) backToAttacker += data.length;
      return false;
    };
    for (const h of hellos) {
      net.inject(h.from, h.to, h.data);
      net.inject(attacker, h.to, h.data);
    }
    net.run(net.now + 10 * RTT_MS);
    assert.deepEqual(R.got, ['once'], 'delivered exactly once');
    assert.equal(rl.stats.handshakes, handshakes, 'no new session from a replay');
    assert.ok(rl.established && I.h.room.linkFor(R.h.room.selfId)!.established);
    assert.ok(backToAttacker <= hellos.length * hellos[0].data.length, `${backToAttacker} B back to the replaying address`);
    // The session still carries traffic both ways.
    I.h.room.send({ kind: 'text', text: 'after' }, net.now);
    R.h.room.send({ kind: 'text', text: 'back' }, net.now);
    assert.ok(net.run(net.now + 10 * RTT_MS, () => R.got.length === 2 && I.got.length === 1));
  });

  it('a replayed message 1 reaching a fresh responder (restarted, same store) is suppressed by the delivered watermark', () => {
    const net = newNet(4);
    const { A, B } = dmPair(net);
    const [I, R] = initiatorOf(A, B);
    I.h.room.send({ kind: 'text', text: 'once' }, net.now);
    let hello: { from: Endpoint; to: Endpoint; data: Buffer } | undefined;
    net.dropIf = (from, to, data) => {
      const p = decodePeer(data);
      if (!hello && p.ok && p.value.type === 'hello' && p.value.sender !== 0) hello = { from, to, data: Buffer.from(data) };
      return false;
    };
    const pairedAt = pairAndMeet(net, A, B);
    assert.ok(net.run(pairedAt + 20 * RTT_MS, () => R.got.length === 1));
    assert.ok(hello, 'captured a message 1 with data');
    // The responder's link forgets its replay memory (a new link object, as after a restart): only the
    // room's persisted delivered-watermark stands between the replay and a second delivery.
    (R.h.room as unknown as { links: Map<string, { close(now: number, r: string, n: boolean): void }> }).links.get(I.key.publicKey.toString('hex'))!.close(net.now, 'test', false);
    meet(net, R, I);
    net.inject(hello.from, hello.to, hello.data);
    net.run(net.now + 5 * RTT_MS);
    assert.deepEqual(R.got, ['once']);
    assert.ok(R.h.room.stats.duplicatesSuppressed >= 1, 'the replayed copy was recognised and dropped');
  });

  it('a replayed message 1 from a spoofed source draws at most 3× its size back, however much the responder has queued', () => {
    const net = newNet(9);
    const { A, B } = dmPair(net);
    const [I, R] = initiatorOf(A, B);
    I.h.room.send({ kind: 'text', text: 'once' }, net.now);
    let hello: Buffer | undefined;
    net.dropIf = (_from, _to, data) => {
      const p = decodePeer(data);
      if (!hello && p.ok && p.value.type === 'hello' && p.value.sender !== 0) hello = Buffer.from(data);
      return false;
    };
    const pairedAt = pairAndMeet(net, A, B);
    assert.ok(net.run(pairedAt + 20 * RTT_MS, () => R.got.length === 1));
    // Later, elsewhere: the responder's key in a fresh process (nothing remembered) with a lot queued for the
    // initiator, which is offline. The attacker replays the captured message 1 with the victim's address.
    const net2 = newNet(10);
    const pair = new PairKeys(R.key, I.key.publicKey);
    const R2 = net2.addHost('R2', R.h.local, undefined, { identity: R.key, roomId: pair.conversationId, psk: pair.psk, discovery: 'external', onlyPeer: I.key.publicKey });
    for (let i = 0; i < 20; i++) R2.room.send({ kind: 'text', text: `queued ${i} ${'y'.repeat(500)}` }, net2.now);
    net2.start(R2);
    R2.room.meet({ peerId: I.key.publicKey, name: 'I', flags: 0, reflexive: I.h.local, candidates: [] }, net2.now);
    net2.pump(R2);
    const victim: Endpoint = { address: '203.0.113.77', port: 9999 };
    let back = 0;
    net2.dropIf = (_from, to, data) => {
      if (to.address === victim.address) back += data.length;
      return false;
    };
    net2.inject(victim, R2.local, hello!);
    net2.run(net2.now + 30 * RTT_MS);
    const link = R2.room.linkFor(I.key.publicKey.toString('hex'))!;
    assert.equal(link.stats.handshakes, 1, 'the replay opened a session (nothing remembered it)');
    assert.ok(back > 0, 'the replay was answered');
    assert.ok(back <= 3 * hello!.length, `${back} B back for ${hello!.length} B`);
    assert.ok(R2.room.pendingMessages().length === 20, 'nothing counted as delivered');
  });

  it('a peer whose key is not the pinned one is refused, even with the pair\'s psk: no session, nothing delivered, counted', () => {
    const net = newNet(5);
    const { A, B } = dmPair(net);
    // Mallory holds the pair's secret (conversation id and psk) but not B's key, and initiates towards A.
    let mallory = generateKeyPair();
    while (Buffer.compare(mallory.publicKey, A.key.publicKey) >= 0) mallory = generateKeyPair();
    const pair = new PairKeys(A.key, B.key.publicKey);
    const M = net.addHost('M', { address: '192.0.2.9', port: 5000 }, undefined, {
      identity: mallory,
      roomId: pair.conversationId,
      psk: pair.psk,
      discovery: 'external',
      onlyPeer: A.key.publicKey,
    });
    M.room.send({ kind: 'text', text: 'from mallory' }, net.now);
    net.start(A.h);
    net.start(M);
    // A lying rendezvous: A is told that B (its pinned key) is at mallory's address.
    A.h.room.meet({ peerId: B.key.publicKey, name: 'B', flags: 0, reflexive: M.local, candidates: [] }, net.now);
    net.pump(A.h);
    M.room.meet({ peerId: A.key.publicKey, name: 'A', flags: 0, reflexive: A.h.local, candidates: [] }, net.now);
    net.pump(M);
    net.run(net.now + 10 * RTT_MS);
    assert.deepEqual(A.got, []);
    const la = A.h.room.linkFor(B.key.publicKey.toString('hex'))!;
    assert.ok(!la.established, 'no session');
    // Mallory's Hellos name her own key's hint, so A drops them before Noise; were the hint forged, KK's ss/es
    // under B's pinned key would refuse message 1 (the hostile suite forges it on real sockets).
    const lm = M.room.linkFor(A.key.publicKey.toString('hex'))!;
    const refused = A.h.room.stats.droppedUnknownPeer + la.stats.identityMismatches + lm.stats.identityMismatches + lm.stats.authFailures;
    assert.ok(refused > 0, `refused: ${JSON.stringify({ a: A.h.room.stats, la: la.stats, lm: lm.stats })}`);
    assert.ok(!M.room.linkFor(A.key.publicKey.toString('hex'))!.established);
  });

  it('a message 1 forging the pinned contact\'s hint, from another key that holds the pair\'s psk, is refused by KK itself', () => {
    let net = newNet(8);
    let ends = dmPair(net);
    // A responds (B initiates), so A's link reads whatever message 1 arrives for B's hint.
    while (Buffer.compare(ends.B.key.publicKey, ends.A.key.publicKey) >= 0) ends = dmPair((net = newNet(8)));
    const { A, B } = ends;
    const pair = new PairKeys(A.key, B.key.publicKey);
    const mallory = generateKeyPair();
    net.start(A.h);
    meet(net, A, B);
    const forged = (s: KeyPair) =>
      encodePeer({
        type: 'hello',
        sender: 77,
        senderHint: peerHint(pair.conversationId, B.key.publicKey),
        receiverHint: peerHint(pair.conversationId, A.key.publicKey),
        noise: new HandshakeState({ pattern: 'KKpsk0', initiator: true, prologue: Buffer.concat([Buffer.from('p2p-chat/1 '), pair.conversationId]), s, rs: A.key.publicKey, psk: pair.psk }).writeMessage(Buffer.alloc(200)),
      });
    const mAddr: Endpoint = { address: '192.0.2.9', port: 5000 };
    net.inject(mAddr, A.h.local, forged(mallory));
    net.run(net.now + RTT_MS);
    const la = A.h.room.linkFor(B.key.publicKey.toString('hex'))!;
    assert.equal(la.stats.identityMismatches, 1, 'mallory\'s message 1 refused');
    assert.ok(!la.established);
    // The check is the key, not the forging: the same bytes built with B's key open (a control that can fail).
    net.inject(mAddr, A.h.local, forged(B.key));
    net.run(net.now + RTT_MS);
    assert.ok(la.established, 'the pinned key is accepted');
    assert.equal(la.stats.identityMismatches, 1);
  });

  for (const lose of ['message 1', 'message 2', 'messages 1 and 2 and the first ack'] as const) {
    it(`loss of ${lose}: the message still arrives, exactly once`, () => {
      const net = newNet(6);
      const { A, B } = dmPair(net);
      const [I, R] = initiatorOf(A, B);
      I.h.room.send({ kind: 'text', text: 'hello' }, net.now);
      let dropped1 = 0;
      let dropped2 = 0;
      let droppedData = 0;
      net.dropIf = (_from, _to, data) => {
        const p = decodePeer(data);
        if (!p.ok) return false;
        if (p.value.type === 'hello' && p.value.sender !== 0 && lose !== 'message 2' && dropped1 < 2) return ++dropped1 > 0;
        if (p.value.type === 'reply' && lose !== 'message 1' && dropped2 < 1) return ++dropped2 > 0;
        if (p.value.type === 'data' && lose.includes('ack') && droppedData < 1) return ++droppedData > 0;
        return false;
      };
      const pairedAt = pairAndMeet(net, A, B);
      assert.ok(net.run(pairedAt + 30 * RTT_MS, () => R.got.length === 1), 'delivered');
      assert.ok(net.run(net.now + 30 * RTT_MS, () => I.h.room.pendingMessages().length === 0), 'acknowledged');
      net.run(net.now + 10 * RTT_MS);
      assert.deepEqual(R.got, ['hello']);
      assert.ok(dropped1 + dropped2 > 0);
    });
  }
});
