// Item 3 of the hostile-input suite: spoofed and forged traffic. A third party aiming data packets at
// a live session, replays of every datagram two peers exchanged (handshake included), and a rendezvous
// that lies: substituted keys, swapped endpoints to an active man in the middle, invented members.
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import { generateKeyPair, HandshakeState, TransportCipher, type KeyPair } from '../../extension/core/noise';
import { encodeChat } from '../../extension/core/room/appMessages';
import { Writer } from '../../extension/core/wire/bytes';
import { encodePacket } from '../../extension/core/wire/frames';
import { MsgType } from '../../extension/core/wire/header';
import { decodePeer, encodePeer, HELLO_MIN_BYTES } from '../../extension/core/wire/peer';
import { encodeRendezvous, type MemberRecord } from '../../extension/core/wire/rendezvous';
import type { Endpoint } from '../../extension/core/wire/endpoint';
import { newRoomKeys } from '../helpers/peers';
import { fakeRendezvous, record } from './lib/fakeRendezvous';
import {
  Cleanup,
  connectedPair,
  hintOf,
  link,
  LOOPBACK,
  prng,
  rawSocket,
  say,
  session,
  sleep,
  startPeer,
  startServer,
  texts,
  until,
  type Peer,
} from './lib/rig';
import { untilQuiet } from '../helpers/quiet';

const PATTERN = 'XXpsk3' as const;
const prologue = (roomId: Buffer) => Buffer.concat([Buffer.from('p2p-chat/1 '), roomId]);
const namePayload = (name: string) => new Writer(65).str8(name, 64).finish();

/** A key pair on the requested side of `other` (the lower static key initiates). */
function keyBelow(other: KeyPair, below: boolean): KeyPair {
  for (;;) {
    const k = generateKeyPair();
    if (Buffer.compare(k.publicKey, other.publicKey) < 0 === below) return k;
  }
}

