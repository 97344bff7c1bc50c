// The in-memory state both built-in backends share: the memory store uses it directly, the file store
// rebuilds it from its log at start and applies each logged mutation to it. Synchronous and pure, so
// the rules (CAS, limits, expiry, ids) live in one place and the two backends cannot drift apart.
import { AppendResult, CasOp, QueueItem, QueueLimits, QueueStats, sameBytes } from './store';

export interface QueueState {
  items: QueueItem[];
  bytes: number;
  /** The id the next append gets: survives the queue emptying, so an ack cursor never sees an id twice. */
  nextId: number;
}

export class StoreState {
  readonly records = new Map<string, Buffer>();
  readonly queues = new Map<string, QueueState>();

  get(key: string): Buffer | undefined {
    return this.records.get(key);
  }

  check(ops: readonly CasOp[]): boolean {
    const seen = new Set<string>();
    for (const op of ops) {
      if (seen.has(op.key)) return false; // two ops on one key: ambiguous, refused
      seen.add(op.key);
      const cur = this.records.get(op.key);
      if (op.expect === null ? cur !== undefined : !sameBytes(cur, op.expect)) return false;
    }
    return true;
  }

  applyOps(ops: readonly CasOp[]): void {
    for (const op of ops) {
      if (op.set === null) this.records.delete(op.key);
      else this.records.set(op.key, Buffer.from(op.set));
    }
  }

  queue(name: string): QueueState {
    let q = this.queues.get(name);
    if (!q) {
      q = { items: [], bytes: 0, nextId: 1 };
      this.queues.set(name, q);
    }
    return q;
  }

  /** Whether an append fits; the id it would get. */
  checkAppend(name: string, size: number, limits: QueueLimits): AppendResult {
    const q = this.queues.get(name);
    const items = q?.items.length ?? 0;
    const bytes = q?.bytes ?? 0;
    if (items + 1 > limits.maxItems || bytes + size > limits.maxBytes) return { ok: false, reason: 'full', items, bytes };
    return { ok: true, id: q?.nextId ?? 1 };
  }

  applyAppend(name: string, id: number, data: Buffer, expiresAt: number): void {
    const q = this.queue(name);
    q.items.push({ id, data, expiresAt });
    q.bytes += data.length;
    q.nextId = Math.max(q.nextId, id + 1);
  }

  list(name: string, afterId: number, limit: number, now: number): QueueItem[] {
    const q = this.queues.get(name);
    if (!q) return [];
    const out: QueueItem[] = [];
    for (const it of q.items) {
      if (out.length >= limit) break;
      if (it.id > afterId && it.expiresAt > now) out.push({ id: it.id, data: Buffer.from(it.data), expiresAt: it.expiresAt });
    }
    return out;
  }

  applyAck(name: string, uptoId: number): number {
    const q = this.queues.get(name);
    if (!q) return 0;
    let n = 0;
    while (n < q.items.length && q.items[n].id <= uptoId) q.bytes -= q.items[n++].data.length;
    if (n) q.items.splice(0, n);
    return n;
  }

  /** Expired items per queue, as (queue, ids) pairs: the file store logs exactly these. */
  expired(now: number): Array<[string, number[]]> {
    const out: Array<[string, number[]]> = [];
    for (const [name, q] of this.queues) {
      const ids = q.items.filter((it) => it.expiresAt <= now).map((it) => it.id);
      if (ids.length) out.push([name, ids]);
    }
    return out;
  }

  applyRemove(name: string, ids: readonly number[]): number {
    const q = this.queues.get(name);
    if (!q) return 0;
    const drop = new Set(ids);
    const keep: QueueItem[] = [];
    let n = 0;
    for (const it of q.items) {
      if (drop.has(it.id)) {
        q.bytes -= it.data.length;
        n++;
      } else keep.push(it);
    }
    q.items = keep;
    return n;
  }

  stats(name: string): QueueStats {
    const q = this.queues.get(name);
    return { items: q?.items.length ?? 0, bytes: q?.bytes ?? 0 };
  }

  keys(prefix: string): string[] {
    return [...this.records.keys()].filter((k) => k.startsWith(prefix)).sort();
  }
}
