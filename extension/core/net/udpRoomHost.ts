// The thin I/O shell around a Room: one UDP socket, one timer, a monotonic clock.
// Everything that decides anything lives in the sans-I/O core; this only moves bytes and time.
import * as dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { Room, RoomOptions } from '../room/room';
import { Endpoint, normaliseAddress } from '../wire/endpoint';
import { DeadlineTimer } from './deadlineTimer';
import { hostCandidates } from './hostCandidates';

export interface UdpRoomHostOptions extends Omit<RoomOptions, 'hostCandidates'> {
  /** An already-bound socket (tests, or the extension reusing one); otherwise one is created. */
  socket?: dgram.Socket;
  port?: number;
  bindAddress?: string;
}

/** Linux's default IP TTL (net.ipv4.ip_default_ttl), restored after a priming send. */
const DEFAULT_TTL = 64;
/**
 * Datagrams of file pieces handed to the socket per turn of the event loop (2 × 52 KiB on loopback,
 * 2 × 16 KiB on a probed LAN/WAN path): what a chat message sent meanwhile can find ahead of it in our own
 * queue and in the peer's socket buffer, where each costs a `recvmsg` before the message is read. Measured
 * (npm run bench, files): 2 per turn against 4 left file throughput alike and chat latency during a transfer
 * 1.8–1.9× idle against 2.0–2.4×.
 */
const BULK_PER_TURN = 2;
/**
 * Datagrams larger than this are opened after the socket's read loop, not inside it. Only bulk is that big
 * (file pieces, packed chat backlogs): a chat message typed during a transfer is a small datagram, and
 * without this it would wait in the read loop for every 64 KiB piece ahead of it to be decrypted. The
 * reordering this causes is a few dozen datagrams at most (one read loop), far inside the replay window.
 */
const DEFER_BYTES = 4096;

export function monotonicNow(): number {
  return performance.now();
}

export class UdpRoomHost {
  readonly room: Room;
  socket!: dgram.Socket;
  private readonly timer = new DeadlineTimer(() => {
    this.room.tick(monotonicNow());
    this.pump();
  }, monotonicNow);
  private stopped = false;
  private readonly extras: dgram.Socket[] = [];
  readonly counters = { datagramsIn: 0, datagramsOut: 0, sendErrors: 0 };

  constructor(private readonly opts: UdpRoomHostOptions) {
    this.room = new Room({ ...opts, hostCandidates: () => this.candidates() });
  }

  private family(): 4 | 6 {
    return this.opts.server.address.includes(':') ? 6 : 4;
  }

  private candidates(): Endpoint[] {
    const port = this.socket?.address().port;
    return port ? hostCandidates(port, this.family()) : [];
  }

  async start(): Promise<void> {
    if (this.opts.socket) {
      this.socket = this.opts.socket;
    } else {
      this.socket = dgram.createSocket({ type: this.family() === 6 ? 'udp6' : 'udp4' });
      await new Promise<void>((resolve, reject) => {
        this.socket.once('error', reject);
        this.socket.bind(this.opts.port ?? 0, this.opts.bindAddress, () => {
          this.socket.off('error', reject);
          resolve();
        });
      });
    }
    // ICMP unreachable and friends surface as socket errors; they are expected while punching.
    this.socket.on('error', () => this.counters.sendErrors++);
    this.socket.on('message', (msg, rinfo) => {
      this.counters.datagramsIn++;
      const from = { address: normaliseAddress(rinfo.address), port: rinfo.port };
      if (msg.length > DEFER_BYTES) this.deferred.push({ msg, from });
      else this.room.receive(msg, from, monotonicNow());
      this.pumpSoon();
    });
    this.room.start(monotonicNow());
    this.pump();
  }

  get port(): number {
    return this.socket.address().port;
  }

  private bulkImmediate?: NodeJS.Immediate;
  /** Big datagrams read in this read loop, opened in the next pump (see DEFER_BYTES). */
  private deferred: { msg: Buffer; from: { address: string; port: number } }[] = [];

  /**
   * After the socket's read loop rather than per datagram: the answers (acks, replies) to everything
   * read in one go leave together, packed, and the timer is looked at once.
   */
  private pumpSoon(): void {
    if (this.bulkImmediate || this.stopped) return;
    this.bulkImmediate = setImmediate(() => {
      this.bulkImmediate = undefined;
      this.pump(true);
    });
  }

