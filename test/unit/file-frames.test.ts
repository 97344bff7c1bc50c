import assert from 'node:assert/strict';
import { decodePacket, encodePacket, encodePacketParts, frameSize, type Frame } from '../../extension/core/wire/frames';
import type { FileFrame } from '../../extension/core/wire/fileFrames';
import { prng } from '../helpers/prng';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const ID = hex('0102030405060708');

// Written out field by field from docs/PROTOCOL.md §5.5, not produced by the encoder.
const golden: { name: string; frame: FileFrame; bytes: string }[] = [
  {
    name: 'FILE_OFFER',
    frame: { type: 'file-offer', id: ID, size: 5, chunkSize: 262144, sha256: Buffer.alloc(32, 0xaa), manifestSha256: Buffer.alloc(32, 0xbb), mime: 'text/plain', name: 'a.txt' },
    bytes: `07 0102030405060708 00000000 00000005 00040000 ${'aa'.repeat(32)} ${'bb'.repeat(32)} 0a 746578742f706c61696e 05 612e747874`,
  },
  { name: 'FILE_HELD', frame: { type: 'file-held', id: ID }, bytes: '08 0102030405060708' },
  {
    name: 'FILE_REQUEST, two ranges',
    frame: { type: 'file-request', id: ID, stream: 1, ranges: [{ start: 0, length: 4 }, { start: 10, length: 1 }] },
    bytes: '09 0102030405060708 01 02 00000000 00000004 0000000a 00000001',
  },
  {
    name: 'FILE_PIECE at offset 2^32',
    frame: { type: 'file-piece', id: ID, stream: 1, pn: 7, offset: 0x100000000, payload: Buffer.from('hi') },
    bytes: '0a 0102030405060708 01 00000007 00000001 00000000 0002 6869',
  },
  { name: 'FILE_ACK', frame: { type: 'file-ack', id: ID, largest: 16, mask: 0x80000001 }, bytes: '0b 0102030405060708 00000010 80000001' },
  { name: 'FILE_CANCEL', frame: { type: 'file-cancel', id: ID, code: 0, reason: 'bye' }, bytes: '0c 0102030405060708 00 03 627965' },
  { name: 'FILE_DONE', frame: { type: 'file-done', id: ID }, bytes: '0d 0102030405060708' },
  { name: 'FILE_PROBE, padded to 12 bytes', frame: { type: 'file-probe', token: 42, echo: false, size: 12 }, bytes: '0e 0000002a 00 000c 00000000' },
  { name: 'FILE_PROBE echo of 1024', frame: { type: 'file-probe', token: 42, echo: true, size: 1024 }, bytes: '0e 0000002a 01 0400' },
];

describe('file frames (0x07–0x0E)', () => {
  for (const g of golden) {
    it(`${g.name}: golden bytes both ways`, () => {
      const bytes = hex(g.bytes);
      assert.equal(encodePacket([g.frame as Frame]).toString('hex'), bytes.toString('hex'));
      assert.equal(frameSize(g.frame as Frame), bytes.length);
      const d = decodePacket(bytes);
      assert.ok(d.ok, d.ok ? '' : d.error);
      assert.deepEqual(d.value, [g.frame]);
    });
  }

  it('encodePacketParts: the same bytes as encodePacket, big piece payloads referenced not copied', () => {
    const r = prng(7);
    const id = r.bytes(8);
    const big = r.bytes(16 * 1024);
    const small = r.bytes(100);
    const frames: Frame[] = [
      { type: 'ping', token: 1 },
      { type: 'file-piece', id, stream: 1, pn: 5, offset: 0, payload: big },
      { type: 'file-piece', id, stream: 1, pn: 6, offset: 16384, payload: small },
      { type: 'file-ack', id, largest: 9, mask: 3 },
      { type: 'file-piece', id, stream: 1, pn: 7, offset: 16484, payload: big },
    ];
    const parts = encodePacketParts(frames);
    assert.equal(Buffer.concat(parts).toString('hex'), encodePacket(frames).toString('hex'));
    assert.equal(parts.filter((p) => p === big).length, 2, 'the big payload is the same Buffer, twice');
    for (const g of golden) assert.equal(Buffer.concat(encodePacketParts([g.frame as Frame])).toString('hex'), hex(g.bytes).toString('hex'), g.name);
  });

  it('shares a packet with chat frames', () => {
    const d = decodePacket(hex('03 deadbeef 0d 0102030405060708 0b 0102030405060708 00000010 00000000'));
    assert.ok(d.ok);
    assert.deepEqual(d.value.map((f) => f.type), ['ping', 'file-done', 'file-ack']);
  });

  const bad: [string, string, RegExp][] = [
    ['truncated id', '08 01020304', /truncated/],
    ['offset beyond 2^53', '0a 0102030405060708 01 00000007 00200000 00000000 0000', /2\^53/],
    ['33 request ranges', `09 0102030405060708 01 21 ${'00000000 00000001'.repeat(33)}`, /ranges/],
    ['probe padding shorter than its size', '0e 0000002a 00 0100 0000', /padding/],
    ['probe echo flag 2', '0e 0000002a 02 0100', /probe/],
    ['zero chunk size', `07 0102030405060708 00000000 00000005 00000000 ${'aa'.repeat(64)} 00 00`, /chunk/],
    ['piece longer than the packet', '0a 0102030405060708 01 00000007 00000000 00000000 0010 6869', /truncated/],
    ['name that is not UTF-8', `07 0102030405060708 00000000 00000005 00040000 ${'aa'.repeat(64)} 00 01 ff`, /UTF-8/],
  ];
  for (const [name, bytes, err] of bad) {
    it(`rejects ${name}`, () => {
      const d = decodePacket(hex(bytes));
      assert.equal(d.ok, false);
      if (!d.ok) assert.match(d.error, err);
    });
  }

  it('never throws on random bytes after a file frame type', () => {
    const r = prng(11);
    for (let i = 0; i < 20000; i++) {
      const b = Buffer.concat([Buffer.from([0x07 + r.int(8)]), r.bytes(r.int(120))]);
      const d = decodePacket(b);
      if (d.ok) assert.ok(d.value.length >= 1);
    }
  });
});

describe('file frames: fuzz findings', () => {
  it('refuses a probe whose padding is not zero (it would not re-encode to the same bytes)', () => {
    const found = Buffer.from('0efffffffe00000c100000000408000101', 'hex');
    assert.equal(decodePacket(found).ok, false);
    const zeros = Buffer.from('0efffffffe00000c00000000', 'hex');
    assert.equal(decodePacket(zeros).ok, true);
  });
});
