// Noise HandshakeState (spec rev 34 §5.3), sans-I/O: the caller moves bytes, this object only turns them
// into the next message or the next state. Reads of hostile bytes never throw; a failed read poisons the
// state, because the transcript hash no longer matches the peer's and no later message could be trusted.
import { CipherState } from './cipher-state';
import { TAGLEN } from './aead';
import { PATTERNS, type PatternName, type Token } from './patterns';
import { SymmetricState } from './symmetric-state';
import { DHLEN, dh, generateKeyPair, type KeyPair } from './x25519';

/** Noise's limit on any message, handshake or transport. */
export const MAX_MESSAGE_LEN = 65535;
export const PSKLEN = 32;

export interface HandshakeOptions {
  pattern: PatternName;
  initiator: boolean;
  prologue: Buffer;
  s: KeyPair;
  /**
   * The peer's static key known before the handshake (the pattern's pre-message): required when the
   * pattern has one for the other side (KK and KKpsk0 both ways; IK, IKpsk2 and X for the initiator). The handshake then proves
   * the peer holds exactly this key, or fails.
   */
  rs?: Buffer;
  /** Fixed ephemeral key: only for test vectors, never in production. */
  e?: KeyPair;
  psk?: Buffer;
}

export type ReadResult = { ok: true; payload: Buffer } | { ok: false; error: string };

export class HandshakeState {
  private readonly ss: SymmetricState;
  private readonly messages: readonly (readonly Token[])[];
  private readonly usesPsk: boolean;
  private readonly initiator: boolean;
  private readonly s: KeyPair;
  private e: KeyPair | undefined;
  private readonly fixedE: KeyPair | undefined;
  private rs: Buffer | undefined;
  private re: Buffer | undefined;
  private readonly psk: Buffer | undefined;
  private index = 0;
  private failure: string | undefined;
  private splitDone = false;

  constructor(opts: HandshakeOptions) {
    const pattern = PATTERNS[opts.pattern];
    if (pattern === undefined) throw new Error(`unknown handshake pattern ${String(opts.pattern)}`);
    if (pattern.usesPsk) {
      if (opts.psk === undefined || opts.psk.length !== PSKLEN) throw new RangeError(`${opts.pattern} needs a ${PSKLEN}-byte psk`);
    } else if (opts.psk !== undefined) {
      throw new Error(`${opts.pattern} takes no psk`);
    }
    if (opts.s.publicKey.length !== DHLEN || opts.s.privateKey.length !== DHLEN) throw new RangeError('static key pair must be raw 32-byte X25519');
    this.messages = pattern.messages;
    this.usesPsk = pattern.usesPsk;
    this.initiator = opts.initiator;
    this.s = opts.s;
    this.fixedE = opts.e;
    this.psk = opts.psk === undefined ? undefined : Buffer.from(opts.psk);
    this.ss = new SymmetricState(pattern.protocolName);
    this.ss.mixHash(opts.prologue);
    // Pre-messages (§7.1): the initiator's known static first, then the responder's.
    const needRemote = opts.initiator ? pattern.preMessages.responder : pattern.preMessages.initiator;
    if (needRemote) {
      if (opts.rs === undefined || opts.rs.length !== DHLEN) throw new RangeError(`${opts.pattern} needs the peer's 32-byte static key in advance`);
      this.rs = Buffer.from(opts.rs);
    } else if (opts.rs !== undefined) {
      throw new Error(`${opts.pattern} learns the peer's static key during the handshake; rs must not be given`);
    }
    if (pattern.preMessages.initiator) this.ss.mixHash(opts.initiator ? this.s.publicKey : (this.rs as Buffer));
    if (pattern.preMessages.responder) this.ss.mixHash(opts.initiator ? (this.rs as Buffer) : this.s.publicKey);
  }

  get complete(): boolean {
    return this.failure === undefined && this.index >= this.messages.length;
  }

  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** Why the handshake failed, once it has. */
  get error(): string | undefined {
    return this.failure;
  }

  /** True when the next step is writeMessage (and the handshake is neither complete nor failed). */
  get isMyTurn(): boolean {
    return !this.complete && !this.failed && this.index % 2 === (this.initiator ? 0 : 1);
  }

  get remoteStatic(): Buffer | undefined {
    return this.rs === undefined ? undefined : Buffer.from(this.rs);
  }

  /** h: a transcript digest both sides share once complete; channel binding for later checks. */
  get handshakeHash(): Buffer {
    return this.ss.handshakeHash;
  }

