// The rendezvous's storage interface: small, asynchronous and backend-agnostic, so the directory (now),
// the mailbox and a Redis backend (later) share it. Two kinds of data:
//
//  - keyed records (accounts, indexes): get, create-if-absent (first come first served), compare-and-
//    swap replace, delete, and `commit`: several compare-and-swaps applied all or nothing. That is the
//    "secondary unique index" — the directory keeps `account/<handle>` and `key/<signing key>` in step
//    with one commit, so two sign-ups racing for one handle or one key cannot both win. (Redis: WATCH +
//    MULTI, or one Lua script; the file store: one log record.)
//  - append-only queues (mailboxes): append with per-queue limits (bytes, items) that says "full"
//    instead of dropping, a per-item expiry time, reading in order from a cursor, acknowledging
//    everything up to an id, and purging expired items with a clock the caller passes in.
//
// Every mutation resolves only once it is durable in the backend's terms (the file store: written and
// fsynced), so an acknowledgement sent after `await` survives a `kill -9`. Values are opaque bytes.

export interface CasOp {
  key: string;
  /** What the key must hold for the commit to apply: exact bytes, or null for "absent". */
  expect: Uint8Array | null;
  /** What it holds afterwards: bytes, or null to delete it. */
  set: Uint8Array | null;
}

export interface QueueLimits {
  /** Sum of item sizes the queue may hold. */
  maxBytes: number;
  /** Items the queue may hold. */
  maxItems: number;
}

export type AppendResult =
  | { ok: true; id: number }
  | { ok: false; reason: 'full'; items: number; bytes: number };

export interface QueueItem {
  /** Increasing within a queue, never reused (not even after the queue empties). */
  id: number;
  data: Buffer;
  /** Absolute time (the caller's clock, milliseconds) after which the item is gone. */
  expiresAt: number;
}

export interface QueueStats {
  items: number;
  bytes: number;
}

export interface Store {
  // ---- keyed records
  get(key: string): Promise<Buffer | undefined>;
  /** First come first served: true if created, false if the key already existed (nothing written). */
  create(key: string, value: Uint8Array): Promise<boolean>;
  /** Compare-and-swap: true if the key held exactly `expected` and now holds `value`. */
  replace(key: string, expected: Uint8Array, value: Uint8Array): Promise<boolean>;
  /** Delete (only if it holds `expected`, when given): true if something was deleted. */
  delete(key: string, expected?: Uint8Array): Promise<boolean>;
  /** All ops' expectations hold → all are applied, atomically; otherwise nothing is written. */
  commit(ops: readonly CasOp[]): Promise<boolean>;
  /** Keys starting with `prefix` (a scan: for counts at start, tools and tests, not hot paths). */
  keys(prefix: string): Promise<string[]>;

  // ---- queues
  append(queue: string, data: Uint8Array, expiresAt: number, limits: QueueLimits): Promise<AppendResult>;
  /** Items with id > afterId that have not expired at `now`, oldest first, at most `limit`. */
  list(queue: string, afterId: number, limit: number, now: number): Promise<QueueItem[]>;
  /** Remove every item with id <= uptoId; resolves to how many were removed. */
  ack(queue: string, uptoId: number): Promise<number>;
  /** Remove every item (in all queues) whose expiry is at or before `now`; resolves to how many. */
  purgeExpired(now: number): Promise<number>;
  queueStats(queue: string): Promise<QueueStats>;

  /** Flush and release resources. Further calls reject. */
  close(): Promise<void>;
}

/** Thrown (rejected) when a store is used after close or after an I/O failure made it unsafe. */
export class StoreClosedError extends Error {
  constructor(why = 'store is closed') {
    super(why);
    this.name = 'StoreClosedError';
  }
}

export function sameBytes(a: Uint8Array | undefined | null, b: Uint8Array | undefined | null): boolean {
  if (a == null || b == null) return a == null && b == null;
  return Buffer.compare(a, b) === 0;
}
