// Retransmission timeout per RFC 6298: SRTT/RTTVAR smoothing, RTO = SRTT + max(G, 4·RTTVAR),
// clamped to [minRto, maxRto], doubled per consecutive timeout. Samples come only from fragments
// sent once (Karn's rule is applied by the caller). The peer's ACK delay is subtracted from a
// sample the way QUIC does (RFC 9002 §5.3), and the delay we allow the peer is added back to the
// RTO, so a delayed ACK never looks like a loss.

const GRANULARITY_MS = 1;

export interface RttOptions {
  initialRto: number;
  minRto: number;
  maxRto: number;
  /** How long the peer may hold an ACK back (its delayed-ACK timer). */
  peerMaxAckDelay: number;
}

export class RttEstimator {
  srtt: number | undefined;
  rttvar = 0;
  minRtt = Infinity;
  /**
   * Smallest sample less the delay the peer says it held its ACK: the path's own round trip (minRtt keeps
   * the ACK delay in, as RFC 9002's min_rtt does, and a lone message's ACK is always delayed).
   */
  minPathRtt = Infinity;
  latestRtt = 0;
  /** Consecutive timeouts without progress; each doubles the RTO. */
  backoff = 0;

  constructor(private readonly opts: RttOptions) {}

  sample(rtt: number, ackDelay: number): void {
    if (!(rtt >= 0)) return;
    this.latestRtt = rtt;
    this.minRtt = Math.min(this.minRtt, rtt);
    this.minPathRtt = Math.min(this.minPathRtt, Math.max(0, rtt - Math.max(0, ackDelay)));
    // The peer's delay may not push a sample below the path's floor (a lying or rounding
    // peer). Clamping, rather than ignoring the delay as RFC 9002 does, matters when ACKs are
    // lost: the first ACK to get through may report seconds of delay, and the raw sample
    // would then inflate SRTT by all of it.
    const adjusted = Math.max(Math.min(this.minRtt, rtt), rtt - ackDelay);
    if (this.srtt === undefined) {
      this.srtt = adjusted;
      this.rttvar = adjusted / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - adjusted);
      this.srtt = 0.875 * this.srtt + 0.125 * adjusted;
    }
  }

  /** RTO before backoff. */
  get baseRto(): number {
    if (this.srtt === undefined) return this.clamp(this.opts.initialRto);
    return this.clamp(this.srtt + Math.max(GRANULARITY_MS, 4 * this.rttvar) + this.opts.peerMaxAckDelay);
  }

  get rto(): number {
    return Math.min(this.opts.maxRto, this.baseRto * 2 ** Math.min(this.backoff, 30));
  }

  /** Reordering allowance for time-based loss detection (RFC 9002 §6.1.2 uses 9/8 of an RTT). */
  lossDelay(factor: number): number {
    const rtt = Math.max(this.srtt ?? this.opts.initialRto, this.latestRtt);
    return Math.max(GRANULARITY_MS, factor * rtt);
  }

  private clamp(v: number): number {
    return Math.min(this.opts.maxRto, Math.max(this.opts.minRto, v));
  }
}
