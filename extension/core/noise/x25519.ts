// X25519 on node:crypto only. Node takes raw keys solely as DER, so raw 32-byte keys are wrapped in the
// fixed PKCS#8 / SPKI headers for OID 1.3.101.110; the headers never vary for this curve.
import * as crypto from 'node:crypto';

export interface KeyPair {
  publicKey: Buffer; // raw 32 bytes
  privateKey: Buffer; // raw 32 bytes (clamped or not: X25519 clamps when it multiplies)
}

export const DHLEN = 32;

const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

function privateKeyObject(priv: Buffer): crypto.KeyObject {
  if (priv.length !== DHLEN) throw new RangeError(`X25519 private key must be ${DHLEN} bytes`);
  return crypto.createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, priv]), format: 'der', type: 'pkcs8' });
}

function publicKeyObject(pub: Buffer): crypto.KeyObject {
  if (pub.length !== DHLEN) throw new RangeError(`X25519 public key must be ${DHLEN} bytes`);
  return crypto.createPublicKey({ key: Buffer.concat([SPKI_PREFIX, pub]), format: 'der', type: 'spki' });
}

function rawPublic(key: crypto.KeyObject): Buffer {
  const der = key.export({ format: 'der', type: 'spki' });
  return Buffer.from(der.subarray(SPKI_PREFIX.length));
}

export function keyPairFromPrivate(priv: Buffer): KeyPair {
  const privateKey = Buffer.from(priv);
  return { publicKey: rawPublic(crypto.createPublicKey(privateKeyObject(privateKey))), privateKey };
}

export function generateKeyPair(): KeyPair {
  return keyPairFromPrivate(crypto.randomBytes(DHLEN));
}

/**
 * Shared secret of our private key and a (possibly hostile) public key. OpenSSL refuses an all-zero
 * result (low-order points); that surfaces as an exception, which handshake code turns into a failed read.
 */
export function dh(priv: Buffer, pub: Buffer): Buffer {
  return crypto.diffieHellman({ privateKey: privateKeyObject(priv), publicKey: publicKeyObject(pub) });
}
