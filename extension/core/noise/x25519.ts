// X25519 on node:crypto only. Node takes raw keys only as JWK or DER. The DER path, left for deriving a
// public key from a bare private key, wraps it in the fixed PKCS#8 header for OID 1.3.101.110.
import * as crypto from 'node:crypto';

export interface KeyPair {
  publicKey: Buffer; // raw 32 bytes
  privateKey: Buffer; // raw 32 bytes (clamped or not: X25519 clamps when it multiplies)
}

export const DHLEN = 32;

const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

// Raw keys go in and out as JWK wherever the public half is known: OpenSSL 3 parses DER through its
// generic decoder chain, which costs milliseconds per key, against tens of microseconds for JWK (raw).
/**
 * Imported private keys by the Buffer that holds them. Even as JWK an import costs more than the DH
 * itself, and a handshake uses each of its two private keys (static and ephemeral) twice or three
 * times; the static key is the same Buffer for every handshake of a session. Keyed weakly, so a key
 * is forgotten with its Buffer. A Buffer whose bytes are changed in place would go stale: key Buffers
 * are never written after creation here.
 */
const imported = new WeakMap<Buffer, crypto.KeyObject>();

function privateKeyObject(priv: Buffer, pub?: Buffer): crypto.KeyObject {
  const known = imported.get(priv);
  if (known) return known;
  if (priv.length !== DHLEN) throw new RangeError(`X25519 private key must be ${DHLEN} bytes`);
  const key =
    pub !== undefined && pub.length === DHLEN
      ? crypto.createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: priv.toString('base64url'), x: pub.toString('base64url') }, format: 'jwk' })
      : crypto.createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, priv]), format: 'der', type: 'pkcs8' });
  imported.set(priv, key);
  return key;
}

function publicKeyObject(pub: Buffer): crypto.KeyObject {
  if (pub.length !== DHLEN) throw new RangeError(`X25519 public key must be ${DHLEN} bytes`);
  return crypto.createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: pub.toString('base64url') }, format: 'jwk' });
}

function rawPublic(key: crypto.KeyObject): Buffer {
  return Buffer.from(key.export({ format: 'jwk' }).x as string, 'base64url');
}

export function keyPairFromPrivate(priv: Buffer): KeyPair {
  const privateKey = Buffer.from(priv);
  return { publicKey: rawPublic(crypto.createPublicKey(privateKeyObject(privateKey))), privateKey };
}

export function generateKeyPair(): KeyPair {
  const key = crypto.generateKeyPairSync('x25519').privateKey;
  const jwk = key.export({ format: 'jwk' });
  const pair = { publicKey: Buffer.from(jwk.x as string, 'base64url'), privateKey: Buffer.from(jwk.d as string, 'base64url') };
  imported.set(pair.privateKey, key); // the ephemeral's DHs need it right away
  return pair;
}

/**
 * Shared secret of our private key and a (possibly hostile) public key. OpenSSL refuses an all-zero
 * result (low-order points); that surfaces as an exception, which handshake code turns into a failed read.
 * `ownPublic`, our public key, only makes importing the private key cheaper.
 */
export function dh(priv: Buffer, pub: Buffer, ownPublic?: Buffer): Buffer {
  return crypto.diffieHellman({ privateKey: privateKeyObject(priv, ownPublic), publicKey: publicKeyObject(pub) });
}