  /** Throws only on misuse: not our turn, handshake over or failed, or a payload too large. */
  writeMessage(payload: Buffer): Buffer {
    if (this.failure !== undefined) throw new Error(`handshake failed: ${this.failure}`);
    if (this.index >= this.messages.length) throw new Error('handshake already complete');
    if (!this.isMyTurn) throw new Error('not our turn to write');
    const out: Buffer[] = [];
    for (const token of this.messages[this.index]) {
      switch (token) {
        case 'e': {
          this.e = this.fixedE ?? generateKeyPair();
          out.push(this.e.publicKey);
          this.ss.mixHash(this.e.publicKey);
          if (this.usesPsk) this.ss.mixKey(this.e.publicKey);
          break;
        }
        case 's':
          out.push(this.ss.encryptAndHash(this.s.publicKey));
          break;
        case 'psk':
          this.ss.mixKeyAndHash(this.psk as Buffer);
          break;
        default:
          // Our own keys and values already authenticated by this transcript: a throw here is a bug, not an attack.
          this.ss.mixKey(this.dhFor(token));
      }
    }
    out.push(this.ss.encryptAndHash(payload));
    const msg = Buffer.concat(out);
    if (msg.length > MAX_MESSAGE_LEN) {
      this.failure = 'message too long';
      throw new RangeError(`handshake message would be ${msg.length} bytes (max ${MAX_MESSAGE_LEN})`);
    }
    this.index++;
    return msg;
  }

  readMessage(msg: Buffer): ReadResult {
    if (this.failure !== undefined) return { ok: false, error: `handshake failed: ${this.failure}` };
    // Refused before touching any state, so a duplicated or stray datagram cannot poison a good handshake.
    if (this.index >= this.messages.length) return { ok: false, error: 'handshake already complete' };
    if (this.isMyTurn) return { ok: false, error: 'unexpected message: our turn to write' };
    if (msg.length > MAX_MESSAGE_LEN) return { ok: false, error: 'message too long' };
    let off = 0;
    try {
      for (const token of this.messages[this.index]) {
        switch (token) {
          case 'e': {
            if (msg.length - off < DHLEN) return this.fail('message too short for e');
            this.re = Buffer.from(msg.subarray(off, off + DHLEN));
            off += DHLEN;
            this.ss.mixHash(this.re);
            if (this.usesPsk) this.ss.mixKey(this.re);
            break;
          }
          case 's': {
            const len = DHLEN + (this.ss.hasKey() ? TAGLEN : 0);
            if (msg.length - off < len) return this.fail('message too short for s');
            const rs = this.ss.decryptAndHash(msg.subarray(off, off + len));
            off += len;
            if (rs === null) return this.fail('static key failed to decrypt');
            this.rs = rs;
            break;
          }
          case 'psk':
            this.ss.mixKeyAndHash(this.psk as Buffer);
            break;
          default:
            this.ss.mixKey(this.dhFor(token));
        }
      }
      const rest = msg.subarray(off);
      if (this.ss.hasKey() && rest.length < TAGLEN) return this.fail('message too short for payload tag');
      const payload = this.ss.decryptAndHash(rest);
      if (payload === null) return this.fail('payload failed to decrypt');
      this.index++;
      return { ok: true, payload };
    } catch (err) {
      // A hostile public key can make X25519 yield an all-zero secret, which OpenSSL refuses.
      return this.fail(`key agreement failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Two CipherStates (send, recv) from our point of view; allowed once, after completion. */
  split(): { send: CipherState; recv: CipherState } {
    if (!this.complete) throw new Error('handshake not complete');
    if (this.splitDone) throw new Error('split already taken');
    this.splitDone = true;
    const [c1, c2] = this.ss.split();
    return this.initiator ? { send: c1, recv: c2 } : { send: c2, recv: c1 };
  }

  private dhFor(token: Token): Buffer {
    // Which of our keys meets which of theirs follows from the token's letters: the first is the
    // initiator's key, the second the responder's.
    const [initKey, respKey] = [token[0], token[1]];
    const mine = this.initiator ? initKey : respKey;
    const theirs = this.initiator ? respKey : initKey;
    const own = mine === 'e' ? this.e : this.s;
    const pub = theirs === 'e' ? this.re : this.rs;
    if (own === undefined || pub === undefined) throw new Error(`missing key for ${token}`);
    return dh(own.privateKey, pub, own.publicKey);
  }

  private fail(error: string): ReadResult {
    this.failure = error;
    return { ok: false, error };
  }
}
