// Congestion control for bulk file data: delay-based, in the spirit of LEDBAT (RFC 6817) and
// LEDBAT++ (draft-irtf-iccrg-ledbat-plus-plus).
//
// Why not the chat channel's window (core/reliable/congestion.ts, loss-based NewReno)? A loss-based
// sender fills the bottleneck queue until it overflows; chat packets then wait behind a full queue
// (a `tc tbf` queue or a home router's buffer easily holds hundreds of milliseconds). Files must
// never hold up the chat, so the file sender backs off as soon as the queue it builds grows: it
// measures queueing delay as (RTT sample − smallest RTT seen) and aims at `target` milliseconds of
// queue: enough to keep the bottleneck busy, small enough that a chat message sent meanwhile arrives
// quickly. Slow start doubles per RTT until the queue reaches half the target, once.
//
// Sharing a bottleneck. Two transfers through one bottleneck see the same queue, so a rule that looks
// only at the queue can rest at any split of the link. The first version did: it grew by
// additive × (target − queue)/target per RTT and cut (once per RTT, by up to half) only above the
// target, so both windows crept up to the target and stayed at whatever split they had; whoever left
// slow start with the bigger window, or had measured its base RTT a few ms high (the LEDBAT latecomer
// effect, in small), kept the bigger share (NAT lab: 1.40 / 0.49 MB/s of 2).
// test/unit/transfer-fairness.test.ts reproduces it on a simulated bottleneck. Two rules, after
// LEDBAT++ (draft-irtf-iccrg-ledbat-plus-plus), leave one resting point:
//  1. The increase per RTT (`additive` pieces, or `additiveBytesPerMs` per ms of base RTT on a long
//     path, whichever is more: 17.6 KB per RTT at 200 ms, so a 200 ms path fills in seconds, not
//     minutes) still shrinks as the queue nears the target, but never below half: the flows keep
//     pushing a little past the target, where rule 2 acts. It is the same bytes for every flow on a path.
//  2. Past the target every ack gives back a share of its bytes proportional to the excess (at most
//     half the window per RTT). A flow with twice the window gives back twice the bytes while both gain
//     the same, so the only resting point is equal windows, a little above the target, and the gap
//     closes every RTT, instead of waiting for the flows to happen to cut at the same moment (they don't:
//     a once-per-RTT cut tried here, even one that sheds exactly the flow's own queued bytes, made the
//     split noisier in the simulation).
// Loss still halves the window, once per RTT.
//
// The target scales with the path: max(minTarget, min(maxTarget, base RTT)): 25 ms on a WAN path,
// 1 ms on a LAN or loopback, where a 25 ms queue would be pure added chat latency. Measured on
// loopback (npm run bench): a 10 ms floor gave 1.4× the file throughput per CPU-second but chat
// latency 20× idle; 4 ms left a chat message 3–3.6× its idle latency (the pieces queued ahead of it
// in the receiver's socket buffer are each decrypted before it), 1 ms 1.75–2× for about 10 % less
// file throughput per CPU-second. Chat comes first.

export interface BulkCongestionOptions {
  mss: number;
  initialWindowPackets?: number;
  minTargetMs?: number;
  maxTargetMs?: number;
  /** Packets added per RTT well below the target (at least; see additiveBytesPerMs). */
  additivePackets?: number;
  /** On a long path, bytes added per RTT per millisecond of base RTT, if that is more (default 88: 17.6 KB per RTT at 200 ms). */
  additiveBytesPerMs?: number;
  /** Share of each ack's bytes given back when the queue is a target's worth past the target. */
  decreaseGain?: number;
  /** Upper bound on the window, bytes (bounds what a kill mid-transfer can waste). */
  maxWindowBytes?: number;
}

/** How long the smallest RTT is remembered: a route change to a longer path must eventually raise it. */
const BASE_HISTORY_MS = 60_000;
/** Rule 1's floor near and past the target, as a share of the full increase (see the header). */
const MIN_INCREASE = 0.5;

export class BulkCongestion {
  cwnd: number;
  ssthresh = Infinity;
  srtt: number | undefined;
  rttvar = 0;
  /** Smallest RTT in the current and previous history bucket. */
  private baseNow = Infinity;
  private basePrev = Infinity;
  private baseBucketAt = -Infinity;
  private lastDecreaseAt = -Infinity;
  private lastQueueMs = 0;
  private readonly recent: number[] = [Infinity, Infinity, Infinity, Infinity];
  private recentAt = 0;
  private mss: number;
  private readonly minTarget: number;
  private readonly maxTarget: number;
  private readonly additive: number;
  private readonly additiveBytesPerMs: number;
  private readonly decreaseGain: number;
  private readonly maxWindow: number;
  private readonly minWindow: number;

