import assert from 'node:assert/strict';
import { RFC5769_REQUEST as SAMPLE_REQUEST } from '../helpers/rfc5769';
import {
  Attr,
  checkFingerprint,
  checkIntegrity,
  crc32,
  decodeChannelData,
  decodeErrorCode,
  decodeStun,
  decodeXorAddress,
  encodeChannelData,
  encodeStun,
  encodeXorAddress,
  getAttr,
  longTermKey,
  messageType,
  Method,
  StunClass,
  StunMessage,
} from '../../extension/core/relay/stunCodec';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// RFC 5769 test vectors (§2.1-2.4), byte for byte.
const SAMPLE_IPV4_RESPONSE = hex(`
  01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
  00 20 00 08 00 01 a1 47 e1 12 a6 43
  00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7
  80 28 00 04 c0 7d 4c 96`);
const SAMPLE_IPV6_RESPONSE = hex(`
  01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
  00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9
  00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41
  80 28 00 04 c8 fb 0b 4c`);
const SAMPLE_LONG_TERM_REQUEST = hex(`
  00 01 00 60 21 12 a4 42 78 ad 34 33 c6 ad 72 c0 29 da 41 2e
  00 06 00 12 e3 83 9e e3 83 88 e3 83 aa e3 83 83 e3 82 af e3 82 b9 00 00
  00 15 00 1c 66 2f 2f 34 39 39 6b 39 35 34 64 36 4f 4c 33 34 6f 4c 39 46 53 54 76 79 36 34 73 41
  00 14 00 0b 65 78 61 6d 70 6c 65 2e 6f 72 67 00
  00 08 00 14 f6 70 24 65 6d d6 4a 3e 02 b8 e0 71 2e 85 c9 a2 8c a8 96 66`);
const SHORT_TERM_PASSWORD = Buffer.from('VOkJxbRl1RmTxUk/WvJxBt');

function decoded(buf: Buffer): StunMessage {
  const d = decodeStun(buf);
  assert.ok(d.ok, d.ok ? '' : d.error);
  return d.value;
}

