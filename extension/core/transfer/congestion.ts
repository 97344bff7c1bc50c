// Congestion control for bulk file data: delay-based, in the spirit of LEDBAT (RFC 6817) and
// LEDBAT++ (draft-irtf-iccrg-ledbat-plus-plus).
//
// Why not the chat channel's window (core/reliable/congestion.ts, loss-based NewReno)? A loss-based
// sender fills the bottleneck queue until it overflows; chat packets then wait behind a full queue
// (a `tc tbf` queue or a home router's buffer easily holds hundreds of milliseconds). Files must
// never hold up the chat, so the file sender backs off as soon as the queue it builds grows: it
// measures queueing delay as (RTT sample − smallest RTT seen) and aims at `target` milliseconds of
// queue: enough to keep the bottleneck busy, small enough that a chat message sent meanwhile arrives
// quickly. Slow start doubles per RTT until the queue reaches half the target.
//
// Sharing a bottleneck. Two transfers see the same queue, so a rule that only looks at the queue has
// as many resting points as there are ways to split the link. The first version grew by
// additive × (target − queue)/target per RTT and cut only above the target: both windows crept up to
// the target and stopped there, whatever their split, with no cut ever firing; whoever left slow start
// with the bigger window kept it (NAT lab: 1.40 / 0.49 MB/s of 2; test/unit/transfer-fairness.test.ts
// reproduces it on a simulated bottleneck). Three rules make the split converge instead:
//  1. Below the target the window grows by a fixed `additive` packets per RTT, not less near the target,
//     so the flows do reach past it and the cuts below happen. The increment grows with the base RTT
//     (one packet per 12.5 ms of it, at least `additive`): every flow on the path gains the same bytes
//     per RTT, which keeps additive-increase fair, and a 200 ms path fills in seconds, not minutes.
//  2. Above the target every ack takes back a share of the window proportional to the excess
//     (LEDBAT++'s multiplicative decrease, gentler: a quarter of the window per RTT at twice the target).
//     A flow with twice the window loses twice the bytes while both gain the same: the gap closes every
//     RTT, without waiting for a lucky simultaneous cut.
//  3. Once per RTT above the target the window sheds this flow's own queued bytes, as Vegas/FAST
//     estimate them (window × queue / RTT), i.e. cwnd × base/RTT, at most halving. If all flows do this
//     the queue empties, which does two things: the link stays busy (the windows still cover the path)
//     and a transfer that started while another's queue stood, and so took that queue for its base RTT
//     (LEDBAT's latecomer advantage), now sees the true base and stops pushing harder than the others.
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
  /** Packets added per RTT below the target, at least (more on long paths: one per `additivePerMs` of base RTT). */
  additivePackets?: number;
  additivePerMs?: number;
  /** Share of the window taken back per RTT per target's worth of excess queue. */
  decreaseGain?: number;
  /** Upper bound on the window, bytes (bounds what a kill mid-transfer can waste). */
  maxWindowBytes?: number;
}

/** How long the smallest RTT is remembered: a route change to a longer path must eventually raise it. */
const BASE_HISTORY_MS = 60_000;

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
  private readonly additivePerMs: number;
  private readonly decreaseGain: number;
  private readonly maxWindow: number;
  private readonly minWindow: number;

  constructor(opts: BulkCongestionOptions) {
    this.mss = opts.mss;
    this.cwnd = (opts.initialWindowPackets ?? 10) * opts.mss;
    this.minTarget = opts.minTargetMs ?? 1;
    this.maxTarget = opts.maxTargetMs ?? 25;
    this.additive = opts.additivePackets ?? 4;
    this.additivePerMs = opts.additivePerMs ?? 12.5;
    this.decreaseGain = opts.decreaseGain ?? 0.25;
    this.maxWindow = opts.maxWindowBytes ?? 1536 * 1024;
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
    // Rule 1: a fixed increase per RTT (per ack: its share of the window's worth of acks).
    const base = this.baseRtt;
    const add = Math.max(this.additive, base / this.additivePerMs) * this.mss;
    let cwnd = this.cwnd + (add * bytes) / this.cwnd;
    if (queue > target) {
      // Rule 2: take back, per ack, a share of its bytes proportional to the excess.
      cwnd -= this.decreaseGain * bytes * Math.min(1, (queue - target) / target);
      // Rule 3: once per RTT, shed this flow's own queued bytes (cwnd × queue / RTT), at most half.
      if (now - this.lastDecreaseAt >= (this.srtt ?? 0)) {
        cwnd *= Math.max(0.5, base / (base + queue));
        this.ssthresh = cwnd;
        this.lastDecreaseAt = now;
      }
    }
    this.cwnd = Math.max(this.minWindow, Math.min(this.maxWindow, cwnd));
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
