// A simulated datagram link between two sans-I/O endpoints, on a virtual clock: each direction
// has a one-way delay, uniform jitter (which reorders), loss and duplication drawn from a seeded
// PRNG, so every run is identical. Time jumps straight to the next event (a packet arrival or an
// endpoint's wakeup); nothing sleeps and no real timer is used.
import { MinHeap } from './minHeap';

export interface LinkEndpoint {
  receivePacket(packet: Buffer, now: number): void;
  poll(now: number): Buffer[];
  nextWakeup(): number | undefined;
}

export interface DirectionOptions {
  /** One-way delay, ms. */
  delay: number;
  /** Extra delay drawn uniformly from [0, jitter) per packet, ms; reorders packets. */
  jitter: number;
  /** Probability a packet is dropped. */
  loss: number;
  /** Probability a delivered packet arrives twice (the copy with its own jitter). */
  duplicate: number;
  /** Drop everything, e.g. to force retransmission timeouts. */
  blackhole: boolean;
}

export interface LossyLinkOptions extends Partial<DirectionOptions> {
  seed?: number;
  startTime?: number;
  /** Per-direction overrides of the shared settings. */
  aToB?: Partial<DirectionOptions>;
  bToA?: Partial<DirectionOptions>;
}

export interface DirectionCounts {
  sent: number;
  lost: number;
  duplicated: number;
  delivered: number;
  bytes: number;
}

export type Direction = 'aToB' | 'bToA';

/** Small deterministic PRNG (xorshift32 with a scrambled seed): uniform floats in [0, 1). */
export function createPrng(seed: number): () => number {
  let x = (Math.imul(seed | 0, 0x9e3779b1) ^ 0x5bd1e995) | 0;
  if (x === 0) x = 0x1234567;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

interface InTransit {
  at: number;
  order: number;
  to: LinkEndpoint;
  packet: Buffer;
}

export class LossyLink {
  now: number;
  readonly aToB: DirectionOptions;
  readonly bToA: DirectionOptions;
  readonly counts: Record<Direction, DirectionCounts> = {
    aToB: { sent: 0, lost: 0, duplicated: 0, delivered: 0, bytes: 0 },
    bToA: { sent: 0, lost: 0, duplicated: 0, delivered: 0, bytes: 0 },
  };
  /** Sees every packet an endpoint emits (before loss); for assertions such as packet sizes. */
  onTransmit?: (direction: Direction, packet: Buffer, now: number) => void;
  /** Targeted loss on top of the random one: return true to drop this packet. */
  shouldDrop?: (direction: Direction, packet: Buffer, now: number) => boolean;
  private readonly random: () => number;
  // Ordered by arrival time, then send order: equal times keep send order.
  private readonly queue = new MinHeap<InTransit>((a, b) => a.at < b.at || (a.at === b.at && a.order < b.order));
  private order = 0;
  steps = 0;

  constructor(
    readonly a: LinkEndpoint,
    readonly b: LinkEndpoint,
    opts: LossyLinkOptions = {},
  ) {
    const shared: DirectionOptions = {
      delay: opts.delay ?? 10,
      jitter: opts.jitter ?? 0,
      loss: opts.loss ?? 0,
      duplicate: opts.duplicate ?? 0,
      blackhole: opts.blackhole ?? false,
    };
    this.aToB = { ...shared, ...opts.aToB };
    this.bToA = { ...shared, ...opts.bToA };
    this.random = createPrng(opts.seed ?? 1);
    this.now = opts.startTime ?? 0;
  }

  get packetsInTransit(): number {
    return this.queue.size;
  }

  private transmit(direction: Direction, to: LinkEndpoint, packet: Buffer): void {
    const o = direction === 'aToB' ? this.aToB : this.bToA;
    const c = this.counts[direction];
    c.sent++;
    c.bytes += packet.length;
    this.onTransmit?.(direction, packet, this.now);
    // The PRNG is drawn for every packet, so a targeted drop does not shift later random choices.
    const randomLoss = this.random() < o.loss;
    if (o.blackhole || randomLoss || this.shouldDrop?.(direction, packet, this.now)) {
      c.lost++;
      return;
    }
    const copies = this.random() < o.duplicate ? 2 : 1;
    if (copies === 2) c.duplicated++;
    for (let i = 0; i < copies; i++) {
      // A private copy: the receiver may keep or the sender reuse the original.
      this.queue.push({ at: this.now + o.delay + this.random() * o.jitter, order: this.order++, to, packet: Buffer.from(packet) });
    }
  }

  /** Lets both endpoints transmit whatever they have at the current time. */
  pump(): void {
    for (const p of this.a.poll(this.now)) this.transmit('aToB', this.b, p);
    for (const p of this.b.poll(this.now)) this.transmit('bToA', this.a, p);
  }

  /** Time of the next event, or undefined when the link and both endpoints are quiet. */
  nextEventTime(): number | undefined {
    let t = this.queue.peek()?.at;
    for (const w of [this.a.nextWakeup(), this.b.nextWakeup()]) {
      if (w !== undefined && (t === undefined || w < t)) t = w;
    }
    return t;
  }

  /** Pumps, then advances the clock to the next event and handles it. False when nothing is pending. */
  step(): boolean {
    this.pump();
    const t = this.nextEventTime();
    if (t === undefined) return false;
    this.steps++;
    if (t > this.now) this.now = t;
    for (let p = this.queue.peek(); p && p.at <= this.now; p = this.queue.peek()) {
      this.queue.pop();
      const toB = p.to === this.b;
      this.counts[toB ? 'aToB' : 'bToA'].delivered++;
      p.to.receivePacket(p.packet, this.now);
      // Like a real socket loop: the receiver gets to answer each packet before the next one.
      for (const out of p.to.poll(this.now)) this.transmit(toB ? 'bToA' : 'aToB', toB ? this.a : this.b, out);
    }
    return true;
  }

  /**
   * Steps until `done()` holds. Returns false (instead of looping forever) when the link goes
   * quiet, the virtual deadline passes, or the step budget is spent.
   */
  runUntil(done: () => boolean, limits: { maxTime?: number; maxSteps?: number } = {}): boolean {
    const deadline = limits.maxTime ?? Infinity;
    const maxSteps = limits.maxSteps ?? 1_000_000;
    for (let i = 0; i < maxSteps; i++) {
      if (done()) return true;
      this.pump();
      const t = this.nextEventTime();
      if (t === undefined || t > deadline) return done();
      this.step();
    }
    return done();
  }

  /** Runs every event up to `until` (virtual ms), then sets the clock there. */
  runUntilTime(until: number, maxSteps = 1_000_000): void {
    for (let i = 0; i < maxSteps; i++) {
      this.pump();
      const t = this.nextEventTime();
      if (t === undefined || t > until) break;
      this.step();
    }
    if (until > this.now) this.now = until;
  }
}