/** Seeded PRNG (mulberry32) so fuzz failures reproduce. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('turn codec: RFC 5769 vectors', () => {
  it('verifies the sample request (short-term MESSAGE-INTEGRITY over space padding, FINGERPRINT)', () => {
    const m = decoded(SAMPLE_REQUEST);
    assert.equal(m.method, Method.Binding);
    assert.equal(m.cls, StunClass.Request);
    assert.equal(getAttr(m, Attr.Software)?.toString(), 'STUN test client');
    assert.equal(getAttr(m, Attr.Username)?.toString(), 'evtj:h6vY');
    assert.ok(checkIntegrity(m, SHORT_TERM_PASSWORD));
    assert.ok(checkFingerprint(m));
  });

  it('verifies the IPv4 and IPv6 responses and decodes their XOR-MAPPED-ADDRESS', () => {
    const v4 = decoded(SAMPLE_IPV4_RESPONSE);
    const v6 = decoded(SAMPLE_IPV6_RESPONSE);
    for (const m of [v4, v6]) {
      assert.equal(m.cls, StunClass.Success);
      assert.ok(checkIntegrity(m, SHORT_TERM_PASSWORD));
      assert.ok(checkFingerprint(m));
    }
    const a4 = decodeXorAddress(getAttr(v4, Attr.XorMappedAddress), v4.txid);
    const a6 = decodeXorAddress(getAttr(v6, Attr.XorMappedAddress), v6.txid);
    assert.deepEqual(a4, { address: '192.0.2.1', port: 32853 });
    assert.deepEqual(a6, { address: '2001:db8:1234:5678:11:2233:4455:6677', port: 32853 });
    // And the encoder produces the vectors' attribute bytes.
    assert.deepEqual(encodeXorAddress(a4!, v4.txid), getAttr(v4, Attr.XorMappedAddress));
    assert.deepEqual(encodeXorAddress(a6!, v6.txid), getAttr(v6, Attr.XorMappedAddress));
  });

  it('verifies the long-term request and re-encodes it byte for byte', () => {
    const m = decoded(SAMPLE_LONG_TERM_REQUEST);
    // The vector's password "The\u00adM\u00aatr\u2168" is "TheMatrIX" after SASLprep.
    const key = longTermKey('マトリックス', 'example.org', 'TheMatrIX');
    assert.ok(checkIntegrity(m, key));
    assert.ok(!checkIntegrity(m, longTermKey('マトリックス', 'example.org', 'thematrix')));
    const again = encodeStun({ method: Method.Binding, cls: StunClass.Request, txid: m.txid, attrs: m.attrs }, { integrityKey: key });
    assert.equal(again.toString('hex'), SAMPLE_LONG_TERM_REQUEST.toString('hex'));
  });

  it('notices a single flipped bit anywhere', () => {
    for (let i = 0; i < SAMPLE_IPV4_RESPONSE.length; i++) {
      const b = Buffer.from(SAMPLE_IPV4_RESPONSE);
      b[i] ^= 0x01;
      const d = decodeStun(b);
      if (!d.ok) continue;
      assert.ok(!(checkIntegrity(d.value, SHORT_TERM_PASSWORD) && checkFingerprint(d.value)), `flip at byte ${i} passed`);
    }
  });

  it('computes the standard CRC-32 check value', () => {
    assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
  });
});

describe('turn codec: messages', () => {
  it('maps method and class onto the interleaved type bits', () => {
    assert.equal(messageType(Method.Allocate, StunClass.Request), 0x0003);
    assert.equal(messageType(Method.Allocate, StunClass.Success), 0x0103);
    assert.equal(messageType(Method.Allocate, StunClass.Error), 0x0113);
    assert.equal(messageType(Method.Send, StunClass.Indication), 0x0016);
    assert.equal(messageType(Method.Data, StunClass.Indication), 0x0017);
    assert.equal(messageType(Method.ChannelBind, StunClass.Success), 0x0109);
    const m = decoded(encodeStun({ method: Method.CreatePermission, cls: StunClass.Error, txid: Buffer.alloc(12, 7), attrs: [] }));
    assert.equal(m.method, Method.CreatePermission);
    assert.equal(m.cls, StunClass.Error);
  });

  it('round-trips MESSAGE-INTEGRITY followed by FINGERPRINT, with odd-length attributes padded', () => {
    const key = longTermKey('1700000000:abcd', 'p2p.test', 'pw');
    const txid = Buffer.alloc(12, 3);
    const buf = encodeStun(
      { method: Method.Allocate, cls: StunClass.Request, txid, attrs: [{ type: Attr.Username, value: Buffer.from('abcde') }] },
      { integrityKey: key, fingerprint: true },
    );
    assert.equal(buf.length % 4, 0);
    const m = decoded(buf);
    assert.equal(getAttr(m, Attr.Username)?.toString(), 'abcde');
    assert.ok(checkIntegrity(m, key));
    assert.ok(checkFingerprint(m));
    assert.ok(!checkIntegrity(m, longTermKey('1700000000:abcd', 'p2p.test', 'other')));
  });

  it('rejects malformed framing', () => {
    const ok = encodeStun({ method: Method.Binding, cls: StunClass.Request, txid: Buffer.alloc(12), attrs: [{ type: Attr.Software, value: Buffer.from('abcd') }] }, { fingerprint: true });
    assert.ok(decodeStun(ok).ok);
    const cases: [string, Buffer][] = [
      ['short', ok.subarray(0, 19)],
      ['top bits', Buffer.concat([Buffer.from([0x80]), ok.subarray(1)])],
      ['cookie', Buffer.concat([ok.subarray(0, 4), Buffer.from([0, 0, 0, 0]), ok.subarray(8)])],
      ['extra bytes', Buffer.concat([ok, Buffer.alloc(4)])],
      ['truncated', ok.subarray(0, ok.length - 4)],
    ];
    for (const [what, b] of cases) assert.equal(decodeStun(b).ok, false, what);
    // An attribute after FINGERPRINT.
    const after = Buffer.concat([ok, hex('80220000')]);
    after.writeUInt16BE(after.length - 20, 2);
    assert.equal(decodeStun(after).ok, false);
    // An attribute whose length runs past the end.
    const over = Buffer.from(ok);
    over.writeUInt16BE(200, 22);
    assert.equal(decodeStun(over).ok, false);
  });

  it('ignores attributes after MESSAGE-INTEGRITY other than FINGERPRINT', () => {
    const key = Buffer.from('k');
    const buf = encodeStun({ method: Method.Binding, cls: StunClass.Success, txid: Buffer.alloc(12, 1), attrs: [{ type: Attr.Lifetime, value: Buffer.alloc(4) }] }, { integrityKey: key });
    const tail = hex('000d000400000258'); // a LIFETIME the MAC does not cover
    const evil = Buffer.concat([buf, tail]);
    evil.writeUInt16BE(evil.length - 20, 2);
    const m = decoded(evil);
    assert.equal(m.attrs.length, 1);
    assert.deepEqual(getAttr(m, Attr.Lifetime), Buffer.alloc(4));
    assert.ok(checkIntegrity(m, key));
  });

  it('decodes ERROR-CODE and sanitises its reason', () => {
    assert.deepEqual(decodeErrorCode(Buffer.concat([hex('00000401'), Buffer.from('Unauthorized')])), { code: 401, reason: 'Unauthorized' });
    assert.deepEqual(decodeErrorCode(Buffer.concat([hex('00000426'), Buffer.from('Stale\x1bNonce')])), { code: 438, reason: 'Stale?Nonce' });
    assert.equal(decodeErrorCode(hex('0000')), undefined);
  });

  it('encodes and decodes ChannelData, with optional padding', () => {
    const cd = encodeChannelData(0x4001, Buffer.from('hello'));
    assert.equal(cd.toString('hex'), '40010005' + Buffer.from('hello').toString('hex'));
    const d = decodeChannelData(cd);
    assert.ok(d.ok);
    assert.equal(d.value.channel, 0x4001);
    assert.equal(d.value.data.toString(), 'hello');
    assert.ok(decodeChannelData(Buffer.concat([cd, Buffer.alloc(3)])).ok);
    assert.equal(decodeChannelData(Buffer.concat([cd, Buffer.alloc(4)])).ok, false);
    assert.equal(decodeChannelData(cd.subarray(0, 8)).ok, false);
    assert.equal(decodeChannelData(hex('50000000')).ok, false);
    assert.equal(decodeChannelData(hex('4000')).ok, false);
  });

  it('refuses to encode what is not an IP address', () => {
    assert.equal(encodeXorAddress({ address: 'example.org', port: 1 }, Buffer.alloc(12)), undefined);
    assert.equal(encodeXorAddress({ address: '127.0.0.1', port: 70000 }, Buffer.alloc(12)), undefined);
    assert.equal(decodeXorAddress(hex('00030000'), Buffer.alloc(12)), undefined);
    assert.equal(decodeXorAddress(hex('0001000000'), Buffer.alloc(12)), undefined);
  });

  it('never throws on hostile bytes (random, truncated and mutated messages)', () => {
    const rnd = prng(5769);
    const seeds = [SAMPLE_REQUEST, SAMPLE_IPV4_RESPONSE, SAMPLE_IPV6_RESPONSE, SAMPLE_LONG_TERM_REQUEST, encodeChannelData(0x4000, Buffer.alloc(9))];
    let accepted = 0;
    for (let i = 0; i < 20000; i++) {
      let b: Buffer;
      const seed = seeds[i % seeds.length];
      if (i % 3 === 0) b = Buffer.from(Array.from({ length: Math.floor(rnd() * 80) }, () => Math.floor(rnd() * 256)));
      else if (i % 3 === 1) b = seed.subarray(0, Math.floor(rnd() * seed.length));
      else {
        b = Buffer.from(seed);
        for (let k = 0; k < 1 + Math.floor(rnd() * 4); k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      }
      const d = decodeStun(b);
      if (d.ok) {
        accepted++;
        checkIntegrity(d.value, SHORT_TERM_PASSWORD);
        checkFingerprint(d.value);
        for (const a of d.value.attrs) {
          decodeXorAddress(a.value, d.value.txid);
          decodeErrorCode(a.value);
        }
      }
      decodeChannelData(b);
    }
    assert.ok(accepted > 0, 'some mutations should still parse, so the attribute decoders were exercised');
  });
});
