// /metrics: the server's own counters in Prometheus text, through prom-client. Everything is read
// from ServerStats (and the registry's stats) at scrape time, so the UDP path pays nothing for it;
// only Redis round-trip durations are observed as they happen (a histogram).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RedisRoomRegistry } from './cluster/registry';
import type { RedisTopicRegistry } from './cluster/topicRegistry';
import type { RendezvousServer } from './server';

/** What the account directory and the mailbox report, once they run on this instance. */
export interface DirectoryMetricsSource {
  accounts(): number | Promise<number>;
}
export interface MailboxMetricsSource {
  envelopes(): number | Promise<number>;
  bytes(): number | Promise<number>;
}

export interface MetricsSources {
  server: RendezvousServer;
  registry?: RedisRoomRegistry;
  topicRegistry?: RedisTopicRegistry;
  directory?: DirectoryMetricsSource;
  mailbox?: MailboxMetricsSource;
  /** Node's process metrics (CPU, heap, event loop lag) under the standard names. */
  processMetrics?: boolean;
}

export interface Metrics {
  registry: Registry;
  /** Feed for RedisRoomRegistry's onLatency (and the store's, once it has one). */
  observeRedis(op: string, seconds: number): void;
  render(): Promise<string>;
}

/** A counter whose value is owned elsewhere (a monotonic stat): reset and set at each scrape. */
function mirroredCounter(registry: Registry, name: string, help: string, labelNames: string[], read: (c: Counter<string>) => void): void {
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      read(this);
    },
  });
}

