// The Store interface (store.ts) on Redis, for several rendezvous instances sharing one directory and
// one set of mailboxes. Every operation is one Lua script, so Redis applies it atomically: the
// compare-and-swap commit (the directory's unique index) cannot interleave with another instance's.
//
// Layout (every key under one hash tag, so a Redis Cluster keeps them in one slot and the scripts
// stay legal there too):
//   <p>r:<key>            a record (string)
//   <p>keys               sorted set of record keys (score 0): keys(prefix) in order without SCAN
//   <p>q:<queue>:d        hash id → u64 expiresAt (big-endian) ‖ data
//   <p>q:<queue>:i        sorted set of ids (score = id): reading in order from a cursor
//   <p>q:<queue>:m        hash { next, bytes }: the next id (never reused) and the bytes held
//   <p>exp                sorted set "<queue>\n<id>" scored by expiresAt: purging with the caller's clock
// with <p> = `p2p:{store}:` by default.
//
// Durability is Redis's: an operation resolves once Redis has applied it and appended it to the AOF;
// with `appendfsync always` that is fsynced, with `everysec` (the compose file) a crash of the Redis
// host can lose the last second. While Redis is unreachable every call rejects at once (no offline
// queue), which the directory reports to clients as "storage unavailable"; nothing is half-written.
import Redis from 'ioredis';
import { AppendResult, CasOp, QueueItem, QueueLimits, QueueStats, Store, StoreClosedError } from './store';

export interface RedisStoreOptions {
  /** Key prefix, including a {hash tag}; tests use their own to stay apart. */
  prefix?: string;
  /** Reconnect delay cap (ms). */
  maxReconnectDelayMs?: number;
  /** Every round trip's duration (seconds) by operation: /metrics. */
  onLatency?: (op: string, seconds: number) => void;
}

// ARGV: prefix, n, then per op: key, expectFlag ('0' absent | '1' bytes), expect, setFlag ('0' delete | '1' bytes), set.
const COMMIT = `
local p = ARGV[1]
local n = tonumber(ARGV[2])
for i = 0, n - 1 do
  local b = 3 + i * 5
  local cur = redis.call('GET', p .. 'r:' .. ARGV[b])
  if ARGV[b + 1] == '0' then
    if cur then return 0 end
  else
    if (not cur) or cur ~= ARGV[b + 2] then return 0 end
  end
end
for i = 0, n - 1 do
  local b = 3 + i * 5
  local k = ARGV[b]
  if ARGV[b + 3] == '1' then
    redis.call('SET', p .. 'r:' .. k, ARGV[b + 4])
    redis.call('ZADD', p .. 'keys', 0, k)
  else
    redis.call('DEL', p .. 'r:' .. k)
    redis.call('ZREM', p .. 'keys', k)
  end
end
return 1`;

// ARGV: prefix, key
const DELETE = `
local p = ARGV[1]
redis.call('ZREM', p .. 'keys', ARGV[2])
return redis.call('DEL', p .. 'r:' .. ARGV[2])`;

// ARGV: prefix, queue, data (with the 8-byte expiry in front), size, expiresAt, maxItems, maxBytes
const APPEND = `
local p, q = ARGV[1], ARGV[2]
local base = p .. 'q:' .. q
local items = redis.call('ZCARD', base .. ':i')
local bytes = tonumber(redis.call('HGET', base .. ':m', 'bytes') or '0')
local size = tonumber(ARGV[4])
if items + 1 > tonumber(ARGV[6]) or bytes + size > tonumber(ARGV[7]) then return {0, items, bytes} end
local id = tonumber(redis.call('HGET', base .. ':m', 'next') or '1')
redis.call('HSET', base .. ':m', 'next', id + 1, 'bytes', bytes + size)
redis.call('HSET', base .. ':d', id, ARGV[3])
redis.call('ZADD', base .. ':i', id, id)
redis.call('ZADD', p .. 'exp', ARGV[5], q .. '\\n' .. id)
return {1, id}`;

// ARGV: prefix, queue, afterId, limit, now → flat list of values (expiry ‖ data), ids in order
const LIST = `
local p, q = ARGV[1], ARGV[2]
local base = p .. 'q:' .. q
local limit = tonumber(ARGV[4])
local now = tonumber(ARGV[5])
local out = {}
local offset = 0
while #out < limit * 2 do
  local ids = redis.call('ZRANGEBYSCORE', base .. ':i', '(' .. ARGV[3], '+inf', 'LIMIT', offset, 64)
  if #ids == 0 then break end
  offset = offset + #ids
  for _, id in ipairs(ids) do
    local v = redis.call('HGET', base .. ':d', id)
    if v then
      local exp = redis.call('ZSCORE', p .. 'exp', q .. '\\n' .. id)
      if exp and tonumber(exp) > now then
        out[#out + 1] = id
        out[#out + 1] = v
        if #out >= limit * 2 then break end
      end
    end
  end
end
return out`;

