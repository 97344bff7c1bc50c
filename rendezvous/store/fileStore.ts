// The default, embedded backend: one append-only log under the server's --data-dir.
//
// Frame = u32 length || u32 CRC-32 (of the payload) || payload, big-endian. Every mutation is checked
// and applied to the in-memory state (StoreState) at once, so the next operation sees it, and its frame
// joins the next group write; the operation resolves only after that write has been fsynced. So an
// acknowledgement the server sends after `await` survives `kill -9` and power loss, and many operations
// arriving together share one fsync (group commit).
//
// On load the log is replayed frame by frame; the first frame whose length runs past the end of the
// file or whose CRC does not match ends the log: that tail (a write torn by a crash, or corruption) is
// copied aside to `store.log.corrupt-<time>` for inspection and cut off, and the store starts from the
// last good frame. Compaction writes the live state to `store.log.tmp`, fsyncs it, renames it over the
// log and fsyncs the directory: a crash at any point leaves either the old log or the new one.
//
// Reads see mutations that are applied but not yet fsynced (a crash in that window loses them, and
// nobody was told they succeeded: only their readers saw them). An I/O failure makes the store refuse
// every later call (StoreClosedError) rather than diverge from its file.
import * as fs from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { Reader, Writer } from '../../extension/core/wire/bytes';
import { StoreState } from './state';
import { AppendResult, CasOp, QueueItem, QueueLimits, QueueStats, Store, StoreClosedError } from './store';

const enum Op {
  Commit = 1,
  Append = 2,
  Ack = 3,
  Remove = 4,
  /** Snapshot only: a queue's next id, so ids stay unique after compaction empties the log. */
  NextId = 5,
}

export const LOG_FILE = 'store.log';
const LOCK_FILE = 'store.lock';
const FRAME_HEADER = 8;
/** Larger frames are refused at write and treated as corruption at load. */
const MAX_FRAME = 64 * 1024 * 1024;

export interface FileStoreOptions {
  /** Compact when the log exceeds this many bytes and twice its size after the last compaction. */
  compactAfterBytes?: number;
  /** Called once at open with what the load found (for the server's log). */
  onLoad?: (report: LoadReport) => void;
}

export interface LoadReport {
  frames: number;
  bytes: number;
  /** Bytes of a torn or corrupt tail that were cut off (and copied aside). */
  droppedBytes: number;
  corruptCopy?: string;
  reason?: string;
}

function frame(payload: Buffer): Buffer {
  if (payload.length > MAX_FRAME) throw new RangeError('store frame too large');
  const h = Buffer.allocUnsafe(FRAME_HEADER);
  h.writeUInt32BE(payload.length, 0);
  h.writeUInt32BE(crc32(payload) >>> 0, 4);
  return Buffer.concat([h, payload]);
}

function str16(w: Writer, s: string): void {
  const b = Buffer.from(s, 'utf8');
  if (b.length > 0xffff) throw new RangeError('store key longer than 65535 bytes');
  w.u16(b.length).bytes(b);
}

function readStr16(r: Reader): string {
  return r.bytes(r.u16('key length'), 'key').toString('utf8');
}

function blob(w: Writer, b: Uint8Array): void {
  w.u32(b.length).bytes(b);
}

function encCommit(ops: readonly CasOp[]): Buffer {
  const w = new Writer(64);
  w.u8(Op.Commit).u16(ops.length);
  for (const op of ops) {
    str16(w, op.key);
    if (op.set === null) w.u8(0);
    else blob(w.u8(1), op.set);
  }
  return w.finish();
}

function encAppend(queue: string, id: number, expiresAt: number, data: Uint8Array): Buffer {
  const w = new Writer(32 + data.length).u8(Op.Append);
  str16(w, queue);
  w.u64(BigInt(id)).u64(BigInt(Math.max(0, Math.floor(expiresAt))));
  blob(w, data);
  return w.finish();
}

