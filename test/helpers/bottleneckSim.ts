// Several file senders sharing one bottleneck, on a virtual clock: real TransferManagers on both ends
// (offers, requests, pieces, the receiver's ack policy, the sender's loss detection and the bulk
// congestion control), joined by a model of the NAT lab's WAN: every sender's datagrams go through one
// rate-limited FIFO with a byte limit (as `tc tbf rate R latency L`: the queue holds R × L bytes, beyond
// that it tail-drops), then a fixed forward delay; the receiver's datagrams come back after a fixed
// delay, unqueued. Time jumps from event to event (a binary heap), no sleeps, no real timers, and
// nothing random: every run is the same run.
import { encodePacket, type Frame } from '../../extension/core/wire/frames';
import type { FileFrame } from '../../extension/core/wire/fileFrames';
import { TransferManager } from '../../extension/core/transfer/manager';
import { manifestOf } from '../../extension/core/transfer/manifest';
import { MemIo } from './memTransferIo';
import { MinHeap } from './minHeap';
import { prng } from './prng';

/** Bytes a datagram costs on the wire beyond its frames: UDP/IP headers, the packet header and AEAD tag. */
const OVERHEAD = 28 + 40;

interface Ev {
  at: number;
  seq: number;
  /** 'enter': the datagram reaches the bottleneck; 'arrive': it reaches `to`. */
  kind: 'enter' | 'arrive';
  to: string;
  from: string;
  frames: FileFrame[];
}

export interface BottleneckOptions {
  /** Bottleneck rate, bytes per millisecond (2000 = 2 MB/s = 16 Mbit/s). */
  rateBytesPerMs: number;
  /** Most queueing delay the bottleneck holds before it drops (tbf's `latency`). */
  queueLimitMs: number;
  /** One-way delay after the bottleneck (sender to receiver) and back, ms. */
  forwardMs: number;
  returnMs: number;
  /** Inner packet size the link's path probe would find (piece size follows from it). */
  innerBytes?: number;
  /**
   * Up to this many ms of seeded random delay before a datagram reaches the bottleneck or an ack
   * reaches its sender (a host's event loop and NIC; each path stays FIFO). Without it the two flows'
   * bursts lock into a fixed phase against each other, which no real network does.
   */
  jitterMs?: number;
  seed?: number;
}

export interface SimSender {
  name: string;
  manager: TransferManager;
  id?: string;
  /** Content bytes of this sender's pieces that left the bottleneck, as [time, cumulative bytes]. */
  delivered: [number, number][];
  bytes: number;
}

export class BottleneckSim {
  now = 0;
  readonly receiver: TransferManager;
  readonly senders = new Map<string, SimSender>();
  /** Bytes dropped at the bottleneck, and the most queueing delay it held (ms). */
  dropped = 0;
  maxQueueMs = 0;
  /** Queueing delay each datagram met at the bottleneck, summed, and how many: a chat message's wait. */
  queueMsSum = 0;
  queued = 0;
  /** Every datagram that left the bottleneck, as [time, cumulative wire bytes]. */
  readonly wire: [number, number][] = [[0, 0]];
  private readonly heap = new MinHeap<Ev>((x, y) => x.at < y.at || (x.at === y.at && x.seq < y.seq));
  private seq = 0;
  private busyUntil = 0;
  private readonly rand;
  private readonly jitter;
  private readonly limitBytes: number;
  private readonly lastAt = new Map<string, number>();

  constructor(readonly opts: BottleneckOptions) {
    this.rand = prng(opts.seed ?? 7);
    const j = prng((opts.seed ?? 7) + 1);
    this.jitter = () => j.next() * (opts.jitterMs ?? 0);
    this.receiver = new TransferManager({ io: new MemIo(), random: (n) => this.rand.bytes(n), autoAcceptBytes: Number.MAX_SAFE_INTEGER, autoAcceptDir: '/in' });
    this.limitBytes = opts.rateBytesPerMs * opts.queueLimitMs;
  }

  addSender(name: string): SimSender {
    const manager = new TransferManager({ io: new MemIo(), random: (n) => this.rand.bytes(n) });
    if (this.opts.innerBytes) {
      manager.setInnerBytes('B', this.opts.innerBytes);
      this.receiver.setInnerBytes(name, this.opts.innerBytes);
    }
    manager.linkUp('B', this.now);
    this.receiver.linkUp(name, this.now);
    const s: SimSender = { name, manager, delivered: [[this.now, 0]], bytes: 0 };
    this.senders.set(name, s);
    return s;
  }

