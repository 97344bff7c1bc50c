// The thin I/O shell around a PresenceService: one UDP socket, one timer, a monotonic clock.
import * as dgram from 'node:dgram';
import { PresenceService, type PresenceServiceEvents, type PresenceServiceOptions } from '../contacts/presenceService';
import { Endpoint, normaliseAddress } from '../wire/endpoint';
import { DeadlineTimer } from './deadlineTimer';
import { hostCandidates } from './hostCandidates';
import { monotonicNow } from './udpRoomHost';

export interface UdpPresenceHostOptions extends Omit<PresenceServiceOptions, 'hostCandidates'> {
  socket?: dgram.Socket;
  bindAddress?: string;
  /** Addresses to announce beside the host candidates (a DM's TURN relay address goes last). */
  extraCandidates?: () => Endpoint[];
  /** Datagrams that are not the rendezvous's (peer packets) go here. */
  onOther?(data: Buffer, from: Endpoint): void;
}

export class UdpPresenceHost {
  readonly service: PresenceService;
  socket!: dgram.Socket;
  private readonly timer = new DeadlineTimer(() => {
    this.service.tick(monotonicNow());
    this.pump();
  }, monotonicNow);
  private stopped = false;
  readonly counters = { datagramsIn: 0, datagramsOut: 0, sendErrors: 0 };

  constructor(
    private readonly opts: UdpPresenceHostOptions,
    events: PresenceServiceEvents = {},
  ) {
    this.service = new PresenceService({ ...opts, hostCandidates: () => this.candidates() }, events);
  }

  private family(): 4 | 6 {
    return this.opts.server.address.includes(':') ? 6 : 4;
  }

  private candidates(): Endpoint[] {
    const port = this.socket?.address().port;
    const host = port ? hostCandidates(port, this.family()) : [];
    const extra = this.opts.extraCandidates?.() ?? [];
    return [...host.slice(0, 8 - extra.length), ...extra];
  }

  async start(): Promise<void> {
    if (this.opts.socket) {
      this.socket = this.opts.socket;
    } else {
      this.socket = dgram.createSocket({ type: this.family() === 6 ? 'udp6' : 'udp4' });
      await new Promise<void>((resolve, reject) => {
        this.socket.once('error', reject);
        this.socket.bind(0, this.opts.bindAddress, () => {
          this.socket.off('error', reject);
          resolve();
        });
      });
    }
    this.socket.on('error', () => this.counters.sendErrors++);
    this.socket.on('message', (msg, rinfo) => {
      this.counters.datagramsIn++;
      const from = { address: normaliseAddress(rinfo.address), port: rinfo.port };
      if (!this.service.receive(msg, from, monotonicNow())) this.opts.onOther?.(msg, from);
      this.pump();
    });
    this.service.start(monotonicNow());
    this.pump();
  }

  /** Send what the service queued, then arm the timer for its next deadline. */
  pump(): void {
    if (this.stopped) return;
    for (const o of this.service.takeOutgoing()) {
      this.counters.datagramsOut++;
      this.socket.send(o.data, o.to.port, o.to.address, (err) => {
        if (err) this.counters.sendErrors++;
      });
    }
    this.timer.noLaterThan(this.service.nextWakeup());
  }

  /** Graceful quit: one leave datagram, then the socket closes. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.service.leave(monotonicNow());
    this.pump();
    this.stopped = true;
    this.timer.clear();
    await new Promise((r) => setImmediate(r));
    if (!this.opts.socket) await new Promise<void>((r) => this.socket.close(() => r()));
  }

  /** A crash or a pulled cable: the socket goes silent, nobody is told. */
  kill(): void {
    this.stopped = true;
    this.timer.clear();
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }
}
