// The topic registry shared by rendezvous instances through Redis: contacts whose registrations land on
// different instances (a skewed server list, a failover in progress) still see each other's presence,
// exchange contact requests and meet for a DM. The same pattern as the room registry (registry.ts):
//
// The hot path stays local: the TopicTable answers every register from memory, and a plain refresh
// touches nothing here. Redis is written when a local membership changes (new topic, new kind, new
// flags or addresses, leave, expiry), in one pipeline per burst of changes, and once per refresh period
// in one pipeline that renews every local membership's expiry. Per topic:
//   - hash  p2p:topic:{<topic hex>}      field <client id hex>@<endpoint> →
//           u64 expiresAt (wall ms) ‖ 16-byte instance id ‖ u8 kind ‖ the member's topicPeer datagram
//   - shard channel p2p:topic:{<topic hex>}:ev   (SPUBLISH/SSUBSCRIBE), events
//           u8 op ‖ 16-byte instance id ‖ u8 kind ‖ the member's topicPeer datagram
// Redis 7.0 has no per-field expiry, so every reader drops fields whose expiresAt has passed; the hash
// gets a PEXPIRE so an abandoned topic disappears.
//
// An instance subscribes to a topic's channel while it has local members on it, and holds the members
// other instances announce there as remote members of its TopicTable (which pairs them like its own but
// never sends to them). A new membership is published after the subscription is confirmed and before
// the hash is read, so of two partners joining on two instances at once, at least one reads the other
// and the other hears the publication: they always meet. Topics that hold remote members are read again
// at every renewal, which drops members of an instance that died without a word (kill -9) once their
// expiresAt passes, and heals a lost publication.
//
// Nothing here ever sends to an endpoint learned from Redis: pushes go only to members registered at
// this instance, whose addresses their cookies proved. What Redis holds is what the rendezvous already
// knew (topic ids, client ids, addresses, flags), now visible to every instance of the deployment.
//
// Redis down: commands fail at once (no offline queue); topics within this instance go on as before, the
// remote members are dropped (their partners here hear topicGone: nothing about them can be vouched for)
// and registrants are told (ErrorCode.SharedStateUnavailable). When Redis is back, every local member
// is written and published again and the remote ones are read: split topics re-form.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type Redis from 'ioredis';
import { decodeTopic, TopicKind, type TopicPartner } from '../../extension/core/wire/topics';
import type { Logger } from '../log';
import { openRedisPair } from './redisPair';
import { memberField, type LocalTopicMember, type TopicObserver, type TopicOutgoing } from '../topics';
import { INSTANCE_ID_BYTES } from './registry';

const VALUE_HEAD = 8 + INSTANCE_ID_BYTES + 1;
/** A topicPeer is at most 3 + 16 + 16 + 1 + 9 × 19 + 1 bytes; anything much larger is not one. */
const MAX_MEMBER_BYTES = 400;
/** Topics per pipeline when everything is written again (renewal, resync): bounds one reply's memory. */
const CHUNK = 2000;

const enum Op {
  Join = 1,
  Update = 2,
  Leave = 3,
}

/** What the registry needs from the server it serves (the server's current topic table). */
export interface TopicClusterHost {
  localTopics(): Buffer[];
  localMembers(topic: Buffer): LocalTopicMember[];
  hasLocalMembers(topic: Buffer): boolean;
  remoteFields(topic: Buffer): string[];
  remoteUpsert(topic: Buffer, field: string, kind: TopicKind, partner: TopicPartner): TopicOutgoing[];
  remoteRemove(topic: Buffer, field: string): TopicOutgoing[];
  dropRemote(): TopicOutgoing[];
  /** Send table output (pushes to members registered here). */
  push(out: TopicOutgoing[]): void;
}

export interface TopicRegistryOptions {
  url: string;
  /** Lifetime of a membership in Redis after its last renewal: the topic table's expiry. */
  expiryMs: number;
  /** How often local memberships are renewed, in one pipeline (the refresh period). */
  renewEveryMs: number;
  instanceId?: Buffer;
  wallClock?: () => number;
  logger?: Logger;
  maxReconnectDelayMs?: number;
  onLatency?: (op: string, seconds: number) => void;
}

export interface TopicRegistryStats {
  connected: boolean;
  subscribedTopics: number;
  published: number;
  received: number;
  /** Remote memberships announced to members here (from an event or a read). */
  remoteUpserts: number;
  remoteRemovals: number;
  renewals: number;
  errors: number;
  resyncs: number;
}

