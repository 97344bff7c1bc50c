// The room registry shared by rendezvous instances through Redis, so members of one room that land
// on different instances (a skewed server list, a failover in progress) still meet.
//
// The hot path stays local: the RoomTable answers every register from memory, and a plain refresh
// touches nothing here. Redis is written only when membership changes (join, move, record change,
// leave, expiry) and once per refresh period in one pipeline that renews every local member's
// expiry. Per room:
//   - hash  p2p:room:{<room hex>}      field <peer hex> → u64 expiresAt (wall ms) ‖ 16-byte instance id ‖ member record
//   - shard channel p2p:room:{<room hex>}:ev   (SPUBLISH/SSUBSCRIBE; the {hash tag} keeps both in one slot)
// Redis 7.0 has no per-field expiry, so every reader drops fields whose expiresAt has passed; the
// hash itself gets a PEXPIRE so an abandoned room disappears.
//
// An instance subscribes to a room's channel while it has members in it. A join is published after
// the subscription is confirmed and before the hash is read, so of two members joining on two
// instances at the same moment, at least one reads the other from the hash and the other hears the
// publication: they always meet.
//
// Redis down: commands fail at once (no offline queue); rooms within this instance go on as before,
// nothing blocks the UDP path. When Redis is back, every local member is written and published again
// and every local member hears the remote ones: rooms split across instances re-form.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type Redis from 'ioredis';
import { Endpoint } from '../../extension/core/wire/endpoint';
import { encodePeerWithRecord, encodeRendezvous, MemberRecord } from '../../extension/core/wire/rendezvous';
import type { Logger } from '../log';
import { openRedisPair } from './redisPair';
import type { RoomObserver } from '../rooms';

export const INSTANCE_ID_BYTES = 16;
const VALUE_HEAD = 8 + INSTANCE_ID_BYTES;
const PEER_ID_BYTES = 32;
/** A member record is at most 1 + 32 + 1 + 64 + 1 + 9 × 19 bytes; anything much larger is not one. */
const MAX_RECORD_BYTES = 512;

const enum Op {
  Join = 1, // joined: the members here hear `peer (joined)`
  Update = 2, // moved or changed: same push
  Leave = 3,
}

/** What the registry needs from the server it serves. */
export interface ClusterHost {
  localMembers(roomKey: string): { peerKey: string; reflexive: Endpoint; record: Readonly<MemberRecord>; encoded: Buffer }[];
  localRoomKeys(): Iterable<string>;
  /** Send to a member registered here (proven endpoint). */
  push(to: Endpoint, bytes: Buffer, label: string): void;
}

export interface RedisRegistryOptions {
  url: string;
  /** Lifetime of a member's record in Redis after its last renewal: the server's member expiry. */
  expiryMs: number;
  /** How often local members' records are renewed, in one pipeline (the refresh period). */
  renewEveryMs: number;
  instanceId?: Buffer;
  wallClock?: () => number;
  logger?: Logger;
  /** Reconnect delay cap (ms); tests shorten it. */
  maxReconnectDelayMs?: number;
  /** Seen by /metrics: every Redis round trip's duration (seconds) by operation. */
  onLatency?: (op: string, seconds: number) => void;
}

export interface RegistryStats {
  connected: boolean;
  /** Rooms whose channel this instance listens to. */
  subscribedRooms: number;
  published: number;
  received: number;
  /** Pushes sent to members here because of another instance's news. */
  forwarded: number;
  /** Remote members announced to a member here on its join or after a reconnect. */
  remoteIntroduced: number;
  renewals: number;
  errors: number;
  resyncs: number;
}

export const roomHashKey = (roomKey: string) => `p2p:room:{${roomKey}}`;
export const roomChannel = (roomKey: string) => `p2p:room:{${roomKey}}:ev`;
const CHANNEL_RE = /^p2p:room:\{([0-9a-f]{64})\}:ev$/;

// Delete a member's field only if this instance wrote it: after a move, the new instance's record stays.
const DELETE_IF_OURS = `
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v and string.sub(v, 9, 24) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0`;

