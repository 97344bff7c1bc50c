// Fuzz targets: every decoder of untrusted bytes, with the properties it must keep on ANY input:
// never throw (a decoder answers {ok:false}), and what it accepts survives a round trip through its
// encoder (the encoders throw on values our own code could never produce, so a decoded value that
// makes them throw is a value the decoder should have refused). A property violation throws.
import assert from 'node:assert/strict';
import { decodeApp, decodeEphemeral, encodeChat, encodeChatText, encodeEphemeral, encodeReject, validateBody, MAX_TEXT_CHARS, MAX_SNIPPET_BYTES } from '../../extension/core/room/appMessages';
import { formatInvite, inviteLink, parseInvite } from '../../extension/core/invite';
import { classify, MAGIC, VERSION } from '../../extension/core/wire/header';
import { decodePeer, encodePeer, HELLO_MIN_BYTES } from '../../extension/core/wire/peer';
import { decodeRendezvous, encodeRendezvous, ErrorCode } from '../../extension/core/wire/rendezvous';
import { decodeFrame, decodePacket, encodePacket, type Frame } from '../../extension/core/wire/frames';
import {
  checkFingerprint,
  checkIntegrity,
  decodeChannelData,
  decodeErrorCode,
  decodeStun,
  decodeXorAddress,
  encodeChannelData,
  encodeStun,
  longTermKey,
  Method,
  Attr,
  StunClass,
} from '../../extension/core/relay/stunCodec';
import { encodeBindingSuccess, parseBindingRequest } from '../../rendezvous/stun';
import { decodeMailbox, encodeMailbox } from '../../extension/core/wire/mailbox';
import { decodeContent, encodeContent } from '../../extension/core/mailbox/envelope';
import { decodeDirectory, encodeDirectory } from '../../extension/core/wire/directory';
import { decodeTopic, encodeTopic, TopicKind } from '../../extension/core/wire/topics';
import { decodeContactPacket, decodeRequestPayload, encodeContactPacket, encodeRequestPayload } from '../../extension/core/wire/contactRequest';
import { contactUri, formatContactLink, parseContactLink } from '../../extension/core/contacts/link';

export interface Target {
  name: string;
  /** Built-in seeds, used when the checked-in corpus folder is missing. */
  seeds(): Buffer[];
  /** Runs one input; returns a short outcome label; throws when a property is violated. */
  run(data: Buffer): string;
  /** Tokens the mutator splices in: magic numbers, keywords, separators. */
  dictionary?: Buffer[];
  maxLen: number;
}

function isDecoded(r: unknown): asserts r is { ok: true; value: unknown } | { ok: false; error: string } {
  assert.ok(typeof r === 'object' && r !== null && 'ok' in r, 'a decoder result');
  const x = r as { ok: unknown; error?: unknown };
  if (x.ok === false) assert.equal(typeof x.error, 'string', 'a failed decode carries an error string');
  else assert.equal(x.ok, true);
}

const label = (r: { ok: boolean; error?: string }, ok: string) => (r.ok ? ok : `err:${(r.error ?? '').replace(/[0-9a-f]{2,}|\d+/g, '#')}`);

const TXID = Buffer.from('0102030405060708090a0b0c', 'hex');
const KEY = longTermKey('user', 'realm', 'pass');