export const topicHashKey = (topicHex: string) => `p2p:topic:{${topicHex}}`;
export const topicChannel = (topicHex: string) => `p2p:topic:{${topicHex}}:ev`;
const CHANNEL_RE = /^p2p:topic:\{([0-9a-f]{32})\}:ev$/;

// Delete a membership's field only if this instance wrote it: after a move, the new instance's stays.
const DELETE_IF_OURS = `
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v and string.sub(v, 9, 24) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0`;

export function packTopicValue(expiresAt: number, instance: Buffer, kind: TopicKind, encoded: Buffer): Buffer {
  const v = Buffer.allocUnsafe(VALUE_HEAD + encoded.length);
  v.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(expiresAt))), 0);
  instance.copy(v, 8);
  v[8 + INSTANCE_ID_BYTES] = kind;
  encoded.copy(v, VALUE_HEAD);
  return v;
}

/** A stored membership, checked: the topicPeer must decode, name this topic, and match the field it is under. */
export function unpackTopicValue(
  v: Buffer,
  topic: Buffer,
  field?: string,
): { expiresAt: number; instance: Buffer; kind: TopicKind; partner: TopicPartner; field: string } | undefined {
  if (v.length <= VALUE_HEAD || v.length > VALUE_HEAD + MAX_MEMBER_BYTES) return undefined;
  const kind = v[8 + INSTANCE_ID_BYTES];
  if (kind > TopicKind.Watcher) return undefined;
  const d = decodeTopic(v.subarray(VALUE_HEAD));
  if (!d.ok || d.value.type !== 'topicPeer' || !d.value.topic.equals(topic)) return undefined;
  const partner = d.value.partner;
  const f = memberField(partner.clientId, partner.reflexive);
  if (field !== undefined && f !== field) return undefined;
  return { expiresAt: Number(v.readBigUInt64BE(0)), instance: v.subarray(8, 8 + INSTANCE_ID_BYTES), kind: kind as TopicKind, partner, field: f };
}

// The batched renewal: one script call per chunk of topics instead of two commands per topic (ioredis
// spends ~10 µs of CPU per command; this is what made renewals the instance's main Redis cost). ARGV:
// ttl, then per key its member count and that many (field, value) pairs. The keys of one call span hash
// slots: fine on a single Redis (what the instances use), not on a Redis Cluster.
const RENEW = `
local ttl = ARGV[1]
local a = 2
for _, key in ipairs(KEYS) do
  local n = tonumber(ARGV[a])
  a = a + 1
  for _ = 1, n do
    redis.call('HSET', key, ARGV[a], ARGV[a + 1])
    a = a + 2
  end
  redis.call('PEXPIRE', key, ttl)
end
return #KEYS`;

function packEvent(op: Op, instance: Buffer, kind: TopicKind, encoded: Buffer): Buffer {
  return Buffer.concat([Buffer.from([op]), instance, Buffer.from([kind]), encoded]);
}

interface Change {
  op: Op;
  m: LocalTopicMember;
}

export class RedisTopicRegistry implements TopicObserver {
  readonly instanceId: Buffer;
  private readonly opts: TopicRegistryOptions;
  private readonly wall: () => number;
  private readonly cmd: Redis;
  private readonly sub: Redis;
  private host?: TopicClusterHost;
  private readonly subscribed = new Set<string>();
  private readonly subscribing = new Map<string, Promise<void>>();
  private pending = new Map<string, Change>();
  /**
   * When each remote member (topic hex/field) was last confirmed, by an event or a read. A read only drops
   * members it should have seen: one confirmed after the read was sent (an event that overtook the
   * reply, which comes on another connection) is not dropped by that stale snapshot.
   */
  private readonly seenAt = new Map<string, number>();
  /** When a remote member was said to leave: a read sent before that must not bring it back. */
  private readonly goneAt = new Map<string, number>();
  private flushQueued = false;
  private renewTimer?: NodeJS.Timeout;
  private up = false;
  private wasUp = false;
  private resyncDue = true;
  private closed = false;
  private readonly counters = { published: 0, received: 0, remoteUpserts: 0, remoteRemovals: 0, renewals: 0, errors: 0, resyncs: 0 };

