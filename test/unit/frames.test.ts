import assert from 'node:assert/strict';
import {
  ACK_HEADER_BYTES,
  ACK_RANGE_BYTES,
  Frame,
  MAX_ACK_RANGES,
  decodeFrame,
  decodePacket,
  encodeFrame,
  encodePacket,
  frameSize,
} from '../../extension/core/wire/frames';
import { createPrng } from '../helpers/lossyLink';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function decodeOne(buf: Buffer): Frame {
  const r = decodePacket(buf);
  assert.ok(r.ok, r.ok ? '' : r.error);
  assert.equal(r.value.length, 1);
  return r.value[0];
}

// Each golden vector is written out field by field from docs/PROTOCOL.md §5, not produced by the encoder.
const golden: { name: string; frame: Frame; bytes: string }[] = [
  {
    name: 'DATA, whole message in one fragment',
    frame: { type: 'data', seq: 0x01020304, first: true, last: true, messageLength: 5, payload: Buffer.from('hello') },
    bytes: '01 03 01020304 00000005 0005 68656c6c6f',
  },
  {
    name: 'DATA, first of several',
    frame: { type: 'data', seq: 0, first: true, last: false, messageLength: 0x00100000, payload: hex('0102') },
    bytes: '01 01 00000000 00100000 0002 0102',
  },
  {
    name: 'DATA, middle fragment near the wrap',
    frame: { type: 'data', seq: 0xfffffffe, first: false, last: false, payload: hex('aabb') },
    bytes: '01 00 fffffffe 0002 aabb',
  },
  {
    name: 'DATA, empty last fragment',
    frame: { type: 'data', seq: 7, first: false, last: true, payload: Buffer.alloc(0) },
    bytes: '01 02 00000007 0000',
  },
  {
    name: 'ACK, cumulative only',
    frame: { type: 'ack', cumulative: 0, ackDelay: 0, ranges: [] },
    bytes: '02 00000000 0000 00',
  },
  {
    name: 'ACK with two SACK ranges',
    frame: { type: 'ack', cumulative: 0x10, ackDelay: 300, ranges: [{ start: 0x12, length: 2 }, { start: 0x20, length: 0x100 }] },
    bytes: '02 00000010 012c 02 00000012 0002 00000020 0100',
  },
  { name: 'PING', frame: { type: 'ping', token: 0xdeadbeef }, bytes: '03 deadbeef' },
  { name: 'PONG', frame: { type: 'pong', token: 1 }, bytes: '04 00000001' },
  { name: 'EPHEMERAL', frame: { type: 'ephemeral', payload: Buffer.from('hi') }, bytes: '05 0002 6869' },
  { name: 'EPHEMERAL, empty', frame: { type: 'ephemeral', payload: Buffer.alloc(0) }, bytes: '05 0000' },
  { name: 'CLOSE', frame: { type: 'close', code: 1000, reason: 'bye' }, bytes: '06 03e8 03 627965' },
  { name: 'CLOSE, UTF-8 reason', frame: { type: 'close', code: 0, reason: 'é' }, bytes: '06 0000 02 c3a9' },
];

describe('frames: golden bytes', () => {
  for (const g of golden) {
    it(`${g.name}: encodes to the documented bytes and back`, () => {
      const bytes = encodeFrame(g.frame);
      assert.equal(bytes.toString('hex'), hex(g.bytes).toString('hex'));
      assert.equal(frameSize(g.frame), bytes.length);
      assert.deepEqual(decodeOne(bytes), g.frame);
    });
  }

  it('a packet is its frames back to back', () => {
    const frames = golden.map((g) => g.frame);
    const packet = encodePacket(frames);
    assert.equal(packet.toString('hex'), golden.map((g) => hex(g.bytes).toString('hex')).join(''));
    const r = decodePacket(packet);
    assert.ok(r.ok);
    assert.deepEqual(r.value, frames);
  });

  it('decodeFrame walks a packet frame by frame', () => {
    const packet = encodePacket([golden[6].frame, golden[0].frame]);
    const one = decodeFrame(packet, 0);
    assert.ok(one.ok);
    assert.deepEqual(one.value.frame, golden[6].frame);
    assert.equal(one.value.next, 5);
    const two = decodeFrame(packet, one.value.next);
    assert.ok(two.ok);
    assert.deepEqual(two.value.frame, golden[0].frame);
    assert.equal(two.value.next, packet.length);
    assert.equal(decodeFrame(packet, packet.length).ok, false);
    assert.equal(decodeFrame(packet, -1).ok, false);
  });

  it('decoded payloads are copies, safe when the packet buffer is reused', () => {
    const packet = encodeFrame({ type: 'ephemeral', payload: Buffer.from('abc') });
    const f = decodeOne(packet);
    packet.fill(0);
    assert.ok(f.type === 'ephemeral');
    assert.equal(f.payload.toString(), 'abc');
  });
});

