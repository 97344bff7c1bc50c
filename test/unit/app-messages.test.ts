// The chat message codecs (docs/PROTOCOL.md §8.1, §8.5): golden bytes, the hand-written JSON of a text body
// against JSON.stringify, byte for byte, over strings full of what JSON escapes (quotes, backslashes,
// controls, lone and paired surrogates); ChatText and its decoder; and the feature negotiation (§4.6) on the
// simulated network: a member whose handshake announced no features (any version before them) only ever
// receives JSON chat messages, in a room (XXpsk3) and in a DM (KKpsk0), both ways.
import assert from 'node:assert/strict';
import {
  APP_FEATURES,
  AppFeature,
  decodeApp,
  encodeChat,
  encodeChatFor,
  encodeChatText,
  jsonStringBody,
  MAX_TEXT_CHARS,
  RejectReason,
  type ChatEnvelope,
} from '../../extension/core/room/appMessages';
import { PairKeys } from '../../extension/core/contacts/topics';
import { generateKeyPair, deriveRoomKeys, type KeyPair } from '../../extension/core/noise';
import { namePayload, readNamePayload, type PeerLink } from '../../extension/core/link/peerLink';
import type { Room } from '../../extension/core/room/room';
import type { ChatBody } from '../../extension/core/types';
import { SimHost, SimNet } from '../helpers/simNet';

/** The encoding before the hand-written text path: JSON.stringify of the body after the 17-byte header. */
function viaStringify(m: ChatEnvelope): Buffer {
  const json = Buffer.from(JSON.stringify(m.body), 'utf8');
  const head = Buffer.alloc(17);
  head[0] = 0x01;
  head.writeUInt32BE(m.epoch, 1);
  head.writeUInt32BE(m.seq, 5);
  head.writeBigUInt64BE(BigInt(m.sentAt), 9);
  return Buffer.concat([head, json]);
}

