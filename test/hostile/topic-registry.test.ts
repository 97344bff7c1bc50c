// Hostile: the topic registry shared through Redis (rendezvous/cluster/topicRegistry.ts) must not be a
// traffic amplifier. Two real rendezvous instances in this process, a real redis-server, raw sockets:
//  - a source that never proved its address gets no more bytes than it sent, and causes no Redis write
//    and no push anywhere;
//  - no instance ever sends to an address learned from Redis or from a registrant's candidates: a
//    bystander named in a hostile registration hears nothing;
//  - a registrant's refreshes cost its partners on other instances nothing, and Redis nothing;
//  - topics nobody else holds cost the other instances nothing; the per-topic cap holds across instances.
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { encodeTopic, decodeTopic, TopicKind, type TopicEntry } from '../../extension/core/wire/topics';
import { decodeRendezvous } from '../../extension/core/wire/rendezvous';
import type { Endpoint } from '../../extension/core/wire/endpoint';
import { RedisTopicRegistry } from '../../rendezvous/cluster/topicRegistry';
import { createLogger } from '../../rendezvous/log';
import { RendezvousServer } from '../../rendezvous/server';
import { RedisProcess } from '../helpers/redis';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(10);
  }
}

/** A raw UDP client that counts everything it receives. */
class Raw {
  readonly got: Buffer[] = [];
  bytesIn = 0;
  bytesOut = 0;
  cookie = Buffer.alloc(16);
  readonly clientId = randomBytes(16);
  private constructor(readonly sock: dgram.Socket) {
    sock.on('message', (m) => {
      this.got.push(m);
      this.bytesIn += m.length;
      const d = decodeRendezvous(m);
      if (d.ok && d.value.type === 'cookie') this.cookie = Buffer.from(d.value.cookie);
    });
  }
  static async open(): Promise<Raw> {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    return new Raw(s);
  }
  get endpoint(): Endpoint {
    return { address: '127.0.0.1', port: this.sock.address().port };
  }
  send(to: number, data: Buffer): void {
    this.bytesOut += data.length;
    this.sock.send(data, to, '127.0.0.1');
  }
  register(to: number, topics: TopicEntry[], candidates: Endpoint[] = [], cookie = this.cookie, clientId = this.clientId): void {
    this.send(to, encodeTopic({ type: 'topicRegister', cookie, clientId, seq: 1, options: 0, flags: 0, candidates, topics }));
  }
  /** Register with a cookie (the first datagram earns it). */
  async registerVerified(to: number, topics: TopicEntry[], candidates: Endpoint[] = []): Promise<void> {
    const n = this.got.length;
    this.register(to, topics, candidates);
    await until(() => this.got.length > n, 2000, 'cookie');
    const before = this.got.length;
    this.register(to, topics, candidates);
    await until(() => this.got.slice(before).some((m) => m[2] === 0x32), 2000, 'ack');
  }
  peersAbout(topic: Buffer): number {
    return this.got.filter((m) => {
      const d = decodeTopic(m);
      return d.ok && d.value.type === 'topicPeer' && d.value.topic.equals(topic);
    }).length;
  }
  close(): void {
    this.sock.close();
  }
}

