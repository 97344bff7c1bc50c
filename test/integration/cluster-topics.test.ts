// Topics (contacts' presence, contact requests, DM meeting) across rendezvous instances sharing a real
// redis-server, each instance a real process on its own 127.0.0.x address:
//  - two contacts forced onto different instances (each lists only its own) sign up, exchange a contact
//    request, see each other's presence and open a DM, with the shipped terminal peer;
//  - kill -9 of the instance a pair topic lives on: both contacts' topics re-form on the next instance
//    within one refresh period + 2 s (its /metrics shows them), presence never blinks, and a pair
//    elsewhere sees nothing;
//  - Redis killed: a pair within one instance keeps its presence, a split pair is told offline and new
//    registrants hear that instances cannot share topics; Redis back: the split pair meets again.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { PairKeys, utcDay } from '../../extension/core/contacts/topics';
import type { PresenceStatus } from '../../extension/core/contacts/presence';
import type { TopicInstance } from '../../extension/core/contacts/topicRouter';
import { UdpPresenceHost } from '../../extension/core/net/udpPresenceHost';
import { generateKeyPair, type KeyPair } from '../../extension/core/noise';
import { rankInstances } from '../../extension/core/room/instances';
import { endpointKey } from '../../extension/core/wire/endpoint';
import { ErrorCode } from '../../extension/core/wire/rendezvous';
import { Instance } from '../helpers/clusterInstances';
import { spawnManaged, type JsonEvent, type ManagedProcess } from '../helpers/proc';
import { RedisProcess } from '../helpers/redis';

const REFRESH_S = 2;
const HOSTS = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
const root = join(__dirname, '../..');
const PEER = join(root, 'dist/peer.js');
const run = promisify(execFile);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!(await cond())) {
    if (performance.now() > end) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await sleep(20);
  }
}

/** A contact as the core runs it: presence over every listed instance, on its own socket. */
class Contact {
  readonly key: KeyPair = generateKeyPair();
  readonly log: { at: number; contact: string; status: PresenceStatus }[] = [];
  readonly errors: number[] = [];
  host!: UdpPresenceHost;
  constructor(readonly name: string, readonly instances: TopicInstance[]) {}
  get hex(): string {
    return this.key.publicKey.toString('hex');
  }
  async start(contacts: Contact[]): Promise<void> {
    this.host = new UdpPresenceHost(
      { identity: this.key, server: this.instances[0].endpoint, instances: this.instances, bindAddress: '127.0.0.1' },
      {
        presence: (contact, status) => this.log.push({ at: performance.now(), contact, status }),
        error: (code) => this.errors.push(code),
      },
    );
    this.host.service.setContacts(contacts.map((c) => ({ id: c.hex, staticKey: c.key.publicKey })), 0);
    await this.host.start();
  }
  status(c: Contact): PresenceStatus {
    return this.host.service.status(c.hex);
  }
  changesAbout(c: Contact, since: number): string[] {
    return this.log.filter((e) => e.contact === c.hex && e.at >= since).map((e) => e.status);
  }
  pairTopic(c: Contact): Buffer {
    return new PairKeys(this.key, c.key.publicKey).topic(utcDay(Date.now()));
  }
}