const rdvSeeds = (): Buffer[] => {
  const ep4 = { address: '192.0.2.1', port: 7000 };
  const ep6 = { address: '2001:db8::1', port: 65535 };
  const id = Buffer.alloc(32, 7);
  return [
    encodeRendezvous({ type: 'register', roomId: id, peerId: id, cookie: Buffer.alloc(16), name: 'Ann', flags: 1, candidates: [ep4, ep6] }),
    encodeRendezvous({ type: 'cookie', cookie: Buffer.alloc(16, 1) }),
    encodeRendezvous({ type: 'welcome', observed: ep4, refreshSeconds: 15, members: 1, known: [] }),
    encodeRendezvous({ type: 'welcome', observed: ep4, refreshSeconds: 15, members: 2, known: [{ peerId: id, name: 'Bo', flags: 1, reflexive: ep4, candidates: [ep6] }] }),
    encodeRendezvous({ type: 'welcome', observed: ep6, refreshSeconds: 15, members: 2, turn: { server: ep4, username: '123:ab', password: 'pw', ttlSeconds: 600 }, known: [] }),
    encodeRendezvous({ type: 'peer', joined: true, member: { peerId: id, name: 'Bo', flags: 2, reflexive: ep6, candidates: [ep4] } }),
    encodeRendezvous({ type: 'left', peerId: id }),
    encodeRendezvous({ type: 'leave', roomId: id, peerId: id, cookie: Buffer.alloc(16) }),
    encodeRendezvous({ type: 'error', code: ErrorCode.RoomFull, message: 'room is full (8 members)' }),
    encodeRendezvous({ type: 'probe', txid: Buffer.alloc(8, 3) }),
    encodeRendezvous({ type: 'probeReply', txid: Buffer.alloc(8, 3), observed: ep6 }),
  ];
};

const peerSeeds = (): Buffer[] => [
  encodePeer({ type: 'hello', sender: 1, senderHint: Buffer.alloc(8, 1), receiverHint: Buffer.alloc(8, 2), noise: Buffer.alloc(HELLO_MIN_BYTES - 23 + 48) }),
  encodePeer({ type: 'reply', sender: 1, receiver: 2, noise: Buffer.alloc(110) }),
  encodePeer({ type: 'confirm', sender: 1, receiver: 2, noise: Buffer.alloc(130) }),
  encodePeer({ type: 'data', receiver: 2, counter: 5n, ciphertext: Buffer.alloc(40) }),
];

const frameSeeds = (): Buffer[] => [
  encodePacket([{ type: 'data', seq: 0, first: true, last: true, messageLength: 5, payload: Buffer.from('hello') }]),
  encodePacket([
    { type: 'ack', cumulative: 7, ackDelay: 3, ranges: [{ start: 9, length: 2 }] },
    { type: 'data', seq: 7, first: true, last: false, messageLength: 3000, payload: Buffer.alloc(20) },
  ]),
  encodePacket([{ type: 'data', seq: 8, first: false, last: true, payload: Buffer.alloc(10) }, { type: 'ping', token: 1 }]),
  encodePacket([{ type: 'pong', token: 2 }, { type: 'ephemeral', payload: Buffer.from([1, 1]) }, { type: 'close', code: 0, reason: 'bye' }]),
];

const chat = (body: unknown) => Buffer.concat([encodeChat({ epoch: 1, seq: 2, sentAt: 1_700_000_000_000, body: { kind: 'text', text: '' } }).subarray(0, 17), Buffer.from(JSON.stringify(body))]);

const appSeeds = (): Buffer[] => [
  chat({ kind: 'text', text: 'hi **there**' }),
  chat({ kind: 'snippet', snippet: { path: 'src/a.ts', language: 'typescript', startLine: 1, endLine: 3, code: 'let x = 1;\n' } }),
  chat({ kind: 'snippet', text: 'look', snippet: { path: 'a', language: 'c', startLine: 10, endLine: 10, code: '' } }),
  encodeChatText({ epoch: 1, seq: 3, sentAt: 1_700_000_000_000, body: { kind: 'text', text: 'plain 😀 text' } }),
  encodeEphemeral({ type: 'typing', typing: true }),
  encodeEphemeral({ type: 'presence', away: false }),
];

function checkBody(b: unknown): void {
  const v = validateBody(b);
  if (!v) return;
  // Whatever passes has the documented shape and limits, and passes again unchanged.
  if (v.kind === 'text') assert.ok(typeof v.text === 'string' && v.text.length <= MAX_TEXT_CHARS);
  else {
    const s = v.snippet;
    assert.ok(typeof s.code === 'string' && s.code.length <= MAX_SNIPPET_BYTES);
    assert.ok(Number.isInteger(s.startLine) && Number.isInteger(s.endLine) && s.startLine >= 1 && s.endLine >= s.startLine);
  }
  assert.deepEqual(validateBody(JSON.parse(JSON.stringify(v))), v);
}

