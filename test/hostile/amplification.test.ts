// Item 4 of the hostile-input suite: reflection amplification. For every request type the rendezvous
// accepts, and for the datagrams a peer answers, from a source that never proved its address: bytes
// that come back ÷ bytes sent must be ≤ 1.0. The STUN Binding answer is the documented exception and
// is reported on its own line. The attacker of the peer cases is the strongest one that is not a member:
// it knows the room id and the peer ids (as the rendezvous does), so it can forge routable Hellos.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { generateKeyPair, HandshakeState } from '../../extension/core/noise';
import { HEADER_BYTES, MAGIC, MsgType, VERSION } from '../../extension/core/wire/header';
import { encodePeer, HELLO_MIN_BYTES } from '../../extension/core/wire/peer';
import { encodeRendezvous, ErrorCode, type RendezvousMessage } from '../../extension/core/wire/rendezvous';
import { encodeStun, Method, StunClass } from '../../extension/core/relay/stunCodec';
import { newRoomKeys } from '../helpers/peers';
import { untilQuiet } from '../helpers/quiet';
import { UDP_MAX_IPV4 } from './lib/corpus';
import { fakeRendezvous, record } from './lib/fakeRendezvous';
import { Cleanup, connectedPair, hintOf, rawSocket, roles, say, session, sleep, startPeer, startServer, texts, until, type Peer } from './lib/rig';

interface Row {
  what: string;
  sent: number;
  back: number;
}
const factor = (r: Row) => (r.sent ? r.back / r.sent : 0);

/** Sends, then counts what comes back until the socket has been quiet for 400 ms (not a fixed window), after `minMs` if given. */
async function measure(target: number, datagrams: Buffer[], watch: { minMs?: number } = {}): Promise<Row & { replies: number }> {
  const s = await rawSocket();
  try {
    for (const d of datagrams) s.send(d, target);
    await untilQuiet(() => s.replies.length, { quietMs: 400, maxMs: 15_000, ...watch });
    return { what: '', sent: s.bytesOut, back: s.bytesIn, replies: s.replies.length };
  } finally {
    await s.close();
  }
}