export function packValue(expiresAt: number, instance: Buffer, encoded: Buffer): Buffer {
  const v = Buffer.allocUnsafe(VALUE_HEAD + encoded.length);
  v.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(expiresAt))), 0);
  instance.copy(v, 8);
  encoded.copy(v, VALUE_HEAD);
  return v;
}

export function unpackValue(v: Buffer): { expiresAt: number; instance: Buffer; encoded: Buffer } | undefined {
  if (v.length <= VALUE_HEAD || v.length > VALUE_HEAD + MAX_RECORD_BYTES) return undefined;
  return { expiresAt: Number(v.readBigUInt64BE(0)), instance: v.subarray(8, VALUE_HEAD), encoded: v.subarray(VALUE_HEAD) };
}

function packEvent(op: Op, instance: Buffer, peerId: Buffer, encoded?: Buffer): Buffer {
  return Buffer.concat([Buffer.from([op]), instance, peerId, encoded ?? Buffer.alloc(0)]);
}

export class RedisRoomRegistry implements RoomObserver {
  readonly instanceId: Buffer;
  private readonly opts: RedisRegistryOptions;
  private readonly wall: () => number;
  private readonly cmd: Redis;
  private readonly sub: Redis;
  private host?: ClusterHost;
  private readonly subscribed = new Set<string>();
  private readonly subscribing = new Map<string, Promise<void>>();
  private renewTimer?: NodeJS.Timeout;
  private up = false;
  private wasUp = false;
  private closed = false;
  private readonly counters = { published: 0, received: 0, forwarded: 0, remoteIntroduced: 0, renewals: 0, errors: 0, resyncs: 0 };

  constructor(opts: RedisRegistryOptions) {
    this.opts = opts;
    this.instanceId = opts.instanceId ?? randomBytes(INSTANCE_ID_BYTES);
    this.wall = opts.wallClock ?? Date.now;
    ({ cmd: this.cmd, sub: this.sub } = openRedisPair(opts.url, 'p2p-rendezvous', opts));
    this.cmd.defineCommand('p2pDeleteIfOurs', { numberOfKeys: 1, lua: DELETE_IF_OURS });
    this.cmd.on('ready', () => this.onReady());
    this.cmd.on('close', () => this.onDown());
    this.sub.on('smessageBuffer', (channel: Buffer, message: Buffer) => this.onEvent(channel.toString('latin1'), message));
  }

  get connected(): boolean {
    return this.up && this.sub.status === 'ready';
  }

  available(): boolean {
    return this.connected;
  }

  stats(): RegistryStats {
    return { connected: this.connected, subscribedRooms: this.subscribed.size, ...this.counters };
  }

  /** Connect (fails if Redis cannot be reached now: a misconfigured URL should stop the start). */
  async start(host: ClusterHost): Promise<void> {
    this.host = host;
    await Promise.all([this.cmd.connect(), this.sub.connect()]).catch((e: Error) => {
      // Not fatal: the instance serves its own rooms, and ioredis keeps reconnecting.
      this.opts.logger?.warn('redis-unavailable', { error: e.message });
    });
    this.renewTimer = setInterval(() => void this.renew(), this.opts.renewEveryMs);
    this.renewTimer.unref();
  }

  async stop(): Promise<void> {
    this.closed = true;
    if (this.renewTimer) clearInterval(this.renewTimer);
    this.cmd.disconnect();
    this.sub.disconnect();
  }

  /** One Redis round trip, timed. */
  async ping(): Promise<number> {
    const t0 = performance.now();
    await this.cmd.ping();
    const s = (performance.now() - t0) / 1000;
    this.opts.onLatency?.('ping', s);
    return s;
  }

  // ---- RoomObserver: called synchronously by the table; the Redis work runs behind it.

  changed(roomKey: string, record: Readonly<MemberRecord>, encoded: Buffer, status: 'joined' | 'moved' | 'updated'): void {
    if (!this.up) return;
    const peerKey = Buffer.from(record.peerId).toString('hex');
    void this.announce(roomKey, peerKey, Buffer.from(record.peerId), encoded, status !== 'updated', status === 'joined' ? Op.Join : Op.Update).catch((e) => this.failed('announce', e));
  }

