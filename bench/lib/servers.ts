// Server processes for the rendezvous benchmarks: the project's rendezvous (bundled from source),
// the bare Node STUN responder, and coturn. Each returns its pid (for /proc) and UDP port.
import { freeUdpPort } from '../../test/helpers/freePort';
import { ensureCoturn as ensureTestCoturn } from '../../test/helpers/coturn';
import { randomBytes } from 'node:crypto';
import * as dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { bundle } from './bundle';
import { Child, startChild } from './proc';

export interface ServerProcess {
  name: string;
  pid: number;
  port: number;
  child: Child;
  stop(): Promise<void>;
}

/** Rate limits and capacities opened wide: the load comes from one address and a few ports. */
export const RENDEZVOUS_BENCH_FLAGS = [
  '--rate', '1000000', '--burst', '1000000',
  '--stun-rate', '1000000', '--stun-burst', '1000000',
  '--max-per-address', '10000000', '--max-total-members', '10000000', '--max-rooms', '10000000',
  '--log-level', 'info',
];

export async function startRendezvousProcess(extraNodeFlags: string[] = [], extraFlags: string[] = []): Promise<ServerProcess> {
  const script = bundle('rendezvous/cli.ts');
  const child = startChild(process.execPath, [...extraNodeFlags, script, '--port', '0', '--host', '127.0.0.1', ...RENDEZVOUS_BENCH_FLAGS, ...extraFlags]);
  const listening = await child.waitFor((m) => m.event === 'listening', 20_000);
  return { name: 'rendezvous', pid: child.pid, port: listening.port as number, child, stop: () => child.stop() };
}

export async function startBareStun(): Promise<ServerProcess> {
  const child = startChild(process.execPath, [bundle('bench/children/bareStun.ts')]);
  const m = await child.waitFor((x) => typeof x.port === 'number', 20_000);
  return { name: 'bare Node STUN', pid: child.pid, port: m.port as number, child, stop: () => child.stop() };
}

/** Whether coturn is installed (test/apt-packages.txt lists it). Returns why it is unavailable, or undefined. */
export function ensureCoturn(log: (l: string) => void): string | undefined {
  try {
    ensureTestCoturn();
    return undefined;
  } catch (e) {
    log((e as Error).message);
    return (e as Error).message;
  }
}

export function stunAnswers(port: number, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const req = Buffer.alloc(20);
    req.writeUInt16BE(1, 0);
    req.writeUInt32BE(0x2112a442, 4);
    randomBytes(12).copy(req, 8);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      clearInterval(again);
      s.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), ms);
    s.on('message', (m) => {
      if (m.length >= 20 && m[0] === 1 && m[1] === 1) done(true);
    });
    s.on('error', () => undefined);
    const send = () => s.send(req, port, '127.0.0.1');
    const again = setInterval(send, 100);
    send();
  });
}

/** coturn as a plain STUN server on loopback (-S: TURN requests ignored), default threads. */
export async function startCoturn(): Promise<ServerProcess> {
  const port = await freeUdpPort();
  const dir = mkdtempSync(path.join(tmpdir(), 'p2p-bench-coturn-'));
  const child = startChild('turnserver', [
    '-n',
    '--stun-only',
    '--listening-ip=127.0.0.1',
    `--listening-port=${port}`,
    '--no-tls',
    '--no-dtls',
    '--no-tcp',
    '--no-cli',
    `--userdb=${path.join(dir, 'turndb')}`,
    `--pidfile=${path.join(dir, 'turnserver.pid')}`,
    '--log-file=stdout',
    '--simple-log',
  ]);
  if (!(await stunAnswers(port, 5000))) {
    const err = child.stderr();
    await child.stop();
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`coturn did not answer STUN on ${port}: ${err.slice(-300)}`);
  }
  return {
    name: 'coturn',
    pid: child.pid,
    port,
    child,
    async stop() {
      await child.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