describe('hostile: amplification (reply bytes ÷ request bytes, unverified sources)', function () {
  this.timeout(90_000);
  const cleanup = new Cleanup();
  const table: string[] = [];
  afterEach(() => cleanup.run());
  after(() => {
    if (table.length) console.log(`      amplification factors:\n${table.map((t) => `        ${t}`).join('\n')}`);
  });
  const note = (r: Row, extra = '') => table.push(`${r.what.padEnd(62)} ${String(r.back).padStart(6)} / ${String(r.sent).padStart(6)} B = ${factor(r).toFixed(3)}${extra}`);

  it('rendezvous: every request type, once and in a burst of 50, answers an unverified source with at most as many bytes', async () => {
    const { server, port, probePort } = await startServer();
    cleanup.add(server);
    const room = randomBytes(32);
    const peer = randomBytes(32);
    const zero = Buffer.alloc(16);
    const reg = (o: Partial<Extract<RendezvousMessage, { type: 'register' }>> = {}) =>
      encodeRendezvous({ type: 'register', roomId: room, peerId: peer, cookie: zero, name: '', candidates: [], ...o });
    const big = reg({ name: 'n'.repeat(64), cookie: randomBytes(16), candidates: Array.from({ length: 8 }, (_, i) => ({ address: `2001:db8::${i + 1}`, port: 1000 + i })) });
    const cases: { what: string; d: () => Buffer; to?: number }[] = [
      { what: 'register, no cookie (smallest)', d: () => reg() },
      { what: 'register, wrong cookie (largest)', d: () => big },
      { what: 'leave, no cookie', d: () => encodeRendezvous({ type: 'leave', roomId: room, peerId: peer, cookie: zero }) },
      { what: 'probe, main port', d: () => encodeRendezvous({ type: 'probe', txid: randomBytes(8) }) },
      { what: 'probe, probe port', d: () => encodeRendezvous({ type: 'probe', txid: randomBytes(8) }), to: probePort },
      { what: 'register on the probe port', d: () => reg(), to: probePort },
      { what: 'truncated register (malformed)', d: () => reg().subarray(0, 40) },
      { what: 'unknown type', d: () => Buffer.concat([Buffer.from([MAGIC, VERSION, 0x7f]), randomBytes(60)]) },
      { what: 'wrong version', d: () => Buffer.concat([Buffer.from([MAGIC, 9, 0x01]), randomBytes(100)]) },
      { what: 'oversized 600 B', d: () => Buffer.concat([Buffer.from([MAGIC, VERSION, 0x01]), randomBytes(597)]) },
      { what: `oversized ${UDP_MAX_IPV4} B`, d: () => Buffer.concat([Buffer.from([MAGIC, VERSION, 0x01]), randomBytes(UDP_MAX_IPV4 - 3)]) },
      ...(['cookie', 'welcome', 'peer', 'left', 'error', 'probeReply'] as const).map((t) => ({
        what: `server-to-client type sent to the server: ${t}`,
        d: () =>
          encodeRendezvous(
            (
              {
                cookie: { type: 'cookie', cookie: zero },
                welcome: { type: 'welcome', observed: { address: '127.0.0.1', port: 1 }, refreshSeconds: 15, members: 1, known: [] },
                peer: { type: 'peer', joined: true, member: record(peer, 'x', { address: '127.0.0.1', port: 1 }) },
                left: { type: 'left', peerId: peer },
                error: { type: 'error', code: ErrorCode.Malformed, message: 'loop?' },
                probeReply: { type: 'probeReply', txid: zero.subarray(0, 8), observed: { address: '127.0.0.1', port: 1 } },
              } satisfies Record<string, RendezvousMessage>
            )[t],
          ),
      })),
      ...([MsgType.Hello, MsgType.Reply, MsgType.Confirm, MsgType.Data] as const).map((t) => ({
        what: `peer packet type 0x${t.toString(16)} sent to the server`,
        d: () => Buffer.concat([Buffer.from([MAGIC, VERSION, t]), randomBytes(HELLO_MIN_BYTES)]),
      })),
      { what: 'STUN, not a Binding request', d: () => encodeStun({ method: Method.Allocate, cls: StunClass.Request, txid: randomBytes(12), attrs: [] }) },
    ];
    for (const c of cases) {
      for (const n of [1, 50]) {
        const r = await measure(c.to ?? port, Array.from({ length: n }, c.d));
        const row = { what: `rendezvous: ${c.what}${n > 1 ? ` ×${n}` : ''}`, sent: r.sent, back: r.back };
        note(row, ` (${r.replies} replies)`);
        assert.ok(factor(row) <= 1, `${row.what}: factor ${factor(row)}`);
      }
    }
    const stun = await measure(port, [encodeStun({ method: Method.Binding, cls: StunClass.Request, txid: randomBytes(12), attrs: [] })]);
    note({ ...stun, what: 'rendezvous: STUN Binding request (the documented exception)' }, ' (exception)');
    const stunBurst = await measure(port, Array.from({ length: 50 }, () => encodeStun({ method: Method.Binding, cls: StunClass.Request, txid: randomBytes(12), attrs: [] })));
    note({ ...stunBurst, what: 'rendezvous: STUN Binding ×50 (per-source lane)' }, ` (exception, ${stunBurst.replies} answered)`);
    assert.ok(stun.back / stun.sent <= 1.6 + 1e-9, 'a Binding answer stays minimal (20 B -> 32 B)');
    const st = server.stats();
    table.push(`rendezvous totals (stats): unverified ${st.unverified.bytesOut}/${st.unverified.bytesIn} B; STUN ${st.stun.bytesOut}/${st.stun.bytesIn} B; ${st.suppressed.wouldAmplify} replies suppressed as amplifying`);
    assert.ok(st.unverified.bytesOut <= st.unverified.bytesIn);
  });

  describe('peers', () => {
    let a: Peer;
    let b: Peer;
    let keys: ReturnType<typeof newRoomKeys>;
    let initiator: Peer;
    let responder: Peer;
    const own = new Cleanup(); // lives across this block's tests, unlike the per-test list

    before(async () => {
      const { server, port, probePort } = await startServer();
      own.add(server);
      keys = newRoomKeys();
      [a, b] = await connectedPair({ port, probePort }, keys);
      own.add(a);
      own.add(b);
      ({ initiator, responder } = roles(a, b));
      say(a, 'x');
      await until(() => texts(b).length === 1, 5000, 'a message');
      await sleep(3200); // past the initiator's grace period for late Hellos
    });
    after(() => own.run());

    const hello = (from: Peer, to: Peer, sender: number, noise: Buffer) =>
      encodePeer({ type: 'hello', sender, senderHint: hintOf(keys.roomId, from.identity), receiverHint: hintOf(keys.roomId, to.identity), noise });
    /** A valid Noise message 1: the attacker knows the room id (the prologue), not the psk. */
    const message1 = () =>
      new HandshakeState({ pattern: 'XXpsk3', initiator: true, prologue: Buffer.concat([Buffer.from('p2p-chat/1 '), keys.roomId]), s: generateKeyPair(), psk: randomBytes(32) }).writeMessage(
        Buffer.alloc(HELLO_MIN_BYTES - HEADER_BYTES - 20 - 32 - 16),
      );

    it('Hellos with hints outside the room, and replies, confirms and data with made-up indices: nothing back', async () => {
      for (const to of [initiator, responder]) {
        const r = await measure(
          to.port,
          [
            encodePeer({ type: 'hello', sender: 1, senderHint: randomBytes(8), receiverHint: randomBytes(8), noise: randomBytes(HELLO_MIN_BYTES) }),
            encodePeer({ type: 'reply', sender: 1, receiver: 12345, noise: randomBytes(120) }),
            encodePeer({ type: 'confirm', sender: 1, receiver: 12345, noise: randomBytes(120) }),
            encodePeer({ type: 'data', receiver: 12345, counter: 0n, ciphertext: randomBytes(100) }),
            encodePeer({ type: 'data', receiver: session(to, to === a ? b : a)!.localIndex, counter: 99n, ciphertext: randomBytes(100) }),
          ],
        );
        const row = { what: `peer (${to === initiator ? 'initiator' : 'responder'}): foreign hints / unknown or live indices`, sent: r.sent, back: r.back };
        note(row);
        assert.equal(r.back, 0);
      }
    });

    it("a forged Noise message 1 to the live session's responder: the Reply is smaller than the Hello", async () => {
      const r = await measure(responder.port, [hello(initiator, responder, 777, message1())], { minMs: 1500 });
      const row = { what: 'peer (responder): forged message 1 with the right hints', sent: r.sent, back: r.back };
      note(row, ` (${r.replies} replies)`);
      assert.ok(factor(row) <= 1, `factor ${factor(row)}`);
    });

    it("a forged punch to the live session's initiator: nothing larger comes back, and the session is not re-keyed", async () => {
      const before = session(initiator, responder)!.localIndex;
      const r = await measure(initiator.port, [hello(responder, initiator, 0, randomBytes(HELLO_MIN_BYTES - HEADER_BYTES - 20))], { minMs: 1500 });
      const row = { what: 'peer (initiator, live session): forged punch with the right hints', sent: r.sent, back: r.back };
      const reset = session(initiator, responder)!.localIndex !== before;
      note(row, ` (${r.replies} replies${reset ? ', and the session was re-keyed' : ''})`);
      assert.ok(factor(row) <= 1, `factor ${factor(row).toFixed(2)}`);
      assert.ok(!reset, 'an unauthenticated Hello re-keyed a live session');
    });
  });

  for (const ourRole of ['initiator', 'responder'] as const) {
    it(`a peer still punching an absent member (${ourRole}) answers a forged Hello from a new address with at most its size, over the whole punch window`, async () => {
      const keys = newRoomKeys();
      const me = generateKeyPair();
      let ghost = generateKeyPair();
      while (Buffer.compare(me.publicKey, ghost.publicKey) < 0 !== (ourRole === 'initiator')) ghost = generateKeyPair();
      const rdv = cleanup.add(await fakeRendezvous(() => [record(ghost.publicKey, 'Ghost', { address: '127.0.0.1', port: 9 })]));
      const p = cleanup.add(await startPeer({ name: 'Me', server: { port: rdv.port, probePort: rdv.probePort }, keys, identity: me, punchTimeoutMs: 15_000 }));
      await until(() => !!p.host.room.linkFor(ghost.publicKey.toString('hex')), 3000, 'the absent member');
      const hints = { senderHint: hintOf(keys.roomId, ghost), receiverHint: hintOf(keys.roomId, me) };
      const noise =
        ourRole === 'initiator'
          ? randomBytes(HELLO_MIN_BYTES - HEADER_BYTES - 20) // the responder's punch: no handshake, sender 0
          : new HandshakeState({ pattern: 'XXpsk3', initiator: true, prologue: Buffer.concat([Buffer.from('p2p-chat/1 '), keys.roomId]), s: generateKeyPair(), psk: randomBytes(32) }).writeMessage(
              Buffer.alloc(HELLO_MIN_BYTES - HEADER_BYTES - 20 - 32 - 16),
            );
      const r = await measure(p.port, [encodePeer({ type: 'hello', sender: ourRole === 'initiator' ? 0 : 4242, ...hints, noise })], { minMs: 3000 });
      const row = { what: `peer (${ourRole}, punching): one forged Hello, 3 s window`, sent: r.sent, back: r.back };
      note(row, ` (${r.replies} datagrams back)`);
      assert.ok(factor(row) <= 1, `factor ${factor(row).toFixed(2)}: ${r.replies} datagrams to an address that never proved anything`);
    });
  }
});
