// ChaCha20-Poly1305 as Noise uses it: 96-bit nonce = 32 zero bits || 64-bit little-endian counter.
import * as crypto from 'node:crypto';

export const KEYLEN = 32;
export const TAGLEN = 16;
/** Largest counter a nonce may carry; Noise reserves 2^64-1 for rekey. */
export const MAX_NONCE = (1n << 64n) - 1n;

/** Key material accepted by the primitives: a raw key, or a cached KeyObject (faster per packet). */
export type AeadKey = Buffer | crypto.KeyObject;

export function aeadKey(raw: Buffer): crypto.KeyObject {
  if (raw.length !== KEYLEN) throw new RangeError(`ChaCha20-Poly1305 key must be ${KEYLEN} bytes`);
  return crypto.createSecretKey(raw);
}

// One scratch nonce: createCipheriv copies it, and everything here is synchronous.
const nonce = Buffer.alloc(12);
function nonceFor(n: bigint): Buffer {
  nonce.writeBigUInt64LE(n, 4);
  return nonce;
}

export function aeadEncrypt(key: AeadKey, n: bigint, ad: Buffer | undefined, plaintext: Buffer): Buffer {
  const cipher = crypto.createCipheriv('chacha20-poly1305', key, nonceFor(n), { authTagLength: TAGLEN });
  if (ad !== undefined && ad.length > 0) cipher.setAAD(ad, { plaintextLength: plaintext.length }); // empty AD authenticates the same as none
  const body = cipher.update(plaintext);
  cipher.final(); // a stream cipher: final() yields nothing, it only completes the tag
  return Buffer.concat([body, cipher.getAuthTag()]);
}

/** Returns null on any authentication failure or malformed input; never throws on hostile bytes. */
export function aeadDecrypt(key: AeadKey, n: bigint, ad: Buffer | undefined, ciphertext: Buffer): Buffer | null {
  if (ciphertext.length < TAGLEN) return null;
  const bodyLen = ciphertext.length - TAGLEN;
  try {
    const decipher = crypto.createDecipheriv('chacha20-poly1305', key, nonceFor(n), { authTagLength: TAGLEN });
    decipher.setAuthTag(ciphertext.subarray(bodyLen));
    if (ad !== undefined && ad.length > 0) decipher.setAAD(ad, { plaintextLength: bodyLen });
    const body = decipher.update(ciphertext.subarray(0, bodyLen));
    decipher.final(); // throws when the tag does not verify
    return body;
  } catch {
    return null;
  }
}

/**
 * Seals the concatenation of `parts` (no AD) into one new buffer laid out as `head` free bytes for the
 * caller's header, the ciphertext, the tag: one datagram, with no plaintext assembled and one copy of
 * the ciphertext (node:crypto cannot encrypt into a caller's buffer). ChaCha20 is a stream cipher, so
 * update() over segments yields exactly the ciphertext of their concatenation.
 */
export function aeadSealParts(key: AeadKey, n: bigint, parts: readonly Buffer[], head: number): Buffer {
  const cipher = crypto.createCipheriv('chacha20-poly1305', key, nonceFor(n), { authTagLength: TAGLEN });
  let len = 0;
  for (const p of parts) len += p.length;
  const out = Buffer.allocUnsafe(head + len + TAGLEN);
  let at = head;
  for (const p of parts) {
    const c = cipher.update(p);
    c.copy(out, at);
    at += c.length;
  }
  cipher.final();
  cipher.getAuthTag().copy(out, at);
  return out;
}