function encAck(queue: string, uptoId: number): Buffer {
  const w = new Writer(32).u8(Op.Ack);
  str16(w, queue);
  return w.u64(BigInt(Math.max(0, Math.floor(uptoId)))).finish();
}

function encRemove(queue: string, ids: readonly number[]): Buffer {
  const w = new Writer(16 + ids.length * 8).u8(Op.Remove);
  str16(w, queue);
  w.u32(ids.length);
  for (const id of ids) w.u64(BigInt(id));
  return w.finish();
}

function encNextId(queue: string, nextId: number): Buffer {
  const w = new Writer(32).u8(Op.NextId);
  str16(w, queue);
  return w.u64(BigInt(nextId)).finish();
}

/** Apply one logged payload to the state. Replay is idempotent: an append whose id is already past is skipped. */
function replay(state: StoreState, payload: Buffer): string | undefined {
  const r = new Reader(payload);
  const op = r.u8('op');
  switch (op) {
    case Op.Commit: {
      const n = r.u16('op count');
      const ops: CasOp[] = [];
      for (let i = 0; i < n && !r.failed; i++) {
        const key = readStr16(r);
        const has = r.u8('value flag');
        ops.push({ key, expect: null, set: has ? r.bytes(r.u32('value length'), 'value') : null });
      }
      if (r.failed || r.remaining) return r.failed ?? 'trailing bytes in commit';
      state.applyOps(ops);
      return undefined;
    }
    case Op.Append: {
      const queue = readStr16(r);
      const id = Number(r.u64('id'));
      const expiresAt = Number(r.u64('expiry'));
      const data = r.bytes(r.u32('data length'), 'data');
      if (r.failed || r.remaining) return r.failed ?? 'trailing bytes in append';
      const q = state.queues.get(queue);
      if (!q || id >= q.nextId) state.applyAppend(queue, id, data, expiresAt);
      return undefined;
    }
    case Op.Ack: {
      const queue = readStr16(r);
      const upto = Number(r.u64('ack id'));
      if (r.failed || r.remaining) return r.failed ?? 'trailing bytes in ack';
      state.applyAck(queue, upto);
      return undefined;
    }
    case Op.Remove: {
      const queue = readStr16(r);
      const n = r.u32('id count');
      if (n * 8 > r.remaining) return 'truncated remove';
      const ids: number[] = [];
      for (let i = 0; i < n; i++) ids.push(Number(r.u64('id')));
      if (r.failed || r.remaining) return r.failed ?? 'trailing bytes in remove';
      state.applyRemove(queue, ids);
      return undefined;
    }
    case Op.NextId: {
      const queue = readStr16(r);
      const next = Number(r.u64('next id'));
      if (r.failed || r.remaining) return r.failed ?? 'trailing bytes in next id';
      const q = state.queue(queue);
      q.nextId = Math.max(q.nextId, next);
      return undefined;
    }
    default:
      return `unknown store op ${op}`;
  }
}

interface Pending {
  bytes: Buffer;
  resolve: () => void;
  reject: (e: Error) => void;
}

function fsyncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is still atomic there.
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class FileStore implements Store {
  private readonly state = new StoreState();
  private readonly logPath: string;
  private readonly lockPath: string;
  private fd: number;
  private size: number;
  private compactedSize: number;
  private pending: Pending[] = [];
  private flushing?: Promise<void>;
  private failure?: Error;
  private closed = false;
  readonly loadReport: LoadReport;

  /** Opens (creating the directory and log if needed), replays the log and cuts off a torn tail. */
  static async open(dir: string, opts: FileStoreOptions = {}): Promise<FileStore> {
    return new FileStore(dir, opts);
  }

  private constructor(private readonly dir: string, private readonly opts: FileStoreOptions) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.logPath = join(dir, LOG_FILE);
    this.lockPath = join(dir, LOCK_FILE);
    this.lock();
    try {
      fs.rmSync(`${this.logPath}.tmp`, { force: true }); // an interrupted compaction: the log is still whole
      this.loadReport = this.load();
      this.fd = fs.openSync(this.logPath, 'a', 0o600);
    } catch (e) {
      this.unlock();
      throw e;
    }
    this.size = this.loadReport.bytes;
    this.compactedSize = this.size;
    opts.onLoad?.(this.loadReport);
  }

  private lock(): void {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        fs.writeFileSync(this.lockPath, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        const pid = Number(fs.readFileSync(this.lockPath, 'utf8').trim());
        if (pid > 0 && pid !== process.pid && pidAlive(pid)) throw new Error(`${this.dir} is in use by process ${pid} (${LOCK_FILE})`);
        if (pid === process.pid) throw new Error(`${this.dir} is already open in this process`);
        fs.rmSync(this.lockPath, { force: true }); // left by a process that died (kill -9): ours now
      }
    }
    throw new Error(`cannot lock ${this.dir}`);
  }

  private unlock(): void {
    fs.rmSync(this.lockPath, { force: true });
  }

  private load(): LoadReport {
    let buf: Buffer;
    try {
      buf = fs.readFileSync(this.logPath);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { frames: 0, bytes: 0, droppedBytes: 0 };
      throw e;
    }
    let pos = 0;
    let frames = 0;
    let reason: string | undefined;
    while (pos < buf.length) {
      if (buf.length - pos < FRAME_HEADER) {
        reason = 'torn frame header';
        break;
      }
      const len = buf.readUInt32BE(pos);
      const crc = buf.readUInt32BE(pos + 4);
      if (len > MAX_FRAME || pos + FRAME_HEADER + len > buf.length) {
        reason = 'frame runs past the end of the log';
        break;
      }
      const payload = buf.subarray(pos + FRAME_HEADER, pos + FRAME_HEADER + len);
      if ((crc32(payload) >>> 0) !== crc) {
        reason = 'frame checksum mismatch';
        break;
      }
      // A frame that checks out but does not parse is corruption too: stop before applying it.
      const err = replay(this.state, Buffer.from(payload));
      if (err) {
        reason = `bad frame: ${err}`;
        break;
      }
      pos += FRAME_HEADER + len;
      frames++;
    }
    if (pos === buf.length) return { frames, bytes: pos, droppedBytes: 0 };
    const corruptCopy = `${this.logPath}.corrupt-${Date.now()}`;
    fs.writeFileSync(corruptCopy, buf.subarray(pos), { mode: 0o600 });
    const fd = fs.openSync(this.logPath, 'r+');
    try {
      fs.ftruncateSync(fd, pos);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    return { frames, bytes: pos, droppedBytes: buf.length - pos, corruptCopy, ...(reason ? { reason } : {}) };
  }

  private live(): void {
    if (this.failure) throw new StoreClosedError(`store failed: ${this.failure.message}`);
    if (this.closed) throw new StoreClosedError();
  }

  /** Queue a frame for the next group write; resolves once it is on disk. */
  private log(payload: Buffer): Promise<void> {
    const bytes = frame(payload);
    const p = new Promise<void>((resolve, reject) => this.pending.push({ bytes, resolve, reject }));
    if (!this.flushing) this.flushing = this.flushLoop();
    return p;
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.pending.length && !this.failure) {
        const batch = this.pending;
        this.pending = [];
        const data = batch.length === 1 ? batch[0].bytes : Buffer.concat(batch.map((b) => b.bytes));
        try {
          await writeAll(this.fd, data);
          await new Promise<void>((res, rej) => fs.fdatasync(this.fd, (e) => (e ? rej(e) : res())));
        } catch (e) {
          this.failure = e as Error;
          for (const b of [...batch, ...this.pending]) b.reject(new StoreClosedError(`store write failed: ${(e as Error).message}`));
          this.pending = [];
          return;
        }
        this.size += data.length;
        for (const b of batch) b.resolve();
        if (!this.pending.length) this.maybeCompact();
      }
    } finally {
      this.flushing = undefined;
    }
  }

  private maybeCompact(): void {
    const threshold = this.opts.compactAfterBytes ?? 8 * 1024 * 1024;
    if (this.size < threshold || this.size < 2 * this.compactedSize) return;
    try {
      this.compactNow();
    } catch (e) {
      // The old log is intact (the rename is the commit point): carry on with it.
      this.opts.onLoad?.({ frames: 0, bytes: this.size, droppedBytes: 0, reason: `compaction failed: ${(e as Error).message}` });
    }
  }

  /** Rewrite the log as the live state. Synchronous, between group writes, so nothing interleaves. */
  private compactNow(): void {
    const tmp = `${this.logPath}.tmp`;
    const parts: Buffer[] = [];
    for (const [key, value] of this.state.records) parts.push(frame(encCommit([{ key, expect: null, set: value }])));
    for (const [name, q] of this.state.queues) {
      parts.push(frame(encNextId(name, q.nextId)));
      for (const it of q.items) parts.push(frame(encAppend(name, it.id, it.expiresAt, it.data)));
    }
    const data = Buffer.concat(parts);
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.logPath);
    fsyncDir(this.dir);
    fs.closeSync(this.fd);
    this.fd = fs.openSync(this.logPath, 'a', 0o600);
    this.size = this.compactedSize = data.length;
  }

  /** Compact now, after pending writes (tests and tools; the store also compacts by itself). */
  async compact(): Promise<void> {
    this.live();
    while (this.flushing) await this.flushing;
    this.compactNow();
  }

  get logBytes(): number {
    return this.size;
  }

  async get(key: string): Promise<Buffer | undefined> {
    this.live();
    const v = this.state.get(key);
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
    const cur = this.state.get(key);
    if (!cur) return false;
    return this.commit([{ key, expect: expected ?? cur, set: null }]);
  }

  async commit(ops: readonly CasOp[]): Promise<boolean> {
    this.live();
    if (!this.state.check(ops)) return false;
    const payload = encCommit(ops);
    this.state.applyOps(ops);
    await this.log(payload);
    return true;
  }

  async keys(prefix: string): Promise<string[]> {
    this.live();
    return this.state.keys(prefix);
  }

  async append(queue: string, data: Uint8Array, expiresAt: number, limits: QueueLimits): Promise<AppendResult> {
    this.live();
    const r = this.state.checkAppend(queue, data.length, limits);
    if (!r.ok) return r;
    const copy = Buffer.from(data);
    const payload = encAppend(queue, r.id, expiresAt, copy);
    this.state.applyAppend(queue, r.id, copy, Math.max(0, Math.floor(expiresAt)));
    await this.log(payload);
    return r;
  }

  async list(queue: string, afterId: number, limit: number, now: number): Promise<QueueItem[]> {
    this.live();
    return this.state.list(queue, afterId, limit, now);
  }

  async ack(queue: string, uptoId: number): Promise<number> {
    this.live();
    const n = this.state.applyAck(queue, uptoId);
    if (n) await this.log(encAck(queue, uptoId));
    return n;
  }

  async purgeExpired(now: number): Promise<number> {
    this.live();
    let n = 0;
    const logged: Promise<void>[] = [];
    for (const [q, ids] of this.state.expired(now)) {
      n += this.state.applyRemove(q, ids);
      logged.push(this.log(encRemove(q, ids)));
    }
    await Promise.all(logged);
    return n;
  }

  async queueStats(queue: string): Promise<QueueStats> {
    this.live();
    return this.state.stats(queue);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    while (this.flushing) await this.flushing;
    this.closed = true;
    try {
      fs.closeSync(this.fd);
    } finally {
      this.unlock();
    }
  }
}

function writeAll(fd: number, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (off: number) => {
      if (off >= data.length) return resolve();
      fs.write(fd, data, off, data.length - off, null, (e, n) => (e ? reject(e) : step(off + n)));
    };
    step(0);
  });
}
