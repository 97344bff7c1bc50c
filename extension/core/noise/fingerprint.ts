// Human-comparable digests of static identity keys.
//
// Fingerprint of one key: SHA-256 of the raw 32-byte X25519 public key, first 80 bits, written in
// Crockford base32 (no I, L, O, U, so it survives being read aloud or retyped) as four groups of four,
// e.g. "7XQ2-M0KD-9C4R-ZT1B". 80 bits is too short to resist a targeted second-preimage search forever,
// but it is meant for a quick glance; the safety number is what users compare to verify.
//
// Safety number of a pair: after Signal's "numeric fingerprint". Each key yields a 30-digit half:
//   d0 = SHA-256(VERSION || key || LABEL), d(i+1) = SHA-256(d(i) || key) for ITERATIONS rounds,
//   then the first 30 bytes of the final digest, in six 5-byte big-endian chunks, each mod 100000 as
//   five decimal digits. The iteration makes each guess at a colliding key ~2^12 times dearer.
// The two halves are sorted (as strings) and joined: the same 60 digits (12 groups of 5) on both sides,
// whichever side computes it, and each half still belongs to exactly one key.
import * as crypto from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const FINGERPRINT_BYTES = 10;
const SAFETY_VERSION = Buffer.from([0x00, 0x01]);
const SAFETY_LABEL = Buffer.from('p2p-chat safety number', 'utf8');
export const SAFETY_ITERATIONS = 5200;

function assertKey(key: Buffer): void {
  if (key.length !== 32) throw new RangeError('static public key must be 32 bytes');
}

function base32(bytes: Buffer): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += CROCKFORD[(acc >>> bits) & 31];
    }
    acc &= (1 << bits) - 1; // keep only unread bits so acc never overflows
  }
  if (bits > 0) out += CROCKFORD[(acc << (5 - bits)) & 31];
  return out;
}

/** "XXXX-XXXX-XXXX-XXXX": 80 bits of SHA-256(publicKey). */
export function fingerprint(publicKey: Buffer): string {
  assertKey(publicKey);
  const digest = crypto.createHash('sha256').update(publicKey).digest().subarray(0, FINGERPRINT_BYTES);
  return base32(digest).match(/.{4}/g)!.join('-');
}

// One-shot hashing (Node >= 20.12) skips a Hash object per round: 5200 rounds per half made the
// object churn, not SHA-256, the cost. Same digests either way.
const oneShot = (crypto as { hash?: (algorithm: string, data: Buffer, encoding: 'buffer') => Buffer }).hash;
const sha256 = oneShot ? (data: Buffer) => oneShot('sha256', data, 'buffer') : (data: Buffer) => crypto.createHash('sha256').update(data).digest();

// A half depends on one public key only: our own comes back for every peer, a contact's for every room.
const halves = new Map<string, string>();
const MAX_CACHED_HALVES = 256;

function safetyHalf(key: Buffer): string {
  const id = key.toString('hex');
  const cached = halves.get(id);
  if (cached !== undefined) return cached;
  let d: Buffer = crypto.createHash('sha256').update(SAFETY_VERSION).update(key).update(SAFETY_LABEL).digest();
  const input = Buffer.alloc(d.length + key.length); // d(i) || key, rewritten in place each round
  key.copy(input, d.length);
  for (let i = 0; i < SAFETY_ITERATIONS; i++) {
    d.copy(input, 0);
    d = sha256(input);
  }
  const groups: string[] = [];
  for (let off = 0; off < 30; off += 5) groups.push((d.readUIntBE(off, 5) % 100000).toString().padStart(5, '0'));
  const half = groups.join(' ');
  if (halves.size >= MAX_CACHED_HALVES) halves.clear();
  halves.set(id, half);
  return half;
}

/** 60 digits in 12 space-separated groups of 5; safetyNumber(a, b) === safetyNumber(b, a). */
export function safetyNumber(keyA: Buffer, keyB: Buffer): string {
  assertKey(keyA);
  assertKey(keyB);
  const halves = [safetyHalf(keyA), safetyHalf(keyB)].sort();
  return halves.join(' ');
}