// Remove ids from one queue. ARGV: prefix, queue, ids...
const REMOVE_BODY = `
local function remove(p, q, id)
  local base = p .. 'q:' .. q
  local v = redis.call('HGET', base .. ':d', id)
  if not v then return 0 end
  redis.call('HDEL', base .. ':d', id)
  redis.call('ZREM', base .. ':i', id)
  redis.call('ZREM', p .. 'exp', q .. '\\n' .. id)
  redis.call('HINCRBY', base .. ':m', 'bytes', -(#v - 8))
  return 1
end`;

// ARGV: prefix, queue, uptoId
const ACK = `${REMOVE_BODY}
local p, q = ARGV[1], ARGV[2]
local ids = redis.call('ZRANGEBYSCORE', p .. 'q:' .. q .. ':i', '-inf', ARGV[3])
local n = 0
for _, id in ipairs(ids) do n = n + remove(p, q, id) end
return n`;

// ARGV: prefix, now
const PURGE = `${REMOVE_BODY}
local p = ARGV[1]
local due = redis.call('ZRANGEBYSCORE', p .. 'exp', '-inf', ARGV[2])
local n = 0
for _, m in ipairs(due) do
  local nl = string.find(m, '\\n[^\\n]*$')
  local removed = remove(p, string.sub(m, 1, nl - 1), string.sub(m, nl + 1))
  if removed == 0 then redis.call('ZREM', p .. 'exp', m) end
  n = n + removed
end
return n`;

// ARGV: prefix, queue
const STATS = `
local base = ARGV[1] .. 'q:' .. ARGV[2]
return {redis.call('ZCARD', base .. ':i'), tonumber(redis.call('HGET', base .. ':m', 'bytes') or '0')}`;

type Scripted = Redis & {
  p2pCommit(...args: (string | Buffer)[]): Promise<number>;
  p2pDelete(p: string, k: string): Promise<number>;
  p2pAppend(...args: (string | Buffer)[]): Promise<[number, number, number?]>;
  p2pListBuffer(p: string, q: string, after: string, limit: string, now: string): Promise<Buffer[]>;
  p2pAck(p: string, q: string, upto: string): Promise<number>;
  p2pPurge(p: string, now: string): Promise<number>;
  p2pStats(p: string, q: string): Promise<[number, number]>;
};

export class RedisStore implements Store {
  private readonly prefix: string;
  private closed = false;

  private constructor(
    private readonly redis: Scripted,
    private readonly opts: RedisStoreOptions,
  ) {
    this.prefix = opts.prefix ?? 'p2p:{store}:';
  }