  constructor(opts: TopicRegistryOptions) {
    this.opts = opts;
    this.instanceId = opts.instanceId ?? randomBytes(INSTANCE_ID_BYTES);
    this.wall = opts.wallClock ?? Date.now;
    ({ cmd: this.cmd, sub: this.sub } = openRedisPair(opts.url, 'p2p-rendezvous-topics', opts));
    this.cmd.defineCommand('p2pDeleteIfOurs', { numberOfKeys: 1, lua: DELETE_IF_OURS });
    this.cmd.defineCommand('p2pRenewTopics', { lua: RENEW });
    this.cmd.on('ready', () => this.onReady());
    this.cmd.on('close', () => this.onDown());
    // The subscriber reconnects on its own (ioredis re-subscribes): publications missed meanwhile are
    // made good by a resync once both connections are back.
    this.sub.on('ready', () => this.maybeResync());
    this.sub.on('close', () => (this.resyncDue = true));
    this.sub.on('smessageBuffer', (channel: Buffer, message: Buffer) => this.onEvent(channel.toString('latin1'), message));
  }

  get connected(): boolean {
    return this.up && this.sub.status === 'ready';
  }

  available(): boolean {
    return this.connected;
  }

  stats(): TopicRegistryStats {
    return { connected: this.connected, subscribedTopics: this.subscribed.size, ...this.counters };
  }