/** A small deterministic generator (xorshift32), so a failure names a reproducible case. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

const PIECES = ['a', 'Z', ' ', 'é', 'ÿ', '\n', '\r', '\t', '\b', '\f', '\v', '"', '\\', '/', '\u0000', '\u001f', '\u007f', '\u2028', '\u2029', '😀', '\ud800', '\udbff', '\udc00', '\udfff', '\uffff', '漢', '</script>'];

describe('app messages: the chat envelope', () => {
  it('golden bytes: a text message', () => {
    const bytes = encodeChat({ epoch: 0x01020304, seq: 5, sentAt: 1_700_000_000_000, body: { kind: 'text', text: 'hi "you"\n' } });
    assert.equal(
      bytes.toString('hex'),
      '01' + '01020304' + '00000005' + '0000018bcfe56800' + Buffer.from('{"kind":"text","text":"hi \\"you\\"\\n"}').toString('hex'),
    );
  });

  it('writes a text body byte for byte as JSON.stringify does, escapes, surrogates and all', () => {
    const next = rng(15);
    for (let k = 0; k < 20_000; k++) {
      let text = '';
      const len = Math.floor(next() * 14);
      for (let i = 0; i < len; i++) text += PIECES[Math.floor(next() * PIECES.length)];
      assert.equal(jsonStringBody(text), JSON.stringify(text).slice(1, -1), `case ${k}: ${JSON.stringify(text)}`);
      const m: ChatEnvelope = { epoch: Math.floor(next() * 2 ** 32), seq: k, sentAt: Math.floor(next() * 2 ** 53), body: { kind: 'text', text } };
      const bytes = encodeChat(m);
      assert.deepEqual(bytes, viaStringify(m), `case ${k}: ${JSON.stringify(text)}`);
      const d = decodeApp(bytes);
      assert.ok(d.ok && d.value.type === 'chat');
      assert.equal(d.value.sentAt, m.sentAt);
      assert.deepEqual(d.value.body, { kind: 'text', text: JSON.parse(JSON.stringify(text)) });
    }
  });

  it('keeps a long plain text as it is (no copy) and writes the other kinds through JSON.stringify', () => {
    const text = 'x'.repeat(70_000);
    assert.equal(jsonStringBody(text), text);
    const snippet: ChatBody = { kind: 'snippet', snippet: { path: 'a.ts', language: 'ts', startLine: 1, endLine: 2, code: 'a\n"b"' }, text: 'see' };
    const m: ChatEnvelope = { epoch: 1, seq: 2, sentAt: 3, body: snippet };
    assert.deepEqual(encodeChat(m), viaStringify(m));
  });

  it('refuses a sentAt that is not a u64 integer, as before', () => {
    assert.throws(() => encodeChat({ epoch: 1, seq: 1, sentAt: 1.5, body: { kind: 'text', text: 'a' } }));
    assert.throws(() => encodeChat({ epoch: 1, seq: 1, sentAt: -1, body: { kind: 'text', text: 'a' } }));
  });
});

describe('app messages: ChatText (§8.5)', () => {
  it('golden bytes, and the decoder gives the same message the JSON form gives', () => {
    const m: ChatEnvelope = { epoch: 0x01020304, seq: 5, sentAt: 1_700_000_000_000, body: { kind: 'text', text: 'hi "you"\n' } };
    const bytes = encodeChatText(m as ChatEnvelope & { body: { kind: 'text' } });
    assert.equal(bytes.toString('hex'), '04' + '01020304' + '00000005' + '0000018bcfe56800' + '68692022796f75220a');
    assert.deepEqual(decodeApp(bytes), decodeApp(encodeChat(m)));
    assert.deepEqual(decodeApp(bytes), { ok: true, value: { type: 'chat', epoch: 0x01020304, seq: 5, sentAt: 1_700_000_000_000, body: { kind: 'text', text: 'hi "you"\n' } } });
  });

  it('same text either way, for any string; the JSON and ChatText decoders agree', () => {
    const next = rng(51);
    for (let k = 0; k < 5000; k++) {
      let text = '';
      const len = Math.floor(next() * 14);
      for (let i = 0; i < len; i++) text += PIECES[Math.floor(next() * PIECES.length)];
      const m: ChatEnvelope = { epoch: 9, seq: k, sentAt: 1_700_000_000_000 + k, body: { kind: 'text', text } };
      // A lone surrogate has no UTF-8 form: such a text goes as JSON even to a ChatText member.
      const viaText = decodeApp(encodeChatFor(AppFeature.ChatText, m));
      const viaJson = decodeApp(encodeChatFor(0, m));
      assert.ok(viaText.ok && viaText.value.type === 'chat' && viaJson.ok && viaJson.value.type === 'chat');
      assert.equal((viaText.value.body as { text: string }).text, text, `case ${k}`);
      assert.equal((viaJson.value.body as { text: string }).text, text, `case ${k}`);
    }
  });

  it('encodeChatFor: ChatText only for a text to a member that announced it; snippets stay JSON', () => {
    const text: ChatEnvelope = { epoch: 1, seq: 1, sentAt: 1, body: { kind: 'text', text: 'a' } };
    const snippet: ChatEnvelope = { epoch: 1, seq: 2, sentAt: 1, body: { kind: 'snippet', snippet: { path: 'a', language: 'c', startLine: 1, endLine: 1, code: 'x' } } };
    assert.equal(encodeChatFor(0, text)[0], 0x01);
    assert.equal(encodeChatFor(0x02, text)[0], 0x01, 'an unknown bit is not ChatText');
    assert.equal(encodeChatFor(AppFeature.ChatText, text)[0], 0x04);
    assert.equal(encodeChatFor(AppFeature.ChatText, { ...text, body: { kind: 'text', text: 'a\ud800' } })[0], 0x01, 'a lone surrogate stays JSON');
    assert.equal(encodeChatFor(0xff, snippet)[0], 0x01);
    assert.equal(APP_FEATURES & AppFeature.ChatText, AppFeature.ChatText);
  });

  it('the decoder: truncated headers fail, an over-long text is refused with its reason, bad UTF-8 becomes U+FFFD', () => {
    const good = encodeChatText({ epoch: 7, seq: 3, sentAt: 0, body: { kind: 'text', text: 'ok' } });
    for (let n = 0; n < 17; n++) assert.equal(decodeApp(good.subarray(0, n)).ok, false, `cut at ${n}`);
    assert.deepEqual(decodeApp(good.subarray(0, 17)), { ok: true, value: { type: 'chat', epoch: 7, seq: 3, sentAt: 0, body: { kind: 'text', text: '' } } });
    const long = encodeChatText({ epoch: 7, seq: 4, sentAt: 0, body: { kind: 'text', text: 'x'.repeat(MAX_TEXT_CHARS + 1) } });
    assert.deepEqual(decodeApp(long), { ok: true, value: { type: 'refused', epoch: 7, seq: 4, reason: RejectReason.TextTooLong } });
    const edge = encodeChatText({ epoch: 7, seq: 5, sentAt: 0, body: { kind: 'text', text: 'x'.repeat(MAX_TEXT_CHARS) } });
    const d = decodeApp(edge);
    assert.equal(d.ok && d.value.type, 'chat');
    const bad = Buffer.concat([good.subarray(0, 17), Buffer.from([0x61, 0xc3, 0x28, 0xff])]);
    assert.deepEqual(decodeApp(bad), { ok: true, value: { type: 'chat', epoch: 7, seq: 3, sentAt: 0, body: { kind: 'text', text: 'a\ufffd(\ufffd' } } });
    assert.throws(() => encodeChatText({ epoch: 1, seq: 1, sentAt: -1, body: { kind: 'text', text: 'a' } }), RangeError);
  });
});

/** Records the first byte (the app message type) of every reliable message a room's links hand it. */
function tapTypes(room: Room): number[] {
  const types: number[] = [];
  const events = (room as unknown as { linkEvents: { message: (link: PeerLink, payload: Buffer, now: number) => void } }).linkEvents;
  const deliver = events.message;
  events.message = (link, payload, now) => {
    types.push(payload[0]);
    deliver(link, payload, now);
  };
  return types;
}

