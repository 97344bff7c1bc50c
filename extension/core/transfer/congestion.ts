// Congestion control for bulk file data: delay-based AIMD in the spirit of LEDBAT (RFC 6817).
//
// Why not the chat channel's window (core/reliable/congestion.ts, loss-based NewReno)? A loss-based
// sender fills the bottleneck queue until it overflows; chat packets then wait behind a full queue
// (a `tc tbf` queue or a home router's buffer easily holds hundreds of milliseconds). Files must
// never hold up the chat, so the file sender backs off as soon as the queue it builds grows: it
// measures queueing delay as (RTT sample − smallest RTT seen) and aims at `target` milliseconds of
// queue: enough to keep the bottleneck busy, small enough that a chat message sent meanwhile arrives
// quickly. Increase is additive (a few packets per RTT) and decrease multiplicative (when the queue
// passes the target, and halving on loss), so two transfers through one bottleneck converge to equal
// shares (Chiu–Jain), which plain LEDBAT's additive decrease does not guarantee. Slow start doubles
// per RTT until the queue reaches half the target, so a long fat path fills in a few round trips.
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
  /** Packets added per RTT below the target. */
  additivePackets?: number;
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
  private readonly maxWindow: number;
  private readonly minWindow: number;

  constructor(opts: BulkCongestionOptions) {
    this.mss = opts.mss;
    this.cwnd = (opts.initialWindowPackets ?? 10) * opts.mss;
    this.minTarget = opts.minTargetMs ?? 1;
    this.maxTarget = opts.maxTargetMs ?? 25;
    this.additive = opts.additivePackets ?? 4;
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
    if (queue <= target) {
      // Additive: `additive` packets per window's worth of acks, scaled by how far below target we are.
      const off = (target - queue) / target;
      this.cwnd = Math.min(this.maxWindow, this.cwnd + (this.additive * this.mss * bytes * off) / this.cwnd);
    } else if (now - this.lastDecreaseAt >= (this.srtt ?? 0)) {
      // Multiplicative, at most once per RTT, deeper the further past the target.
      const over = Math.min(1, (queue - target) / target);
      this.cwnd = Math.max(this.minWindow, this.cwnd * (1 - 0.5 * over));
      this.ssthresh = this.cwnd;
      this.lastDecreaseAt = now;
    }
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
