// Ed25519 account signing keys on node:crypto. The account's X25519 key (the Noise static key) cannot
// sign, and XEdDSA (signing with an X25519 key, as Signal does) is not in node:crypto: a second key,
// Ed25519 (RFC 8032, deterministic, the standard signature of the same curve), is generated beside it.
// Raw keys go in as PKCS#8/SPKI DER with the fixed prefixes for OID 1.3.101.112, come out as JWK.
import * as crypto from 'node:crypto';

export const SIGNING_SEED_BYTES = 32;
export const SIGNING_PUBLIC_BYTES = 32;
export const SIGNATURE_BYTES = 64;

export interface SigningKeyPair {
  /** Raw 32-byte Ed25519 public key. */
  publicKey: Buffer;
  /** Raw 32-byte Ed25519 seed (RFC 8032's private key). */
  seed: Buffer;
}

const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
export const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** Imported private keys by the Buffer holding the seed (never written after creation). */
const importedPrivate = new WeakMap<Buffer, crypto.KeyObject>();

function privateKeyObject(seed: Buffer): crypto.KeyObject {
  const known = importedPrivate.get(seed);
  if (known) return known;
  if (seed.length !== SIGNING_SEED_BYTES) throw new RangeError(`Ed25519 seed must be ${SIGNING_SEED_BYTES} bytes`);
  const key = crypto.createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  importedPrivate.set(seed, key);
  return key;
}

export function signingKeyFromSeed(seed: Buffer): SigningKeyPair {
  const own = Buffer.from(seed);
  const jwk = crypto.createPublicKey(privateKeyObject(own)).export({ format: 'jwk' }) as { x: string };
  return { publicKey: Buffer.from(jwk.x, 'base64url'), seed: own };
}

/** A fresh key; encoded by the generation job itself (exporting KeyObjects afterwards can deadlock Node 20). */
export function generateSigningKey(): SigningKeyPair {
  const { privateKey } = crypto.generateKeyPairSync('ed25519', {
    publicKeyEncoding: { format: 'jwk' },
    privateKeyEncoding: { format: 'jwk' },
  }) as unknown as { privateKey: { d: string; x: string } };
  return { publicKey: Buffer.from(privateKey.x, 'base64url'), seed: Buffer.from(privateKey.d, 'base64url') };
}

export function sign(key: SigningKeyPair, message: Uint8Array): Buffer {
  return crypto.sign(null, message, privateKeyObject(key.seed));
}

/** Never throws: a malformed key or signature is simply not valid. */
export function verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== SIGNING_PUBLIC_BYTES || signature.length !== SIGNATURE_BYTES) return false;
  try {
    // JWK, not DER: OpenSSL 3 parses DER through its generic decoder chain, many times slower than the
    // signature check itself (SPKI_PREFIX documents the equivalent DER form).
    const key = crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey).toString('base64url') }, format: 'jwk' });
    return crypto.verify(null, message, key, signature);
  } catch {
    return false;
  }
}
