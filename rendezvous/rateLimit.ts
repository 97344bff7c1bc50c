// Per-source token buckets in a bounded LRU. A source is an address+port: on loopback and behind
// one NAT many honest clients share an address, so keying by address alone would let one noisy
// client starve its neighbours. Eviction only forgets rate state (a new entry starts full), never
// room membership, so a spoofed flood that churns this table cannot unregister anyone.
import { ipv4Value } from '../extension/core/wire/endpoint';

export interface BucketSpec {
  /** Sustained packets per second. */
  perSecond: number;
  /** Packets allowed back to back after a quiet period. */
  burst: number;
}

/** A token bucket with its spec held outside, so thousands of them cost two numbers each. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(spec: BucketSpec, now: number) {
    this.tokens = spec.burst;
    this.last = now;
  }

  take(spec: BucketSpec, now: number): boolean {
    const elapsed = Math.max(0, now - this.last);
    this.last = now;
    this.tokens = Math.min(spec.burst, this.tokens + (elapsed * spec.perSecond) / 1000);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export type Lane = 'p2p' | 'stun';

/** A number for IPv4 sources (address * 65536 + port, exact below 2^53): hashing it is cheaper than a string. */
export type SourceKey = string | number;

export function sourceKey(address: string, port: number): SourceKey {
  const v4 = ipv4Value(address);
  return v4 >= 0 ? v4 * 65536 + port : `${address}|${port}`;
}

interface SourceState {
  p2p: TokenBucket;
  stun: TokenBucket;
  lastErrorAt: number;
  /** When this entry last moved to the young end of the LRU. */
  touched: number;
}

/** Re-ordering the LRU on every packet costs more than the limiting itself; once a second is plenty. */
const TOUCH_INTERVAL_MS = 1000;

export interface SourceLimiterOptions {
  p2p: BucketSpec;
  /** STUN answers are the one reply allowed to exceed its request, so they get their own, tighter lane. */
  stun: BucketSpec;
  maxSources: number;
  /** Minimum gap between two error replies to one source. */
  errorIntervalMs?: number;
  /** Optional budget over all sources for STUN answers (0 or absent: none). */
  stunGlobal?: BucketSpec;
}

export class SourceLimiter {
  private readonly sources = new Map<SourceKey, SourceState>();
  private readonly errorIntervalMs: number;
  private readonly stunGlobal?: TokenBucket;
  evictions = 0;

  constructor(private readonly opts: SourceLimiterOptions, now = 0) {
    if (!(opts.maxSources >= 1)) throw new RangeError('maxSources must be at least 1');
    this.errorIntervalMs = opts.errorIntervalMs ?? 1000;
    if (opts.stunGlobal && opts.stunGlobal.perSecond > 0) this.stunGlobal = new TokenBucket(opts.stunGlobal, now);
  }

  get size(): number {
    return this.sources.size;
  }

  private state(key: SourceKey, now: number): SourceState {
    let s = this.sources.get(key);
    if (s) {
      if (now - s.touched < TOUCH_INTERVAL_MS) return s;
      // Move to the young end: Map iteration order is insertion order, so the first key is the LRU.
      this.sources.delete(key);
      s.touched = now;
    } else {
      s = { p2p: new TokenBucket(this.opts.p2p, now), stun: new TokenBucket(this.opts.stun, now), lastErrorAt: -Infinity, touched: now };
      if (this.sources.size >= this.opts.maxSources) {
        const oldest = this.sources.keys().next().value;
        if (oldest !== undefined) this.sources.delete(oldest);
        this.evictions++;
      }
    }
    this.sources.set(key, s);
    return s;
  }

  /** One packet from `key` in `lane`: true if it may be processed. */
  allow(key: SourceKey, lane: Lane, now: number): boolean {
    const s = this.state(key, now);
    if (lane === 'p2p') return s.p2p.take(this.opts.p2p, now);
    if (!s.stun.take(this.opts.stun, now)) return false;
    return this.stunGlobal ? this.stunGlobal.take(this.opts.stunGlobal!, now) : true;
  }

  /** Whether an error reply may go to `key` now; records it if so. Unknown sources are not tracked. */
  mayError(key: SourceKey, now: number): boolean {
    const s = this.sources.get(key);
    if (!s) return false;
    if (now - s.lastErrorAt < this.errorIntervalMs) return false;
    s.lastErrorAt = now;
    return true;
  }
}
