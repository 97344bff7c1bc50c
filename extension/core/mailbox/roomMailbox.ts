// When and what a room member deposits in, and fetches from, the room's mailbox on the rendezvous.
// Sans-I/O: `tick(now)` and `handle(datagram)` queue requests through `host.send`.
//
// Design (docs/ARCHITECTURE.md, "Offline delivery"): one mailbox per room and day, shared by the
// members; each member keeps its own read position (a cursor per day) and the server deletes by TTL.
// One copy of a message serves every member, including members the sender has never seen (the sender
// cannot know whom the rendezvous has forgotten). Receipts travel through the same mailbox.
//
// Every message a member sends is deposited, once, even when every member it knows of is connected:
// the sender cannot know the members the rendezvous has not introduced (someone offline since before
// the sender started), and one shared copy serves them all. Deposits go strictly in sequence order, one
// request at a time, so the mailbox holds each sender's messages in order and fetches (in id order)
// show them in order; the receiver's watermark drops what the direct path already brought.
import { randomBytes } from 'node:crypto';
import type { OutboxEntry } from '../store/roomStore';
import { encodeChat } from '../room/appMessages';
import { Endpoint } from '../wire/endpoint';
import { decodeMailbox, MailboxErrorCode, MAILBOX_NONCE_BYTES, MAX_ENVELOPE_BYTES, UnsignedRequest, encodeUnsignedRequest } from '../wire/mailbox';
import { chatRecords, decodeContent, encodeContent, EnvelopeRecord, open, RECEIPT_ENTRY_BYTES, ReceiptEntry, seal, SEAL_OVERHEAD, contentHeadBytes, RECORD_HEAD_BYTES } from './envelope';
import { MailboxKeys, periodOf, roomMailboxKeys, signRequest } from './keys';
import { dmMailboxKeys, DM_SEAL_OVERHEAD, openDm, sealDm } from './dm';
import type { KeyPair } from '../noise';

export interface RoomMailboxOptions {
  /** Deposit a message this long after it was sent (default 0). */
  depositAfterMs: number;
  /** Between fetch rounds while running (default 60 s); one round runs as soon as we are registered. */
  fetchIntervalMs: number;
  /** How far back a round looks (default 14 days: the server's default TTL). */
  lookbackMs: number;
  /** Envelope size cap (default MAX_ENVELOPE_BYTES; lowered when a server says its cap is smaller). */
  maxEnvelopeBytes: number;
  /**
   * The first round waits this long after registering (default 1.5 s): fetching 15 days of mailboxes
   * (a signature each) should not compete with punching and the handshake, which are what a user waits for.
   */
  firstFetchDelayMs: number;
  /** First retransmission timeout of a request (doubles, at most 8 s). */
  retryMs: number;
  /** After a full mailbox or an unavailable server: wait this long before trying again (default 60 s). */
  backoffMs: number;
}

export const DEFAULT_ROOM_MAILBOX: RoomMailboxOptions = {
  depositAfterMs: 0,
  fetchIntervalMs: 60_000,
  lookbackMs: 14 * 24 * 3600 * 1000,
  maxEnvelopeBytes: MAX_ENVELOPE_BYTES,
  firstFetchDelayMs: 1500,
  retryMs: 1000,
  backoffMs: 60_000,
};

export type MailboxNotice =
  | { kind: 'deposited'; seqs: number[] }
  | { kind: 'waiting'; seqs: number[]; reason: string }
  | { kind: 'trouble'; reason: string }
  /** A receipt for what the mailbox brought is in the mailbox (the senders will see `delivered`). */
  | { kind: 'receipted'; senders: number }
  | { kind: 'ok' };

/**
 * Whose mailbox and which seal. A room: one mailbox per day for all members, sealed under the room key.
 * A direct message: we deposit in the pair's outgoing mailbox and fetch the incoming one, sealed with
 * Noise X to the contact's static key (dm.ts).
 */