  async start(host: TopicClusterHost): Promise<void> {
    this.host = host;
    await Promise.all([this.cmd.connect(), this.sub.connect()]).catch((e: Error) => {
      this.opts.logger?.warn('redis-unavailable', { error: e.message, for: 'topics' });
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

  // ---- TopicObserver: called synchronously by the table; the Redis work runs behind it, batched.

  changed(m: LocalTopicMember): void {
    this.queue(m, Op.Join);
  }

  removed(m: LocalTopicMember): void {
    this.queue(m, Op.Leave);
  }

  private changeKey(m: LocalTopicMember): string {
    return `${m.topic.toString('hex')}/${m.field}`;
  }

  private queue(m: LocalTopicMember, op: Op): void {
    if (!this.up) return; // written by the resync when Redis is back
    this.pending.set(this.changeKey(m), { op, m });
    if (this.flushQueued) return;
    this.flushQueued = true;
    // One pipeline for everything one datagram (or one expiry pass) changed.
    setImmediate(() => {
      this.flushQueued = false;
      void this.flush().catch((e) => this.failed('flush', e));
    });
  }

  private failed(what: string, e: unknown): void {
    this.counters.errors++;
    this.opts.logger?.debug('redis-op-failed', { op: what, error: (e as Error).message });
  }

  private subscribe(topicHex: string): Promise<void> {
    if (this.subscribed.has(topicHex)) return Promise.resolve();
    let p = this.subscribing.get(topicHex);
    if (!p) {
      p = this.sub.ssubscribe(topicChannel(topicHex)).then(
        () => {
          this.subscribed.add(topicHex);
          this.subscribing.delete(topicHex);
        },
        (e: unknown) => {
          this.subscribing.delete(topicHex);
          throw e;
        },
      );
      this.subscribing.set(topicHex, p);
    }
    return p;
  }

  private async unsubscribeIdle(topics: Iterable<Buffer>): Promise<void> {
    for (const t of topics) {
      const hex = t.toString('hex');
      if (this.host?.hasLocalMembers(t) || !this.subscribed.delete(hex)) continue;
      try {
        await this.sub.sunsubscribe(topicChannel(hex));
      } catch (e) {
        this.failed('sunsubscribe', e);
      }
    }
  }

  private expiresAt(): number {
    // Renewed every renewEveryMs, so valid for two periods (one renewal may be late). A member's own expiry
    // is the table's business (it says `left`); this one only ends the members of an instance that died
    // without a word: read at the next renewal, they are gone for their partners within 3 periods.
    return this.wall() + 2 * this.opts.renewEveryMs;
  }

  private hashTtl(): number {
    return this.opts.expiryMs * 2 + this.opts.renewEveryMs;
  }

  private async flush(): Promise<void> {
    const batch = [...this.pending.values()];
    this.pending = new Map();
    if (!batch.length || !this.up) return;
    const t0 = performance.now();
    // Subscribed before publishing and reading (the meeting guarantee above).
    const joins = batch.filter((c) => c.op !== Op.Leave);
    await Promise.all(joins.map((c) => this.subscribe(c.m.topic.toString('hex'))));
    const p = this.cmd.pipeline();
    const reads = new Map<number, Buffer>();
    const exp = this.expiresAt();
    const sentAt = performance.now();
    for (const { op, m } of batch) {
      const hex = m.topic.toString('hex');
      const key = topicHashKey(hex);
      if (op === Op.Leave) {
        (p as unknown as { p2pDeleteIfOurs(k: string, f: string, i: Buffer): void }).p2pDeleteIfOurs(key, m.field, this.instanceId);
        p.spublish(topicChannel(hex), packEvent(Op.Leave, this.instanceId, m.kind, m.encoded));
      } else {
        p.hset(key, m.field, packTopicValue(exp, this.instanceId, m.kind, m.encoded));
        p.pexpire(key, this.hashTtl());
        p.spublish(topicChannel(hex), packEvent(op, this.instanceId, m.kind, m.encoded));
        reads.set(p.length, m.topic);
        p.hgetallBuffer(key);
      }
      this.counters.published++;
    }
    const res = await p.exec();
    this.opts.onLatency?.('topic-announce', (performance.now() - t0) / 1000);
    // A joiner's read only adds: dropping is for the renewal's reads.
    this.readBack(res, reads, sentAt, false);
    await this.unsubscribeIdle(batch.filter((c) => c.op === Op.Leave).map((c) => c.m.topic));
  }

  /** The HGETALL replies of a pipeline, by their position in it; `dropSince`: drop what they lack (see seenAt). */
  private readBack(res: [Error | null, unknown][] | null, reads: Map<number, Buffer>, sentAt: number, drop: boolean): void {
    for (const [i, topic] of reads) {
      const r = res?.[i];
      if (r && !r[0] && r[1] && typeof r[1] === 'object') this.reconcile(topic, r[1] as Record<string, Buffer>, sentAt, drop);
      else if (r?.[0]) this.failed('read', r[0]);
    }
  }

  /**
   * Take a topic's hash as read (`sentAt`: when the read was sent): remote members live and valid are held
   * unless they left after that; with `drop`, those it lacks are dropped unless confirmed after that.
   */
  private reconcile(topic: Buffer | undefined, all: Record<string, Buffer>, sentAt: number, drop: boolean): void {
    const host = this.host;
    if (!topic || !host || !host.hasLocalMembers(topic)) return;
    const now = this.wall();
    const hex = topic.toString('hex');
    const live = new Set<string>();
    const out: TopicOutgoing[] = [];
    for (const [field, value] of Object.entries(all)) {
      const v = unpackTopicValue(value, topic, field);
      if (!v || v.expiresAt < now || v.instance.equals(this.instanceId)) continue;
      live.add(field);
      if ((this.goneAt.get(`${hex}/${field}`) ?? -Infinity) > sentAt) continue; // left after this snapshot
      out.push(...this.upsert(topic, hex, field, v.kind, v.partner));
    }
    if (drop) {
      for (const f of host.remoteFields(topic)) {
        if (live.has(f) || (this.seenAt.get(`${hex}/${f}`) ?? -Infinity) > sentAt) continue;
        out.push(...this.remove(topic, hex, f));
      }
    }
    if (out.length) host.push(out);
  }

  private upsert(topic: Buffer, hex: string, field: string, kind: TopicKind, partner: TopicPartner): TopicOutgoing[] {
    const out = this.host!.remoteUpsert(topic, field, kind, partner);
    if (this.host!.remoteFields(topic).includes(field)) this.seenAt.set(`${hex}/${field}`, performance.now());
    if (out.length) this.counters.remoteUpserts++;
    return out;
  }

  private remove(topic: Buffer, hex: string, field: string): TopicOutgoing[] {
    this.seenAt.delete(`${hex}/${field}`);
    const out = this.host!.remoteRemove(topic, field);
    if (out.length) this.counters.remoteRemovals++;
    return out;
  }

  /** Another instance's news about a topic we have members on. */
  private onEvent(channel: string, msg: Buffer): void {
    this.counters.received++;
    const ch = CHANNEL_RE.exec(channel);
    const host = this.host;
    if (!ch || !host || msg.length < 2 + INSTANCE_ID_BYTES + 1) return;
    const op = msg[0] as Op;
    if (msg.subarray(1, 1 + INSTANCE_ID_BYTES).equals(this.instanceId)) return;
    const topic = Buffer.from(ch[1], 'hex');
    const kind = msg[1 + INSTANCE_ID_BYTES];
    const body = msg.subarray(2 + INSTANCE_ID_BYTES);
    if (kind > TopicKind.Watcher || body.length > MAX_MEMBER_BYTES) return;
    const d = decodeTopic(body);
    if (!d.ok || d.value.type !== 'topicPeer' || !d.value.topic.equals(topic)) return;
    const partner = d.value.partner;
    const field = memberField(partner.clientId, partner.reflexive);
    let out: TopicOutgoing[];
    if (op === Op.Join || op === Op.Update) out = this.upsert(topic, ch[1], field, kind as TopicKind, partner);
    else if (op === Op.Leave) {
      this.goneAt.set(`${ch[1]}/${field}`, performance.now());
      out = this.remove(topic, ch[1], field);
    }
    else return;
    if (out.length) host.push(out);
  }

  /**
   * Renew every local membership (one pipeline per chunk of topics, once per refresh period), and read
   * again the topics that hold remote members: members of a dead instance leave once their time is up.
   */
  private async renew(): Promise<void> {
    if (!this.up || !this.host) return;
    if (this.resyncDue) this.maybeResync(); // a resync that failed is tried again here
    const t0 = performance.now();
    const topics = this.host.localTopics();
    let n = 0;
    for (let i = 0; i < topics.length; i += CHUNK) {
      const p = this.cmd.pipeline();
      const exp = this.expiresAt();
      const reads = new Map<number, Buffer>();
      const keys: string[] = [];
      const args: (string | Buffer | number)[] = [this.hashTtl()];
      const toRead: Buffer[] = [];
      for (const topic of topics.slice(i, i + CHUNK)) {
        const members = this.host.localMembers(topic);
        if (!members.length) continue;
        keys.push(topicHashKey(topic.toString('hex')));
        args.push(members.length);
        for (const m of members) args.push(m.field, packTopicValue(exp, this.instanceId, m.kind, m.encoded));
        n += members.length;
        if (this.host.remoteFields(topic).length) toRead.push(topic);
      }
      if (!keys.length) continue;
      (p as unknown as { p2pRenewTopics(numKeys: number, ...a: (string | Buffer | number)[]): void }).p2pRenewTopics(keys.length, ...keys, ...args);
      for (const topic of toRead) {
        reads.set(p.length, topic);
        p.hgetallBuffer(topicHashKey(topic.toString('hex')));
      }
      try {
        const sentAt = performance.now();
        this.readBack(await p.exec(), reads, sentAt, true);
      } catch (e) {
        this.failed('renew', e);
        return;
      }
    }
    const old = performance.now() - 2 * this.opts.renewEveryMs;
    for (const [k, t] of this.goneAt) if (t < old) this.goneAt.delete(k);
    // Forget confirmations of remote members the table no longer holds (their topic lost its last local member).
    for (const k of this.seenAt.keys()) {
      const [hex, field] = [k.slice(0, 32), k.slice(33)];
      if (!this.host.remoteFields(Buffer.from(hex, 'hex')).includes(field)) this.seenAt.delete(k);
    }
    this.counters.renewals += n;
    if (n) this.opts.onLatency?.('topic-renew', (performance.now() - t0) / 1000);
  }

  private onDown(): void {
    if (this.up) {
      this.opts.logger?.warn('redis-down', { note: 'topics within this instance keep working; contacts on other instances out of reach' });
      // Nothing said about other instances' members can be vouched for now: their partners here hear them go.
      const out = this.host?.dropRemote() ?? [];
      if (out.length) this.host?.push(out);
    }
    this.up = false;
    this.resyncDue = true;
    this.pending.clear();
  }

  private onReady(): void {
    this.up = true;
    this.maybeResync();
  }

  /** Once both connections are up (subscriptions before writes and reads, as for a join). */
  private maybeResync(): void {
    if (this.closed || !this.connected || !this.resyncDue) return;
    this.resyncDue = false;
    this.opts.logger?.info('redis-up', { for: 'topics', note: this.wasUp ? 'republishing local topic members' : 'connected' });
    this.wasUp = true;
    void this.resync().catch((e) => {
      this.resyncDue = true;
      this.failed('resync', e);
    });
  }

  /** After Redis comes back (possibly empty): write and publish every local membership, read every topic. */
  async resync(): Promise<void> {
    if (!this.host) return;
    const topics = this.host.localTopics();
    if (topics.length) this.counters.resyncs++;
    for (let i = 0; i < topics.length; i += CHUNK) {
      const chunk = topics.slice(i, i + CHUNK).filter((t) => this.host!.hasLocalMembers(t));
      await Promise.all(chunk.map((t) => this.subscribe(t.toString('hex'))));
      const p = this.cmd.pipeline();
      const exp = this.expiresAt();
      const reads = new Map<number, Buffer>();
      for (const topic of chunk) {
        const hex = topic.toString('hex');
        const key = topicHashKey(hex);
        for (const m of this.host.localMembers(topic)) {
          p.hset(key, m.field, packTopicValue(exp, this.instanceId, m.kind, m.encoded));
          p.spublish(topicChannel(hex), packEvent(Op.Update, this.instanceId, m.kind, m.encoded));
        }
        p.pexpire(key, this.hashTtl());
        reads.set(p.length, topic);
        p.hgetallBuffer(key);
      }
      const sentAt = performance.now();
      this.readBack(await p.exec(), reads, sentAt, true);
    }
  }
}
