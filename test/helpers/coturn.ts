// A real coturn on loopback for integration tests (installed by test/run-all.sh, checked here), run in
// the foreground in its own process group with a throwaway userdb/pidfile, always stopped.
import { freeUdpPort } from './freePort';
import { ChildProcess, spawn } from 'node:child_process';
import { requireTools } from './tools';
import { randomBytes } from 'node:crypto';
import * as dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeStun, encodeStun, Method, StunClass } from '../../extension/core/relay/stunCodec';
import { Endpoint } from '../../extension/core/wire/endpoint';

export interface Coturn {
  server: Endpoint;
  secret: string;
  realm: string;
  /** coturn's stdout/stderr lines, for failure messages. */
  log: string[];
  stop(): Promise<void>;
}

export interface CoturnOptions {
  realm?: string;
  /** Extra turnserver flags, e.g. `--max-allocate-lifetime=6`. */
  args?: string[];
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) if (c.pid) try { process.kill(-c.pid, 'SIGKILL'); } catch { /* gone */ }
});

/** Throws, naming the package, when coturn's turnserver is not installed (test/run-all.sh installs it). */
export function ensureCoturn(): void {
  requireTools('the coturn tests', [{ bin: 'turnserver', pkg: 'coturn' }]);
}

/** One STUN Binding round trip; true when the server answered within `ms`. */
function answers(server: Endpoint, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const txid = randomBytes(12);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      s.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), ms);
    s.on('message', (msg) => {
      const d = decodeStun(msg);
      if (d.ok && d.value.txid.equals(txid)) done(true);
    });
    s.on('error', () => done(false));
    s.send(encodeStun({ method: Method.Binding, cls: StunClass.Request, txid, attrs: [] }), server.port, server.address);
  });
}

/**
 * The turnserver command line every test uses: UDP only, coturn's REST shared-secret credentials (what the
 * rendezvous hands out), state files in `dir`, log on stdout. The loopback helper and the NAT lab add theirs.
 */
export function coturnArgs(o: { ip: string; port: number; minPort: number; maxPort: number; secret: string; realm: string; dir: string }): string[] {
  return [
    '-n',
    `--listening-ip=${o.ip}`,
    `--listening-port=${o.port}`,
    `--relay-ip=${o.ip}`,
    `--min-port=${o.minPort}`,
    `--max-port=${o.maxPort}`,
    '--use-auth-secret',
    `--static-auth-secret=${o.secret}`,
    `--realm=${o.realm}`,
    '--no-tls',
    '--no-dtls',
    '--no-tcp',
    '--no-tcp-relay',
    '--no-cli',
    '--fingerprint',
    `--userdb=${join(o.dir, 'turndb')}`,
    `--pidfile=${join(o.dir, 'turnserver.pid')}`,
    '--log-file=stdout',
    '--simple-log',
  ];
}

export async function startCoturn(opts: CoturnOptions = {}): Promise<Coturn> {
  const realm = opts.realm ?? 'p2p.test';
  const secret = randomBytes(12).toString('hex');
  let lastError = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freeUdpPort();
    // A small relay range picked at random: parallel test runs rarely collide, and coturn skips busy ports.
    const minPort = 40000 + Math.floor(Math.random() * 20000);
    const dir = mkdtempSync(join(tmpdir(), 'coturn-'));
    const args = [
      ...coturnArgs({ ip: '127.0.0.1', port, minPort, maxPort: minPort + 31, secret, realm, dir }),
      '--allow-loopback-peers',
      '--no-multicast-peers',
      ...(opts.args ?? []),
    ];
    const child = spawn('turnserver', args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    const log: string[] = [];
    const collect = (b: Buffer) => log.push(...b.toString().split('\n').filter(Boolean));
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    const exited = new Promise<void>((r) => child.once('close', () => r()));
    const stop = async () => {
      if (child.exitCode === null && child.signalCode === null) {
        try { process.kill(-child.pid!, 'SIGTERM'); } catch { /* gone */ }
        const killer = setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } }, 2000);
        await exited;
        clearTimeout(killer);
      }
      live.delete(child);
      rmSync(dir, { recursive: true, force: true });
    };
    const server = { address: '127.0.0.1', port };
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && child.exitCode === null) {
      if (await answers(server, 200)) return { server, secret, realm, log, stop };
    }
    lastError = `turnserver did not answer on ${port}: ${log.slice(-5).join(' | ')}`;
    await stop();
  }
  throw new Error(lastError);
}