export interface MailboxScheme {
  /** Where we deposit on `period`. */
  depositKeys(period: number): MailboxKeys;
  /** Where we fetch on `period`. */
  fetchKeys(period: number): MailboxKeys;
  seal(keys: MailboxKeys, plaintext: Buffer): Buffer;
  /** Undefined for anything not sealed for us by someone entitled to write here. */
  open(keys: MailboxKeys, envelope: Buffer): Buffer | undefined;
  /** Seal overhead, to split messages under the envelope cap. */
  overhead: number;
  /** The owner removes what it fetched (a direct message has one reader; a room mailbox is shared). */
  deleteAfterFetch: boolean;
}

export function roomScheme(psk: Buffer): MailboxScheme {
  const cache = new Map<number, MailboxKeys>();
  const keys = (period: number) => {
    let k = cache.get(period);
    if (!k) {
      if (cache.size > 64) cache.clear();
      k = roomMailboxKeys(psk, period);
      cache.set(period, k);
    }
    return k;
  };
  return {
    depositKeys: keys,
    fetchKeys: keys,
    seal: (k, plaintext) => seal(k.sealKey, k.mailboxId, plaintext),
    open: (k, envelope) => open(k.sealKey, k.mailboxId, envelope),
    overhead: SEAL_OVERHEAD,
    deleteAfterFetch: false,
  };
}

export function dmScheme(me: KeyPair, contact: Buffer): MailboxScheme {
  const cache = new Map<string, MailboxKeys>();
  const keys = (period: number, direction: 'outgoing' | 'incoming') => {
    const id = `${direction}:${period}`;
    let k = cache.get(id);
    if (!k) {
      if (cache.size > 64) cache.clear();
      k = dmMailboxKeys(me, contact, period, direction);
      cache.set(id, k);
    }
    return k;
  };
  return {
    depositKeys: (p) => keys(p, 'outgoing'),
    fetchKeys: (p) => keys(p, 'incoming'),
    seal: (k, plaintext) => sealDm(me, contact, k.mailboxId, plaintext),
    open: (k, envelope) => openDm(me, contact, k.mailboxId, envelope),
    overhead: DM_SEAL_OVERHEAD,
    deleteAfterFetch: true,
  };
}

export interface RoomMailboxHost {
  selfId: Buffer;
  scheme: MailboxScheme;
  server: Endpoint;
  name(): string;
  wall(): number;
  /** The rendezvous cookie proving our address; undefined until registered. */
  cookie(): Buffer | undefined;
  send(to: Endpoint, data: Buffer): void;
  epoch(): number;
  outbox(): readonly OutboxEntry[];
  /** A chat message (appMessages encoding) from `senderHex` that came through the mailbox; true if shown now. */
  deliver(senderHex: string, name: string, chat: Buffer): boolean;
  /** Where we are with a sender (for receipts). */
  watermark(senderHex: string): { epoch: number; seq: number } | undefined;
  /** `memberHex` has shown every message of ours up to `seq` of `epoch`. */
  receipt(memberHex: string, epoch: number, seq: number): void;
  notice(n: MailboxNotice): void;
  log(level: 'debug' | 'info' | 'warn', message: string): void;
}

interface Pending {
  nonce: Buffer;
  bytes: Buffer;
  cookie: Buffer;
  sentAt: number;
  timeout: number;
  attempts: number;
  what: Job;
}

type Job =
  | { kind: 'fetch'; period: number; after: bigint }
  | { kind: 'deposit'; seq: number; envelopes: Buffer[]; index: number; keys: MailboxKeys }
  | { kind: 'receipt'; envelope: Buffer; keys: MailboxKeys }
  | { kind: 'delete'; period: number; upTo: bigint };

const MAX_ATTEMPTS = 6;
/** Messages waiting for a deposit before the oldest already delivered directly are forgotten. */
const QUEUE_MAX = 5000;
const QUEUE_SLACK = 500;

