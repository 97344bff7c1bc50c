// Draws media/icon.png (128×128, the marketplace/extension icon): two speech bubbles on a gradient
// tile, a padlock in the front bubble. Pure Node (zlib + a hand-written PNG encoder), 4×4 supersampling.
// Usage: node scripts/make-icon.mjs [out.png]
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

const SIZE = 128;
const SS = 4;

// ---- shapes as signed distance functions (negative inside) --------------------------------------
function roundRect(px, py, x0, y0, x1, y1, r) {
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  const hx = (x1 - x0) / 2 - r;
  const hy = (y1 - y0) / 2 - r;
  const qx = Math.abs(px - cx) - hx;
  const qy = Math.abs(py - cy) - hy;
  return Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0) - r;
}
function circle(px, py, cx, cy, r) {
  return Math.hypot(px - cx, py - cy) - r;
}
/** Inside the triangle (a, b, c) → negative; a rough distance is enough for coverage sampling. */
function triangle(px, py, [ax, ay], [bx, by], [cx, cy]) {
  const s = (x1, y1, x2, y2) => (px - x2) * (y1 - y2) - (x1 - x2) * (py - y2);
  const d1 = s(ax, ay, bx, by);
  const d2 = s(bx, by, cx, cy);
  const d3 = s(cx, cy, ax, ay);
  const neg = d1 < 0 || d2 < 0 || d3 < 0;
  const pos = d1 > 0 || d2 > 0 || d3 > 0;
  return neg && pos ? 1 : -1;
}
const union = (...d) => Math.min(...d);

// ---- the drawing --------------------------------------------------------------------------------
const tile = (x, y) => roundRect(x, y, 4, 4, 124, 124, 26);
const back = (x, y) => union(roundRect(x, y, 16, 20, 84, 66, 14), triangle(x, y, [28, 60], [44, 60], [24, 80]));
const front = (x, y) => union(roundRect(x, y, 42, 46, 112, 98, 15), triangle(x, y, [90, 92], [104, 92], [108, 114]));
const frontRing = (x, y) => union(roundRect(x, y, 37, 41, 117, 103, 19), triangle(x, y, [86, 95], [108, 95], [112, 120]));
// Padlock body (its shackle is drawn in sample()) and keyhole.
const lockBody = (x, y) => roundRect(x, y, 64, 70, 90, 89, 4);
const keyhole = (x, y) => union(circle(x, y, 77, 78, 2.6), roundRect(x, y, 75.8, 78, 78.2, 84, 1));
const dots = (x, y) => union(circle(x, y, 35, 43, 4.2), circle(x, y, 50, 43, 4.2), circle(x, y, 65, 43, 4.2));

function mix(a, b, t) {
  return a.map((v, i) => v + (b[i] - v) * t);
}
const C1 = [0x1f, 0x6f, 0xeb];
const C2 = [0x7b, 0x3f, 0xe4];
const WHITE = [255, 255, 255];
const PALE = [0xd9, 0xe8, 0xff];
const INK = [0x2a, 0x4a, 0xa8];

/** Colour and alpha of one sample point (layers painted bottom-up). */
function sample(x, y) {
  if (tile(x, y) > 0) return [0, 0, 0, 0];
  let c = mix(C1, C2, Math.min(1, Math.max(0, (x + y) / (2 * SIZE))));
  if (back(x, y) <= 0) c = PALE;
  if (dots(x, y) <= 0 && back(x, y) <= 0 && frontRing(x, y) > 0) c = INK;
  if (frontRing(x, y) <= 0 && front(x, y) > 0) c = mix(C1, C2, Math.min(1, Math.max(0, (x + y) / (2 * SIZE))));
  if (front(x, y) <= 0) c = WHITE;
  const inShackle = circle(x, y, 77, 70, 10) <= 0 && circle(x, y, 77, 70, 6) > 0 && y <= 71;
  if (front(x, y) <= 0 && (lockBody(x, y) <= 0 || inShackle)) c = INK;
  if (lockBody(x, y) <= 0 && keyhole(x, y) <= 0) c = WHITE;
  return [...c, 255];
}

const rgba = Buffer.alloc(SIZE * SIZE * 4);
for (let py = 0; py < SIZE; py++) {
  for (let px = 0; px < SIZE; px++) {
    const acc = [0, 0, 0, 0];
    for (let sy = 0; sy < SS; sy++) {
      for (let sx = 0; sx < SS; sx++) {
        const s = sample(px + (sx + 0.5) / SS, py + (sy + 0.5) / SS);
        // Premultiplied accumulation so edge pixels do not pick up black from transparent samples.
        acc[0] += s[0] * s[3];
        acc[1] += s[1] * s[3];
        acc[2] += s[2] * s[3];
        acc[3] += s[3];
      }
    }
    const o = (py * SIZE + px) * 4;
    const a = acc[3] / (SS * SS);
    rgba[o + 3] = Math.round(a);
    for (let i = 0; i < 3; i++) rgba[o + i] = acc[3] ? Math.round(acc[i] / acc[3]) : 0;
  }
}

// ---- PNG encoding -------------------------------------------------------------------------------
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
const ihdr = Buffer.alloc(13);
ihdr.writeUInt32BE(SIZE, 0);
ihdr.writeUInt32BE(SIZE, 4);
ihdr[8] = 8; // bit depth
ihdr[9] = 6; // RGBA
const raw = Buffer.alloc(SIZE * (SIZE * 4 + 1));
for (let y = 0; y < SIZE; y++) {
  raw[y * (SIZE * 4 + 1)] = 0; // filter: none
  rgba.copy(raw, y * (SIZE * 4 + 1) + 1, y * SIZE * 4, (y + 1) * SIZE * 4);
}
const png = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  chunk('IHDR', ihdr),
  chunk('IDAT', deflateSync(raw, { level: 9 })),
  chunk('IEND', Buffer.alloc(0)),
]);
const out = process.argv[2] ?? new URL('../media/icon.png', import.meta.url).pathname;
writeFileSync(out, png);
console.log(`${out}: ${png.length} bytes`);