describe('frames: round trips', () => {
  const rnd = createPrng(42);
  const u32 = () => Math.floor(rnd() * 2 ** 32);
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(rnd() * 256)));

  it('random frames of every type survive encode/decode', () => {
    for (let i = 0; i < 500; i++) {
      const first = rnd() < 0.5;
      const candidates: Frame[] = [
        { type: 'data', seq: u32(), first, last: rnd() < 0.5, payload: bytes(Math.floor(rnd() * 1100)), ...(first ? { messageLength: u32() } : {}) },
        {
          type: 'ack',
          cumulative: u32(),
          ackDelay: Math.floor(rnd() * 65536),
          ranges: Array.from({ length: Math.floor(rnd() * (MAX_ACK_RANGES + 1)) }, () => ({ start: u32(), length: 1 + Math.floor(rnd() * 65535) })),
        },
        { type: 'ping', token: u32() },
        { type: 'pong', token: u32() },
        { type: 'ephemeral', payload: bytes(Math.floor(rnd() * 300)) },
        { type: 'close', code: Math.floor(rnd() * 65536), reason: 'reason ✓ '.repeat(Math.floor(rnd() * 20)) },
      ];
      const frame = candidates[i % candidates.length];
      const enc = encodeFrame(frame);
      assert.equal(enc.length, frameSize(frame));
      assert.deepEqual(decodeOne(enc), frame);
    }
  });

  it('the largest ACK is 200 bytes', () => {
    const ranges = Array.from({ length: MAX_ACK_RANGES }, (_, i) => ({ start: i * 10, length: 1 }));
    const enc = encodeFrame({ type: 'ack', cumulative: 0, ackDelay: 0, ranges });
    assert.equal(enc.length, ACK_HEADER_BYTES + MAX_ACK_RANGES * ACK_RANGE_BYTES);
    assert.equal(enc.length, 200);
  });

  it('an ACK delay beyond the field saturates at 65535 ms', () => {
    const f = decodeOne(encodeFrame({ type: 'ack', cumulative: 1, ackDelay: 1e9, ranges: [] }));
    assert.ok(f.type === 'ack');
    assert.equal(f.ackDelay, 0xffff);
  });

  it('a long CLOSE reason is cut at a UTF-8 boundary to at most 255 bytes', () => {
    const reason = 'x' + '€'.repeat(100); // 1 + 300 bytes; '€' is 3 bytes
    const enc = encodeFrame({ type: 'close', code: 1, reason });
    const f = decodeOne(enc);
    assert.ok(f.type === 'close');
    assert.equal(f.reason, 'x' + '€'.repeat(84)); // 1 + 252 bytes: a 254th byte would split a character
    assert.equal(enc.length, 4 + 253);
  });
});