export class RoomMailbox {
  readonly opts: RoomMailboxOptions;
  readonly stats = { deposited: 0, fetched: 0, delivered: 0, foreign: 0, requests: 0 };
  /** Per fetched period of a one-reader mailbox: the last id fetched, to delete up to it. */
  private readonly toDelete = new Map<number, bigint>();
  private readonly cursors = new Map<number, bigint>();
  /** Our entries deposited (epoch:seq) -> wall time the envelope expires on the server. */
  private readonly deposited = new Map<string, number>();
  private readonly expiredNoticed = new Set<string>();
  private inflight?: Pending;
  private fetchQueue: number[] = [];
  private roundDone = false;
  /** Infinity until the first cookie: then the first round is scheduled `firstFetchDelayMs` later. */
  private nextRoundAt = Infinity;
  private scheduled = false;
  /** "Today" when the last complete round started; undefined until one has read every day. */
  private lastRoundDay?: number;
  private roundDay?: number;
  private depositBlockedUntil = 0;
  private waitingNoticed = new Set<number>();
  /** Senders whose messages this round brought: we owe them a receipt. */
  private readonly owedReceipts = new Set<string>();
  private readonly parts = new Map<string, Buffer[]>();
  private current?: Job;
  /** Our messages still to deposit, in sequence order. */
  private queue: OutboxEntry[] = [];
  private queuedOutbox = false;
  private lastNow = 0;

  constructor(
    private readonly host: RoomMailboxHost,
    opts: Partial<RoomMailboxOptions> = {},
  ) {
    this.opts = { ...DEFAULT_ROOM_MAILBOX, ...opts };
  }

  /** True once the first fetch round after start completed (deposits wait for it: receipts may settle entries). */
  get caughtUp(): boolean {
    return this.roundDone;
  }

  /** Start a fetch round now (on start, after a reconnect to the rendezvous, or on demand). */
  fetchNow(now: number): void {
    this.nextRoundAt = Math.min(this.nextRoundAt, now);
  }

  nextWakeup(): number {
    if (!this.host.cookie()) return Infinity;
    if (!this.scheduled) return this.lastNow;
    if (this.inflight) return this.inflight.sentAt + this.inflight.timeout;
    let t = this.fetchQueue.length ? this.lastNow : this.nextRoundAt;
    if (this.roundDone && this.wantsDeposit()) t = Math.min(t, Math.max(this.lastNow, this.depositBlockedUntil));
    return t;
  }

  tick(now: number): void {
    this.lastNow = now;
    const cookie = this.host.cookie();
    if (!cookie) return;
    if (!this.scheduled) {
      this.scheduled = true;
      this.nextRoundAt = Math.min(this.nextRoundAt, now + this.opts.firstFetchDelayMs);
    }
    this.checkExpired();
    const p = this.inflight;
    if (p) {
      if (now < p.sentAt + p.timeout) return;
      if (p.attempts >= MAX_ATTEMPTS) {
        this.inflight = undefined;
        this.host.notice({ kind: 'trouble', reason: 'the rendezvous did not answer mailbox requests' });
        this.backoff(now);
        if (p.what.kind === 'fetch') this.fetchQueue = [];
        return;
      }
      // The same bytes while the cookie holds (a stored deposit is then acknowledged again, not stored
      // twice); a new cookie (a restarted server) needs a newly signed request.
      if (!p.cookie.equals(cookie)) return this.issue(p.what, now, p.attempts);
      p.attempts++;
      p.sentAt = now;
      p.timeout = Math.min(8000, p.timeout * 2);
      this.host.send(this.host.server, p.bytes);
      return;
    }
    this.pump(now);
  }

  private backoff(now: number): void {
    this.depositBlockedUntil = now + this.opts.backoffMs;
    this.nextRoundAt = Math.max(this.nextRoundAt, now + this.opts.backoffMs);
  }

