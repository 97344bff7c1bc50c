// Noise CipherState (spec rev 34 §5.1): a key plus an implicit, strictly increasing nonce. Used during
// the handshake and for in-order streams; the lossy UDP data phase uses TransportCipher instead.
import type { KeyObject } from 'node:crypto';
import { aeadDecrypt, aeadEncrypt, aeadKey, MAX_NONCE } from './aead';

export class CipherState {
  private k: Buffer | undefined;
  private keyObject: KeyObject | undefined;
  private n = 0n;

  constructor(k?: Buffer) {
    this.initializeKey(k);
  }

  initializeKey(k: Buffer | undefined): void {
    this.k = k === undefined ? undefined : Buffer.from(k);
    this.keyObject = k === undefined ? undefined : aeadKey(k);
    this.n = 0n;
  }

  hasKey(): boolean {
    return this.k !== undefined;
  }

  /** The raw key, so a transport with explicit nonces can take over after Split(). */
  get key(): Buffer | undefined {
    return this.k === undefined ? undefined : Buffer.from(this.k);
  }

  get nonce(): bigint {
    return this.n;
  }

  setNonce(n: bigint): void {
    this.n = n;
  }

  /** Throws only when the nonce space is exhausted (API misuse: the caller must rekey or re-handshake). */
  encryptWithAd(ad: Buffer, plaintext: Buffer): Buffer {
    if (this.keyObject === undefined) return Buffer.from(plaintext);
    if (this.n >= MAX_NONCE) throw new Error('CipherState nonce exhausted');
    const out = aeadEncrypt(this.keyObject, this.n, ad, plaintext);
    this.n++;
    return out;
  }

  /** Null when authentication fails; the nonce only advances on success, as the spec requires. */
  decryptWithAd(ad: Buffer, ciphertext: Buffer): Buffer | null {
    if (this.keyObject === undefined) return Buffer.from(ciphertext);
    if (this.n >= MAX_NONCE) return null;
    const out = aeadDecrypt(this.keyObject, this.n, ad, ciphertext);
    if (out !== null) this.n++;
    return out;
  }

  /** REKEY(k) for ChaChaPoly: encrypt 32 zero bytes under nonce 2^64-1 and keep the first 32 bytes. */
  rekey(): void {
    if (this.keyObject === undefined) return;
    const next = aeadEncrypt(this.keyObject, MAX_NONCE, Buffer.alloc(0), Buffer.alloc(32)).subarray(0, 32);
    const n = this.n;
    this.initializeKey(next);
    this.n = n;
  }
}