describe('hostile: spoofed and forged traffic', function () {
  this.timeout(60_000);
  const cleanup = new Cleanup();
  afterEach(() => cleanup.run());

  async function pair(record = false): Promise<[Peer, Peer]> {
    const { server, port, probePort } = await startServer();
    cleanup.add(server);
    const [a, b] = await connectedPair({ port, probePort }, newRoomKeys(), { record });
    cleanup.add(a);
    cleanup.add(b);
    return [a, b];
  }

  it("data packets with a live session's receiver index from another address: dropped, never delivered, the endpoint and the replay window stay put", async () => {
    const [a, b] = await pair(true);
    say(a, 'before');
    await until(() => texts(b).length === 1, 5000, 'first message');
    const s = session(b, a)!;
    const { localIndex, endpoint } = s;
    const authBefore = s.transport.dropped.auth;
    const droppedBefore = link(b, a).stats.dropped;
    const captured = a.sent.filter((r) => r.data[2] === MsgType.Data && r.to.port === b.port).map((r) => r.data);
    const atk = cleanup.add(await rawSocket());
    const r = prng(5);
    let forged = 0;
    for (let i = 0; i < 3000; i++) {
      let pkt: Buffer;
      if (i % 3 === 0 && captured.length) {
        // A real packet of this session with its ciphertext bit-flipped: a header that is right in every way.
        pkt = Buffer.from(r.pick(captured));
        pkt[15 + r.int(pkt.length - 15)] ^= 1 << r.int(8);
      } else {
        // Counters anywhere, including far ahead: a forged one must not slide the replay window.
        const counter = r.pick([0n, 1n, BigInt(r.int(1000)), 1n << 59n, (1n << 60n) - 1n, 1n << 60n, (1n << 64n) - 1n]);
        pkt = encodePeer({ type: 'data', receiver: localIndex, counter, ciphertext: r.bytes(16 + r.int(1100)) });
      }
      atk.send(pkt, b.port);
      forged++;
      if (i % 200 === 0) await sleep(2);
    }
    // Until B has stopped counting drops and nothing has come back for 400 ms: not a fixed window.
    await untilQuiet(() => link(b, a).stats.dropped + atk.replies.length, { quietMs: 400, maxMs: 15_000 });
    const after = session(b, a)!;
    const authDrops = after.transport.dropped.auth - authBefore;
    const dropped = link(b, a).stats.dropped - droppedBefore;
    console.log(`      ${forged} forged data packets: ${dropped} dropped by the session (${authDrops} failed authentication, the rest by the replay window or counter range: ${JSON.stringify(after.transport.dropped)}); ${atk.bytesIn} B came back to the forger`);
    assert.equal(after.localIndex, localIndex, 'same session');
    assert.deepEqual({ address: after.endpoint.address, port: after.endpoint.port }, { address: endpoint.address, port: endpoint.port }, 'the endpoint did not move');
    assert.equal(link(b, a).stats.moved, 0);
    assert.deepEqual(texts(b), ['before']);
    assert.ok(dropped >= forged * 0.5, `only ${dropped} of ${forged} forged packets reached the session`);
    assert.ok(authDrops > 0);
    assert.equal(atk.bytesIn, 0, 'nothing is sent to the forger');
    // The window did not move: ordinary traffic goes on, both ways, to the right addresses.
    for (let i = 0; i < 5; i++) say(a, `a${i}`);
    for (let i = 0; i < 5; i++) say(b, `b${i}`);
    await until(() => texts(b).length === 6 && texts(a).length === 5, 5000, 'messages after the forgeries');
    assert.deepEqual(texts(b), ['before', 'a0', 'a1', 'a2', 'a3', 'a4']);
    assert.equal(atk.bytesIn, 0);
  });

  async function replayCase(types: number[]): Promise<{ a: Peer; b: Peer; atkIn: number; atkOut: number; replayed: number }> {
    const [a, b] = await pair(true);
    for (let i = 0; i < 5; i++) say(a, `a${i}`);
    for (let i = 0; i < 5; i++) say(b, `b${i}`);
    await until(() => texts(a).length === 5 && texts(b).length === 5, 5000, 'the first messages');
    await sleep(300); // acknowledgements settle
    // Past the initiator's grace period for late Hellos (IGNORE_HELLO_AFTER_ESTABLISH_MS): replays now hit the live logic.
    await sleep(3200);
    const snap = (p: Peer, q: Peer) => ({ index: session(p, q)!.localIndex, handshakes: link(p, q).stats.handshakes, port: session(p, q)!.endpoint.port });
    const before = { a: snap(a, b), b: snap(b, a) };
    const pick = (p: Peer, q: Peer) => p.sent.filter((r) => r.to.port === q.port && types.includes(r.data[2])).map((r) => r.data);
    const fromA = pick(a, b);
    const fromB = pick(b, a);
    assert.ok(fromA.length + fromB.length > 0, 'something to replay');
    const atk = cleanup.add(await rawSocket());
    for (let round = 0; round < 2; round++) {
      for (const d of fromA) {
        a.rawSend(d, { address: LOOPBACK, port: b.port }); // from the real sender's own address
        atk.send(d, b.port); // and from a third one
      }
      for (const d of fromB) {
        b.rawSend(d, { address: LOOPBACK, port: a.port });
        atk.send(d, a.port);
      }
      await sleep(400);
    }
    await sleep(600);
    assert.deepEqual(texts(b), ['a0', 'a1', 'a2', 'a3', 'a4'], 'no duplicate delivery at Bob');
    assert.deepEqual(texts(a), ['b0', 'b1', 'b2', 'b3', 'b4'], 'no duplicate delivery at Alice');
    assert.deepEqual({ a: snap(a, b), b: snap(b, a) }, before, 'no session reset, no endpoint move');
    say(a, 'after');
    await until(() => texts(b).includes('after'), 5000, 'a message after the replays');
    return { a, b, atkIn: atk.bytesIn, atkOut: atk.bytesOut, replayed: 2 * (fromA.length + fromB.length) };
  }

  it('replayed data, reply and confirm packets (from the original address and from another): no duplicate delivery, no session reset', async () => {
    const r = await replayCase([MsgType.Reply, MsgType.Confirm, MsgType.Data]);
    console.log(`      replayed ${r.replayed} datagrams twice from two addresses; the third party got ${r.atkIn} B back for ${r.atkOut} B`);
    assert.ok(r.atkIn <= r.atkOut);
  });

  it('replayed Hellos (the handshake opener and the punches): no session reset, nothing larger back to the replaying address', async () => {
    const r = await replayCase([MsgType.Hello]);
    console.log(`      replayed ${r.replayed} Hellos; the third party got ${r.atkIn} B back for ${r.atkOut} B`);
    assert.ok(r.atkIn <= r.atkOut, `${r.atkIn} B back for ${r.atkOut} B`);
  });

  it('a rendezvous that substitutes an impostor (own key, the room id, NOT the psk) for each member: no handshake completes, nothing is delivered either way', async () => {
    const keys = newRoomKeys();
    const impostorKeys = { roomId: keys.roomId, psk: newRoomKeys().psk };
    // Ids ordered A < M < B: the impostor is the responder towards Alice and the initiator towards Bob.
    let ids = [generateKeyPair(), generateKeyPair(), generateKeyPair()].sort((x, y) => Buffer.compare(x.publicKey, y.publicKey));
    const mKey = ids[1];
    const rdv = await fakeRendezvous((self, all) => {
      const m = all.find((x) => x.peerId.equals(mKey.publicKey));
      if (self.peerId.equals(mKey.publicKey)) return all.filter((x) => x !== self).map((x) => record(x.peerId, x.name, x.from));
      return m ? [record(m.peerId, m.name, m.from)] : []; // honest members only ever hear of the impostor
    });
    cleanup.add(rdv);
    const srv = { port: rdv.port, probePort: rdv.probePort };
    const punchTimeoutMs = 2000;
    const a = cleanup.add(await startPeer({ name: 'Alice', server: srv, keys, identity: ids[0], punchTimeoutMs }));
    const b = cleanup.add(await startPeer({ name: 'Bob', server: srv, keys, identity: ids[2], punchTimeoutMs }));
    const m = cleanup.add(await startPeer({ name: 'Alice', server: srv, keys: impostorKeys, identity: mKey, punchTimeoutMs }));
    ids = [];
    await until(() => !!a.host.room.linkFor(m.id) && !!b.host.room.linkFor(m.id) && !!m.host.room.linkFor(a.id), 5000, 'the lies to arrive');
    for (let i = 0; i < 3; i++) {
      say(a, `a${i}`);
      say(b, `b${i}`);
      say(m, `m${i}`);
    }
    const deadline = Date.now() + punchTimeoutMs + 1500;
    while (Date.now() < deadline) {
      for (const [p, q] of [
        [a, m],
        [b, m],
        [m, a],
        [m, b],
      ] as const) {
        assert.equal(link(p, q).verified, false, `${p.host.room.name} verified the impostor link`);
      }
      await sleep(50);
    }
    for (const p of [a, b, m]) assert.deepEqual(texts(p), [], `${p.host.room.name} received something`);
    const la = link(a, m);
    const lb = link(b, m);
    console.log(
      `      Alice (initiator): phase ${la.phase}, ${la.failure ?? ''}; Bob (responder): auth failures ${lb.stats.authFailures}, handshakes ${lb.stats.handshakes}; impostor auth failures ${link(m, a).stats.authFailures}/${link(m, b).stats.authFailures}`,
    );
    assert.equal(lb.stats.handshakes, 0, 'Bob never installed a session with the impostor');
    assert.ok(lb.stats.authFailures > 0 || link(m, b).stats.authFailures > 0, 'the psk check refused the impostor');
    assert.notEqual(a.host.room.state.kind, 'connected');
    assert.notEqual(b.host.room.state.kind, 'connected');
  });

  for (const aliceInitiates of [true, false]) {
    it(`a rendezvous that sends Alice to a man in the middle who knows the psk but not Bob's key: the key check refuses it (Alice ${aliceInitiates ? 'initiates' : 'responds'})`, async () => {
      const keys = newRoomKeys();
      const alice = generateKeyPair();
      const bob = keyBelow(alice, !aliceInitiates); // Alice initiates when her key is the lower one
      const mallory = generateKeyPair();
      const mitm = dgram.createSocket('udp4');
      await new Promise<void>((r) => mitm.bind(0, LOOPBACK, () => r()));
      cleanup.fn(() => new Promise<void>((r) => mitm.close(() => r())));
      const mitmAt = { address: LOOPBACK, port: mitm.address().port };
      const rdv = cleanup.add(await fakeRendezvous((self) => (self.peerId.equals(alice.publicKey) ? [record(bob.publicKey, 'Bob', mitmAt)] : [])));
      const a = cleanup.add(await startPeer({ name: 'Alice', server: { port: rdv.port, probePort: rdv.probePort }, keys, identity: alice, punchTimeoutMs: 3000 }));
      const hintA = hintOf(keys.roomId, alice);
      const hintB = hintOf(keys.roomId, bob);
      const events = { replies: 0, confirms: 0, confirmedByAlice: 0, dataSent: 0 };
      let ours: HandshakeState | undefined;
      const ourIndex = 0x1234567;
      mitm.on('message', (buf, rinfo) => {
        const d = decodePeer(buf);
        if (!d.ok) return;
        const p = d.value;
        const to = (x: Buffer) => mitm.send(x, rinfo.port, rinfo.address);
        if (p.type === 'hello' && p.sender !== 0 && aliceInitiates) {
          // Answer Alice's message 1 as "Bob", with Mallory's static key and the real psk.
          const hs = new HandshakeState({ pattern: PATTERN, initiator: false, prologue: prologue(keys.roomId), s: mallory, psk: keys.psk });
          if (!hs.readMessage(p.noise).ok) return;
          events.replies++;
          to(encodePeer({ type: 'reply', sender: ourIndex, receiver: p.sender, noise: hs.writeMessage(namePayload('Bob')) }));
        } else if (p.type === 'hello' && !aliceInitiates && !ours) {
          // Alice punches "Bob": open a handshake as the initiator "Bob", with Mallory's key.
          ours = new HandshakeState({ pattern: PATTERN, initiator: true, prologue: prologue(keys.roomId), s: mallory, psk: keys.psk });
          to(encodePeer({ type: 'hello', sender: ourIndex, senderHint: hintB, receiverHint: hintA, noise: ours.writeMessage(Buffer.alloc(HELLO_MIN_BYTES)) }));
        } else if (p.type === 'reply' && ours && p.receiver === ourIndex) {
          if (!ours.readMessage(p.noise).ok) return;
          events.confirms++;
          to(encodePeer({ type: 'confirm', sender: ourIndex, receiver: p.sender, noise: ours.writeMessage(namePayload('Bob')) }));
          // Had Alice accepted, this would be a chat message from "Bob".
          const t = TransportCipher.fromSplit(ours.split());
          const chat = encodeChat({ epoch: 1, seq: 1, sentAt: Date.now(), body: { kind: 'text', text: 'from mallory' } });
          const sealed = t.seal(encodePacket([{ type: 'data', seq: 0, first: true, last: true, messageLength: chat.length, payload: chat }]));
          to(encodePeer({ type: 'data', receiver: p.sender, counter: sealed.counter, ciphertext: sealed.ciphertext }));
          events.dataSent++;
        } else if (p.type === 'data' && ours) {
          events.confirmedByAlice++; // Alice only sends data on a session she installed
        }
      });
      await until(() => (aliceInitiates ? events.replies > 0 : events.confirms > 0), 5000, 'the man in the middle to engage');
      await sleep(1500);
      const l = link(a, bob.publicKey.toString('hex'));
      console.log(`      identity mismatches ${l.stats.identityMismatches}, auth failures ${l.stats.authFailures}, handshakes ${l.stats.handshakes}; mitm sent ${events.replies} replies, ${events.confirms} confirms, ${events.dataSent} data`);
      assert.ok(l.stats.identityMismatches > 0, 'the static key was checked against the member id');
      assert.equal(l.stats.handshakes, 0, 'no session was installed');
      assert.equal(l.verified, false);
      assert.equal(events.confirmedByAlice, 0, 'Alice sent nothing on a session with the impostor');
      assert.deepEqual(texts(a), []);
    });
  }

  it('member lists naming unknown peer ids (at unused ports, at a real peer, at the rendezvous, at ourselves) lead nowhere; rendezvous messages from elsewhere are ignored', async () => {
    const keys = newRoomKeys();
    const r = prng(9);
    const junkIds = Array.from({ length: 12 }, () => r.bytes(32));
    let bobAt = { address: LOOPBACK, port: 9 };
    let aliceId: Buffer = Buffer.alloc(0);
    let rdvPort = 0;
    const rdv = cleanup.add(
      await fakeRendezvous((self, all): MemberRecord[] => {
        const bob = all.find((x) => x.name === 'Bob');
        if (bob) bobAt = bob.from;
        if (self.name !== 'Alice') return [];
        aliceId = self.peerId;
        const spots: Endpoint[] = [{ address: LOOPBACK, port: 1 }, { address: LOOPBACK, port: 65535 }, bobAt, self.from, { address: LOOPBACK, port: rdvPort }];
        return [...junkIds.map((id, i) => record(id, `ghost${i}`, spots[i % spots.length], { candidates: [spots[(i + 1) % spots.length]] })), record(self.peerId, 'me', self.from)];
      }),
    );
    rdvPort = rdv.port;
    const srv = { port: rdv.port, probePort: rdv.probePort };
    const b = cleanup.add(await startPeer({ name: 'Bob', server: srv, keys, punchTimeoutMs: 1500 }));
    const a = cleanup.add(await startPeer({ name: 'Alice', server: srv, keys, punchTimeoutMs: 1500 }));
    await until(() => junkIds.every((id) => !!a.host.room.linkFor(id.toString('hex'))), 5000, 'the invented members');
    rdv.pushAll();
    // A forged push from an address that is not the rendezvous: must be ignored.
    const atk = cleanup.add(await rawSocket());
    const ghost = r.bytes(32);
    const foreignBefore = a.host.room.stats.droppedForeign;
    atk.send(encodeRendezvous({ type: 'peer', joined: true, member: record(ghost, 'spoof', atk.local) }), a.port);
    say(a, 'anyone?');
    await until(() => junkIds.every((id) => link(a, id.toString('hex')).phase === 'failed'), 6000, 'every invented member to fail');
    assert.equal(a.host.room.linkFor(ghost.toString('hex')), undefined, 'the forged push created no link');
    assert.ok(a.host.room.stats.droppedForeign > foreignBefore);
    assert.equal(a.host.room.linkFor(aliceId.toString('hex')), undefined, 'no link to ourselves');
    assert.equal(a.host.room.state.kind, 'failed');
    assert.deepEqual(texts(b), []);
    assert.ok(b.host.room.stats.droppedUnknownPeer > 0, "Bob dropped Hellos meant for someone else's hint");
    console.log(`      Alice: ${JSON.stringify(a.host.room.state)}; Bob dropped ${b.host.room.stats.droppedUnknownPeer} Hellos for unknown hints`);
  });
});
