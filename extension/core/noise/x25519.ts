// X25519 on node:crypto only. Node takes raw keys only as JWK or DER. The DER path, left for deriving a
// public key from a bare private key, wraps it in the fixed PKCS#8 header for OID 1.3.101.110.
import * as crypto from 'node:crypto';

export interface KeyPair {
  publicKey: Buffer; // raw 32 bytes
  privateKey: Buffer; // raw 32 bytes (clamped or not: X25519 clamps when it multiplies)
}

export const DHLEN = 32;

const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/**
 * Imported private keys by the Buffer that holds them. Even as JWK an import costs more than the DH
 * itself, and a handshake uses each of its two private keys (static and ephemeral) twice or three
 * times; the static key is the same Buffer for every handshake of a session. Keyed weakly, so a key
 * is forgotten with its Buffer. A Buffer whose bytes are changed in place would go stale: key Buffers
 * are never written after creation here.
 */
const imported = new WeakMap<Buffer, crypto.KeyObject>();

// Raw keys go in as JWK wherever the public half is known: OpenSSL 3 parses DER through its generic
// decoder chain, which costs milliseconds per key, against tens of microseconds for JWK (raw).
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

/** The raw key at the end of an X25519 SPKI (12 + 32 bytes) or PKCS#8 (16 + 32 bytes) DER encoding. */
function rawFromDer(der: Buffer, expected: number): Buffer {
  if (der.length !== expected) throw new Error(`unexpected X25519 DER encoding of ${der.length} bytes`);
  return Buffer.from(der.subarray(der.length - DHLEN));
}

function rawPublic(key: crypto.KeyObject): Buffer {
  return rawFromDer(key.export({ format: 'der', type: 'spki' }), 44);
}

export function keyPairFromPrivate(priv: Buffer): KeyPair {
  const privateKey = Buffer.from(priv);
  return { publicKey: rawPublic(crypto.createPublicKey(privateKeyObject(privateKey))), privateKey };
}

/**
 * The keys come out encoded (as JWK) by the generation job itself. Exporting the KeyObjects afterwards,
 * as this did, can deadlock Node 20: a garbage collection during the export destroys the finished
 * generation job, whose destructor takes the key's lock that the export holds. It hung the hostile suite
 * once; a loop of generations with garbage in between reproduces it within seconds on Node 20.20
 * (test/unit/noise-keygen-stress.test.ts). Node 24 does not hang.
 */
export function generateKeyPair(): KeyPair {
  // Node supports 'jwk' here (since 15.9); @types/node's overloads do not list it.
  const generate = crypto.generateKeyPairSync as unknown as (type: 'x25519', options: { publicKeyEncoding: { format: 'jwk' }; privateKeyEncoding: { format: 'jwk' } }) => { privateKey: crypto.JsonWebKey };
  const { privateKey: jwk } = generate('x25519', { publicKeyEncoding: { format: 'jwk' }, privateKeyEncoding: { format: 'jwk' } });
  return { publicKey: Buffer.from(jwk.x as string, 'base64url'), privateKey: Buffer.from(jwk.d as string, 'base64url') };
}

/**
 * Shared secret of our private key and a (possibly hostile) public key. OpenSSL refuses an all-zero
 * result (low-order points); that surfaces as an exception, which handshake code turns into a failed read.
 * `ownPublic`, our public key, only makes importing the private key cheaper.
 */
export function dh(priv: Buffer, pub: Buffer, ownPublic?: Buffer): Buffer {
  return crypto.diffieHellman({ privateKey: privateKeyObject(priv, ownPublic), publicKey: publicKeyObject(pub) });
}