  removed(roomKey: string, peerId: Buffer): void {
    const left = this.host?.localMembers(roomKey).length === 0;
    if (this.up) void this.withdraw(roomKey, Buffer.from(peerId)).catch((e) => this.failed('withdraw', e));
    if (left) void this.unsubscribe(roomKey);
  }

  // ---- the Redis side

  private failed(what: string, e: unknown): void {
    this.counters.errors++;
    this.opts.logger?.debug('redis-op-failed', { op: what, error: (e as Error).message });
  }

  private async subscribe(roomKey: string): Promise<void> {
    if (this.subscribed.has(roomKey)) return;
    let p = this.subscribing.get(roomKey);
    if (!p) {
      p = this.sub.ssubscribe(roomChannel(roomKey)).then(
        () => {
          this.subscribed.add(roomKey);
          this.subscribing.delete(roomKey);
        },
        (e: unknown) => {
          this.subscribing.delete(roomKey);
          throw e;
        },
      );
      this.subscribing.set(roomKey, p);
    }
    return p;
  }

  private async unsubscribe(roomKey: string): Promise<void> {
    if (!this.subscribed.delete(roomKey)) return;
    try {
      await this.sub.sunsubscribe(roomChannel(roomKey));
    } catch (e) {
      this.failed('sunsubscribe', e);
    }
  }

  private expiresAt(): number {
    // Renewed every renewEveryMs: valid until one renewal late plus the member expiry.
    return this.wall() + this.opts.expiryMs + this.opts.renewEveryMs;
  }

  private async announce(roomKey: string, peerKey: string, peerId: Buffer, encoded: Buffer, introduce: boolean, op: Op): Promise<void> {
    const t0 = performance.now();
    await this.subscribe(roomKey);
    const key = roomHashKey(roomKey);
    const res = await this.cmd
      .multi()
      .hset(key, peerKey, packValue(this.expiresAt(), this.instanceId, encoded))
      .pexpire(key, this.opts.expiryMs * 2 + this.opts.renewEveryMs)
      .spublish(roomChannel(roomKey), packEvent(op, this.instanceId, peerId, encoded))
      .hgetallBuffer(key)
      .exec();
    this.opts.onLatency?.('announce', (performance.now() - t0) / 1000);
    this.counters.published++;
    if (!res) return;
    const [err, all] = res[3];
    if (err || !introduce) return;
    this.introduce(roomKey, all as Record<string, Buffer>, peerKey);
  }

  /** Send the live remote members in `all` to our member `onlyPeer` (or to every member here). */
  private introduce(roomKey: string, all: Record<string, Buffer>, onlyPeer?: string): void {
    if (!this.host) return;
    const locals = this.host.localMembers(roomKey);
    const localKeys = new Set(locals.map((m) => m.peerKey));
    const targets = onlyPeer ? locals.filter((m) => m.peerKey === onlyPeer) : locals;
    if (!targets.length) return;
    const now = this.wall();
    for (const [field, value] of Object.entries(all)) {
      if (localKeys.has(field)) continue;
      const v = unpackValue(value);
      if (!v || v.expiresAt < now || v.instance.equals(this.instanceId)) continue;
      const bytes = encodePeerWithRecord(false, v.encoded);
      for (const t of targets) {
        this.host.push(t.reflexive, bytes, 'peer');
        this.counters.remoteIntroduced++;
      }
    }
  }

  private async withdraw(roomKey: string, peerId: Buffer): Promise<void> {
    const t0 = performance.now();
    const key = roomHashKey(roomKey);
    await (this.cmd as unknown as { p2pDeleteIfOurs(k: string, f: string, i: Buffer): Promise<number> }).p2pDeleteIfOurs(key, peerId.toString('hex'), this.instanceId);
    await this.cmd.spublish(roomChannel(roomKey), packEvent(Op.Leave, this.instanceId, peerId));
    this.opts.onLatency?.('withdraw', (performance.now() - t0) / 1000);
    this.counters.published++;
  }

