// The `p2p-chat-rendezvous` binary (bundled to dist/rendezvous.js). Reads flags and environment,
// starts the server, and on SIGTERM/SIGINT closes the sockets without sending anything, logs the
// final stats and exits 0.
import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { normaliseAddress } from '../extension/core/wire/endpoint';
import { parseCli, usage } from './args';
import { createLogger } from './log';
import { RendezvousServer } from './server';
import { Directory } from './directory';
import { FileStore } from './store/fileStore';
import { MemoryStore } from './store/memoryStore';
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
  const dir = config.directory;
  let store: Store;
  try {
    store = dir.dataDir
      ? await FileStore.open(dir.dataDir, {
          onLoad: (r) => (r.droppedBytes ? log.warn('store-tail-dropped', { ...r }) : log.info('store-loaded', { frames: r.frames, bytes: r.bytes })),
        })
      : new MemoryStore();
  } catch (err) {
    log.error('store-failed', { dataDir: dir.dataDir, error: (err as Error).message });
    return 1;
  }
  const directory = await Directory.open(store, {
    maxAccounts: dir.maxAccounts,
    signup: dir.signup,
    // A burst of 5 (fewer if the hourly rate is lower), or one second's worth at very high rates.
    signupRate: { perSecond: dir.signupsPerHour / 3600, burst: Math.min(dir.signupsPerHour, Math.max(5, Math.ceil(dir.signupsPerHour / 3600))) },
    lookupRate: { perSecond: dir.lookupsPerSecond, burst: 2 * dir.lookupsPerSecond },
  });
  log.info('directory', { accounts: directory.accounts, dataDir: dir.dataDir ?? '(memory: accounts are lost at exit)', signup: dir.signup, maxAccounts: dir.maxAccounts });
  const server = new RendezvousServer({ ...options, directory });
  try {
    await server.start();
  } catch (err) {
    log.error('start-failed', { error: (err as Error).message });
    await store.close();
    return 1;
  }
  if (config.statsIntervalSeconds > 0) {
    setInterval(() => log.info('stats', { ...server.stats() }), config.statsIntervalSeconds * 1000).unref();
  }
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    void server.stop().then(async () => {
      await store.close().catch(() => undefined);
      const cpu = process.cpuUsage();
      log.info('stopped', { signal, cpuMs: { user: Math.round(cpu.user / 1000), system: Math.round(cpu.system / 1000) }, stats: server.stats() });
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