  /** Pick the next request: a fetch round first, then receipts, then the outbox in order. */
  private pump(now: number): void {
    if (this.inflight) return;
    if (!this.fetchQueue.length && now >= this.nextRoundAt) this.startRound(now);
    const period = this.fetchQueue[0];
    if (period !== undefined) return this.issue({ kind: 'fetch', period, after: this.cursors.get(period) ?? 0n }, now);
    if (!this.roundDone || now < this.depositBlockedUntil) return;
    // Fetched, shown and recorded (watermarks are saved synchronously): the one reader removes them.
    const [delPeriod, upTo] = this.toDelete.entries().next().value ?? [];
    if (delPeriod !== undefined && upTo !== undefined) return this.issue({ kind: 'delete', period: delPeriod, upTo }, now);
    if (this.owedReceipts.size) {
      const job = this.receiptJob();
      if (job) return this.issue(job, now);
    }
    if (this.current?.kind === 'deposit') return this.issue(this.current, now);
    const entry = this.nextToDeposit();
    if (!entry) return;
    const keys = this.host.scheme.depositKeys(periodOf(this.host.wall()));
    const chat = encodeChat({ epoch: this.host.epoch(), seq: entry.seq, sentAt: entry.sentAt, body: entry.body });
    const records = chatRecords(chat, this.host.epoch(), entry.seq, this.host.name(), this.opts.maxEnvelopeBytes - this.host.scheme.overhead + SEAL_OVERHEAD);
    const envelopes = records.map((r) => this.sealRecords(keys, [r]));
    this.current = { kind: 'deposit', seq: entry.seq, envelopes, index: 0, keys };
    this.issue(this.current, now);
  }

  private startRound(now: number): void {
    const today = periodOf(this.host.wall());
    const first = periodOf(this.host.wall() - this.opts.lookbackMs);
    this.fetchQueue = [];
    // Deposits go to the current day's mailbox only, so once a round has read every day, later rounds
    // need only the days since (yesterday too: another member's clock may be a little behind ours).
    const from = this.lastRoundDay === undefined ? first : Math.max(first, this.lastRoundDay - 1);
    this.roundDay = today;
    for (let p = from; p <= today; p++) this.fetchQueue.push(p);
    // Days older than the look-back are gone on the server: forget their cursors.
    for (const p of this.cursors.keys()) if (p < first) this.cursors.delete(p);
    this.nextRoundAt = now + this.opts.fetchIntervalMs;
  }

  private sealRecords(keys: MailboxKeys, records: EnvelopeRecord[]): Buffer {
    const plain = encodeContent({ sender: this.host.selfId, name: this.host.name(), records });
    return this.host.scheme.seal(keys, plain);
  }

  private receiptJob(): Job | undefined {
    const entries: ReceiptEntry[] = [];
    for (const hex of this.owedReceipts) {
      const w = this.host.watermark(hex);
      if (w) entries.push({ sender: Buffer.from(hex, 'hex'), epoch: w.epoch, seq: w.seq });
    }
    const room = Math.floor((this.opts.maxEnvelopeBytes - this.host.scheme.overhead - contentHeadBytes(this.host.name()) - RECORD_HEAD_BYTES - 1) / RECEIPT_ENTRY_BYTES);
    const batch = entries.slice(0, Math.max(1, room));
    if (!batch.length) {
      this.owedReceipts.clear();
      return undefined;
    }
    const keys = this.host.scheme.depositKeys(periodOf(this.host.wall()));
    return { kind: 'receipt', envelope: this.sealRecords(keys, [{ kind: 'receipt', entries: batch }]), keys };
  }

  private key(seq: number): string {
    return `${this.host.epoch()}:${seq}`;
  }

  private wantsDeposit(): boolean {
    return this.queue.length > 0 || this.current !== undefined;
  }

  /** The room sent a message: it goes to the mailbox after the ones before it. */
  sent(entry: OutboxEntry): void {
    this.queue.push(entry);
    // Bounded: past 5,000 waiting, forget the oldest that no known member still waits for (they had it
    // directly). In batches, once 500 over: looking the outbox up on every send past the bound made each
    // send cost a pass over thousands of entries (12 % of the CPU of a busy chat, npm run bench).
    if (this.queue.length > QUEUE_MAX + QUEUE_SLACK) {
      const owed = new Set<number>();
      for (const e of this.host.outbox()) owed.add(e.seq);
      let excess = this.queue.length - QUEUE_MAX;
      this.queue = this.queue.filter((e) => {
        if (excess > 0 && !owed.has(e.seq)) {
          excess--;
          return false;
        }
        return true;
      });
    }
  }

  /** The oldest message not yet deposited, once it has waited `depositAfterMs`. */
  private nextToDeposit(): OutboxEntry | undefined {
    const e = this.queue[0];
    return e && this.host.wall() - e.sentAt >= this.opts.depositAfterMs ? e : undefined;
  }