  /** Another instance's news about a room we have members in. */
  private onEvent(channel: string, msg: Buffer): void {
    this.counters.received++;
    const m = CHANNEL_RE.exec(channel);
    if (!m || !this.host || msg.length < 1 + INSTANCE_ID_BYTES + PEER_ID_BYTES) return;
    const op = msg[0] as Op;
    const instance = msg.subarray(1, 1 + INSTANCE_ID_BYTES);
    if (instance.equals(this.instanceId)) return;
    const peerId = msg.subarray(1 + INSTANCE_ID_BYTES, 1 + INSTANCE_ID_BYTES + PEER_ID_BYTES);
    const peerKey = peerId.toString('hex');
    const locals = this.host.localMembers(m[1]);
    // A member registered here is what we say about it; a late or stale word from elsewhere is not.
    if (locals.some((l) => l.peerKey === peerKey)) return;
    let bytes: Buffer;
    if (op === Op.Join || op === Op.Update) {
      const encoded = msg.subarray(1 + INSTANCE_ID_BYTES + PEER_ID_BYTES);
      if (encoded.length === 0 || encoded.length > MAX_RECORD_BYTES) return;
      bytes = encodePeerWithRecord(true, encoded);
    } else if (op === Op.Leave) {
      bytes = encodeRendezvous({ type: 'left', peerId: Buffer.from(peerId) });
    } else return;
    for (const l of locals) {
      this.host.push(l.reflexive, bytes, op === Op.Leave ? 'left' : 'peer');
      this.counters.forwarded++;
    }
  }

  /** Renew every local member's record: one pipeline per refresh period, not one write per refresh. */
  private async renew(): Promise<void> {
    if (!this.up || !this.host) return;
    const t0 = performance.now();
    const p = this.cmd.pipeline();
    const exp = this.expiresAt();
    let n = 0;
    for (const roomKey of this.host.localRoomKeys()) {
      const key = roomHashKey(roomKey);
      for (const m of this.host.localMembers(roomKey)) {
        p.hset(key, m.peerKey, packValue(exp, this.instanceId, m.encoded));
        n++;
      }
      p.pexpire(key, this.opts.expiryMs * 2 + this.opts.renewEveryMs);
    }
    if (n === 0) return;
    try {
      await p.exec();
      this.counters.renewals += n;
      this.opts.onLatency?.('renew', (performance.now() - t0) / 1000);
    } catch (e) {
      this.failed('renew', e);
    }
  }

  private onDown(): void {
    if (this.up) this.opts.logger?.warn('redis-down', { note: 'rooms within this instance keep working; cross-instance meeting paused' });
    this.up = false;
  }

  private onReady(): void {
    this.up = true;
    if (this.closed) return;
    // Members that registered while Redis was away (or before it first answered) are written now.
    this.opts.logger?.info('redis-up', { note: this.wasUp ? 'republishing local members' : 'connected' });
    this.wasUp = true;
    void this.resync().catch((e) => this.failed('resync', e));
  }

  /**
   * After Redis comes back (possibly empty, possibly with stale records): write and publish every
   * local member, and tell every local member about the remote ones, so split rooms re-form.
   */
  async resync(): Promise<void> {
    if (!this.host) return;
    if (!this.host.localRoomKeys()[Symbol.iterator]().next().done) this.counters.resyncs++;
    for (const roomKey of [...this.host.localRoomKeys()]) {
      const members = this.host.localMembers(roomKey);
      if (!members.length) continue;
      await this.subscribe(roomKey);
      const key = roomHashKey(roomKey);
      const tx = this.cmd.multi();
      for (const m of members) {
        tx.hset(key, m.peerKey, packValue(this.expiresAt(), this.instanceId, m.encoded));
        tx.spublish(roomChannel(roomKey), packEvent(Op.Update, this.instanceId, Buffer.from(m.record.peerId), m.encoded));
      }
      tx.pexpire(key, this.opts.expiryMs * 2 + this.opts.renewEveryMs);
      tx.hgetallBuffer(key);
      const res = await tx.exec();
      const last = res?.[res.length - 1];
      if (last && !last[0]) this.introduce(roomKey, last[1] as Record<string, Buffer>);
    }
  }
}