  /** `name` offers a file of `size` bytes now (the receiver auto-accepts). */
  send(name: string, size: number): void {
    const s = this.senders.get(name)!;
    const data = Buffer.alloc(size, 0x5a);
    s.id = s.manager.offer('B', { path: `/src/${name}`, name: `${name}.bin`, mime: 'application/octet-stream', mtimeMs: 1, manifest: manifestOf(data), read: (o, l) => data.subarray(o, o + l) }, this.now);
  }

  private wireBytes(frames: FileFrame[]): number {
    return encodePacket(frames as Frame[]).length + OVERHEAD;
  }

  private pumpSender(s: SimSender): void {
    for (let round = 0; round < 1000; round++) {
      const out = s.manager.poll(this.now);
      const frames = out.get('B');
      if (!frames?.length) return;
      for (const f of frames) this.schedule('enter', s.name, 'B', [f], 0);
      if (!s.manager.sendable) return;
    }
  }

  /** Queues a datagram's next hop after `delay` ms plus jitter, keeping each path in order. */
  private schedule(kind: 'enter' | 'arrive', from: string, to: string, frames: FileFrame[], delay: number): void {
    const key = `${kind}:${from}:${to}`;
    const at = Math.max(this.lastAt.get(key) ?? 0, this.now + delay + this.jitter());
    this.lastAt.set(key, at);
    this.heap.push({ at, seq: this.seq++, kind, to, from, frames });
  }

  /** A sender's datagram reaches the bottleneck: tail-drop, or queue it behind what is there. */
  private enter(e: Ev): void {
    const s = this.senders.get(e.from)!;
    const f = e.frames[0];
    const size = this.wireBytes(e.frames);
    const start = Math.max(this.now, this.busyUntil);
    const queued = (start - this.now) * this.opts.rateBytesPerMs;
    if (queued + size > this.limitBytes) {
      this.dropped += size;
      return;
    }
    this.maxQueueMs = Math.max(this.maxQueueMs, start - this.now);
    this.queueMsSum += start - this.now;
    this.queued++;
    const depart = start + size / this.opts.rateBytesPerMs;
    this.busyUntil = depart;
    this.wire.push([depart, this.wire[this.wire.length - 1][1] + size]);
    if (f.type === 'file-piece' && f.stream === 1) {
      s.bytes += f.payload.length;
      s.delivered.push([depart, s.bytes]);
    }
    this.heap.push({ at: depart + this.opts.forwardMs, seq: this.seq++, kind: 'arrive', to: 'B', from: s.name, frames: e.frames });
  }

  private pumpReceiver(): void {
    const out = this.receiver.poll(this.now);
    for (const [peer, frames] of out) {
      if (frames.length) this.schedule('arrive', 'B', peer, frames, this.opts.returnMs);
    }
  }

  /** Runs until `until()` holds or virtual time reaches `end`. */
  run(end: number, until: () => boolean = () => false): void {
    for (let steps = 0; steps < 20_000_000; steps++) {
      for (const s of this.senders.values()) this.pumpSender(s);
      this.pumpReceiver();
      if (until()) return;
      let next = Math.min(this.heap.peek()?.at ?? Infinity, this.receiver.nextWakeup());
      for (const s of this.senders.values()) next = Math.min(next, s.manager.nextWakeup());
      if (next > end) {
        this.now = end;
        return;
      }
      this.now = Math.max(this.now, next);
      while ((this.heap.peek()?.at ?? Infinity) <= this.now) {
        const e = this.heap.pop()!;
        if (e.kind === 'enter') this.enter(e);
        else if (e.to === 'B') for (const f of e.frames) this.receiver.receive(e.from, f, this.now);
        else for (const f of e.frames) this.senders.get(e.to)!.manager.receive('B', f, this.now);
      }
    }
    throw new Error('simulation did not settle');
  }

  /** Content bytes per second `name` got through the bottleneck between `from` and `to` (ms). */
  rate(name: string, from: number, to: number): number {
    return rateOf(this.senders.get(name)!.delivered, from, to);
  }

  /** Share of the bottleneck's rate used (wire bytes, all senders) between `from` and `to`. */
  use(from: number, to: number): number {
    return rateOf(this.wire, from, to) / (this.opts.rateBytesPerMs * 1000);
  }
}

/** Bytes per second between `from` and `to` (ms) of a cumulative [time, bytes] series. */
function rateOf(d: [number, number][], from: number, to: number): number {
  const at = (t: number): number => {
    if (d[0][0] > t) return 0;
    let lo = 0;
    let hi = d.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (d[mid][0] <= t) lo = mid;
      else hi = mid - 1;
    }
    return d[lo][1];
  };
  return ((at(to) - at(from)) * 1000) / (to - from);
}