  private issue(job: Job, now: number, attempts = 0): void {
    const cookie = this.host.cookie();
    if (!cookie) return;
    const nonce = randomBytes(MAILBOX_NONCE_BYTES);
    let keys: MailboxKeys;
    let unsigned: UnsignedRequest;
    if (job.kind === 'fetch') {
      keys = this.host.scheme.fetchKeys(job.period);
      unsigned = { type: 'fetch', mailboxId: keys.mailboxId, key: keys.publicKey, cookie, nonce, after: job.after };
    } else if (job.kind === 'delete') {
      keys = this.host.scheme.fetchKeys(job.period);
      unsigned = { type: 'delete', mailboxId: keys.mailboxId, key: keys.publicKey, cookie, nonce, upTo: job.upTo };
    } else {
      keys = job.keys;
      const envelope = job.kind === 'deposit' ? job.envelopes[job.index] : job.envelope;
      unsigned = { type: 'deposit', mailboxId: keys.mailboxId, key: keys.publicKey, cookie, nonce, envelope };
    }
    const head = encodeUnsignedRequest(unsigned);
    const bytes = Buffer.concat([head, signRequest(keys.signing, head)]);
    this.inflight = { nonce, bytes, cookie: Buffer.from(cookie), sentAt: now, timeout: this.opts.retryMs, attempts: attempts + 1, what: job };
    this.stats.requests++;
    this.host.send(this.host.server, bytes);
  }

  /** A datagram of type 0x40-0x4F from the rendezvous. */
  handle(data: Buffer, now: number): void {
    this.lastNow = now;
    const d = decodeMailbox(data);
    const p = this.inflight;
    if (!d.ok || !p) return;
    const m = d.value;
    if (m.type === 'deposit' || m.type === 'fetch' || m.type === 'delete' || !m.nonce.equals(p.nonce)) return;
    this.inflight = undefined;
    const job = p.what;
    if (m.type === 'mailboxError') return this.onError(job, m.code, m.detail, now);
    if (job.kind === 'fetch' && m.type === 'items') {
      this.onItems(job, m.items, now);
      if (m.items.length) {
        this.cursors.set(job.period, m.items[m.items.length - 1].id);
        if (this.host.scheme.deleteAfterFetch) this.toDelete.set(job.period, m.items[m.items.length - 1].id);
      }
      if (!m.more || !m.items.length) {
        this.fetchQueue.shift();
        if (!this.fetchQueue.length) this.finishRound();
      }
    } else if (job.kind === 'deposit' && m.type === 'depositAck') {
      job.index++;
      if (job.index < job.envelopes.length) return this.pump(now);
      this.current = undefined;
      if (this.queue[0]?.seq === job.seq) this.queue.shift();
      this.deposited.set(this.key(job.seq), this.host.wall() + m.ttlSeconds * 1000);
      this.stats.deposited++;
      const wasWaiting = this.waitingNoticed.delete(job.seq);
      this.host.notice({ kind: 'deposited', seqs: [job.seq] });
      // Room again in the mailbox: whoever said "waiting" may say so again next time.
      if (wasWaiting) this.host.notice({ kind: 'ok' });
    } else if (job.kind === 'delete' && m.type === 'deleted') {
      if (this.toDelete.get(job.period) === job.upTo) this.toDelete.delete(job.period);
    } else if (job.kind === 'receipt' && m.type === 'depositAck') {
      const senders = this.owedReceipts.size;
      this.owedReceipts.clear();
      this.host.notice({ kind: 'receipted', senders });
    }
    this.pump(now);
  }

  private finishRound(): void {
    if (!this.roundDone) this.host.log('debug', 'mailbox: caught up');
    this.lastRoundDay = this.roundDay;
    this.roundDone = true;
    if (!this.queuedOutbox) {
      // What an earlier run still owed (receipts of this first round have settled what they could):
      // deposited again, before anything sent since. A copy the earlier run already deposited is
      // dropped by the receivers' watermarks.
      this.queuedOutbox = true;
      const first = this.queue[0]?.seq ?? Infinity;
      this.queue.unshift(...this.host.outbox().filter((e) => e.seq < first));
    }
    // Parts of a message split across envelopes we did not all see (expired) would wait forever: drop them.
    this.parts.clear();
  }