describe('hostile: the topic registry shared through Redis cannot amplify traffic', function () {
  this.timeout(60_000);
  let redis: RedisProcess;
  const servers: RendezvousServer[] = [];
  const registries: RedisTopicRegistry[] = [];
  const raws: Raw[] = [];
  let portA = 0;
  let portB = 0;

  before(async () => {
    redis = await RedisProcess.start();
    for (let i = 0; i < 2; i++) {
      const registry = new RedisTopicRegistry({ url: redis.url, expiryMs: 5000, renewEveryMs: 2000 });
      const server = new RendezvousServer({ host: '127.0.0.1', port: 0, refreshSeconds: 2, topicCluster: registry, topics: { maxMembersPerTopic: 4 }, logger: createLogger({ sink: () => undefined }) });
      const bound = await server.start();
      await registry.start(server.topicHost());
      await until(() => registry.connected, 5000, 'redis connected');
      servers.push(server);
      registries.push(registry);
      if (i === 0) portA = bound.port;
      else portB = bound.port;
    }
  });
  after(async () => {
    for (const r of raws) r.close();
    await Promise.all(servers.map((s) => s.stop()));
    await Promise.all(registries.map((r) => r.stop()));
    await redis?.destroy();
  });
  const raw = async () => {
    const r = await Raw.open();
    raws.push(r);
    return r;
  };

  it('unverified sources: never more bytes back than sent, no Redis write, no push on any instance', async () => {
    const victim = await raw();
    const topic = randomBytes(16);
    await victim.registerVerified(portA, [{ topic, kind: TopicKind.Host }]);
    const publishedB = registries[1].stats().published;
    const victimIn = victim.got.length;
    const spray = await raw();
    // 50 registers claiming the victim's topic plus 55 others, each from a source that never proved its address.
    const topics = [{ topic, kind: TopicKind.Visitor }, ...Array.from({ length: 55 }, () => ({ topic: randomBytes(16), kind: TopicKind.Peer }))];
    for (let i = 0; i < 50; i++) spray.register(portB, topics, [victim.endpoint], randomBytes(16));
    await sleep(800);
    process.stderr.write(`      unverified spray: ${spray.bytesIn} B back for ${spray.bytesOut} B sent\n`);
    assert.ok(spray.bytesIn <= spray.bytesOut);
    assert.equal(registries[1].stats().published, publishedB, 'no Redis write for an unverified source');
    assert.equal(victim.got.length, victimIn, 'the victim heard nothing');
    const s = servers[1].stats();
    assert.ok(s.unverified.bytesOut <= s.unverified.bytesIn);
  });

  it('a bystander named in a registration hears nothing; refreshes cost partners on other instances and Redis nothing', async () => {
    const host = await raw();
    const topic = randomBytes(16);
    await host.registerVerified(portA, [{ topic, kind: TopicKind.Host }]);
    const bystander = await raw();
    const attacker = await raw();
    const eight = Array.from({ length: 8 }, () => bystander.endpoint);
    await attacker.registerVerified(portB, [{ topic, kind: TopicKind.Visitor }], eight);
    await until(() => host.peersAbout(topic) === 1, 3000, 'the host hears of the visitor once (through Redis)');
    await until(() => attacker.peersAbout(topic) >= 1, 3000, 'the visitor hears of the host');
    const published = registries[1].stats().published;
    const hostIn = host.got.length;
    // 30 refreshes of the same registration (inside the per-source rate).
    for (let i = 0; i < 30; i++) {
      attacker.register(portB, [{ topic, kind: TopicKind.Visitor }], eight);
      await sleep(60);
    }
    await sleep(500);
    assert.equal(host.got.length, hostIn, 'refreshes reach no partner');
    assert.equal(registries[1].stats().published, published, 'refreshes write nothing to Redis');
    assert.equal(bystander.got.length, 0, 'nobody sends to an address a registrant named');
    for (const s of servers) assert.ok(s.stats().unverified.bytesOut <= s.stats().unverified.bytesIn);
  });

  it('topics nobody else holds cost other instances nothing; the per-topic cap holds across instances', async () => {
    const a0 = servers[0].stats().topics;
    const lonely = await raw();
    await lonely.registerVerified(portB, Array.from({ length: 56 }, () => ({ topic: randomBytes(16), kind: TopicKind.Peer })));
    await sleep(500);
    const a1 = servers[0].stats().topics;
    assert.equal(a1.remote, a0.remote, 'instance A holds nothing for topics without local members');
    assert.equal(a1.topics, a0.topics);

    // One host on A; twelve visitors on B. A holds at most the cap (4 members: the host and 3 remote).
    const host = await raw();
    const topic = randomBytes(16);
    await host.registerVerified(portA, [{ topic, kind: TopicKind.Host }]);
    const visitors = await Promise.all(Array.from({ length: 12 }, () => raw()));
    for (const v of visitors) await v.registerVerified(portB, [{ topic, kind: TopicKind.Visitor }]);
    await sleep(800);
    assert.ok(host.peersAbout(topic) <= 3, `the host heard of ${host.peersAbout(topic)} visitors`);
    assert.ok(servers[0].stats().topics.remote - a1.remote <= 3);
  });
});
