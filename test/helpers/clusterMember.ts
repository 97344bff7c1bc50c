// One room member as the extension runs it, minus the peer links: the core RendezvousClient (HRW
// ranking, failover, cookies, refresh) on its own real UDP socket, driven by its own nextWakeup()
// timer. Records when it learned each other member and from which instance, for the cluster tests.
import * as dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { RendezvousClient } from '../../extension/core/room/rendezvousClient';
import { decodeRendezvous } from '../../extension/core/wire/rendezvous';
import { Endpoint, endpointKey, normaliseAddress } from '../../extension/core/wire/endpoint';

export interface Learned {
  at: number;
  /** The instance we were registered with when we heard it. */
  via: string;
  joined: boolean;
}

export class ClusterMember {
  readonly socket: dgram.Socket;
  readonly client: RendezvousClient;
  private timer?: NodeJS.Timeout;
  private closed = false;
  /** peer hex → every time we heard of it. */
  readonly learned = new Map<string, Learned[]>();
  readonly left: { peer: string; at: number }[] = [];
  readonly welcomes: { at: number; via: string }[] = [];
  readonly moves: { at: number; to: string }[] = [];
  /** Error codes the rendezvous sent (notices included). */
  readonly errors: number[] = [];
  startedAt = 0;

  private constructor(socket: dgram.Socket, servers: Endpoint[], readonly roomId: Buffer, readonly peerId: Buffer, name: string) {
    this.socket = socket;
    this.client = new RendezvousClient(
      {
        server: servers[0],
        servers,
        roomId,
        peerId,
        name: () => name,
        hostCandidates: () => [],
        send: (to, data) => {
          if (!this.closed) socket.send(data, to.port, to.address);
        },
      },
      {
        welcome: () => this.welcomes.push({ at: performance.now(), via: endpointKey(this.client.server) }),
        peer: (m, joined) => {
          const k = m.peerId.toString('hex');
          const list = this.learned.get(k) ?? [];
          list.push({ at: performance.now(), via: endpointKey(this.client.server), joined });
          this.learned.set(k, list);
        },
        left: (peerId) => this.left.push({ peer: peerId.toString('hex'), at: performance.now() }),
        error: (code) => this.errors.push(code),
        unreachable: () => undefined,
        nat: () => undefined,
        instance: (s) => this.moves.push({ at: performance.now(), to: endpointKey(s) }),
      },
    );
    socket.on('message', (msg, rinfo) => {
      const d = decodeRendezvous(msg);
      const from = { address: normaliseAddress(rinfo.address), port: rinfo.port };
      if (!d.ok || !this.client.isServer(from)) return;
      this.client.handle(d.value, from, performance.now());
      this.arm();
    });
  }

  static async open(servers: Endpoint[], roomId: Buffer, peerId: Buffer, name = 'm'): Promise<ClusterMember> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
    return new ClusterMember(socket, servers, roomId, peerId, name);
  }

  start(): void {
    this.startedAt = performance.now();
    this.client.start(this.startedAt);
    this.arm();
  }

  /** When we first heard of `peer` at or after `since` (ms, performance.now()). */
  heardOf(peer: Buffer, since = 0): Learned | undefined {
    return this.learned.get(peer.toString('hex'))?.find((l) => l.at >= since);
  }

  get server(): string {
    return endpointKey(this.client.server);
  }

  private arm(): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    const at = this.client.nextWakeup();
    if (!Number.isFinite(at)) return;
    this.timer = setTimeout(() => {
      this.client.tick(performance.now());
      this.arm();
    }, Math.max(0, at - performance.now()));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await new Promise<void>((r) => this.socket.close(() => r()));
  }
}
