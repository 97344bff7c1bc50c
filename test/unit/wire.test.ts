import assert from 'node:assert/strict';
import { classify } from '../../extension/core/wire/header';
import {
  decodeRendezvous,
  encodeMemberRecord,
  encodePeerWithRecord,
  encodeRendezvous,
  ErrorCode,
  PROBE_BYTES,
  RendezvousMessage,
} from '../../extension/core/wire/rendezvous';
import { decodePeer, encodePeer, HELLO_MIN_BYTES, PeerPacket } from '../../extension/core/wire/peer';
import { Reader, Writer } from '../../extension/core/wire/bytes';
import { ipv4Value, readEndpoint, writeEndpoint } from '../../extension/core/wire/endpoint';
import { isIPv4 } from 'node:net';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const fill = (n: number, v: number) => Buffer.alloc(n, v);

describe('wire: endpoints', () => {
  it('parses dotted quads exactly as node:net accepts them (the hand-rolled fast path)', () => {
    const cases = ['0.0.0.0', '255.255.255.255', '10.0.1.2', '1.2.3.4', '256.1.1.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.04', '1..2.3', '.1.2.3', '1.2.3.', 'a.b.c.d', '1.2.3.4 ', '', '::1', '::ffff:1.2.3.4', '1234.1.1.1'];
    for (const text of cases) {
      const v = ipv4Value(text);
      assert.equal(v >= 0, isIPv4(text), text);
      if (v >= 0) assert.equal([v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.'), text);
    }
    const w = new Writer();
    assert.throws(() => writeEndpoint(w, { address: '01.2.3.4', port: 1 }), RangeError);
  });
  for (const address of ['203.0.113.7', '::1', '2001:db8::1', 'fe80::1:2:3:4', '2001:db8:0:1:1:1:1:1', '::']) {
    it(`round-trips ${address}`, () => {
      const w = new Writer();
      writeEndpoint(w, { address, port: 4242 });
      const r = new Reader(w.finish());
      assert.deepEqual(readEndpoint(r), { address, port: 4242 });
      assert.equal(r.failed, undefined);
    });
  }
  it('golden bytes for IPv4 and IPv6', () => {
    const w = new Writer();
    writeEndpoint(w, { address: '203.0.113.7', port: 0x1f90 });
    writeEndpoint(w, { address: '2001:db8::1', port: 1 });
    assert.equal(w.finish().toString('hex'), '041f90cb007107' + '060001' + '20010db8000000000000000000000001');
  });
  it('a truncated IPv6 address fails without throwing', () => {
    const r = new Reader(hex('06 0001 2001'));
    readEndpoint(r);
    assert.match(r.failed ?? '', /truncated/);
  });
});

describe('wire: rendezvous messages', () => {
  const roomId = fill(32, 0x11);
  const peerId = fill(32, 0x22);
  const cookie = fill(16, 0x33);
  const samples: RendezvousMessage[] = [
    { type: 'register', roomId, peerId, cookie, name: 'Zoë', flags: 2, candidates: [{ address: '10.0.1.2', port: 5000 }, { address: 'fd00::2', port: 5000 }] },
    { type: 'cookie', cookie },
    { type: 'welcome', observed: { address: '203.0.113.10', port: 40000 }, refreshSeconds: 15, members: 1, known: [] },
    {
      type: 'welcome',
      observed: { address: '203.0.113.10', port: 40000 },
      refreshSeconds: 15,
      members: 3,
      known: [
        { peerId, name: 'bob', flags: 1, reflexive: { address: '203.0.113.20', port: 1 }, candidates: [{ address: '10.0.2.2', port: 5000 }] },
        { peerId: fill(32, 0x55), name: 'Zoë', flags: 0, reflexive: { address: '2001:db8::7', port: 2 }, candidates: [] },
      ],
    },
    {
      type: 'welcome',
      observed: { address: '203.0.113.10', port: 40000 },
      refreshSeconds: 15,
      members: 1,
      turn: { server: { address: '203.0.113.1', port: 3478 }, username: '1700000000:abcd', password: 'cGFzcw==', ttlSeconds: 600 },
      known: [],
    },
    { type: 'peer', joined: true, member: { peerId, name: 'bob', flags: 1, reflexive: { address: '203.0.113.20', port: 1 }, candidates: [] } },
    { type: 'left', peerId },
    { type: 'leave', roomId, peerId, cookie },
    { type: 'error', code: ErrorCode.RoomFull, message: 'room is full (8 members)' },
    { type: 'probe', txid: fill(8, 0x44) },
    { type: 'probeReply', txid: fill(8, 0x44), observed: { address: '::1', port: 9 } },
  ];
  for (const m of samples) {
    it(`round-trips ${m.type}${m.type === 'welcome' && m.turn ? ' with TURN' : ''}${m.type === 'welcome' && m.known.length ? ` with ${m.known.length} members` : ''}`, () => {
      const d = decodeRendezvous(encodeRendezvous(m));
      assert.ok(d.ok, d.ok ? '' : d.error);
      assert.deepEqual(d.value, m);
    });
  }

  it('golden bytes: register', () => {
    const b = encodeRendezvous({ type: 'register', roomId, peerId, cookie, name: 'al', flags: 1, candidates: [{ address: '10.0.1.2', port: 5000 }] });
    assert.equal(
      b.toString('hex'),
      'c50101' + '11'.repeat(32) + '22'.repeat(32) + '33'.repeat(16) + '02616c' + '01' + '01' + '041388' + '0a000102',
    );
  });
  it('golden bytes: welcome with a member record, and that record inside peer', () => {
    const member = { peerId, name: 'bo', flags: 1, reflexive: { address: '203.0.113.20', port: 1 }, candidates: [{ address: '10.0.2.2', port: 5000 }] };
    const record = '22'.repeat(32) + '02626f' + '01' + '040001cb007114' + '01' + '0413880a000202';
    const welcome = encodeRendezvous({ type: 'welcome', observed: { address: '203.0.113.10', port: 40000 }, refreshSeconds: 15, members: 2, known: [member] });
    assert.equal(welcome.toString('hex'), 'c50103' + '049c40cb00710a' + '000f' + '02' + '00' + '01' + record);
    assert.equal(encodeRendezvous({ type: 'peer', joined: true, member }).toString('hex'), 'c50104' + '01' + record);
    // The server's path (records encoded once, reused) gives the same bytes.
    assert.ok(encodePeerWithRecord(true, encodeMemberRecord(member)).equals(encodeRendezvous({ type: 'peer', joined: true, member })));
  });
  it('golden bytes: cookie, left, error', () => {
    assert.equal(encodeRendezvous({ type: 'cookie', cookie }).toString('hex'), 'c50102' + '33'.repeat(16));
    assert.equal(encodeRendezvous({ type: 'left', peerId }).toString('hex'), 'c50105' + '22'.repeat(32));
    assert.equal(encodeRendezvous({ type: 'error', code: ErrorCode.RateLimited, message: 'slow' }).toString('hex'), 'c50107040473 6c6f77'.replace(/ /g, ''));
  });
  it('golden bytes: probe is padded to a fixed size and its reply is never larger', () => {
    const probe = encodeRendezvous({ type: 'probe', txid: fill(8, 0xaa) });
    assert.equal(probe.length, PROBE_BYTES);
    assert.equal(probe.toString('hex'), 'c50108' + 'aa'.repeat(8) + '00'.repeat(PROBE_BYTES - 11));
    const reply = encodeRendezvous({ type: 'probeReply', txid: fill(8, 0xaa), observed: { address: 'ffff::ffff', port: 65535 } });
    assert.ok(reply.length <= probe.length, `${reply.length} <= ${probe.length}`);
  });
  it('rejects an unpadded probe', () => {
    const d = decodeRendezvous(hex('c50108' + 'aa'.repeat(8)));
    assert.equal(d.ok, false);
  });
  it('reports a foreign version distinctly', () => {
    const d = decodeRendezvous(hex('c50201'));
    assert.equal(d.ok, false);
    assert.equal(!d.ok && 'version' in d ? d.version : undefined, 2);
  });
  it('rejects trailing bytes, bad flags, long names and invalid UTF-8', () => {
    const good = encodeRendezvous(samples[0]);
    assert.equal(decodeRendezvous(Buffer.concat([good, hex('00')])).ok, false);
    const badUtf8 = Buffer.from(good);
    badUtf8[3 + 80 + 1] = 0xff; // first byte of the name
    assert.equal(decodeRendezvous(badUtf8).ok, false);
    const longName = Buffer.from(good);
    longName[3 + 80] = 65;
    assert.equal(decodeRendezvous(longName).ok, false);
    assert.throws(() => encodeRendezvous({ ...samples[0], name: 'x'.repeat(65) } as RendezvousMessage), RangeError);
  });
  it('truncating any valid message at any point gives an error, never a throw', () => {
    for (const m of samples) {
      const b = encodeRendezvous(m);
      for (let n = 0; n < b.length; n++) {
        const d = decodeRendezvous(b.subarray(0, n));
        assert.equal(d.ok, false, `${m.type} cut at ${n}`);
      }
    }
  });
  it('random and bit-flipped datagrams never throw', () => {
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let i = 0; i < 20000; i++) {
      const base = encodeRendezvous(samples[i % samples.length]);
      const b = Buffer.from(base);
      const flips = 1 + Math.floor(rnd() * 4);
      for (let f = 0; f < flips; f++) b[Math.floor(rnd() * b.length)] ^= 1 << Math.floor(rnd() * 8);
      decodeRendezvous(b);
      decodeRendezvous(Buffer.from(Array.from({ length: Math.floor(rnd() * 300) }, () => Math.floor(rnd() * 256))));
    }
  });
});

describe('wire: peer packets', () => {
  const samples: PeerPacket[] = [
    { type: 'hello', sender: 0x01020304, senderHint: fill(8, 9), receiverHint: fill(8, 10), noise: fill(HELLO_MIN_BYTES - 23, 1) },
    { type: 'reply', sender: 5, receiver: 6, noise: fill(96, 2) },
    { type: 'confirm', sender: 7, receiver: 8, noise: fill(64, 3) },
    { type: 'data', receiver: 0xffffffff, counter: 2n ** 60n + 5n, ciphertext: fill(17, 4) },
  ];
  for (const p of samples) {
    it(`round-trips ${p.type}`, () => {
      const d = decodePeer(encodePeer(p));
      assert.ok(d.ok, d.ok ? '' : d.error);
      assert.deepEqual(d.value, p);
    });
  }
  it('golden bytes: data', () => {
    const b = encodePeer({ type: 'data', receiver: 0xa1b2c3d4, counter: 258n, ciphertext: fill(16, 0xee) });
    assert.equal(b.toString('hex'), 'c50113' + 'a1b2c3d4' + '0000000000000102' + 'ee'.repeat(16));
  });
  it('refuses unpadded hellos and oversized replies', () => {
    assert.throws(() => encodePeer({ type: 'hello', sender: 1, senderHint: fill(8, 0), receiverHint: fill(8, 0), noise: fill(32, 0) }), RangeError);
    assert.throws(() => encodePeer({ type: 'reply', sender: 1, receiver: 2, noise: fill(HELLO_MIN_BYTES, 0) }), RangeError);
    assert.equal(decodePeer(hex('c50110' + '00'.repeat(40))).ok, false);
  });
  it('classifies datagrams by first bytes', () => {
    assert.equal(classify(encodePeer(samples[3])), 'p2p');
    assert.equal(classify(hex('0001 0000 2112a442' + '00'.repeat(12))), 'stun');
    assert.equal(classify(hex('4000 0004 deadbeef')), 'channeldata');
    assert.equal(classify(hex('17 fe fd')), 'unknown');
    assert.equal(classify(hex('')), 'unknown');
  });
});
