// A closed-loop load driver shared by the Room and raw-socket measurements, so both sides of every
// comparison are driven the same way: keep `window` messages outstanding (sent, not yet received),
// refill once per event-loop turn, and time each message from send() to the receiver's event.
import { Reservoir } from './stats';

export interface FlowTarget {
  /** Queue message number `i` (the receiver must report the same number). */
  send(i: number, now: number): void;
  /** After a batch of sends: flush what was queued (pump the socket). */
  flush(): void;
}

export interface FlowResult {
  seconds: number;
  delivered: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Process CPU (user + system) over the measured interval, as a share of one core. */
  cpuShare: number;
  /** Delivered per CPU-second of this process: robust to other load on shared cores. */
  perCpuSecond: number;
  latencySamples: number;
}

export class Flow {
  private sent = 0;
  private received = 0;
  private readonly sentAt = new Float64Array(1 << 16);
  private scheduled = false;
  private measuring = false;
  private stopping = false;
  private readonly latency = new Reservoir(100_000);

  constructor(
    private readonly target: FlowTarget,
    private readonly window: number,
  ) {
    if (window > this.sentAt.length / 2) throw new RangeError('window too large');
  }

  /** The receiver calls this for message `i` with performance.now() at delivery. */
  delivered(i: number, at: number): void {
    this.received++;
    if (this.measuring) {
      this.latency.add(at - this.sentAt[i & (this.sentAt.length - 1)]);
    }
    if (!this.scheduled && !this.stopping) {
      this.scheduled = true;
      setImmediate(this.refill);
    }
  }

  private readonly refill = (): void => {
    this.scheduled = false;
    if (this.stopping) return;
    let n = 0;
    while (this.sent - this.received < this.window) {
      const now = performance.now();
      this.sentAt[this.sent & (this.sentAt.length - 1)] = now;
      this.target.send(this.sent++, now);
      n++;
    }
    if (n) this.target.flush();
  };

  async run(warmupMs: number, measureMs: number): Promise<FlowResult> {
    this.refill();
    await new Promise((r) => setTimeout(r, warmupMs));
    this.measuring = true;
    const r0 = this.received;
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    await new Promise((r) => setTimeout(r, measureMs));
    const r1 = this.received;
    const t1 = performance.now();
    const c = process.cpuUsage(c0);
    this.measuring = false;
    this.stopping = true;
    // Let what is in flight arrive, so the next measurement starts from a quiet link.
    const drainUntil = performance.now() + 5000;
    while (this.received < this.sent && performance.now() < drainUntil) await new Promise((r) => setTimeout(r, 5));
    const seconds = (t1 - t0) / 1000;
    return {
      seconds,
      delivered: r1 - r0,
      perSecond: (r1 - r0) / seconds,
      p50Ms: this.latency.percentile(50),
      p99Ms: this.latency.percentile(99),
      cpuShare: (c.user + c.system) / 1e6 / seconds,
      perCpuSecond: (r1 - r0) / ((c.user + c.system) / 1e6),
      latencySamples: this.latency.count,
    };
  }

  get sentCount(): number {
    return this.sent;
  }

}