const mailboxSeeds = (): Buffer[] => {
  const auth = { mailboxId: Buffer.alloc(16, 1), key: Buffer.alloc(32, 2), cookie: Buffer.alloc(16, 3), nonce: Buffer.alloc(8, 4), sig: Buffer.alloc(64, 5) };
  return [
    encodeMailbox({ type: 'deposit', ...auth, envelope: Buffer.from('sealed') }),
    encodeMailbox({ type: 'fetch', ...auth, after: 7n }),
    encodeMailbox({ type: 'delete', ...auth, upTo: 9n }),
    encodeMailbox({ type: 'depositAck', nonce: auth.nonce, id: 1n, ttlSeconds: 60 }),
    encodeMailbox({ type: 'items', nonce: auth.nonce, more: true, items: [{ id: 1n, expiresAt: 2, data: Buffer.from('env') }] }),
    encodeMailbox({ type: 'deleted', nonce: auth.nonce, upTo: 3n }),
    encodeMailbox({ type: 'mailboxError', nonce: auth.nonce, code: 24, detail: 5 }),
    // Sealed-envelope plaintexts: a chat, a part and a receipt record.
    encodeContent({
      sender: Buffer.alloc(32, 6),
      name: 'Ann',
      records: [
        { kind: 'chat', payload: Buffer.from([1, 0, 0, 0, 1]) },
        { kind: 'part', epoch: 1, seq: 2, index: 0, count: 2, data: Buffer.from('xy') },
        { kind: 'receipt', entries: [{ sender: Buffer.alloc(32, 7), epoch: 1, seq: 2 }] },
      ],
    }),
  ];
};

function directorySeeds(): Buffer[] {
  const cookie = Buffer.alloc(16, 0xcc);
  const rec = Buffer.from('01000000000000000105616c69636505416c696365' + 'd0'.repeat(32) + '0f'.repeat(32) + 'ab'.repeat(16) + '3f'.repeat(64), 'hex');
  return [
    encodeDirectory({ type: 'accountLookup', cookie, requestId: 1, handle: 'alice' }),
    encodeDirectory({ type: 'accountClaim', cookie, requestId: 2, record: rec }),
    encodeDirectory({ type: 'accountUpdate', cookie, requestId: 3, record: rec }),
    encodeDirectory({ type: 'accountRotate', cookie, requestId: 4, rotation: Buffer.concat([rec, Buffer.alloc(64, 1)]) }),
    encodeDirectory({ type: 'accountDelete', cookie, requestId: 5, deletion: rec.subarray(0, 120) }),
    encodeDirectory({ type: 'accountResult', requestId: 6, status: 8, version: 3n, message: 'taken' }),
    encodeDirectory({ type: 'accountFound', requestId: 7, record: rec }),
  ];
}

function topicSeeds(): Buffer[] {
  const cookie = Buffer.alloc(16, 0xcc);
  const id = Buffer.alloc(16, 1);
  const t = Buffer.alloc(16, 0xaa);
  const ep = { address: '192.0.2.1', port: 7000 };
  return [
    encodeTopic({ type: 'topicRegister', cookie, clientId: id, seq: 1, options: 1, flags: 9, candidates: [ep, { address: '2001:db8::1', port: 1 }], topics: [{ topic: t, kind: TopicKind.Peer }, { topic: t, kind: TopicKind.Watcher }] }),
    encodeTopic({ type: 'topicLeave', cookie, clientId: id, topics: [t] }),
    encodeTopic({ type: 'topicAck', seq: 2, observed: ep, refreshSeconds: 15, accepted: 1, refused: 0, partners: 1 }),
    encodeTopic({ type: 'topicAck', seq: 2, observed: ep, refreshSeconds: 15, accepted: 1, refused: 0, partners: 1, turn: { server: ep, username: 'u', password: 'p', ttlSeconds: 60 } }),
    encodeTopic({ type: 'topicPeer', topic: t, partner: { clientId: id, flags: 8, reflexive: ep, candidates: [ep] } }),
    encodeTopic({ type: 'topicGone', topic: t, clientId: id }),
  ];
}