  /**
   * Send what the room queued, then arm the timer for its next deadline. File pieces (bulk) go only from
   * the turn's own slot after the socket's read loop (`withBulk`, pumpSoon and the transfer host's flush):
   * a pump right after a chat message was typed sends that message and returns, rather than also pushing
   * two 52 KiB pieces through the kernel while the message waits to be read on the other side.
   */
  pump(withBulk = false): void {
    if (this.stopped) return;
    // Deferred datagrams, like bulk, only in the turn's own slot: a pump from the timer phase runs before
    // the socket's read loop, where a chat message may be waiting.
    if (withBulk && this.deferred.length > 0) {
      const batch = this.deferred;
      this.deferred = [];
      const now = monotonicNow();
      for (const d of batch) this.room.receive(d.msg, d.from, now);
    }
    this.reconcileSockets();
    for (const o of this.room.takeOutgoing(withBulk ? BULK_PER_TURN : 0)) {
      const socket = o.via === 0 ? this.socket : this.extras[o.via - 1];
      if (!socket) continue; // its socket was closed meanwhile
      this.counters.datagramsOut++;
      if (o.ttl !== undefined && o.via === 0) {
        // A priming punch (see PRIME_TTL): the TTL is a socket option, so it is set for this one send and put back.
        this.sendWithTtl(socket, o.data, o.to, o.ttl, (err) => {
          if (err) this.counters.sendErrors++;
        });
        continue;
      }
      // No callback: Node then tries a synchronous send first (no send request object, no completion
      // callback per datagram); a failure surfaces as the socket's 'error' event, counted above.
      socket.send(o.data, o.to.port, o.to.address);
    }
    // File pieces still held back: the next batch goes on a later turn, after whatever arrived meanwhile.
    if (this.room.bulkPending > 0 || this.deferred.length > 0) this.pumpSoon();
    this.timer.noLaterThan(this.room.nextWakeup());
  }

  private sendWithTtl(socket: dgram.Socket, data: Buffer, to: Endpoint, ttl: number, onSent: (err: Error | null) => void): void {
    // dgram resolves even a literal address through dns.lookup, which answers on the next tick, and only then
    // sends: so the TTL is set and restored on the same tick queue, around this datagram and no other.
    const setTtl = (v: number) => () => {
      try {
        socket.setTTL(v);
      } catch {
        this.counters.sendErrors++; // a closed socket: nothing more will be sent on it anyway
      }
    };
    process.nextTick(setTtl(ttl));
    socket.send(data, to.port, to.address, onSent);
    process.nextTick(setTtl(DEFAULT_TTL));
  }

  /** Open or close the extra (birthday) sockets the room asks for. */
  private reconcileSockets(): void {
    const want = this.room.wantedSockets();
    if (want === 0 && this.extras.length > 0) {
      for (const s of this.extras.splice(0)) s.close();
    }
    while (this.extras.length < want) {
      const via = this.extras.length + 1;
      const s = dgram.createSocket({ type: this.family() === 6 ? 'udp6' : 'udp4' });
      s.on('error', () => this.counters.sendErrors++);
      s.on('message', (msg, rinfo) => {
        this.counters.datagramsIn++;
        this.room.receive(msg, { address: normaliseAddress(rinfo.address), port: rinfo.port, via }, monotonicNow());
        this.pumpSoon();
      });
      s.bind(0, this.opts.bindAddress); // sends made before the bind completes are queued by dgram
      this.extras.push(s);
    }
    this.room.setExtraSockets(this.extras.length);
  }

  /** Leave politely (tell peers and the rendezvous), then close the socket. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.room.leave(monotonicNow());
    this.pump();
    this.stopped = true;
    this.timer.clear();
    if (this.bulkImmediate) clearImmediate(this.bulkImmediate);
    for (const s of this.extras.splice(0)) s.close();
    // Let the goodbye datagrams leave before the socket goes away.
    await new Promise((r) => setImmediate(r));
    if (!this.opts.socket) await new Promise<void>((r) => this.socket.close(() => r()));
  }
}