async function metric(inst: Instance, name: string): Promise<number> {
  const text = await (await fetch(`http://${inst.spec.host}:${inst.httpPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name));
  return line ? Number(line.split(' ').pop()) : NaN;
}
const localTopicMembers = (inst: Instance) => metric(inst, 'p2p_rendezvous_topic_memberships{where="local"}');

describe('topics across rendezvous instances sharing Redis', function () {
  this.timeout(180_000);
  let redis: RedisProcess;
  let instances: Instance[] = [];
  const contacts: Contact[] = [];
  const procs: ManagedProcess[] = [];
  let dir: string;

  const all = (): TopicInstance[] => instances.map((i) => ({ name: { host: i.spec.host, port: i.port }, endpoint: i.endpoint }));
  const only = (i: Instance): TopicInstance[] => [{ name: { host: i.spec.host, port: i.port }, endpoint: i.endpoint }];
  const rankedFor = (topic: Buffer) => rankInstances(all().map((x) => x.name), topic).map((n) => instances.find((i) => i.spec.host === n.host)!);

  async function pair(a: Contact, b: Contact): Promise<void> {
    contacts.push(a, b);
    await a.start([b]);
    await b.start([a]);
    await until(() => a.status(b) === 'online' && b.status(a) === 'online', 5000, `${a.name} and ${b.name} online`);
  }

  before(async () => {
    if (!existsSync(PEER)) throw new Error('run `node scripts/build.mjs` first (the test command does)');
    redis = await RedisProcess.start();
    instances = await Promise.all(HOSTS.map((host) => Instance.start({ host, redisUrl: redis.url, refreshSeconds: REFRESH_S, http: true })));
    dir = mkdtempSync(join(tmpdir(), 'p2p-cluster-topics-'));
  });

  after(async () => {
    for (const p of procs) await p.kill(500);
    await Promise.all(contacts.map((c) => c.host?.stop()));
    await Promise.all(instances.map((i) => i.stop()));
    await redis?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('two contacts on different instances: a contact request, presence both ways, and a DM (terminal peers)', async () => {
    const [A, B, C] = instances;
    const cli = async (who: string, args: string[]) => {
      try {
        const r = await run(process.execPath, [PEER, ...args, '--json', '--data-dir', join(dir, who)], { timeout: 30_000 });
        return { code: 0, events: r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as JsonEvent), stderr: r.stderr };
      } catch (e) {
        const err = e as { code?: number; stdout?: string; stderr?: string };
        return { code: err.code ?? -1, events: (err.stdout ?? '').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as JsonEvent), stderr: err.stderr ?? '' };
      }
    };
    const spawn = (who: string, args: string[]) => {
      const p = spawnManaged(process.execPath, [PEER, ...args, '--json', '--data-dir', join(dir, who)], { name: who });
      procs.push(p);
      return p;
    };
    // Accounts live in Redis: signed up at A, found through any instance.
    for (const who of ['alice', 'bob']) assert.equal((await cli(who, ['signup', who, '--rendezvous', A.key, '--display-name', who])).code, 0);
    // Forced apart (a skewed setting): bob lists the server's instances A and B (each of his topics goes
    // to whichever ranks first), alice only C. Every topic of theirs is split across instances.
    const bobServers = `${A.key},${B.key}`;
    const bob = spawn('bob', ['contacts', '--watch', '--rendezvous', bobServers]);
    await bob.waitForEvent((e) => e.event === 'online', { timeoutMs: 10_000 });
    const add = await cli('alice', ['contacts', 'add', `bob@${A.key}`, '--note', 'across instances', '--rendezvous', C.key]);
    assert.equal(add.code, 0, `request delivered from C to A/B: ${add.stderr}`);
    const req = await bob.waitForEvent((e) => e.event === 'request', { timeoutMs: 10_000, what: 'bob (A/B) gets alice’s request (from C)' });
    assert.equal(req.note, 'across instances');
    assert.equal((await cli('bob', ['accept', String(req.id), '--rendezvous', bobServers])).code, 0);

    const alice = spawn('alice', ['contacts', '--watch', '--rendezvous', C.key]);
    const online = await alice.waitForEvent((e) => e.event === 'online', { timeoutMs: 10_000 });
    const seen = await alice.waitForEvent((e) => e.event === 'presence' && e.displayName === 'bob' && e.presence === 'online', { timeoutMs: 5000, what: 'alice (C) sees bob (A/B) online' });
    await bob.waitForEvent((e) => e.event === 'presence' && e.displayName === 'alice' && e.presence === 'online', { timeoutMs: 5000, what: 'bob (A/B) sees alice (C) online' });
    const ms = Number(seen.t) - Number(online.t);
    process.stderr.write(`      presence across instances: online ${ms} ms after registering\n`);
    assert.ok(ms <= 2000, `online after ${ms} ms`);
    // Graceful quit: offline on C at once (the leave travels through Redis).
    const quitAt = Date.now();
    await bob.kill(2000);
    const off = await alice.waitForEvent((e) => e.event === 'presence' && e.displayName === 'bob' && e.presence === 'offline', { timeoutMs: 5000, what: 'bob offline after quit' });
    process.stderr.write(`      presence across instances: offline ${Number(off.t) - quitAt} ms after a graceful quit\n`);
    await alice.kill(1000);

    // The DM: alice through C, bob through A or B; the pair topic meets across instances.
    const dmA = spawn('alice', ['dm', 'bob', '--stay', '--rendezvous', C.key]);
    const dmB = spawn('bob', ['dm', 'alice', '--stay', '--rendezvous', bobServers]);
    const connected = (e: JsonEvent) => e.event === 'state' && (e.state as { kind: string }).kind === 'connected';
    await Promise.all([dmA.waitForEvent(connected, { timeoutMs: 15_000, what: 'alice connected' }), dmB.waitForEvent(connected, { timeoutMs: 15_000, what: 'bob connected' })]);
    dmA.writeLine('hello from alice');
    dmB.writeLine('hello from bob');
    await dmB.waitForEvent((e) => e.event === 'message' && (e.body as { text: string }).text === 'hello from alice', { timeoutMs: 10_000 });
    await dmA.waitForEvent((e) => e.event === 'message' && (e.body as { text: string }).text === 'hello from bob', { timeoutMs: 10_000 });
    await Promise.all([dmA.kill(1000), dmB.kill(1000)]);
  });

  it('kill -9 of the instance a pair topic lives on: it re-forms on the next one within one refresh period + 2 s; a pair elsewhere sees nothing', async () => {
    const alice = new Contact('alice', all());
    const bob = new Contact('bob', all());
    await pair(alice, bob);
    const topic = alice.pairTopic(bob);
    const [home, next] = rankedFor(topic);
    assert.equal(endpointKey(alice.host.service.client.serverFor(topic)!), home.key, 'HRW: the topic lives on its first-ranked instance');
    assert.equal(endpointKey(bob.host.service.client.serverFor(topic)!), home.key);
    // A pair whose topic ranks elsewhere.
    let carol: Contact, dave: Contact;
    do {
      carol = new Contact('carol', all());
      dave = new Contact('dave', all());
    } while (rankedFor(carol.pairTopic(dave))[0] === home);
    await pair(carol, dave);
    // A pair split across instances with one side only on the doomed one: when it dies with its
    // instance, the other side sees it go within 3 refresh periods (its record in Redis runs out).
    const other = instances.find((i) => i !== home)!;
    const erin = new Contact('erin', only(home));
    const frank = new Contact('frank', only(other));
    await pair(erin, frank);
    const before = await localTopicMembers(next);

    const killedAt = performance.now();
    await home.kill9();
    erin.host.kill(); // its instance died with it (no leave: the crash of both)
    const frankSaw = until(() => frank.status(erin) === 'offline', 3 * REFRESH_S * 1000 + 1000, 'frank sees erin gone').then(() => performance.now() - killedAt);
    await until(async () => (await localTopicMembers(next)) >= before + 2, REFRESH_S * 1000 + 4000, 'both registrations on the next instance');
    const ms = performance.now() - killedAt;
    process.stderr.write(`      kill -9: the pair topic re-formed on the next instance after ${Math.round(ms)} ms (refresh ${REFRESH_S} s)\n`);
    assert.ok(ms <= REFRESH_S * 1000 + 2000, `re-formed after ${Math.round(ms)} ms`);
    assert.equal(endpointKey(alice.host.service.client.serverFor(topic)!), next.key);
    assert.equal(endpointKey(bob.host.service.client.serverFor(topic)!), next.key);
    await sleep(REFRESH_S * 1000);
    assert.deepEqual(alice.changesAbout(bob, killedAt), [], 'alice never saw bob go');
    assert.deepEqual(bob.changesAbout(alice, killedAt), [], 'bob never saw alice go');
    assert.deepEqual(carol.changesAbout(dave, killedAt), [], 'a pair elsewhere sees nothing');
    assert.deepEqual(dave.changesAbout(carol, killedAt), []);
    const goneMs = await frankSaw;
    process.stderr.write(`      kill -9 of an instance and its only client: the partner on another instance saw it offline after ${Math.round(goneMs)} ms\n`);

    // Back: the topic goes home within a refresh period (the probe), and the fallback is left.
    await home.run();
    await until(() => endpointKey(alice.host.service.client.serverFor(topic)!) === home.key && endpointKey(bob.host.service.client.serverFor(topic)!) === home.key, REFRESH_S * 1000 + 3000, 'home again');
    await until(() => alice.status(bob) === 'online' && bob.status(alice) === 'online', 3000, 'still online at home');
  });

  it('Redis down: a pair within one instance keeps its presence, a split pair goes offline and registrants are told; Redis back: it meets again', async () => {
    const [A, B] = instances;
    const alice = new Contact('alice', only(A));
    const bob = new Contact('bob', only(B));
    await pair(alice, bob); // split: only Redis brings them together
    const carol = new Contact('carol', only(A));
    const dave = new Contact('dave', only(A));
    await pair(carol, dave);

    const downAt = performance.now();
    await redis.kill();
    await until(() => alice.status(bob) === 'offline' && bob.status(alice) === 'offline', 5000, 'the split pair cannot be vouched for');
    process.stderr.write(`      Redis killed: the split pair shown offline after ${Math.round(performance.now() - downAt)} ms\n`);
    // A new topic while Redis is away: registered (within the instance) with a notice.
    const erin = new Contact('erin', only(A));
    contacts.push(erin);
    await erin.start([alice]);
    await until(() => erin.errors.includes(ErrorCode.SharedStateUnavailable), 5000, 'erin told that instances cannot share topics');
    await sleep(REFRESH_S * 1000 * 2);
    assert.deepEqual(carol.changesAbout(dave, downAt), [], 'the pair within one instance saw nothing');
    assert.equal(carol.status(dave), 'online');

    const upAt = performance.now();
    await redis.start();
    await until(() => alice.status(bob) === 'online' && bob.status(alice) === 'online', REFRESH_S * 1000 + 5000, 'the split pair meets again');
    process.stderr.write(`      Redis back: the split pair online again after ${Math.round(performance.now() - upAt)} ms\n`);
    assert.deepEqual(carol.changesAbout(dave, downAt), []);
  });
});
