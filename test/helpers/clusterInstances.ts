// Rendezvous instances as real processes (rendezvous/cli.ts bundled from the current sources) on
// 127.0.0.x, sharing a real redis-server: what the cluster tests start, kill -9 and restart.
import * as dgram from 'node:dgram';
import { bundle } from '../../bench/lib/bundle';
import { Endpoint } from '../../extension/core/wire/endpoint';
import { freeTcpPort, freeUdpPort } from './freePort';
import { ManagedProcess } from './proc';

function udpFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.once('error', () => resolve(false));
    s.bind(port, host, () => s.close(() => resolve(true)));
  });
}

export interface InstanceSpec {
  host: string;
  redisUrl?: string;
  refreshSeconds: number;
  http?: boolean;
  extra?: string[];
}

export class Instance {
  proc!: ManagedProcess;
  httpPort?: number;
  private constructor(
    readonly spec: InstanceSpec,
    readonly port: number,
  ) {}

  get endpoint(): Endpoint {
    return { address: this.spec.host, port: this.port };
  }

  get key(): string {
    return `${this.spec.host}:${this.port}`;
  }

  static async start(spec: InstanceSpec): Promise<Instance> {
    // Main and probe ports: an even free port and the next one (both checked).
    let port = 0;
    for (let i = 0; i < 50 && !port; i++) {
      const p = await freeUdpPort(spec.host);
      if (p < 65535 && (await udpFree(spec.host, p + 1))) port = p;
    }
    if (!port) throw new Error('no free pair of UDP ports');
    const inst = new Instance(spec, port);
    if (spec.http) inst.httpPort = await freeTcpPort(spec.host);
    await inst.run();
    return inst;
  }

  /** (Re)start the process on the same ports. */
  async run(): Promise<void> {
    const s = this.spec;
    const args = [
      bundle('rendezvous/cli.ts'),
      '--host', s.host, '--port', String(this.port), '--probe-port', String(this.port + 1),
      '--refresh', String(s.refreshSeconds),
      // All test clients share 127.0.0.1: lift the per-address and per-source limits.
      '--max-per-address', '1000000', '--rate', '100000', '--burst', '100000',
      '--log-level', 'info',
      ...(s.redisUrl ? ['--redis', s.redisUrl] : []),
      ...(this.httpPort ? ['--http-port', String(this.httpPort), '--http-host', s.host] : []),
      ...(s.extra ?? []),
    ];
    this.proc = new ManagedProcess(process.execPath, args, { name: `rendezvous ${this.key}` });
    await this.proc.waitForEvent((e) => e.event === 'listening', { timeoutMs: 20_000, what: 'listening' });
    if (this.httpPort) await this.proc.waitForEvent((e) => e.event === 'http-listening', { timeoutMs: 5_000, what: 'http' });
  }

  /** kill -9 the whole process group, and wait until it is gone. */
  async kill9(): Promise<void> {
    this.proc.killSync();
    await this.proc.waitForExit(5000);
  }

  async stop(): Promise<void> {
    if (this.proc.running) await this.proc.kill(2000);
  }
}
