// Data-phase encryption for lossy, reordering UDP: unlike Noise's implicit nonces, each packet carries its
// 64-bit counter in the clear and the receiver uses it as the nonce, after a replay-window check. The
// nonce layout is Noise's, so counter n here seals exactly what the n-th Noise transport message would.
import type { KeyObject } from 'node:crypto';
import { aeadDecrypt, aeadEncrypt, aeadKey, aeadSealParts, TAGLEN } from './aead';
import type { CipherState } from './cipher-state';
import { ReplayWindow } from './replay';

/** Far below 2^64 so that any counter stays exact in arithmetic and a rekey comes long before wrap. */
export const DEFAULT_COUNTER_LIMIT = 1n << 60n;

export interface TransportOptions {
  /** Counters at or past this are never sealed nor accepted; the caller must re-handshake. */
  counterLimit?: bigint;
  replayWindow?: number;
}

export interface DropCounts {
  replay: number; // counter already accepted
  auth: number; // tag did not verify: forged, tampered, or the wrong key
  tooOld: number; // fell behind the replay window
  invalid: number; // counter out of range or packet shorter than a tag
}

export interface Sealed {
  counter: bigint;
  ciphertext: Buffer;
}

export class TransportExhaustedError extends Error {
  constructor() {
    super('transport counter limit reached: re-handshake required');
    this.name = 'TransportExhaustedError';
  }
}

export class TransportCipher {
  readonly counterLimit: bigint;
  private readonly sendKey: KeyObject;
  private readonly recvKey: KeyObject;
  private readonly window: ReplayWindow;
  private nextCounter = 0n;
  private readonly drops: DropCounts = { replay: 0, auth: 0, tooOld: 0, invalid: 0 };
  private opened = 0;

  constructor(keys: { send: Buffer; recv: Buffer }, opts: TransportOptions = {}) {
    this.counterLimit = opts.counterLimit ?? DEFAULT_COUNTER_LIMIT;
    if (this.counterLimit <= 0n || this.counterLimit > DEFAULT_COUNTER_LIMIT) {
      throw new RangeError('counterLimit must be in (0, 2^60]');
    }
    this.sendKey = aeadKey(keys.send); // a KeyObject skips re-importing the key on every packet
    this.recvKey = aeadKey(keys.recv);
    this.window = new ReplayWindow(opts.replayWindow);
  }

  /** Takes over the two keys of a completed handshake's Split(). */
  static fromSplit(split: { send: CipherState; recv: CipherState }, opts?: TransportOptions): TransportCipher {
    const send = split.send.key;
    const recv = split.recv.key;
    if (send === undefined || recv === undefined) throw new Error('split cipher states have no keys');
    return new TransportCipher({ send, recv }, opts);
  }

  /** No more packets can be sealed; a new handshake is needed. */
  get exhausted(): boolean {
    return this.nextCounter >= this.counterLimit;
  }

  get sent(): bigint {
    return this.nextCounter;
  }

  get received(): number {
    return this.opened;
  }

  get dropped(): Readonly<DropCounts> {
    return { ...this.drops };
  }

  /** Throws TransportExhaustedError at the counter limit (check `exhausted` first). */
  seal(plaintext: Buffer, ad?: Buffer): Sealed {
    if (this.exhausted) throw new TransportExhaustedError();
    const counter = this.nextCounter++;
    return { counter, ciphertext: aeadEncrypt(this.sendKey, counter, ad, plaintext) };
  }

  /**
   * Seals the concatenation of `parts` into a new buffer with `head` bytes left free in front for the
   * packet header: [head][ciphertext][tag]. Same counter rules as seal().
   */
  sealParts(parts: readonly Buffer[], head: number): { counter: bigint; datagram: Buffer } {
    if (this.exhausted) throw new TransportExhaustedError();
    const counter = this.nextCounter++;
    return { counter, datagram: aeadSealParts(this.sendKey, counter, parts, head) };
  }

  /** Plaintext, or null for anything forged, tampered, replayed or too old; counted by reason, never throws. */
  open(counter: bigint, ciphertext: Buffer, ad?: Buffer): Buffer | null {
    if (typeof counter !== 'bigint' || counter < 0n || counter >= this.counterLimit || ciphertext.length < TAGLEN) {
      this.drops.invalid++;
      return null;
    }
    const verdict = this.window.check(counter);
    if (verdict !== 'ok') {
      this.drops[verdict]++;
      return null;
    }
    const plaintext = aeadDecrypt(this.recvKey, counter, ad, ciphertext);
    if (plaintext === null) {
      this.drops.auth++;
      return null;
    }
    this.window.mark(counter);
    this.opened++;
    return plaintext;
  }
}
