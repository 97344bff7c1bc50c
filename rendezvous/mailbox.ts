// The blind mailbox, server side. Sans-I/O: `handle` takes a decoded, cookie-verified request and
// returns the reply bytes; the store (file or Redis, behind one interface) does the keeping.
// What this module can learn: a mailbox id (a hash of a per-period key), sizes, times and the source
// address of each request. Envelopes are opaque ciphertext; ids and keys rotate every period.
// Checks, cheapest first: envelope cap, per-source rate, id = H(key), signature, replay cache, quota
// (the server has checked the cookie before: the source receives at its address).
import type { KeyObject } from 'node:crypto';
import {
  encodeMailbox,
  ITEM_OVERHEAD_BYTES,
  ITEMS_HEAD_BYTES,
  MAILBOX_REPLY_BUDGET,
  MailboxErrorCode,
  MailboxItem,
  MailboxRequest,
  MAX_ENVELOPE_BYTES,
} from '../extension/core/wire/mailbox';
import { mailboxIdOf, verifyRequest } from '../extension/core/mailbox/keys';
import { BucketSpec, SourceKey, TokenBucket } from './rateLimit';
import type { Store } from './store/store';

/** Items read per fetch: more than fit one reply at the smallest envelope size. */
const FETCH_LIST_LIMIT = 16;

export interface MailboxLimits {
  /** How long an envelope is kept (default 14 days). */
  ttlMs: number;
  /** Per mailbox (default 1,000 envelopes and 10 MB). */
  maxItems: number;
  maxBytes: number;
  /** Largest envelope accepted (default and ceiling: MAX_ENVELOPE_BYTES). */
  maxEnvelopeBytes: number;
  /** Mailbox requests per source (depositors are anonymous: the source address is who they are). */
  rate: BucketSpec;
  /** How long a nonce is remembered: longer than a cookie lives (two epochs), so a replay meets either. */
  replayWindowMs: number;
  /** Bound on remembered nonces; when reached, new requests are refused rather than nonces forgotten. */
  maxReplayEntries: number;
  /** Bound on sources with rate state (LRU-free: cleared when full; a cleared bucket starts full). */
  maxSources: number;
}

export const DEFAULT_MAILBOX_LIMITS: MailboxLimits = {
  ttlMs: 14 * 24 * 3600 * 1000,
  maxItems: 1000,
  maxBytes: 10 * 1000 * 1000,
  maxEnvelopeBytes: MAX_ENVELOPE_BYTES,
  rate: { perSecond: 100, burst: 300 },
  replayWindowMs: 5 * 60 * 1000,
  maxReplayEntries: 200_000,
  maxSources: 100_000,
};

export interface MailboxStats {
  deposits: number;
  fetches: number;
  deletes: number;
  itemsServed: number;
  refused: Record<'full' | 'rate' | 'proof' | 'replay' | 'tooLarge' | 'unavailable', number>;
}

/** The queue's name in the store: a prefix keeps mailboxes apart from whatever else the store holds. */
export function queueName(mailboxId: Buffer): string {
  return `mailbox:${mailboxId.toString('hex')}`;
}

interface Remembered {
  expires: number;
  /** The reply once known: a repeated deposit or delete gets the same answer (idempotent retries). */
  reply?: Buffer;
}

export class MailboxService {
  readonly limits: MailboxLimits;
  readonly stats: MailboxStats = { deposits: 0, fetches: 0, deletes: 0, itemsServed: 0, refused: { full: 0, rate: 0, proof: 0, replay: 0, tooLarge: 0, unavailable: 0 } };
  private readonly seen = new Map<string, Remembered>();
  private readonly keyObjects = new Map<string, KeyObject>();
  private readonly buckets = new Map<SourceKey, TokenBucket>();

  constructor(
    private readonly store: Store,
    limits: Partial<MailboxLimits> = {},
  ) {
    this.limits = { ...DEFAULT_MAILBOX_LIMITS, ...limits };
    this.limits.maxEnvelopeBytes = Math.min(this.limits.maxEnvelopeBytes, MAX_ENVELOPE_BYTES);
  }

  /** Drop expired envelopes (the server's timer calls this; reads skip expired items anyway). */
  async purge(wallMs: number): Promise<number> {
    try {
      return await this.store.purgeExpired(wallMs);
    } catch {
      return 0;
    }
  }

  get replayEntries(): number {
    return this.seen.size;
  }

  private error(nonce: Buffer, code: MailboxErrorCode, detail = 0): Buffer {
    return encodeMailbox({ type: 'mailboxError', nonce, code, detail });
  }