function contactSeeds(): Buffer[] {
  const payload = encodeRequestPayload({ signingKey: Buffer.alloc(32, 2), handle: 'alice@h:1', displayName: 'Alice', note: 'hi 👋' });
  const link = formatContactLink({ signingKey: Buffer.alloc(32, 1), staticKey: Buffer.alloc(32, 2), requestToken: Buffer.alloc(16, 3), server: { host: 'chat.example.org', port: 7000 }, displayName: 'Zoë' });
  return [
    encodeContactPacket({ type: 'requestHello', sender: 7, noise: Buffer.alloc(96, 5) }),
    encodeContactPacket({ type: 'requestReply', receiver: 7, noise: Buffer.alloc(49, 6) }),
    encodeContactPacket({ type: 'requestPunch', nonce: Buffer.alloc(8, 7) }),
    Buffer.concat([Buffer.from([0xff]), payload]), // 0xff: the payload decoder
    Buffer.concat([Buffer.from([0xfe]), Buffer.from(link)]), // 0xfe: the link parser
  ];
}

export const TARGETS: Target[] = [
  {
    name: 'topics',
    maxLen: 1300,
    seeds: topicSeeds,
    dictionary: [Buffer.from([MAGIC, VERSION, 0x30]), Buffer.from([MAGIC, VERSION, 0x32]), Buffer.from([MAGIC, VERSION, 0x33]), Buffer.from([4]), Buffer.from([6])],
    run(data) {
      const r = decodeTopic(data);
      isDecoded(r);
      if (!r.ok) return label(r, '');
      // Every field is fixed-size or counted: byte-exact.
      assert.ok(encodeTopic(r.value).equals(data), 'byte-exact round trip');
      return `ok:${r.value.type}`;
    },
  },
  {
    name: 'contacts',
    maxLen: 1300,
    seeds: contactSeeds,
    dictionary: [Buffer.from([MAGIC, VERSION, 0x14]), Buffer.from([MAGIC, VERSION, 0x16]), Buffer.from('p2pchat:contact:'), Buffer.from('vscode://p2p-chat.p2p-chat/contact?link=')],
    run(data) {
      if (data[0] === 0xff) {
        const r = decodeRequestPayload(data.subarray(1));
        isDecoded(r);
        if (!r.ok) return label(r, 'payload');
        assert.ok(encodeRequestPayload(r.value).equals(data.subarray(1)), 'payload: byte-exact round trip');
        return 'ok:payload';
      }
      if (data[0] === 0xfe) {
        const text = data.subarray(1).toString('utf8');
        const r = parseContactLink(text);
        assert.ok(typeof r === 'object' && r !== null && 'ok' in r);
        if (!r.ok) return 'err:link';
        for (const again of [formatContactLink(r.link), contactUri(r.link)]) {
          const p = parseContactLink(again);
          assert.ok(p.ok, 'an accepted link re-formats and parses');
          assert.deepEqual(p.link, r.link);
        }
        return 'ok:link';
      }
      const r = decodeContactPacket(data);
      isDecoded(r);
      if (!r.ok) return label(r, '');
      assert.ok(encodeContactPacket(r.value).equals(data), 'packet: byte-exact round trip');
      return `ok:${r.value.type}`;
    },
  },
  {
    name: 'mailbox',
    maxLen: 1300,
    seeds: mailboxSeeds,
    dictionary: [Buffer.from([MAGIC, VERSION, 0x40]), Buffer.from([MAGIC, VERSION, 0x43]), Buffer.from([0x18]), Buffer.from([0x03, 0x00])],
    run(data) {
      // The same bytes as a datagram and as a sealed envelope's plaintext: both decoders are fed hostile input.
      const c = decodeContent(data);
      isDecoded(c);
      if (c.ok) {
        const again = decodeContent(encodeContent(c.value));
        assert.ok(again.ok, 'decoded content re-encodes');
      }
      const r = decodeMailbox(data);
      isDecoded(r);
      if (!r.ok) return c.ok ? 'ok:content' : label(r, '');
      const back = decodeMailbox(encodeMailbox(r.value));
      assert.ok(back.ok, 'a decoded message re-encodes and decodes');
      assert.deepEqual(back.value, r.value);
      return `ok:${r.value.type}`;
    },
  },
  {
    name: 'directory',
    maxLen: 600,
    seeds: directorySeeds,
    dictionary: [Buffer.from([MAGIC, VERSION, 0x20]), Buffer.from([MAGIC, VERSION, 0x24]), Buffer.from([MAGIC, VERSION, 0x25])],
    run(data) {
      const r = decodeDirectory(data);
      isDecoded(r);
      if (!r.ok) return label(r, '');
      // Byte-exact: every field is fixed-size or length-prefixed, and signed payloads run to the end.
      assert.ok(encodeDirectory(r.value).equals(data), 'byte-exact round trip');
      return `ok:${r.value.type}`;
    },
  },
  {
    name: 'rendezvous',
    maxLen: 600,
    seeds: rdvSeeds,
    dictionary: [Buffer.from([MAGIC, VERSION]), Buffer.from([4]), Buffer.from([6]), Buffer.from([8]), Buffer.from([0xff, 0xfe])],
    run(data) {
      const r = decodeRendezvous(data);
      isDecoded(r);
      if (!r.ok) return label(r, '');
      const again = decodeRendezvous(encodeRendezvous(r.value));
      assert.ok(again.ok, 'a decoded message re-encodes and decodes');
      assert.deepEqual(again.value, r.value);
      return `ok:${r.value.type}`;
    },
  },
  {
    name: 'peer',
    maxLen: 1600,
    seeds: peerSeeds,
    dictionary: [Buffer.from([MAGIC, VERSION, 0x10]), Buffer.from([MAGIC, VERSION, 0x13]), Buffer.alloc(4, 0xff)],
    run(data) {
      const kind = classify(data);
      const r = decodePeer(data);
      isDecoded(r);
      if (!r.ok) return `${kind}:${label(r, '')}`;
      assert.equal(kind, 'p2p');
      // A reply is only size-checked when we encode (it must not outgrow a hello); every other type is byte-exact.
      if (!(r.value.type === 'reply' && data.length > HELLO_MIN_BYTES)) assert.ok(encodePeer(r.value).equals(data), 'byte-exact round trip');
      return `ok:${r.value.type}`;
    },
  },
  {
    name: 'frames',
    maxLen: 1200,
    seeds: frameSeeds,
    dictionary: [Buffer.from([1, 3]), Buffer.from([2]), Buffer.from([0x20]), Buffer.from([0xff, 0xff, 0xff, 0xff])],
    run(data) {
      const r = decodePacket(data);
      isDecoded(r);
      const first = decodeFrame(data, 0);
      isDecoded(first);
      if (!r.ok) return label(r, '');
      assert.ok(first.ok, 'the first frame of a valid packet decodes alone');
      assert.ok(encodePacket(r.value).equals(data), 'byte-exact round trip');
      return `ok:${r.value.map((f: Frame) => f.type).join('+')}`.slice(0, 40);
    },
  },
  {
    name: 'app',
    maxLen: 4096,
    seeds: appSeeds,
    dictionary: ['{"kind":"text","text":"', '{"kind":"snippet","snippet":{', '"path":"', '"language":"', '"startLine":', '"endLine":', '"code":"', '10000000', '-1', '1.5', '1e400', 'null', 'true', '[]', '{}', '\\ud800', '"__proto__":'].map((s) => Buffer.from(s)),
    run(data) {
      const e = decodeEphemeral(data);
      isDecoded(e);
      if (e.ok) assert.ok(encodeEphemeral(e.value).equals(data));
      const r = decodeApp(data);
      isDecoded(r);
      if (!r.ok) return `${e.ok ? 'eph' : ''}${label(r, '')}`;
      if (r.value.type === 'reject') {
        assert.ok(encodeReject(r.value).equals(data), 'a decoded reject re-encodes to the same bytes');
        return 'reject';
      }
      if (r.value.type === 'refused') return `refused:${r.value.reason}`;
      checkBody(r.value.body);
      const again = decodeApp(encodeChat(r.value));
      assert.ok(again.ok, 'a decoded chat re-encodes and decodes');
      assert.deepEqual(again.value, r.value);
      return `ok:${r.value.body.kind}`;
    },
  },
  {
    name: 'body',
    maxLen: 512,
    // Structure-aware: the bytes drive a small JSON builder, so mutations move through shapes, not syntax errors.
    seeds: () => [Buffer.from([0, 0, 1, 0, 2, 1]), Buffer.from([0, 1, 1, 5, 0, 3, 4, 7, 6, 8, 7, 9, 2])],
    run(data) {
      const body = buildJson(data);
      checkBody(body);
      const v = validateBody(body);
      return v ? `ok:${v.kind}` : 'refused';
    },
  },
  {
    name: 'invite',
    maxLen: 400,
    seeds: () =>
      [
        'p2pchat:AAECAwQFBgcICQoLDA0ODw@rendezvous.example.org:7000',
        'p2pchat:AAECAwQFBgcICQoLDA0ODw@[2001:db8::1]:7000',
        '  <vscode://p2p-chat.p2p-chat/join?invite=p2pchat%3AAAECAwQFBgcICQoLDA0ODw%40192.0.2.1%3A7000>  ',
        'p2pchat:AAECAwQFBgcICQoLDA0ODw@::1',
        'p2pchat:AAECAwQFBgcICQoLDA0ODw@a.example.org:7000,[2001:db8::2]:7100,b:1',
      ].map((s) => Buffer.from(s)),
    dictionary: ['p2pchat:', '@', ':', ',', '[', ']', '%', '%40', '%3A', 'vscode://', '/join?invite=', '&invite=', '<', '>', ' ', '\n', '\u2028', '65535', '65536', '0'].map((s) => Buffer.from(s)),
    run(data) {
      for (const text of [data.toString('utf8'), data.toString('latin1')]) {
        const r = parseInvite(text);
        assert.ok(typeof r === 'object' && r !== null && typeof r.ok === 'boolean');
        if (!r.ok) {
          assert.equal(typeof r.error, 'string');
          continue;
        }
        assert.equal(r.invite.secret.length, 16);
        assert.ok(Number.isInteger(r.invite.server.port) && r.invite.server.port >= 1 && r.invite.server.port <= 65535);
        for (const form of [formatInvite(r.invite), inviteLink(r.invite)]) {
          const again = parseInvite(form);
          assert.ok(again.ok, `what we accepted we can also print and read back: ${form}`);
          assert.deepEqual(again.invite, r.invite);
        }
        return 'ok';
      }
      return 'refused';
    },
  },
  {
    name: 'stun',
    maxLen: 1500,
    seeds: () => [
      encodeStun({ method: Method.Binding, cls: StunClass.Request, txid: TXID, attrs: [] }),
      encodeStun({ method: Method.Binding, cls: StunClass.Request, txid: TXID, attrs: [{ type: 0x8022, value: Buffer.from('sw') }] }, { fingerprint: true }),
      encodeStun(
        { method: Method.Allocate, cls: StunClass.Error, txid: TXID, attrs: [{ type: Attr.ErrorCode, value: Buffer.from([0, 0, 4, 1, 0x55]) }, { type: Attr.XorMappedAddress, value: Buffer.from('0001a1b2c3d4e5f6', 'hex') }] },
        { integrityKey: KEY, fingerprint: true },
      ),
      encodeChannelData(0x4001, Buffer.from('data')),
    ],
    dictionary: [Buffer.from('2112a442', 'hex'), Buffer.from('8028', 'hex'), Buffer.from('0008', 'hex'), Buffer.from('0020', 'hex'), Buffer.from('4000', 'hex')],
    run(data) {
      const kind = classify(data);
      // The rendezvous's own Binding parser (the server's hot path).
      const b = parseBindingRequest(data);
      if (b.ok) {
        const ans = encodeBindingSuccess(b.transactionId, { address: '192.0.2.1', port: 1 }, b.fingerprint);
        assert.ok(ans.length <= 40);
      } else assert.equal(typeof b.error, 'string');
      // The TURN client's decoder, and everything it does with a decoded message.
      const r = decodeStun(data);
      isDecoded(r);
      const cd = decodeChannelData(data);
      isDecoded(cd);
      if (cd.ok) assert.ok(encodeChannelData(cd.value.channel, cd.value.data).equals(data.subarray(0, 4 + cd.value.data.length)));
      if (!r.ok) return `${kind}:${b.ok ? 'binding' : ''}${label(r, '')}${cd.ok ? ':cd' : ''}`;
      checkFingerprint(r.value);
      checkIntegrity(r.value, KEY);
      for (const a of r.value.attrs) {
        decodeXorAddress(a.value, r.value.txid);
        decodeErrorCode(a.value);
      }
      const again = decodeStun(encodeStun({ method: r.value.method, cls: r.value.cls, txid: Buffer.from(r.value.txid), attrs: r.value.attrs }));
      assert.ok(again.ok, 'a decoded STUN message re-encodes');
      assert.deepEqual(
        again.value.attrs.map((a) => [a.type, a.value.toString('hex')]),
        r.value.attrs.map((a) => [a.type, a.value.toString('hex')]),
      );
      return `ok:${r.value.method}:${r.value.cls}:${b.ok ? 'binding' : ''}`;
    },
  },
];

