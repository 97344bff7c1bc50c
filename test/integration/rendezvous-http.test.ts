// The operator's HTTP port on a real server with a real redis-server: /healthz follows the sockets
// and Redis (down, then back), /metrics parses with an independent Prometheus text parser
// (parse-prometheus-text-format) and carries what the server did.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { RedisRoomRegistry } from '../../rendezvous/cluster/registry';
import { HttpFace } from '../../rendezvous/http';
import { silentLogger } from '../../rendezvous/log';
import { createMetrics } from '../../rendezvous/metrics';
import { RendezvousServer } from '../../rendezvous/server';
import { RedisProcess } from '../helpers/redis';
import { RendezvousTestClient } from '../helpers/rendezvousClient';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const parsePrometheus = require('parse-prometheus-text-format') as (text: string) => PromFamily[];

interface PromFamily {
  name: string;
  help: string;
  type: string;
  metrics: { value?: string; labels?: Record<string, string>; buckets?: Record<string, string>; count?: string; sum?: string }[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function get(url: string): Promise<{ status: number; body: string; type: string | null }> {
  const r = await fetch(url);
  return { status: r.status, body: await r.text(), type: r.headers.get('content-type') };
}

async function until(cond: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(50);
  }
}

describe('rendezvous HTTP: /healthz and /metrics', function () {
  this.timeout(30_000);
  let redis: RedisProcess;
  let server: RendezvousServer;
  let registry: RedisRoomRegistry;
  let face: HttpFace;
  let base: string;

  before(async () => {
    redis = await RedisProcess.start();
    const metricsRef: { m?: ReturnType<typeof createMetrics> } = {};
    registry = new RedisRoomRegistry({ url: redis.url, expiryMs: 6000, renewEveryMs: 2000, maxReconnectDelayMs: 200, onLatency: (op, s) => metricsRef.m?.observeRedis(op, s) });
    server = new RendezvousServer({ port: 0, host: '127.0.0.1', refreshSeconds: 2, logger: silentLogger, cluster: registry });
    await server.start();
    await registry.start(server);
    metricsRef.m = createMetrics({ server, registry, processMetrics: true });
    face = new HttpFace({ host: '127.0.0.1', port: 0, server, metrics: metricsRef.m, registry });
    const bound = await face.start();
    base = `http://127.0.0.1:${bound.port}`;
  });

  after(async () => {
    await face?.stop();
    await server?.stop();
    await registry?.stop();
    await redis?.destroy();
  });

  it('/metrics parses as Prometheus text and counts rooms, members, registrations, drops and Redis round trips', async () => {
    const port = server.ports!.port;
    const a = await RendezvousTestClient.open({ address: '127.0.0.1', port });
    const b = await RendezvousTestClient.open({ address: '127.0.0.1', port });
    try {
      const roomId = randomBytes(32);
      a.join({ roomId, peerId: randomBytes(32), name: 'a', candidates: [] });
      b.join({ roomId, peerId: randomBytes(32), name: 'b', candidates: [] });
      await a.waitFor(() => a.peers.size === 1, 3000);
      await b.waitFor(() => b.peers.size === 1, 3000);
      // A datagram that is neither ours nor STUN: one drop, reason "unknown".
      a.socket.send(Buffer.from('hello'), port, '127.0.0.1');
      await until(async () => server.stats().drops.unknown === 1, 2000, 'drop counted');
      await until(async () => registry.stats().published >= 2, 2000, 'joins published');

      const r = await get(`${base}/metrics`);
      assert.equal(r.status, 200);
      assert.match(r.type ?? '', /^text\/plain; version=0\.0\.4/);
      const families = parsePrometheus(r.body);
      const fam = (name: string) => {
        const f = families.find((x) => x.name === name);
        assert.ok(f, `${name} missing; have ${families.map((x) => x.name).join(', ')}`);
        return f;
      };
      const value = (name: string, labels: Record<string, string> = {}) => {
        const m = fam(name).metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v));
        assert.ok(m, `${name} ${JSON.stringify(labels)} missing`);
        return Number(m.value);
      };
      assert.equal(fam('p2p_rendezvous_rooms').type, 'GAUGE');
      assert.equal(value('p2p_rendezvous_rooms'), 1);
      assert.equal(value('p2p_rendezvous_members'), 2);
      assert.equal(value('p2p_rendezvous_up'), 1);
      assert.equal(fam('p2p_rendezvous_registrations_total').type, 'COUNTER');
      assert.ok(value('p2p_rendezvous_registrations_total') >= 4, 'two members, each with a cookie round');
      assert.equal(value('p2p_rendezvous_drops_total', { reason: 'unknown' }), 1);
      assert.equal(value('p2p_rendezvous_drops_total', { reason: 'malformed' }), 0);
      assert.equal(value('p2p_rendezvous_membership_changes_total', { kind: 'joined' }), 2);
      assert.equal(value('p2p_rendezvous_redis_connected'), 1);
      const lat = fam('p2p_rendezvous_redis_seconds');
      assert.equal(lat.type, 'HISTOGRAM');
      // (This parser keeps a histogram's buckets but not its labels, count or sum: those are checked in the text.)
      assert.ok(lat.metrics.some((m) => Number(m.buckets?.['+Inf']) >= 2), 'announce round trips observed');
      const count = /^p2p_rendezvous_redis_seconds_count\{op="announce"\} (\d+)$/m.exec(r.body);
      assert.ok(count && Number(count[1]) >= 2, 'announce count');
      const sum = /^p2p_rendezvous_redis_seconds_sum\{op="announce"\} ([\d.e-]+)$/m.exec(r.body);
      assert.ok(sum && Number(sum[1]) > 0 && Number(sum[1]) < 5, 'announce seconds');
      assert.ok(families.some((f) => f.name === 'process_cpu_seconds_total'), 'process metrics');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('/healthz: ready with sockets and Redis; 503 while Redis is down; ready again when it is back', async () => {
    let r = await get(`${base}/healthz`);
    assert.equal(r.status, 200);
    assert.deepEqual({ ...JSON.parse(r.body), redisMs: 0 }, { ready: true, sockets: true, redis: 'up', redisMs: 0 });
    await redis.kill();
    await until(async () => (await get(`${base}/healthz`)).status === 503, 5000, '503 with Redis down');
    r = await get(`${base}/healthz`);
    assert.equal(JSON.parse(r.body).redis, 'down');
    await redis.start();
    await until(async () => (await get(`${base}/healthz`)).status === 200, 5000, 'ready again');
  });

  it('answers 404 for unknown paths and contact pages without a directory, 405 for other methods', async () => {
    assert.equal((await get(`${base}/nope`)).status, 404);
    const page = await fetch(`${base}/@alice`);
    assert.equal(page.status, 404);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    assert.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 405);
  });

  it('/healthz is 503 once the UDP sockets are closed', async () => {
    await server.stop();
    const r = await get(`${base}/healthz`);
    assert.equal(r.status, 503);
    assert.equal(JSON.parse(r.body).sockets, false);
  });
});
