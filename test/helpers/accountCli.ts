// Running the shipped binaries for the account tests: the rendezvous (dist/rendezvous.js) as a
// managed process, and `p2p-chat` (dist/peer.js) one command at a time, with --json.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { ManagedProcess, spawnManaged } from './proc';

export const ROOT = join(__dirname, '..', '..');
export const RENDEZVOUS_BIN = join(ROOT, 'dist', 'rendezvous.js');
export const PEER_BIN = join(ROOT, 'dist', 'peer.js');

export interface CliResult {
  code: number;
  events: Array<Record<string, unknown>>;
  stdout: string;
  stderr: string;
  /** The last JSON event (what the command concluded). */
  last: Record<string, unknown>;
}

export function runPeer(args: string[], timeoutMs = 20_000): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [PEER_BIN, ...args, '--json'], { cwd: ROOT, timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1) : 0;
      const events = stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      resolve({ code, events, stdout, stderr, last: events[events.length - 1] ?? {} });
    });
  });
}

export interface RunningRendezvous {
  proc: ManagedProcess;
  port: number;
  probePort: number;
}

/** Start the rendezvous binary; resolves once it logged `listening`. */
export async function startRendezvous(args: string[], name = 'rendezvous'): Promise<RunningRendezvous> {
  const proc = spawnManaged(process.execPath, [RENDEZVOUS_BIN, '--host', '127.0.0.1', ...args], { name, cwd: ROOT });
  const ev = await proc.waitForEvent((e) => e.event === 'listening', { timeoutMs: 10_000, what: 'listening' });
  return { proc, port: ev.port as number, probePort: ev.probePort as number };
}
