// In-memory backend: the same rules as the file store (shared StoreState), no durability. For unit
// tests and for a rendezvous started without --data-dir (accounts then last as long as the process).
import { StoreState } from './state';
import { AppendResult, CasOp, QueueItem, QueueLimits, QueueStats, Store, StoreClosedError } from './store';

export class MemoryStore implements Store {
  private readonly s = new StoreState();
  private closed = false;

  private live(): void {
    if (this.closed) throw new StoreClosedError();
  }

  async get(key: string): Promise<Buffer | undefined> {
    this.live();
    const v = this.s.get(key);
    return v && Buffer.from(v);
  }

  async create(key: string, value: Uint8Array): Promise<boolean> {
    return this.commit([{ key, expect: null, set: value }]);
  }

  async replace(key: string, expected: Uint8Array, value: Uint8Array): Promise<boolean> {
    return this.commit([{ key, expect: expected, set: value }]);
  }

  async delete(key: string, expected?: Uint8Array): Promise<boolean> {
    this.live();
    const cur = this.s.get(key);
    if (!cur) return false;
    return this.commit([{ key, expect: expected ?? cur, set: null }]);
  }

  async commit(ops: readonly CasOp[]): Promise<boolean> {
    this.live();
    if (!this.s.check(ops)) return false;
    this.s.applyOps(ops);
    return true;
  }

  async keys(prefix: string): Promise<string[]> {
    this.live();
    return this.s.keys(prefix);
  }

  async append(queue: string, data: Uint8Array, expiresAt: number, limits: QueueLimits): Promise<AppendResult> {
    this.live();
    const r = this.s.checkAppend(queue, data.length, limits);
    if (r.ok) this.s.applyAppend(queue, r.id, Buffer.from(data), expiresAt);
    return r;
  }

  async list(queue: string, afterId: number, limit: number, now: number): Promise<QueueItem[]> {
    this.live();
    return this.s.list(queue, afterId, limit, now);
  }

  async ack(queue: string, uptoId: number): Promise<number> {
    this.live();
    return this.s.applyAck(queue, uptoId);
  }

  async purgeExpired(now: number): Promise<number> {
    this.live();
    let n = 0;
    for (const [q, ids] of this.s.expired(now)) n += this.s.applyRemove(q, ids);
    return n;
  }

  async queueStats(queue: string): Promise<QueueStats> {
    this.live();
    return this.s.stats(queue);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
