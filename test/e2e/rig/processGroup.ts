import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

/**
 * A child started as the leader of its own process group, so that stopping it also ends what it
 * started (code-server forks an extension host, file watchers, pty hosts...).
 */
export interface GroupProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves with the exit code (or signal name) once the leader has exited. */
  readonly exited: Promise<number | string>;
  /** True once the leader has exited. */
  hasExited(): boolean;
  /** SIGTERM to the whole group, SIGKILL after `graceMs`; resolves when the leader is gone. */
  stop(graceMs?: number): Promise<void>;
  /** The last `maxChars` characters of the log, for error messages. */
  logTail(maxChars?: number): string;
}

// Groups still alive, killed synchronously if this process exits without stopping them
// (a crashed test, an uncaught error): leaked editors would hold gigabytes of memory.
const live = new Set<number>();
let exitHookInstalled = false;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: already gone.
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pid of live) killGroup(pid, 'SIGKILL');
  });
}

export function spawnGroup(
  command: string,
  args: readonly string[],
  options: { env: NodeJS.ProcessEnv; cwd?: string; logFile: string },
): GroupProcess {
  installExitHook();
  const fd = openSync(options.logFile, 'a');
  const spawnOptions: SpawnOptions = {
    cwd: options.cwd,
    env: options.env,
    detached: true, // setsid(): the child leads a new process group
    stdio: ['ignore', fd, fd],
  };
  const child = spawn(command, [...args], spawnOptions);
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`failed to start ${command}`);
  const pid = child.pid;
  live.add(pid);
  let done = false;
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      resolve(code ?? signal ?? 'unknown');
    });
    child.once('error', (err) => {
      done = true;
      resolve(`spawn error: ${err.message}`);
    });
  });
  // Not unref'd on purpose: while it runs, the owner is expected to stop it.
  const logTail = (maxChars = 3000): string => {
    try {
      const text = readFileSync(options.logFile, 'utf8');
      return text.slice(-maxChars);
    } catch {
      return '';
    }
  };
  const stop = async (graceMs = 5000): Promise<void> => {
    if (!live.has(pid)) return exited.then(() => undefined);
    killGroup(pid, 'SIGTERM');
    const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
    // The leader may exit before its children; make sure nothing of the group lingers.
    killGroup(pid, 'SIGKILL');
    live.delete(pid);
  };
  return { child, pid, logFile: options.logFile, exited, hasExited: () => done, stop, logTail };
}
