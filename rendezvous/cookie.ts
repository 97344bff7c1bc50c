// Stateless proof that a source receives at its address. The server keeps no per-source state for
// it: the cookie is a MAC over the source endpoint and a coarse epoch, so a register from a spoofed
// address can never carry a valid one, and only the 19-byte `cookie` reply goes back to the victim.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { owned, Writer } from '../extension/core/wire/bytes';
import { Endpoint, writeEndpoint } from '../extension/core/wire/endpoint';
import { COOKIE_BYTES } from '../extension/core/wire/rendezvous';

export const DEFAULT_COOKIE_EPOCH_MS = 120_000;

export interface CookieJarOptions {
  /** HMAC key; random per process by default, so a restart invalidates every cookie at once. */
  secret?: Buffer;
  epochMs?: number;
  /** Sources whose last valid cookie is remembered (default 100,000): see `verify`. */
  maxRemembered?: number;
}

interface Remembered {
  cookie: Buffer;
  epoch: number;
}

/**
 * MAC input: epoch (u32 BE) || address (4 or 16 raw bytes) || port (u16 BE). The two families
 * give different lengths, so the encoding is unambiguous without a family byte.
 */
export function cookieInput(epoch: number, source: Endpoint): Buffer {
  const ep = new Writer(19);
  writeEndpoint(ep, source); // family(1) port(2) address(4|16): reuse its address parsing
  const raw = ep.finish();
  return new Writer(22).u32(epoch).bytes(raw.subarray(3)).u16(source.port).finish();
}

export class CookieJar {
  private readonly secret: Buffer;
  readonly epochMs: number;
  private readonly maxRemembered: number;
  /**
   * The last cookie each source proved itself with. A member refreshes every 15 s with the same
   * cookie for minutes; recomputing its HMAC every time was a fifth of the server's CPU under load.
   * Remembering changes nothing about validity: the same bytes, source and epochs are accepted.
   */
  private readonly remembered = new Map<string | number, Remembered>();

  constructor(opts: CookieJarOptions = {}) {
    this.secret = opts.secret ?? randomBytes(32);
    this.epochMs = opts.epochMs ?? DEFAULT_COOKIE_EPOCH_MS;
    this.maxRemembered = opts.maxRemembered ?? 100_000;
  }

  get rememberedCount(): number {
    return this.remembered.size;
  }

  private epochAt(now: number): number {
    return Math.floor(now / this.epochMs) >>> 0;
  }

  private mac(epoch: number, source: Endpoint): Buffer {
    return createHmac('sha256', this.secret).update(cookieInput(epoch, source)).digest().subarray(0, COOKIE_BYTES);
  }

  /** The cookie a source should present now. */
  issue(now: number, source: Endpoint): Buffer {
    return this.mac(this.epochAt(now), source);
  }

  /**
   * Valid in the epoch it was issued and the next one: a cookie lives between one and two epochs.
   * `key` identifies the source endpoint (the server's rate-limit key) for the memo of valid cookies.
   */
  verify(now: number, source: Endpoint, cookie: Uint8Array, key?: string | number): boolean {
    if (cookie.length !== COOKIE_BYTES) return false;
    const given = Buffer.from(cookie.buffer, cookie.byteOffset, cookie.length);
    const epoch = this.epochAt(now);
    if (key !== undefined) {
      const r = this.remembered.get(key);
      if (r && (epoch === r.epoch || epoch === ((r.epoch + 1) >>> 0)) && timingSafeEqual(r.cookie, given)) return true;
    }
    let valid = epoch;
    if (!timingSafeEqual(this.mac(epoch, source), given)) {
      valid = (epoch - 1) >>> 0;
      if (!timingSafeEqual(this.mac(valid, source), given)) return false;
    }
    if (key !== undefined) {
      // Bounded without bookkeeping: forgetting everyone only costs one HMAC per source again.
      if (this.remembered.size >= this.maxRemembered) this.remembered.clear();
      this.remembered.set(key, { cookie: owned(given), epoch: valid });
    }
    return true;
  }
}
