// NewReno-style congestion window in bytes (RFC 5681 / RFC 9002 §7): slow start, additive
// increase of one packet per window, halving once per loss episode, collapse to one packet
// when the path looks dead (persistent congestion). Bytes rather than fragments, because many
// small chat messages share one packet: a fragment-counted window would let a whole window fit
// in one packet and leave no later packets whose ACKs could reveal a loss.
//
// A loss episode starts when a loss is detected; losses of fragments sent before it started
// belong to the same episode and do not shrink the window again. An episode whose every loss
// later proves to be reordering is undone (as TCP does with DSACK/Eifel, RFC 3708 / RFC 4015).

export class CongestionWindow {
  cwnd: number;
  ssthresh = Infinity;
  private recoveryStart = -Infinity;
  private prior: { cwnd: number; ssthresh: number; recoveryStart: number } | undefined;
  private minWindow: number;

  constructor(
    private packetBytes: number,
    initialPackets: number,
    private maxWindow: number,
  ) {
    this.minWindow = 2 * packetBytes;
    this.cwnd = Math.min(initialPackets * packetBytes, maxWindow);
  }

  /** The path carries bigger packets now: keep the window's size in packets. */
  setPacketBytes(bytes: number, maxWindow: number): void {
    const scale = bytes / this.packetBytes;
    this.packetBytes = bytes;
    this.maxWindow = maxWindow;
    this.minWindow = 2 * bytes;
    this.cwnd = Math.min(maxWindow, this.cwnd * scale);
    if (this.ssthresh !== Infinity) this.ssthresh *= scale;
  }

  onAcked(bytes: number, sentAt: number): void {
    if (sentAt < this.recoveryStart) return;
    this.cwnd += this.cwnd < this.ssthresh ? bytes : (this.packetBytes * bytes) / this.cwnd;
    if (this.cwnd > this.maxWindow) this.cwnd = this.maxWindow;
  }

  /** Returns whether this loss started a new episode. */
  onLoss(sentAt: number, now: number): boolean {
    if (sentAt < this.recoveryStart) return false;
    this.prior = { cwnd: this.cwnd, ssthresh: this.ssthresh, recoveryStart: this.recoveryStart };
    this.recoveryStart = now;
    this.ssthresh = Math.max(this.cwnd / 2, this.minWindow);
    this.cwnd = this.ssthresh;
    return true;
  }

  /** The current episode's losses were all reordering: restore the window it cut. */
  undo(): void {
    if (!this.prior) return;
    this.cwnd = Math.max(this.cwnd, this.prior.cwnd);
    this.ssthresh = this.prior.ssthresh;
    this.recoveryStart = this.prior.recoveryStart;
    this.prior = undefined;
  }

  /** Consecutive retransmission timeouts: nothing is getting through. */
  onPersistentCongestion(now: number): void {
    this.prior = undefined;
    this.recoveryStart = now;
    this.ssthresh = Math.max(this.cwnd / 2, this.minWindow);
    this.cwnd = this.packetBytes;
  }
}
