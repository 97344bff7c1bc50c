// The shipped binary: build it, check --help/--version/bad flags, run it, pair two clients through
// it, check what it logs (JSON lines, no full ids), and stop it with SIGTERM and SIGINT.
import assert from 'node:assert/strict';
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { RendezvousTestClient } from '../helpers/rendezvousClient';

const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'dist', 'rendezvous.js');
const run = promisify(execFile);

interface Running {
  child: ChildProcess;
  lines: string[];
  waitFor(event: string, timeoutMs?: number): Promise<Record<string, unknown>>;
}

function start(args: string[], env: Record<string, string> = {}): Running {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters: (() => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => {
    lines.push(l);
    waiters.forEach((w) => w());
  });
  return {
    child,
    lines,
    waitFor: (event, timeoutMs = 5000) =>
      new Promise((resolve, reject) => {
        const look = () => {
          for (const l of lines) {
            const e = JSON.parse(l) as Record<string, unknown>;
            if (e.event === event) return resolve(e), true;
          }
          return false;
        };
        if (look()) return;
        const t = setTimeout(() => reject(new Error(`no "${event}" within ${timeoutMs} ms; got ${lines.join('\n')}`)), timeoutMs);
        waiters.push(() => look() && clearTimeout(t));
      }),
  };
}

const exited = (c: ChildProcess) => new Promise<number | null>((r) => (c.exitCode !== null ? r(c.exitCode) : c.once('exit', (code) => r(code))));

describe('rendezvous binary (dist/rendezvous.js)', function () {
  this.timeout(60_000);

  before(async () => {
    await run(process.execPath, ['scripts/build.mjs'], { cwd: ROOT });
  });

  it('--help, --version and a bad flag', async () => {
    const help = await run(process.execPath, [BIN, '--help']);
    assert.match(help.stdout, /^Usage: p2p-chat-rendezvous/);
    for (const flag of ['--port', '--probe-port', '--host', '--log-level', '--max-members', '--max-rooms', '--refresh', '--turn-server', '--turn-secret', '--turn-ttl', '--version']) {
      assert.ok(help.stdout.includes(flag), flag);
    }
    assert.match(help.stdout, /P2P_RENDEZVOUS_PORT/);
    const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;
    assert.equal((await run(process.execPath, [BIN, '--version'])).stdout.trim(), `p2p-chat-rendezvous ${version}`);
    await assert.rejects(run(process.execPath, [BIN, '--port', 'seven']), (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 2);
      assert.match(err.stderr, /--port must be a whole number/);
      return true;
    });
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`serves a pair, logs JSON without full ids, and exits 0 on ${signal} sending nothing`, async () => {
      const srv = start(['--host', '127.0.0.1', '--log-level', 'debug', '--max-members', '3'], { P2P_RENDEZVOUS_PORT: '0' });
      try {
        const listening = await srv.waitFor('listening');
        assert.equal(listening.maxMembersPerRoom, 3);
        const port = listening.port as number;
        assert.ok(port > 0 && listening.probePort !== port);
        const a = await RendezvousTestClient.open({ address: '127.0.0.1', port });
        const b = await RendezvousTestClient.open({ address: '127.0.0.1', port });
        const roomId = randomBytes(32);
        const ids = [randomBytes(32), randomBytes(32)];
        a.join({ roomId, peerId: ids[0], name: 'a', candidates: [] });
        b.join({ roomId, peerId: ids[1], name: 'b', candidates: [] });
        await a.waitFor(() => a.peers.size === 1, 3000);
        await b.waitFor(() => b.peers.size === 1, 3000);
        const received = a.counters.receivedDatagrams + b.counters.receivedDatagrams;
        srv.child.kill(signal);
        const stopped = await srv.waitFor('stopped');
        assert.equal(await exited(srv.child), 0);
        assert.equal(stopped.signal, signal);
        const stats = stopped.stats as { sent: { datagrams: number }; members: number };
        assert.equal(stats.members, 2);
        assert.equal(stats.sent.datagrams, received, 'nothing was sent on shutdown');
        await new Promise((r) => setTimeout(r, 100));
        assert.equal(a.counters.receivedDatagrams + b.counters.receivedDatagrams, received);
        await Promise.all([a.close(), b.close()]);

        const log = srv.lines.join('\n');
        for (const l of srv.lines) assert.doesNotThrow(() => JSON.parse(l), l);
        assert.ok(srv.lines.some((l) => JSON.parse(l).event === 'register'), 'debug shows registrations');
        for (const secret of [roomId, ...ids, a.cookie]) {
          assert.ok(!log.includes(secret.toString('hex')), 'a full id or cookie was logged');
          assert.ok(!log.includes(secret.toString('hex').slice(0, 16)), 'more than a short prefix was logged');
        }
      } finally {
        if (srv.child.exitCode === null) srv.child.kill('SIGKILL');
      }
    });
  }

  it('refuses to start on a port in use, with a clear log line and exit 1', async () => {
    const first = start(['--host', '127.0.0.1', '--port', '0']);
    try {
      const { port } = await first.waitFor('listening');
      const second = start(['--host', '127.0.0.1', '--port', String(port)]);
      const failed = await second.waitFor('start-failed');
      assert.match(String(failed.error), /EADDRINUSE/);
      assert.equal(await exited(second.child), 1);
    } finally {
      first.child.kill('SIGTERM');
      await exited(first.child);
    }
  });
});
