// A real redis-server (Debian's 7.0) for tests: on loopback, its own port and data directory, AOF
// persistence (fsync every second as in the compose file, or on every write), in the
// foreground in its own process group. stop() is a clean shutdown, kill() is `kill -9`; start()
// again reuses the port and the directory, so a restart finds what was written before.
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireTools } from './tools';
import { freeTcpPort } from './freePort';

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) if (c.pid) try { process.kill(-c.pid, 'SIGKILL'); } catch { /* gone */ }
});

/**
 * Undefined when redis-server is on PATH, else why not (tests fail on it: no skipping). Nothing is installed
 * here: test/run-all.sh installs every package of test/apt-packages.txt (redis-server among them) first.
 */
export function redisMissing(): string | undefined {
  try {
    requireTools('the Redis tests', [{ bin: 'redis-server', pkg: 'redis-server' }]);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

function answersPing(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, host);
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    s.on('error', () => done(false));
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

export class RedisProcess {
  readonly dir: string;
  private proc?: ChildProcess;
  readonly log: string[] = [];
  fsync: 'always' | 'everysec' = 'everysec';

  private constructor(
    readonly host: string,
    readonly port: number,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'p2p-redis-'));
  }

  get url(): string {
    return `redis://${this.host}:${this.port}`;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** `fsync`: 'always' makes every acknowledged write survive kill -9; 'everysec' is the compose file's setting. */
  static async start(host = '127.0.0.1', fsync: 'always' | 'everysec' = 'everysec'): Promise<RedisProcess> {
    const missing = redisMissing();
    if (missing) throw new Error(missing);
    const r = new RedisProcess(host, await freeTcpPort(host));
    r.fsync = fsync;
    await r.start();
    return r;
  }

  async start(): Promise<void> {
    if (this.proc) throw new Error('already running');
    const args = [
      '--port', String(this.port), '--bind', this.host, '--dir', this.dir,
      '--appendonly', 'yes', '--appendfsync', this.fsync, '--save', '',
      '--daemonize', 'no', '--protected-mode', 'no', '--loglevel', 'warning',
    ];
    const proc = spawn('redis-server', args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(proc);
    this.proc = proc;
    const keep = (d: Buffer) => {
      this.log.push(...d.toString().split('\n').filter(Boolean));
      if (this.log.length > 200) this.log.splice(0, this.log.length - 200);
    };
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
    proc.on('exit', () => live.delete(proc));
    const until = Date.now() + 10_000;
    while (Date.now() < until) {
      if (proc.exitCode !== null) throw new Error(`redis-server exited: ${this.log.slice(-5).join(' | ')}`);
      if (await answersPing(this.port, this.host)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server did not answer on ${this.port}: ${this.log.slice(-5).join(' | ')}`);
  }

  private async signal(sig: NodeJS.Signals): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    try {
      process.kill(-p.pid!, sig);
    } catch {
      return;
    }
    await exited;
  }

  /** Clean shutdown (SIGTERM: Redis flushes its AOF). */
  stop(): Promise<void> {
    return this.signal('SIGTERM');
  }

  /** `kill -9`: only what was fsynced survives (appendfsync always: every acknowledged write). */
  kill(): Promise<void> {
    return this.signal('SIGKILL');
  }

  async destroy(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