export function createMetrics(src: MetricsSources): Metrics {
  const registry = new Registry();
  const p = 'p2p_rendezvous_';
  const stats = () => src.server.stats();
  new Gauge({ name: `${p}rooms`, help: 'Rooms with at least one member on this instance', registers: [registry], collect() { this.set(stats().rooms); } });
  new Gauge({ name: `${p}members`, help: 'Members registered on this instance', registers: [registry], collect() { this.set(stats().members); } });
  new Gauge({ name: `${p}sources`, help: 'Source endpoints whose rate state is kept', registers: [registry], collect() { this.set(stats().sources); } });
  new Gauge({ name: `${p}up`, help: '1 while both UDP sockets are open', registers: [registry], collect() { this.set(src.server.listening ? 1 : 0); } });
  mirroredCounter(registry, `${p}registrations_total`, 'Register requests decoded (joins and refreshes)', [], (c) => c.inc(stats().received.byType.register ?? 0));
  mirroredCounter(registry, `${p}membership_changes_total`, 'Membership changes by kind', ['kind'], (c) => {
    const t = stats().table;
    for (const kind of ['joined', 'left', 'expired', 'moved'] as const) c.inc({ kind }, t[kind]);
  });
  mirroredCounter(registry, `${p}refused_total`, 'Registrations refused by limit', ['reason'], (c) => {
    for (const [reason, n] of Object.entries(stats().table.refused)) c.inc({ reason }, n);
  });
  mirroredCounter(registry, `${p}drops_total`, 'Datagrams dropped, by reason', ['reason'], (c) => {
    for (const [reason, n] of Object.entries(stats().drops)) c.inc({ reason }, n);
  });
  mirroredCounter(registry, `${p}received_datagrams_total`, 'Datagrams received', [], (c) => c.inc(stats().received.datagrams));
  mirroredCounter(registry, `${p}received_bytes_total`, 'Bytes received', [], (c) => c.inc(stats().received.bytes));
  mirroredCounter(registry, `${p}sent_datagrams_total`, 'Datagrams sent', [], (c) => c.inc(stats().sent.datagrams));
  mirroredCounter(registry, `${p}sent_bytes_total`, 'Bytes sent', [], (c) => c.inc(stats().sent.bytes));
  mirroredCounter(registry, `${p}suppressed_replies_total`, 'Replies not sent (would amplify, error rate)', ['reason'], (c) => {
    const s = stats().suppressed;
    c.inc({ reason: 'would_amplify' }, s.wouldAmplify);
    c.inc({ reason: 'error_rate_limited' }, s.errorRateLimited);
  });
  mirroredCounter(registry, `${p}stun_answers_total`, 'STUN Binding answers', [], (c) => c.inc(stats().stun.answers));

  const redisSeconds = new Histogram({
    name: `${p}redis_seconds`,
    help: 'Redis round trips by operation (announce: join/move; withdraw: leave/expiry; renew: the batched TTL renewal; ping: health)',
    labelNames: ['op'],
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  if (src.registry) {
    const reg = src.registry;
    new Gauge({ name: `${p}redis_connected`, help: '1 while the shared-state connection to Redis is up', registers: [registry], collect() { this.set(reg.connected ? 1 : 0); } });
    new Gauge({ name: `${p}cluster_subscribed_rooms`, help: "Rooms whose shard channel this instance listens to", registers: [registry], collect() { this.set(reg.stats().subscribedRooms); } });
    mirroredCounter(registry, `${p}cluster_events_total`, 'Cross-instance events', ['kind'], (c) => {
      const s = reg.stats();
      c.inc({ kind: 'published' }, s.published);
      c.inc({ kind: 'received' }, s.received);
      c.inc({ kind: 'forwarded' }, s.forwarded);
      c.inc({ kind: 'remote_introduced' }, s.remoteIntroduced);
      c.inc({ kind: 'renewed' }, s.renewals);
      c.inc({ kind: 'resync' }, s.resyncs);
      c.inc({ kind: 'error' }, s.errors);
    });
  }
  // Topics (contacts' presence, requests, DM meeting): what this instance holds, local and from other instances.
  new Gauge({
    name: `${p}topic_memberships`,
    help: 'Topic memberships held here: registered at this instance (local) or at another one (remote, through Redis)',
    labelNames: ['where'],
    registers: [registry],
    collect() {
      const t = stats().topics;
      this.set({ where: 'local' }, t.memberships);
      this.set({ where: 'remote' }, t.remote);
    },
  });
  new Gauge({ name: `${p}topics`, help: 'Topics with at least one member here', registers: [registry], collect() { this.set(stats().topics.topics); } });
  if (src.topicRegistry) {
    const reg = src.topicRegistry;
    new Gauge({ name: `${p}cluster_subscribed_topics`, help: 'Topics whose shard channel this instance listens to', registers: [registry], collect() { this.set(reg.stats().subscribedTopics); } });
    mirroredCounter(registry, `${p}cluster_topic_events_total`, 'Cross-instance topic events', ['kind'], (c) => {
      const s = reg.stats();
      c.inc({ kind: 'published' }, s.published);
      c.inc({ kind: 'received' }, s.received);
      c.inc({ kind: 'remote_upserts' }, s.remoteUpserts);
      c.inc({ kind: 'remote_removals' }, s.remoteRemovals);
      c.inc({ kind: 'renewed' }, s.renewals);
      c.inc({ kind: 'resync' }, s.resyncs);
      c.inc({ kind: 'error' }, s.errors);
    });
  }
  if (src.directory) {
    const d = src.directory;
    new Gauge({ name: `${p}accounts`, help: 'Accounts in the directory', registers: [registry], async collect() { this.set(await d.accounts()); } });
  }
  if (src.mailbox) {
    const m = src.mailbox;
    new Gauge({ name: `${p}mailbox_envelopes`, help: 'Envelopes waiting in mailboxes', registers: [registry], async collect() { this.set(await m.envelopes()); } });
    new Gauge({ name: `${p}mailbox_bytes`, help: 'Bytes waiting in mailboxes', registers: [registry], async collect() { this.set(await m.bytes()); } });
  }
  if (src.processMetrics) collectDefaultMetrics({ register: registry });

  return {
    registry,
    observeRedis: (op, seconds) => redisSeconds.observe({ op }, seconds),
    render: () => registry.metrics(),
  };
}
