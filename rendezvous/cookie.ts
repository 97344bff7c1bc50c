// Stateless proof that a source receives at its address. The server keeps no per-source state for
// it: the cookie is a MAC over the source endpoint and a coarse epoch, so a register from a spoofed
// address can never carry a valid one, and only the 19-byte `cookie` reply goes back to the victim.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Writer } from '../extension/core/wire/bytes';
import { Endpoint, writeEndpoint } from '../extension/core/wire/endpoint';
import { COOKIE_BYTES } from '../extension/core/wire/rendezvous';

export const DEFAULT_COOKIE_EPOCH_MS = 120_000;

export interface CookieJarOptions {
  /** HMAC key; random per process by default, so a restart invalidates every cookie at once. */
  secret?: Buffer;
  epochMs?: number;
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

  constructor(opts: CookieJarOptions = {}) {
    this.secret = opts.secret ?? randomBytes(32);
    this.epochMs = opts.epochMs ?? DEFAULT_COOKIE_EPOCH_MS;
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

  /** Valid in the epoch it was issued and the next one: a cookie lives between one and two epochs. */
  verify(now: number, source: Endpoint, cookie: Uint8Array): boolean {
    if (cookie.length !== COOKIE_BYTES) return false;
    const given = Buffer.from(cookie.buffer, cookie.byteOffset, cookie.length);
    const epoch = this.epochAt(now);
    if (timingSafeEqual(this.mac(epoch, source), given)) return true;
    return timingSafeEqual(this.mac((epoch - 1) >>> 0, source), given);
  }
}
