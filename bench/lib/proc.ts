// Child processes for the benchmarks, and what /proc says about them: CPU time and resident memory.
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');

let clkTck: number | undefined;
/** Clock ticks per second for /proc/<pid>/stat times (100 on Linux almost always). */
export function clockTicks(): number {
  if (clkTck === undefined) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

/** utime + stime of a process (all its threads), in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may contain spaces and parentheses: fields are counted after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / clockTicks();
}

/** Resident set size in bytes (VmRSS). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1] ?? NaN);
  return kb * 1024;
}

export interface Child {
  proc: ChildProcess;
  pid: number;
  /** Resolves with the first stdout line that parses as JSON and satisfies `match`. */
  waitFor(match: (msg: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  stderr(): string;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) {
    try {
      if (c.pid) process.kill(-c.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/**
 * Starts a program in its own process group (so stop() takes its children too) and parses its
 * stdout as JSON lines. Non-JSON lines are ignored.
 */
export function startChild(command: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Child {
  const proc = spawn(command, args, { cwd: opts.cwd ?? ROOT, env: opts.env ?? process.env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  live.add(proc);
  const messages: Record<string, unknown>[] = [];
  const waiters: { match: (m: Record<string, unknown>) => boolean; resolve: (m: Record<string, unknown>) => void }[] = [];
  let err = '';
  proc.stderr!.on('data', (b: Buffer) => {
    err = (err + b.toString()).slice(-8000);
  });
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    let m: Record<string, unknown>;
    try {
      m = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    if (typeof m !== 'object' || m === null) return;
    messages.push(m);
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i].match(m)) {
        waiters[i].resolve(m);
        waiters.splice(i, 1);
      }
    }
  });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return {
    proc,
    pid: proc.pid!,
    waitFor(match, timeoutMs = 30_000) {
      const found = messages.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${command} ${args.join(' ')}: no matching output in ${timeoutMs} ms\n${err}`)), timeoutMs);
        const onExit = () => reject(new Error(`${command} ${args.join(' ')} exited (${proc.exitCode ?? proc.signalCode})\n${err}`));
        proc.once('exit', onExit);
        waiters.push({
          match,
          resolve: (m) => {
            clearTimeout(timer);
            proc.off('exit', onExit);
            resolve(m);
          },
        });
      });
    },
    stderr: () => err,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        try {
          process.kill(-proc.pid!, 'SIGTERM');
        } catch {
          // gone
        }
        const killer = setTimeout(() => {
          try {
            process.kill(-proc.pid!, 'SIGKILL');
          } catch {
            // gone
          }
        }, 3000);
        await exited;
        clearTimeout(killer);
      }
      live.delete(proc);
    },
  };
}

/** A TypeScript child run the way the benchmark itself runs: node -r tsx/cjs. */
export function startTsChild(script: string, args: string[], nodeFlags: string[] = []): Child {
  return startChild(process.execPath, [...nodeFlags, '-r', 'tsx/cjs', path.join(ROOT, script), ...args]);
}