  /**
   * One verified request. `signed` is the datagram without its trailing signature; `now` is monotonic
   * (replay window, rate), `wallMs` the wall clock (expiry survives restarts, so it must be wall time).
   * Undefined: say nothing (a retransmission whose first copy is still being stored).
   */
  async handle(m: MailboxRequest, signed: Buffer, source: SourceKey, now: number, wallMs: number): Promise<Buffer | undefined> {
    const l = this.limits;
    if (m.type === 'deposit' && m.envelope.length > l.maxEnvelopeBytes) {
      this.stats.refused.tooLarge++;
      return this.error(m.nonce, MailboxErrorCode.TooLarge, l.maxEnvelopeBytes);
    }
    // Rate before the signature: a flood of forged requests must not buy Ed25519 verifications.
    let bucket = this.buckets.get(source);
    if (!bucket) {
      if (this.buckets.size >= l.maxSources) this.buckets.clear();
      bucket = new TokenBucket(l.rate, now);
      this.buckets.set(source, bucket);
    }
    if (!bucket.take(l.rate, now)) {
      this.stats.refused.rate++;
      return this.error(m.nonce, MailboxErrorCode.RateLimited, Math.ceil(1000 / Math.max(1, l.rate.perSecond)));
    }
    const expectId = mailboxIdOf(m.key);
    if (!expectId.equals(m.mailboxId) || !verifyRequest(m.key, signed, m.sig, this.keyObjects)) {
      this.stats.refused.proof++;
      return this.error(m.nonce, MailboxErrorCode.BadProof);
    }
    // Replay cache: ordered by insertion, and every entry lives equally long, so the oldest expire first.
    for (const [k, r] of this.seen) {
      if (r.expires > now) break;
      this.seen.delete(k);
    }
    const seenKey = `${m.mailboxId.toString('hex')}:${m.nonce.toString('hex')}`;
    const prior = this.seen.get(seenKey);
    if (prior) {
      if (m.type !== 'fetch' && prior.reply) return prior.reply;
      if (m.type !== 'fetch') return undefined;
      this.stats.refused.replay++;
      return this.error(m.nonce, MailboxErrorCode.Replay);
    }
    if (this.seen.size >= l.maxReplayEntries) {
      this.stats.refused.unavailable++;
      return this.error(m.nonce, MailboxErrorCode.Unavailable, 1000);
    }
    const remembered: Remembered = { expires: now + l.replayWindowMs };
    this.seen.set(seenKey, remembered);
    const queue = queueName(m.mailboxId);
    let reply: Buffer;
    try {
      if (m.type === 'deposit') {
        const r = await this.store.append(queue, m.envelope, wallMs + l.ttlMs, { maxItems: l.maxItems, maxBytes: l.maxBytes });
        if (!r.ok) {
          this.stats.refused.full++;
          // Not remembered: the same request may succeed once the owner has fetched and deleted.
          this.seen.delete(seenKey);
          return this.error(m.nonce, MailboxErrorCode.Full, r.items);
        }
        this.stats.deposits++;
        reply = encodeMailbox({ type: 'depositAck', nonce: m.nonce, id: BigInt(r.id), ttlSeconds: Math.floor(l.ttlMs / 1000) });
      } else if (m.type === 'fetch') {
        // Ids are below 2^53 in every backend; a cursor past that asks for nothing that exists.
        const after = m.after > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(m.after);
        const listed = await this.store.list(queue, after, FETCH_LIST_LIMIT, wallMs);
        // As many as fit one datagram; the rest (or a full list) means "more".
        let room = MAILBOX_REPLY_BUDGET - ITEMS_HEAD_BYTES;
        const items: MailboxItem[] = [];
        for (const it of listed) {
          const size = ITEM_OVERHEAD_BYTES + it.data.length;
          if (size > room) break;
          room -= size;
          items.push({ id: BigInt(it.id), expiresAt: Math.floor(it.expiresAt / 1000), data: it.data });
        }
        const more = items.length < listed.length || listed.length === FETCH_LIST_LIMIT;
        this.stats.fetches++;
        this.stats.itemsServed += items.length;
        reply = encodeMailbox({ type: 'items', nonce: m.nonce, more, items });
      } else {
        await this.store.ack(queue, m.upTo > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(m.upTo));
        this.stats.deletes++;
        reply = encodeMailbox({ type: 'deleted', nonce: m.nonce, upTo: m.upTo });
      }
    } catch {
      this.seen.delete(seenKey);
      this.stats.refused.unavailable++;
      return this.error(m.nonce, MailboxErrorCode.Unavailable, 1000);
    }
    if (m.type !== 'fetch') remembered.reply = reply;
    return reply;
  }
}