/** A byte-driven JSON builder (for the `body` target): each byte picks the next shape or value. */
export function buildJson(data: Buffer): unknown {
  let i = 0;
  const next = () => (i < data.length ? data[i++] : 0);
  const keys = ['kind', 'text', 'snippet', 'path', 'language', 'startLine', 'endLine', 'code', '__proto__', 'constructor', 'x'];
  const strs = ['text', 'snippet', '', 'a', 'x'.repeat(MAX_TEXT_CHARS), 'x'.repeat(MAX_TEXT_CHARS + 1), 'y'.repeat(1025), 'z'.repeat(65), '\ud800', 'typescript'];
  const nums = [0, 1, -1, 2, 10, 10_000_000, 10_000_001, 1.5, Number.MAX_SAFE_INTEGER, -0, 1e308];
  const value = (depth: number): unknown => {
    const t = next() % (depth > 4 ? 4 : 7);
    switch (t) {
      case 0:
        return strs[next() % strs.length];
      case 1:
        return nums[next() % nums.length];
      case 2:
        return next() % 2 === 0 ? null : next() % 2 === 0;
      case 3:
        return undefined;
      case 4: {
        const o: Record<string, unknown> = {};
        const n = next() % 6;
        for (let k = 0; k < n; k++) Object.defineProperty(o, keys[next() % keys.length], { value: value(depth + 1), enumerable: true, configurable: true, writable: true });
        return o;
      }
      case 5:
        return Array.from({ length: next() % 4 }, () => value(depth + 1));
      default: {
        // The two valid shapes, with one field then possibly overwritten: the interesting neighbourhood.
        const o: Record<string, unknown> =
          next() % 2 === 0
            ? { kind: 'text', text: 'hi' }
            : { kind: 'snippet', snippet: { path: 'a.ts', language: 'ts', startLine: 1, endLine: 2, code: 'x' } };
        if (next() % 2 === 0) {
          const target = o.snippet && next() % 2 === 0 ? (o.snippet as Record<string, unknown>) : o;
          target[keys[next() % keys.length]] = value(depth + 1);
        }
        return o;
      }
    }
  };
  return value(0);
}