  private onError(job: Job, code: MailboxErrorCode, detail: number, now: number): void {
    switch (code) {
      case MailboxErrorCode.Full: {
        const seqs = job.kind === 'deposit' ? [job.seq] : [];
        this.depositBlockedUntil = now + this.opts.backoffMs;
        if (job.kind === 'deposit' && !this.waitingNoticed.has(job.seq)) {
          this.waitingNoticed.add(job.seq);
          this.host.notice({ kind: 'waiting', seqs, reason: "the recipient's mailbox is full" });
        }
        break;
      }
      case MailboxErrorCode.RateLimited:
        this.depositBlockedUntil = now + Math.max(100, detail);
        if (job.kind === 'fetch') this.nextRoundAt = now + Math.max(100, detail);
        this.fetchQueue = job.kind === 'fetch' ? [] : this.fetchQueue;
        break;
      case MailboxErrorCode.TooLarge:
        // This server keeps smaller envelopes: split again at its cap.
        if (detail >= 256 && detail < this.opts.maxEnvelopeBytes) {
          this.opts.maxEnvelopeBytes = detail;
          if (job.kind === 'deposit') this.current = undefined;
        } else {
          this.backoff(now);
        }
        break;
      case MailboxErrorCode.Replay:
        // Our own retransmission of a fetch whose answer was lost: ask again with a fresh nonce.
        if (job.kind === 'fetch') return this.issue(job, now);
        break;
      default:
        this.host.notice({ kind: 'trouble', reason: code === MailboxErrorCode.BadProof ? 'the rendezvous refused our mailbox proof' : 'the rendezvous mailbox is unavailable' });
        if (job.kind === 'fetch') this.fetchQueue = [];
        this.backoff(now);
    }
    this.pump(now);
  }

  private onItems(job: { period: number }, items: { id: bigint; data: Buffer }[], _now: number): void {
    const keys = this.host.scheme.fetchKeys(job.period);
    const self = this.host.selfId.toString('hex');
    for (const it of items) {
      this.stats.fetched++;
      const plain = this.host.scheme.open(keys, it.data);
      const c = plain && decodeContent(plain);
      if (!c || !c.ok) {
        this.stats.foreign++; // not sealed with our room's key: not for us (or tampered)
        continue;
      }
      const sender = c.value.sender.toString('hex');
      if (sender === self) continue;
      for (const rec of c.value.records) {
        if (rec.kind === 'chat') {
          if (this.host.deliver(sender, c.value.name, rec.payload)) {
            this.owedReceipts.add(sender);
            this.stats.delivered++;
          }
        } else if (rec.kind === 'part') {
          const k = `${sender}:${rec.epoch}:${rec.seq}`;
          let got = this.parts.get(k);
          if (!got || got.length !== rec.count) this.parts.set(k, (got = new Array<Buffer>(rec.count)));
          got[rec.index] = rec.data;
          if (got.filter((b) => b !== undefined).length === rec.count) {
            this.parts.delete(k);
            if (this.host.deliver(sender, c.value.name, Buffer.concat(got))) {
              this.owedReceipts.add(sender);
              this.stats.delivered++;
            }
          }
        } else {
          for (const e of rec.entries) if (e.sender.toString('hex') === self) this.host.receipt(sender, e.epoch, e.seq);
        }
      }
    }
  }

  /** Deposits whose envelopes expired on the server before a receipt came: the sender's view of the TTL. */
  private checkExpired(): void {
    const wall = this.host.wall();
    const live = new Set(this.host.outbox().map((e) => this.key(e.seq)));
    const expired: number[] = [];
    for (const [k, until] of this.deposited) {
      if (!live.has(k)) {
        this.deposited.delete(k);
        this.expiredNoticed.delete(k);
      } else if (until <= wall && !this.expiredNoticed.has(k)) {
        this.expiredNoticed.add(k);
        expired.push(Number(k.split(':')[1]));
      }
    }
    if (expired.length) {
      this.host.notice({ kind: 'waiting', seqs: expired, reason: 'not fetched before the mailbox expired it; it will be delivered when both are online' });
    }
  }
}

