// Sample host state for the webview tests and screenshots.
import type { MemberInfo, SnippetPayload } from '../../extension/core/types';
import type { HostToWebview, TranscriptEntry } from '../../extension/shared/protocol';
import { deflateSync } from 'node:zlib';
import { NOW } from './harness';

export const SELF = 'a'.repeat(64);
export const ALICE = 'b1'.repeat(32);
export const BOB = 'c2'.repeat(32);
export const CAROL = 'd3'.repeat(32);

export const MEMBERS: MemberInfo[] = [
  { peerId: ALICE, name: 'Alice', presence: 'online', path: 'direct', verified: true, fingerprint: 'B1B1 B1B1 B1B1', safetyNumber: '12345 67890 12345' },
  { peerId: BOB, name: 'Bob', presence: 'away', path: 'relayed', verified: false, fingerprint: 'C2C2 C2C2 C2C2', safetyNumber: '54321 09876 54321' },
  { peerId: CAROL, name: 'Carol', presence: 'offline', verified: false },
];

export const SNIPPET: SnippetPayload = {
  path: 'src/net/punch.ts',
  language: 'typescript',
  startLine: 42,
  endLine: 47,
  code: [
    'export function nextDelay(attempt: number): number {',
    '  // back off, but keep punching often enough for short NAT timeouts',
    '  const base = Math.min(1000, 25 * 2 ** attempt);',
    "  return base + Math.random() * base * 0.2; // jitter",
    '}',
    'const label = `attempt ${n}`;',
  ].join('\n'),
};

const min = 60_000;

export function entry(id: string, from: string, fromName: string, sentAt: number, text: string, own = false, delivery?: TranscriptEntry['delivery']): TranscriptEntry {
  return { id, from, fromName, own, sentAt, body: { kind: 'text', text }, ...(own ? { delivery: delivery ?? 'delivered' } : {}) };
}

export const TRANSCRIPT: TranscriptEntry[] = [
  entry('b:1', ALICE, 'Alice', NOW - 26 * 60 * min, 'Morning! Did the relay fallback land?'),
  entry('a:1', SELF, 'Me', NOW - 26 * 60 * min + 2 * min, 'Not yet, still tuning the *birthday* spray.', true),
  entry('b:2', ALICE, 'Alice', NOW - 40 * min, 'Can you look at the backoff in `punch.ts`?'),
  entry('b:3', ALICE, 'Alice', NOW - 39 * min, 'It retries way too fast on **symmetric** NATs:\n- first attempt after 25 ms\n- then doubling'),
  { id: 'a:2', from: SELF, fromName: 'Me', own: true, sentAt: NOW - 20 * min, body: { kind: 'snippet', snippet: SNIPPET, text: 'This is the part, see the jitter:' }, delivery: 'delivered' },
  entry('c:1', BOB, 'Bob', NOW - 12 * min, 'Looks fine to me. Docs: https://datatracker.ietf.org/doc/html/rfc8445'),
  entry('a:3', SELF, 'Me', NOW - 3 * min, 'Pushing a fix now', true, 'delivered'),
  entry('a:4', SELF, 'Me', NOW - 2 * min, 'Running the NAT lab:\n```bash\nsudo npm run test:nat -- --grep symmetric\n```', true, 'sent'),
  entry('a:5', SELF, 'Me', NOW - 1 * min, 'Will report back', true, 'queued'),
];

export function init(over: Partial<Extract<HostToWebview, { type: 'init' }>> = {}): Extract<HostToWebview, { type: 'init' }> {
  return {
    type: 'init',
    room: { roomLabel: 'nat-lab', named: false, selfId: SELF, selfName: 'Me', invite: 'p2pchat://rv.example:7000/abcdef' },
    state: { kind: 'connected', path: 'direct', peers: 2 },
    members: MEMBERS,
    transcript: TRANSCRIPT,
    ...over,
  };
}

/** A real PNG (a gradient, 2×2 by default), built here so the test needs no fixture file. */
export function pngBytes(w = 2, hgt = 2): Uint8Array {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer) => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(hgt, 4);
  ihdr[8] = 8;
  ihdr[9] = 2; // RGB
  // Rows of a diagonal gradient: each row a filter byte (0) and w RGB pixels.
  const raw = Buffer.concat(Array.from({ length: hgt }, (_, y) => Buffer.from([0, ...Array.from({ length: w }, (_, x) => [255 - (x * 200) / w, (y * 200) / hgt, 120].map(Math.round)).flat()])));
  const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
  return new Uint8Array(png);
}

