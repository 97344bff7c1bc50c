// Where the figures came from: CPU, cores, memory, kernel, Node, and how busy the machine was.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as os from 'node:os';

export interface Machine {
  cpu: string;
  cores: number;
  memory: string;
  os: string;
  node: string;
  date: string;
  /** 1-minute load average when the run started: others share these cores. */
  loadAtStart: number;
  hypervisor?: string;
}

export function describeMachine(): Machine {
  const cpus = os.cpus();
  let hypervisor: string | undefined;
  try {
    const lscpu = execFileSync('lscpu', { encoding: 'utf8' });
    hypervisor = /Hypervisor vendor:\s*(.+)/.exec(lscpu)?.[1]?.trim();
  } catch {
    // lscpu missing: not worth failing for
  }
  let distro = '';
  try {
    distro = /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? '';
  } catch {
    // not Linux
  }
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    os: `${distro || os.type()} (kernel ${os.release()})`,
    node: process.version,
    date: new Date().toISOString(),
    loadAtStart: os.loadavg()[0],
    ...(hypervisor ? { hypervisor } : {}),
  };
}