  constructor(opts: BulkCongestionOptions) {
    this.mss = opts.mss;
    this.cwnd = (opts.initialWindowPackets ?? 10) * opts.mss;
    this.minTarget = opts.minTargetMs ?? 1;
    this.maxTarget = opts.maxTargetMs ?? 25;
    this.additive = opts.additivePackets ?? 4;
    this.additiveBytesPerMs = opts.additiveBytesPerMs ?? 88;
    this.decreaseGain = opts.decreaseGain ?? 0.5;
    this.maxWindow = opts.maxWindowBytes ?? 1024 * 1024;
    this.minWindow = 2 * opts.mss;
  }

  get baseRtt(): number {
    return Math.min(this.baseNow, this.basePrev);
  }

  get targetMs(): number {
    const b = this.baseRtt;
    return Math.max(this.minTarget, Math.min(this.maxTarget, Number.isFinite(b) ? b : this.maxTarget));
  }

  get queueMs(): number {
    return this.lastQueueMs;
  }

  /** Retransmission timeout for the tail of a burst: no acks at all for this long means everything in flight is lost. */
  get rto(): number {
    if (this.srtt === undefined) return 1000;
    return Math.max(50, Math.min(5000, this.srtt + 4 * this.rttvar + 10));
  }

  setMss(mss: number): void {
    const packets = this.cwnd / this.mss;
    this.mss = mss;
    this.cwnd = Math.max(2 * mss, Math.min(this.maxWindow, packets * mss));
  }

  private sample(rtt: number, now: number): void {
    if (this.srtt === undefined) {
      this.srtt = rtt;
      this.rttvar = rtt / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - rtt);
      this.srtt = 0.875 * this.srtt + 0.125 * rtt;
    }
    if (now - this.baseBucketAt >= BASE_HISTORY_MS) {
      this.basePrev = this.baseNow;
      this.baseNow = Infinity;
      this.baseBucketAt = now;
    }
    if (rtt < this.baseNow) this.baseNow = rtt;
  }

  /** `bytes` newly acknowledged; `rtt` a sample from the newest of them (undefined if none was fresh). */
  onAck(bytes: number, rtt: number | undefined, now: number): void {
    if (rtt !== undefined && rtt >= 0) this.sample(rtt, now);
    if (rtt === undefined || this.srtt === undefined) return;
    // LEDBAT's current-delay filter: the smallest of the last few samples, so one sample delayed by a
    // busy event loop or a scheduler hiccup (not by a queue) does not shrink the window.
    this.recent[this.recentAt++ % this.recent.length] = rtt;
    const queue = Math.max(0, Math.min(...this.recent) - this.baseRtt);
    this.lastQueueMs = queue;
    const target = this.targetMs;
    if (this.cwnd < this.ssthresh) {
      if (queue < target / 2) {
        this.cwnd = Math.min(this.maxWindow, this.cwnd + bytes);
        return;
      }
      this.ssthresh = this.cwnd; // the queue has started to build: leave slow start
    }
    // Rule 1: grow by `additive` packets per RTT, or on a long path by `additiveBytesPerMs` bytes per
    // millisecond of base RTT, less as the queue nears the target but never less than half of that.
    const base = this.baseRtt;
    const perRtt = Math.max(this.additive * this.mss, base * this.additiveBytesPerMs);
    let cwnd = this.cwnd + (perRtt * Math.max(MIN_INCREASE, (target - queue) / target) * bytes) / this.cwnd;
    // Rule 2: past the target, give back per ack a share of its bytes proportional to the excess (at
    // most half the window per RTT, as the first version's once-per-RTT cut).
    if (queue > target) cwnd -= this.decreaseGain * bytes * Math.min(1, (queue - target) / target);
    this.cwnd = Math.max(this.minWindow, Math.min(this.maxWindow, cwnd));
    // Out of slow start for good: a window that rule 2 took below ssthresh must not double again.
    if (this.cwnd < this.ssthresh) this.ssthresh = this.cwnd;
  }

  onLoss(now: number): void {
    if (now - this.lastDecreaseAt < (this.srtt ?? 0)) return; // one reaction per round trip
    this.cwnd = Math.max(this.minWindow, this.cwnd / 2);
    this.ssthresh = this.cwnd;
    this.lastDecreaseAt = now;
  }

  onTimeout(now: number): void {
    this.ssthresh = Math.max(this.minWindow, this.cwnd / 2);
    this.cwnd = this.minWindow;
    this.lastDecreaseAt = now;
  }
}
