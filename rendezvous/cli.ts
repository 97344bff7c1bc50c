// The `p2p-chat-rendezvous` binary (bundled to dist/rendezvous.js). Reads flags and environment,
// starts the server, and on SIGTERM/SIGINT closes the sockets without sending anything, logs the
// final stats and exits 0.
import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { normaliseAddress } from '../extension/core/wire/endpoint';
import { parseCli, usage } from './args';
import { createLogger } from './log';
import { RedisRoomRegistry } from './cluster/registry';
import { RedisTopicRegistry } from './cluster/topicRegistry';
import { directoryContacts } from './contactCards';
import { HttpFace } from './http';
import { createMetrics, Metrics } from './metrics';
import { RendezvousServer } from './server';
import { Directory } from './directory';
import { FileStore } from './store/fileStore';
import { MemoryStore } from './store/memoryStore';
import { RedisStore } from './store/redisStore';
import type { Store } from './store/store';

// Set by scripts/build.mjs; running from source (tsx) reads package.json instead.
declare const __VERSION__: string | undefined;
function version(): string {
  if (typeof __VERSION__ === 'string') return __VERSION__;
  try {
    return (JSON.parse(readFileSync(`${__dirname}/../package.json`, 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0-dev';
  }
}

async function main(): Promise<number | undefined> {
  const parsed = parseCli(process.argv.slice(2), process.env);
  if (parsed.kind === 'help') {
    process.stdout.write(usage() + '\n');
    return 0;
  }
  if (parsed.kind === 'version') {
    process.stdout.write(`p2p-chat-rendezvous ${version()}\n`);
    return 0;
  }
  if (parsed.kind === 'error') {
    process.stderr.write(`p2p-chat-rendezvous: ${parsed.message}\nTry --help.\n`);
    return 2;
  }
  const { config } = parsed;
  const log = createLogger({ level: config.logLevel });
  const options = { ...config.server, logger: log };
  if (config.turn) {
    const t = config.turn;
    let secret = t.secret;
    try {
      if (secret === undefined && t.secretFile) secret = readFileSync(t.secretFile, 'utf8').trim();
      const { address } = await lookup(t.host);
      options.turn = { server: { address: normaliseAddress(address), port: t.port }, secret: secret ?? '', ttlSeconds: t.ttlSeconds };
    } catch (err) {
      log.error('turn-config', { error: (err as Error).message });
      return 1;
    }
    if (!options.turn.secret) {
      log.error('turn-config', { error: 'empty TURN secret' });
      return 1;
    }
  }
  // Several instances: the room registry through Redis (rendezvous/cluster/registry.ts).
  let registry: RedisRoomRegistry | undefined;
  let topicRegistry: RedisTopicRegistry | undefined;
  let metrics: Metrics | undefined;
  const observeRedis = (op: string, s: number) => metrics?.observeRedis(op, s);
  if (config.redisUrl) {
    const refreshSeconds = options.refreshSeconds ?? 15;
    registry = new RedisRoomRegistry({
      url: config.redisUrl,
      expiryMs: options.expiryMs ?? 3 * refreshSeconds * 1000,
      renewEveryMs: refreshSeconds * 1000,
      logger: log,
      onLatency: observeRedis,
    });
    options.cluster = registry;
    // Topics (presence, contact requests, DM meeting) the same way, in their own hashes and channels.
    topicRegistry = new RedisTopicRegistry({
      url: config.redisUrl,
      expiryMs: 2.5 * refreshSeconds * 1000, // the topic table's expiry (rendezvous/topics.ts)
      renewEveryMs: refreshSeconds * 1000,
      instanceId: registry.instanceId,
      logger: log,
      onLatency: observeRedis,
    });
    options.topicCluster = topicRegistry;
  }
  // Accounts (and mailboxes): in Redis when instances share state, else under --data-dir, else in memory.
  const dir = config.directory;
  let store: Store;
  try {
    store = config.redisUrl
      ? await RedisStore.open(config.redisUrl, {
          onLatency: observeRedis,
          requireConnection: false,
          onConnectError: (e) => log.warn('redis-unavailable', { error: e.message, note: 'accounts unavailable until Redis answers' }),
        })
      : dir.dataDir
        ? await FileStore.open(dir.dataDir, {
            onLoad: (r) => (r.droppedBytes ? log.warn('store-tail-dropped', { ...r }) : log.info('store-loaded', { frames: r.frames, bytes: r.bytes })),
          })
        : new MemoryStore();
  } catch (err) {
    log.error('store-failed', { ...(config.redisUrl ? { redis: config.redisUrl } : { dataDir: dir.dataDir }), error: (err as Error).message });
    return 1;
  }
  // Counting accounts at start must not stop an instance whose Redis is away: it counts from 0 then.
  const countable: Store = config.redisUrl
    ? new Proxy(store, {
        get: (t, p) => (p === 'keys' ? (prefix: string) => t.keys(prefix).catch(() => []) : ((v: unknown) => (typeof v === 'function' ? v.bind(t) : v))(Reflect.get(t, p))),
      })
    : store;
  const directory = await Directory.open(countable, {
    maxAccounts: dir.maxAccounts,
    signup: dir.signup,
    // A burst of 5 (fewer if the hourly rate is lower), or one second's worth at very high rates.
    signupRate: { perSecond: dir.signupsPerHour / 3600, burst: Math.min(dir.signupsPerHour, Math.max(5, Math.ceil(dir.signupsPerHour / 3600))) },
    lookupRate: { perSecond: dir.lookupsPerSecond, burst: 2 * dir.lookupsPerSecond },
  });
  log.info('directory', {
    accounts: directory.accounts,
    store: config.redisUrl ? 'redis' : (dir.dataDir ?? '(memory: accounts are lost at exit)'),
    signup: dir.signup,
    maxAccounts: dir.maxAccounts,
  });
  const server = new RendezvousServer({ ...options, directory, store });
  try {
    await server.start();
    await registry?.start(server);
    await topicRegistry?.start(server.topicHost());
  } catch (err) {
    log.error('start-failed', { error: (err as Error).message });
    await store.close();
    return 1;
  }
  let httpFace: HttpFace | undefined;
  if (config.http) {
    metrics = createMetrics({ server, ...(registry ? { registry } : {}), ...(topicRegistry ? { topicRegistry } : {}), directory: { accounts: () => directory.accounts }, processMetrics: true });
    const publicName = config.publicName;
    httpFace = new HttpFace({
      ...config.http,
      server,
      metrics,
      ...(registry ? { registry } : {}),
      contacts: directoryContacts(directory, publicName, () => performance.timeOrigin + performance.now()),
      logger: log,
    });
    try {
      const bound = await httpFace.start();
      log.info('http-listening', bound);
    } catch (err) {
      log.error('start-failed', { error: `http: ${(err as Error).message}` });
      await server.stop();
      await registry?.stop();
      await topicRegistry?.stop();
      await store.close();
      return 1;
    }
  }
  if (config.statsIntervalSeconds > 0) {
    setInterval(() => log.info('stats', { ...server.stats() }), config.statsIntervalSeconds * 1000).unref();
  }
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    void Promise.all([server.stop(), httpFace?.stop(), registry?.stop(), topicRegistry?.stop()]).then(async () => {
      await store.close().catch(() => undefined);
      const cpu = process.cpuUsage();
      log.info('stopped', { signal, cpuMs: { user: Math.round(cpu.user / 1000), system: Math.round(cpu.system / 1000) }, stats: server.stats(), ...(registry ? { cluster: registry.stats() } : {}), ...(topicRegistry ? { topicCluster: topicRegistry.stats() } : {}) });
      // Exit by running out of work, not process.exit(): writes to a pipe are asynchronous and
      // the last log line would be cut. The timer is a backstop and does not keep the process alive.
      process.exitCode = 0;
      setTimeout(() => process.exit(0), 2000).unref();
    });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  return undefined; // keep running
}

main().then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`p2p-chat-rendezvous: ${(err as Error).stack ?? err}\n`);
    process.exitCode = 1;
  },
);