describe('frames: encoder rejects values that do not fit (programming errors)', () => {
  const bad: [string, Frame][] = [
    ['seq beyond uint32', { type: 'data', seq: 2 ** 32, first: false, last: false, payload: Buffer.alloc(0) }],
    ['negative seq', { type: 'data', seq: -1, first: false, last: false, payload: Buffer.alloc(0) }],
    ['first without messageLength', { type: 'data', seq: 1, first: true, last: true, payload: Buffer.alloc(0) }],
    ['messageLength on a later fragment', { type: 'data', seq: 1, first: false, last: true, messageLength: 3, payload: Buffer.alloc(0) }],
    ['oversized DATA payload', { type: 'data', seq: 1, first: false, last: true, payload: Buffer.alloc(65536) }],
    ['too many ranges', { type: 'ack', cumulative: 0, ackDelay: 0, ranges: Array.from({ length: 33 }, () => ({ start: 5, length: 1 })) }],
    ['empty range', { type: 'ack', cumulative: 0, ackDelay: 0, ranges: [{ start: 5, length: 0 }] }],
    ['range too long', { type: 'ack', cumulative: 0, ackDelay: 0, ranges: [{ start: 5, length: 65536 }] }],
    ['token beyond uint32', { type: 'ping', token: 2 ** 32 }],
    ['fractional token', { type: 'pong', token: 1.5 }],
    ['oversized EPHEMERAL', { type: 'ephemeral', payload: Buffer.alloc(65536) }],
    ['CLOSE code beyond uint16', { type: 'close', code: 65536, reason: '' }],
  ];
  for (const [name, frame] of bad) {
    it(name, () => assert.throws(() => encodeFrame(frame), RangeError));
  }
  it('an empty packet', () => assert.throws(() => encodePacket([]), RangeError));
});

describe('frames: hostile input is rejected without throwing', () => {
  const rejects: [string, string, RegExp][] = [
    ['empty packet', '', /empty/],
    ['unknown frame type', '0f 00', /unknown frame type 0xf/],
    ['reserved type 0', '00', /unknown frame type 0x0/],
    ['unknown DATA flags', '01 04 00000001 0000', /unknown DATA flags/],
    ['DATA length past the end', '01 02 00000001 0005 6162', /truncated DATA payload/],
    ['DATA first without its message length', '01 03 00000001', /truncated/],
    ['ACK announcing 33 ranges', '02 00000000 0000 21' + '00000001 0001'.repeat(33), /33 ranges/],
    ['ACK with fewer ranges than announced', '02 00000000 0000 02 00000005 0001', /truncated ACK ranges/],
    ['ACK with an empty range', '02 00000000 0000 01 00000005 0000', /empty ACK range/],
    ['CLOSE with invalid UTF-8', '06 0001 02 c328', /not valid UTF-8/],
    ['CLOSE reason past the end', '06 0001 05 6162', /truncated/],
    ['valid frame followed by garbage', '03 00000001 ff', /unknown frame type/],
    ['valid frame followed by a truncated one', '03 00000001 04 0000', /truncated/],
  ];
  for (const [name, bytes, error] of rejects) {
    it(name, () => {
      const r = decodePacket(hex(bytes));
      assert.equal(r.ok, false);
      if (!r.ok) assert.match(r.error, error);
    });
  }

  it('every truncation of every golden frame is rejected', () => {
    for (const g of golden) {
      const full = hex(g.bytes);
      for (let n = 1; n < full.length; n++) {
        const r = decodePacket(full.subarray(0, n));
        assert.equal(r.ok, false, `${g.name} cut to ${n} bytes decoded`);
      }
    }
  });

  it('fuzz: random and mutated packets never throw', () => {
    const rnd = createPrng(7);
    const seeds: Buffer[] = golden.map((g) => hex(g.bytes));
    seeds.push(encodePacket(golden.map((g) => g.frame)));
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      let buf: Buffer;
      if (i % 2 === 0) {
        buf = Buffer.from(Array.from({ length: Math.floor(rnd() * 64) }, () => Math.floor(rnd() * 256)));
      } else {
        buf = Buffer.from(seeds[Math.floor(rnd() * seeds.length)]);
        const flips = 1 + Math.floor(rnd() * 4);
        for (let k = 0; k < flips && buf.length > 0; k++) buf[Math.floor(rnd() * buf.length)] = Math.floor(rnd() * 256);
        if (rnd() < 0.3) buf = buf.subarray(0, Math.floor(rnd() * buf.length));
      }
      const r = decodePacket(buf); // must not throw
      if (r.ok) {
        accepted++;
        // Whatever decodes must re-encode to the same bytes: one canonical form per packet.
        assert.equal(encodePacket(r.value).toString('hex'), buf.toString('hex'));
      }
    }
    assert.ok(accepted > 0);
  });
});
