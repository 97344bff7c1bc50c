// Noise SymmetricState (spec rev 34 §5.2) with SHA-256 and Noise's HMAC-based HKDF (§4.3), which differs
// from RFC 5869 by taking the chaining key as HMAC key and emitting 2 or 3 outputs.
import * as crypto from 'node:crypto';
import { CipherState } from './cipher-state';

export const HASHLEN = 32;

function sha256(...parts: Buffer[]): Buffer {
  const h = crypto.createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

function hmac(key: Buffer, ...parts: Buffer[]): Buffer {
  const h = crypto.createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return h.digest();
}

export function noiseHkdf(ck: Buffer, ikm: Buffer, outputs: 2 | 3): Buffer[] {
  const tempKey = hmac(ck, ikm);
  const o1 = hmac(tempKey, Buffer.of(1));
  const o2 = hmac(tempKey, o1, Buffer.of(2));
  if (outputs === 2) return [o1, o2];
  return [o1, o2, hmac(tempKey, o2, Buffer.of(3))];
}

export class SymmetricState {
  private readonly cs = new CipherState();
  private ck: Buffer;
  private h: Buffer;

  constructor(protocolName: string) {
    const name = Buffer.from(protocolName, 'ascii');
    this.h = name.length <= HASHLEN ? Buffer.concat([name, Buffer.alloc(HASHLEN - name.length)]) : sha256(name);
    this.ck = Buffer.from(this.h);
  }

  get handshakeHash(): Buffer {
    return Buffer.from(this.h);
  }

  hasKey(): boolean {
    return this.cs.hasKey();
  }

  mixKey(ikm: Buffer): void {
    const [ck, tempK] = noiseHkdf(this.ck, ikm, 2);
    this.ck = ck;
    this.cs.initializeKey(tempK); // HASHLEN == 32 == key length, so no truncation
  }

  mixHash(data: Buffer): void {
    this.h = sha256(this.h, data);
  }

  mixKeyAndHash(ikm: Buffer): void {
    const [ck, tempH, tempK] = noiseHkdf(this.ck, ikm, 3);
    this.ck = ck;
    this.mixHash(tempH);
    this.cs.initializeKey(tempK);
  }

  encryptAndHash(plaintext: Buffer): Buffer {
    const ciphertext = this.cs.encryptWithAd(this.h, plaintext);
    this.mixHash(ciphertext);
    return ciphertext;
  }

  decryptAndHash(ciphertext: Buffer): Buffer | null {
    const plaintext = this.cs.decryptWithAd(this.h, ciphertext);
    if (plaintext === null) return null;
    this.mixHash(ciphertext);
    return plaintext;
  }

  split(): [CipherState, CipherState] {
    const [k1, k2] = noiseHkdf(this.ck, Buffer.alloc(0), 2);
    return [new CipherState(k1), new CipherState(k2)];
  }
}