  /**
   * Connects. With `requireConnection` (tests, tools) an unreachable Redis rejects; without it (the
   * server) the store opens anyway and every call rejects until ioredis has reconnected: an instance
   * must serve rooms while Redis is away, even if it starts then.
   */
  static async open(url: string, opts: RedisStoreOptions & { requireConnection?: boolean; onConnectError?: (e: Error) => void } = {}): Promise<RedisStore> {
    const redis = new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      lazyConnect: true,
      connectionName: 'p2p-store',
      retryStrategy: (times) => Math.min(50 * times, opts.maxReconnectDelayMs ?? 1000),
    }) as Scripted;
    redis.on('error', () => undefined); // reconnects by itself; calls in between reject
    // Every script takes its keys from the prefix argument (all under one hash tag), so none is declared.
    redis.defineCommand('p2pCommit', { numberOfKeys: 0, lua: COMMIT });
    redis.defineCommand('p2pDelete', { numberOfKeys: 0, lua: DELETE });
    redis.defineCommand('p2pAppend', { numberOfKeys: 0, lua: APPEND });
    redis.defineCommand('p2pList', { numberOfKeys: 0, lua: LIST });
    redis.defineCommand('p2pAck', { numberOfKeys: 0, lua: ACK });
    redis.defineCommand('p2pPurge', { numberOfKeys: 0, lua: PURGE });
    redis.defineCommand('p2pStats', { numberOfKeys: 0, lua: STATS });
    try {
      await redis.connect();
    } catch (e) {
      if (opts.requireConnection !== false) {
        redis.disconnect();
        throw e;
      }
      opts.onConnectError?.(e as Error); // ioredis keeps retrying (retryStrategy)
    }
    return new RedisStore(redis, opts);
  }

  get connected(): boolean {
    return this.redis.status === 'ready';
  }

  private async run<T>(op: string, f: () => Promise<T>): Promise<T> {
    if (this.closed) throw new StoreClosedError();
    const t0 = performance.now();
    const r = await f();
    this.opts.onLatency?.(`store_${op}`, (performance.now() - t0) / 1000);
    return r;
  }

  async get(key: string): Promise<Buffer | undefined> {
    return this.run('get', async () => (await this.redis.getBuffer(`${this.prefix}r:${key}`)) ?? undefined);
  }

  async create(key: string, value: Uint8Array): Promise<boolean> {
    return this.commit([{ key, expect: null, set: value }]);
  }

  async replace(key: string, expected: Uint8Array, value: Uint8Array): Promise<boolean> {
    return this.commit([{ key, expect: expected, set: value }]);
  }

  async delete(key: string, expected?: Uint8Array): Promise<boolean> {
    if (expected) return this.commit([{ key, expect: expected, set: null }]);
    return this.run('delete', async () => (await this.redis.p2pDelete(this.prefix, key)) > 0);
  }

  async commit(ops: readonly CasOp[]): Promise<boolean> {
    return this.run('commit', async () => {
      if (new Set(ops.map((o) => o.key)).size !== ops.length) return false; // one key twice: ambiguous, refused
      const args: (string | Buffer)[] = [this.prefix, String(ops.length)];
      for (const op of ops) {
        args.push(op.key, op.expect === null ? '0' : '1', op.expect === null ? '' : Buffer.from(op.expect), op.set === null ? '0' : '1', op.set === null ? '' : Buffer.from(op.set));
      }
      return (await this.redis.p2pCommit(...args)) === 1;
    });
  }

  async keys(prefix: string): Promise<string[]> {
    return this.run('keys', async () => {
      // Lexicographic range over the index: [prefix, prefix + U+10FFFF-ish) as raw bytes.
      const from = Buffer.concat([Buffer.from('['), Buffer.from(prefix)]);
      const to = Buffer.concat([Buffer.from('['), Buffer.from(prefix), Buffer.from([0xff])]);
      const got = await this.redis.zrangebylexBuffer(`${this.prefix}keys`, from, to);
      return got.map((b) => b.toString('utf8')).sort();
    });
  }

  async append(queue: string, data: Uint8Array, expiresAt: number, limits: QueueLimits): Promise<AppendResult> {
    return this.run('append', async () => {
      const exp = Math.max(0, Math.floor(expiresAt));
      const v = Buffer.allocUnsafe(8 + data.length);
      v.writeBigUInt64BE(BigInt(exp), 0);
      Buffer.from(data.buffer, data.byteOffset, data.byteLength).copy(v, 8);
      const r = await this.redis.p2pAppend(this.prefix, queue, v, String(data.length), String(exp), String(limits.maxItems), String(limits.maxBytes));
      return r[0] === 1 ? { ok: true, id: Number(r[1]) } : { ok: false, reason: 'full', items: Number(r[1]), bytes: Number(r[2]) };
    });
  }

  async list(queue: string, afterId: number, limit: number, now: number): Promise<QueueItem[]> {
    return this.run('list', async () => {
      if (limit <= 0) return [];
      const flat = await this.redis.p2pListBuffer(this.prefix, queue, String(Math.floor(afterId)), String(Math.floor(limit)), String(now));
      const out: QueueItem[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const v = flat[i + 1];
        out.push({ id: Number(flat[i].toString()), expiresAt: Number(v.readBigUInt64BE(0)), data: Buffer.from(v.subarray(8)) });
      }
      return out;
    });
  }

  async ack(queue: string, uptoId: number): Promise<number> {
    return this.run('ack', () => this.redis.p2pAck(this.prefix, queue, String(Math.floor(uptoId))));
  }

  async purgeExpired(now: number): Promise<number> {
    return this.run('purge', () => this.redis.p2pPurge(this.prefix, String(now)));
  }

  async queueStats(queue: string): Promise<QueueStats> {
    return this.run('stats', async () => {
      const [items, bytes] = await this.redis.p2pStats(this.prefix, queue);
      return { items: Number(items), bytes: Number(bytes) };
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