interface Member {
  host: SimHost;
  got: string[];
  types: number[];
}

function watch(host: SimHost): Member {
  const w: Member = { host, got: [], types: tapTypes(host.room) };
  host.room.events = { message: (m) => void w.got.push(m.body.kind === 'text' ? m.body.text : '') };
  return w;
}

function linkTo(from: Member, to: Member): PeerLink {
  return from.host.room.linkFor(to.host.room.selfId)!;
}

describe('feature negotiation in the handshake (§4.6)', () => {
  const keys = deriveRoomKeys(Buffer.alloc(16, 4));

  it('golden bytes of the name payload; a payload without the byte (older versions) reads as no features', () => {
    assert.equal(namePayload('Ann', APP_FEATURES).toString('hex'), '03416e6e01');
    assert.deepEqual(readNamePayload(Buffer.from('03416e6e01', 'hex')), { name: 'Ann', features: 1 });
    assert.deepEqual(readNamePayload(Buffer.from('03416e6e', 'hex')), { name: 'Ann', features: 0 });
    assert.deepEqual(readNamePayload(Buffer.from('03416e6e01ffff', 'hex')), { name: 'Ann', features: 1 }, 'later fields are ignored');
    assert.deepEqual(readNamePayload(Buffer.from('05416e6e', 'hex')), { features: 0 }, 'a cut name: no name, no features');
  });

  it('room (XXpsk3): a member announcing no features gets JSON; one announcing ChatText gets ChatText; both deliver everything in order', () => {
    for (const oldFirst of [false, true]) {
      // Both orders of who joins first (and so, with the seeded keys, both roles in the handshake).
      const net = new SimNet(oldFirst ? 21 : 22);
      const mk = (name: string, i: number, features?: number) =>
        watch(net.addHost(name, { address: `10.0.4.${i + 2}`, port: 5000 }, undefined, { roomId: keys.roomId, psk: keys.psk, ...(features === undefined ? {} : { features }) }));
      const early = oldFirst ? mk('Old', 0, 0) : undefined;
      const neu = mk('New', oldFirst ? 1 : 0);
      const old = early ?? mk('Old', 1, 0);
      net.start(neu.host);
      net.start(old.host);
      assert.ok(net.run(10_000, () => neu.host.room.state.kind === 'connected' && old.host.room.state.kind === 'connected'));
      assert.equal(linkTo(neu, old).remoteFeatures, 0, 'the old member announced nothing');
      assert.equal(linkTo(old, neu).remoteFeatures, APP_FEATURES, 'the new member announced ChatText');
      const texts = ['one', 'two "quoted"\n', 'x'.repeat(1024), '😀'];
      for (const t of texts) neu.host.room.send({ kind: 'text', text: t }, net.now);
      for (const t of texts) old.host.room.send({ kind: 'text', text: `re: ${t}` }, net.now);
      neu.host.room.send({ kind: 'snippet', snippet: { path: 'a.ts', language: 'ts', startLine: 1, endLine: 1, code: 'x' } }, net.now);
      assert.ok(net.run(net.now + 5000, () => old.got.length === texts.length + 1 && neu.got.length === texts.length));
      assert.deepEqual(old.got, [...texts, '']);
      assert.deepEqual(neu.got, texts.map((t) => `re: ${t}`));
      const chat = (types: number[]) => types.filter((t) => t === 0x01 || t === 0x04);
      assert.deepEqual(chat(old.types), [0x01, 0x01, 0x01, 0x01, 0x01], 'only JSON chat messages reach the member that announced nothing');
      assert.deepEqual(chat(neu.types), [0x04, 0x04, 0x04, 0x04], 'ChatText reaches the member that announced it');
    }
  });

  it('DM (KKpsk0): the feature bits ride in message 1 (after the inner packet) and message 2, each way', () => {
    for (const [fa, fb] of [
      [APP_FEATURES, APP_FEATURES],
      [APP_FEATURES, 0],
      [0, APP_FEATURES],
    ]) {
      const net = new SimNet(31);
      const a = generateKeyPair();
      const b = generateKeyPair();
      const mk = (name: string, ip: string, self: KeyPair, peer: Buffer, features: number) => {
        const pair = new PairKeys(self, peer);
        return watch(net.addHost(name, { address: ip, port: 5000 }, undefined, { identity: self, roomId: pair.conversationId, psk: pair.psk, discovery: 'external', onlyPeer: peer, features }));
      };
      const A = mk('A', '192.0.2.1', a, b.publicKey, fa);
      const B = mk('B', '192.0.2.2', b, a.publicKey, fb);
      net.start(A.host);
      net.start(B.host);
      // Queued before the link exists: rides in message 1 as JSON (nothing is known of the peer yet).
      A.host.room.send({ kind: 'text', text: 'early' }, net.now);
      B.host.room.send({ kind: 'text', text: 'early too' }, net.now);
      A.host.room.meet({ peerId: b.publicKey, name: 'B', flags: 0, reflexive: B.host.local, candidates: [] }, net.now);
      B.host.room.meet({ peerId: a.publicKey, name: 'A', flags: 0, reflexive: A.host.local, candidates: [] }, net.now);
      net.pump(A.host);
      net.pump(B.host);
      assert.ok(net.run(net.now + 10_000, () => A.got.length === 1 && B.got.length === 1), `features ${fa}/${fb}: early messages`);
      assert.equal(linkTo(A, B).remoteFeatures, fb, `A learnt B's bits (${fa}/${fb})`);
      assert.equal(linkTo(B, A).remoteFeatures, fa, `B learnt A's bits (${fa}/${fb})`);
      A.host.room.send({ kind: 'text', text: 'later' }, net.now);
      B.host.room.send({ kind: 'text', text: 'later too' }, net.now);
      assert.ok(net.run(net.now + 5000, () => A.got.length === 2 && B.got.length === 2));
      assert.deepEqual(B.got, ['early', 'later']);
      assert.deepEqual(A.got, ['early too', 'later too']);
      const last = (types: number[]) => types.filter((t) => t === 0x01 || t === 0x04).slice(-1)[0];
      assert.equal(last(B.types), fb ? 0x04 : 0x01, `A → B (${fa}/${fb})`);
      assert.equal(last(A.types), fa ? 0x04 : 0x01, `B → A (${fa}/${fb})`);
    }
  });
});
