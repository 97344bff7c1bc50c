// Sending half of the reliable channel: fragments queued messages lazily as the windows open,
// tracks every fragment until it is acknowledged, detects loss from ACK evidence (packet and
// time thresholds, RFC 9002 §6.1) and from the retransmission timer (RFC 6298), and reports a
// message as acknowledged only when the cumulative ACK passes its last fragment (SACK ranges mean
// "buffered by the peer", not "delivered").
import type { AckFrame } from '../wire/frames';
import { DATA_FIRST_EXTRA_BYTES, DATA_HEADER_BYTES } from '../wire/frames';
import { CongestionWindow } from './congestion';
import { RttEstimator, RttOptions } from './rttEstimator';
import { expand } from './sequence';

const IN_FLIGHT = 0;
const LOST = 1; // waiting to be retransmitted
const SACKED = 2; // held by the peer, not yet covered by its cumulative ACK

/**
 * Loss thresholds start where RFC 9002 puts them (3 packets, 9/8 RTT) and grow when a loss
 * turns out to have been reordering, so a reordering path does not keep paying for spurious
 * retransmissions. The packet threshold has no cap: at a high packet rate a few milliseconds
 * of reordering span many packets, and past a point detection is left to the time threshold
 * (as RACK, RFC 8985, does), which is capped.
 */
const INITIAL_PACKET_THRESHOLD = 3;
const INITIAL_TIME_FACTOR = 9 / 8;
const MAX_TIME_FACTOR = 2;
const BY_TIME = -1;
const BY_TIMEOUT = -2;

export interface OutFragment {
  seq: number;
  handle: number;
  first: boolean;
  last: boolean;
  messageLength: number;
  payload: Buffer;
  state: number;
  txCount: number;
  sentAt: number;
  /** Number of the packet that carried the latest transmission (frames of one packet share it). */
  packet: number;
  /** Encoded DATA frame size: what the fragment costs the congestion window. */
  wireBytes: number;
  /** How the latest loss was declared: packets between it and the acknowledged one, or BY_TIME / BY_TIMEOUT. */
  lostDistance: number;
  /** The loss episode its latest loss was counted in. */
  lossEpisode: number;
}

interface QueuedMessage {
  handle: number;
  data: Buffer;
  offset: number;
}

export interface SenderOptions {
  mtu: number;
  sendWindow: number;
  initialWindow: number;
  initialSeq: number;
  rtt: RttOptions;
}

export class Sender {
  /** Oldest fragment not covered by the peer's cumulative ACK. */
  sndUna: number;
  nextSeq: number;
  readonly rtt: RttEstimator;
  readonly cc: CongestionWindow;
  private readonly frags = new Map<number, OutFragment>();
  private queue: (QueuedMessage | undefined)[] = [];
  private queueHead = 0;
  queuedBytes = 0;
  inFlight = 0;
  inFlightBytes = 0;
  packetThreshold = INITIAL_PACKET_THRESHOLD;
  timeFactor = INITIAL_TIME_FACTOR;
  /** Seqs awaiting retransmission, kept sorted descending so the lowest pops off the end. */
  private lost: number[] = [];
  private lostSorted = true;
  private lostCount = 0;
  rtoDeadline: number | undefined;
  lossTime: number | undefined;
  private largestAckedPacket = -1;
  private packetCounter = 0;
  /** Packets take() may send beyond the congestion window: the timeout's probe. */
  private probePackets = 0;
  private episode = 0;
  private episodeLosses = 0;
  private episodeSpurious = 0;
  private episodeUndoable = false;
  unackedMessages = 0;

  sent = 0;
  retransmitted = 0;
  timeouts = 0;
  lossesDetected = 0;
  spuriousLosses = 0;

  /** Only ever raised (retransmissions keep the size they were cut at, which must still fit). */
  setMtu(mtu: number): void {
    if (mtu <= this.opts.mtu) return;
    this.opts.mtu = mtu;
    this.cc.setPacketBytes(mtu, this.opts.sendWindow * mtu);
  }

  constructor(private readonly opts: SenderOptions) {
    this.sndUna = opts.initialSeq;
    this.nextSeq = opts.initialSeq;
    this.rtt = new RttEstimator(opts.rtt);
    this.cc = new CongestionWindow(opts.mtu, opts.initialWindow, opts.sendWindow * opts.mtu);
  }

  get queuedMessages(): number {
    return this.queue.length - this.queueHead;
  }

  get idle(): boolean {
    return this.queuedMessages === 0 && this.frags.size === 0;
  }

  enqueue(handle: number, data: Buffer): void {
    this.queue.push({ handle, data, offset: 0 });
    this.queuedBytes += data.length;
    this.unackedMessages++;
  }

  private newDataAllowed(): boolean {
    return this.queuedMessages > 0 && this.nextSeq - this.sndUna < this.opts.sendWindow;
  }

  /** Whether take() would return something now; must agree with it exactly. */
  hasSendable(): boolean {
    if (this.lostCount > 0) return this.probePackets > 0 || this.inFlightBytes < this.cc.cwnd;
    return this.newDataAllowed() && (this.inFlightBytes === 0 || this.cc.cwnd - this.inFlightBytes >= this.opts.mtu);
  }

  /** Earliest timer (retransmission or time-threshold loss), if any. */
  wakeup(): number | undefined {
    if (this.rtoDeadline === undefined) return this.lossTime;
    if (this.lossTime === undefined) return this.rtoDeadline;
    return Math.min(this.rtoDeadline, this.lossTime);
  }

  /** Moves the retransmission timer to now, without its backoff (see ReliableChannel.retransmitNow). */
  retransmitNow(now: number): void {
    if (this.inFlight === 0) return;
    this.rtt.backoff = 0;
    this.rtoDeadline = now;
  }

  /**
   * On a retransmission timeout (RFC 6298 §5.4–5.6) the earliest outstanding packet's fragments
   * are resent as a probe, even beyond the congestion window, and the timer backs off. The rest
   * stay outstanding: once the probe is acknowledged, ordinary loss detection sorts out what was
   * really lost, so a timeout caused by lost ACKs costs one packet, not a window (the probe
   * approach of RFC 9002 §6.2). The first timeout counts as a loss episode; a second in a row
   * means the path is dead for now, and the window collapses to one packet.
   */
  onTimers(now: number): void {
    if (this.lossTime !== undefined && now >= this.lossTime) this.detectLosses(now);
    if (this.rtoDeadline !== undefined && now >= this.rtoDeadline) {
      this.rtoDeadline = undefined;
      // Nothing in flight means loss detection already queued everything: no timeout to punish.
      if (this.inFlight === 0) return;
      this.timeouts++;
      this.rtt.backoff++;
      let earliest: OutFragment | undefined;
      for (const f of this.frags.values()) {
        if (f.state !== IN_FLIGHT) continue;
        if (earliest === undefined) earliest = f;
        if (f.packet === earliest.packet) this.markLost(f, BY_TIMEOUT);
      }
      if (this.rtt.backoff >= 2) this.cc.onPersistentCongestion(now);
      else if (this.cc.onLoss(earliest!.sentAt, now)) this.startEpisode(false);
      this.episodeUndoable = false;
      this.probePackets = 1;
    }
  }

  private startEpisode(undoable: boolean): void {
    this.episode++;
    this.episodeLosses = 0;
    this.episodeSpurious = 0;
    this.episodeUndoable = undoable;
  }

  /** Wire size of the next new fragment, or undefined when no new data may be sent. */
  private peekNewFragmentBytes(): number | undefined {
    if (!this.newDataAllowed()) return undefined;
    const m = this.queue[this.queueHead]!;
    const extra = m.offset === 0 ? DATA_FIRST_EXTRA_BYTES : 0;
    return DATA_HEADER_BYTES + extra + Math.min(this.opts.mtu - DATA_HEADER_BYTES - extra, m.data.length - m.offset);
  }

  /** The lowest fragment awaiting retransmission, skipping entries made stale by ACKs. */
  private peekLost(): OutFragment | undefined {
    if (this.lostCount === 0) {
      this.lost.length = 0; // only stale entries can be left
      return undefined;
    }
    if (!this.lostSorted) {
      this.lost.sort((a, b) => b - a);
      this.lostSorted = true;
    }
    for (;;) {
      const f = this.frags.get(this.lost[this.lost.length - 1]);
      if (f && f.state === LOST) return f;
      this.lost.pop();
    }
  }

  /**
   * Packets of fragments to transmit now, retransmissions first, then new data. The window is
   * checked per packet and a started packet is filled, so small messages share packets even
   * when the window opens a little at a time. New data also waits until a whole packet's worth
   * of window is open (sender-side silly-window avoidance).
   */
  take(now: number): OutFragment[][] {
    const packets: OutFragment[][] = [];
    let current: OutFragment[] = [];
    let room = 0;
    const mtu = this.opts.mtu;
    for (;;) {
      const lost = this.peekLost();
      const bytes = lost ? lost.wireBytes : this.peekNewFragmentBytes();
      if (bytes === undefined) break;
      if (current.length === 0 || bytes > room) {
        let canOpen = lost
          ? this.inFlightBytes < this.cc.cwnd
          : this.inFlightBytes === 0 || this.cc.cwnd - this.inFlightBytes >= mtu;
        if (!canOpen && lost && this.probePackets > 0) {
          this.probePackets--;
          canOpen = true;
        }
        if (!canOpen) break;
        current = [];
        packets.push(current);
        room = mtu;
        this.packetCounter++;
      }
      let f: OutFragment;
      if (lost) {
        this.lost.pop();
        this.lostCount--;
        f = lost;
        f.state = IN_FLIGHT;
        f.txCount++;
        f.sentAt = now;
        this.retransmitted++;
      } else {
        f = this.nextFragment(now);
        this.frags.set(f.seq, f);
        this.sent++;
      }
      f.packet = this.packetCounter;
      this.inFlight++;
      this.inFlightBytes += f.wireBytes;
      room -= f.wireBytes;
      current.push(f);
    }
    if (packets.length > 0 && this.rtoDeadline === undefined) this.rtoDeadline = now + this.rtt.rto;
    return packets;
  }

  private nextFragment(now: number): OutFragment {
    const m = this.queue[this.queueHead]!;
    const first = m.offset === 0;
    const room = this.opts.mtu - DATA_HEADER_BYTES - (first ? DATA_FIRST_EXTRA_BYTES : 0);
    const len = Math.min(room, m.data.length - m.offset);
    const payload = m.data.subarray(m.offset, m.offset + len);
    m.offset += len;
    this.queuedBytes -= len;
    const last = m.offset === m.data.length;
    if (last) {
      this.queue[this.queueHead++] = undefined;
      if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.queueHead);
        this.queueHead = 0;
      }
    }
    return {
      seq: this.nextSeq++,
      handle: m.handle,
      first,
      last,
      messageLength: m.data.length,
      payload,
      state: IN_FLIGHT,
      txCount: 1,
      sentAt: now,
      packet: 0,
      wireBytes: DATA_HEADER_BYTES + (first ? DATA_FIRST_EXTRA_BYTES : 0) + len,
      lostDistance: 0,
      lossEpisode: 0,
    };
  }

  /**
   * Applies one ACK frame. Returns the handles of messages now fully acknowledged, in order, or
   * 'bad' when the frame acknowledges fragments never sent (then nothing is applied).
   */
  onAck(ack: AckFrame, now: number): number[] | 'bad' {
    const cum = expand(ack.cumulative, this.sndUna);
    if (cum > this.nextSeq) return 'bad';
    let largestAcked = cum - 1;
    const ranges: { start: number; end: number }[] = [];
    for (const r of ack.ranges) {
      const start = expand(r.start, this.sndUna);
      const end = start + r.length;
      if (end > this.nextSeq) return 'bad';
      ranges.push({ start, end });
      if (end - 1 > largestAcked) largestAcked = end - 1;
    }

    let progress = false;
    let sampleFrom: OutFragment | undefined;
    const acked = (f: OutFragment): void => {
      if (f.state === IN_FLIGHT) {
        this.inFlight--;
        this.inFlightBytes -= f.wireBytes;
        // Acknowledged sooner after a retransmission than any round trip: the original made it.
        if (f.txCount > 1 && this.rtt.minRtt < Infinity && now - f.sentAt < this.rtt.minRtt) this.onSpuriousLoss(f);
      } else if (f.state === LOST) {
        this.lostCount--; // its entry in `lost` goes stale
        this.onSpuriousLoss(f);
      }
      this.cc.onAcked(f.wireBytes, f.sentAt);
      if (f.packet > this.largestAckedPacket) this.largestAckedPacket = f.packet;
      if (f.seq === largestAcked) sampleFrom = f;
      progress = true;
    };

    const handles: number[] = [];
    while (this.sndUna < cum) {
      const f = this.frags.get(this.sndUna);
      if (f) {
        if (f.state !== SACKED) acked(f);
        this.frags.delete(this.sndUna);
        if (f.last) handles.push(f.handle);
      }
      this.sndUna++;
    }
    for (const r of ranges) {
      for (let s = Math.max(r.start, this.sndUna); s < r.end; s++) {
        const f = this.frags.get(s);
        if (f && f.state !== SACKED) {
          acked(f);
          f.state = SACKED;
        }
      }
    }

    // Karn: a fragment sent more than once gives an ambiguous sample.
    if (sampleFrom && sampleFrom.txCount === 1) this.rtt.sample(now - sampleFrom.sentAt, ack.ackDelay);
    if (progress) {
      this.rtt.backoff = 0;
      this.probePackets = 0;
      this.rtoDeadline = this.inFlight > 0 ? now + this.rtt.rto : undefined;
      this.detectLosses(now);
    }
    if (this.lostCount === 0) this.lost.length = 0; // drop entries of spurious losses
    this.unackedMessages -= handles.length;
    return handles;
  }

  private detectLosses(now: number): void {
    this.lossTime = undefined;
    if (this.largestAckedPacket < 0) return;
    const delay = this.rtt.lossDelay(this.timeFactor);
    for (const f of this.frags.values()) {
      if (f.state !== IN_FLIGHT || f.packet >= this.largestAckedPacket) continue;
      // One expression for both the test and the timer, so float rounding cannot leave a
      // timer that is due but never fires.
      const at = f.sentAt + delay;
      const distance = this.largestAckedPacket - f.packet;
      if (distance >= this.packetThreshold || at <= now) {
        this.markLost(f, distance >= this.packetThreshold ? distance : BY_TIME);
        this.lossesDetected++;
        if (this.cc.onLoss(f.sentAt, now)) this.startEpisode(true);
        f.lossEpisode = this.episode;
        this.episodeLosses++;
      } else if (this.lossTime === undefined || at < this.lossTime) {
        this.lossTime = at;
      }
    }
  }

  private onSpuriousLoss(f: OutFragment): void {
    this.spuriousLosses++;
    if (f.lostDistance !== BY_TIMEOUT && f.lossEpisode === this.episode && this.episodeUndoable) {
      this.episodeSpurious++;
      if (this.episodeSpurious >= this.episodeLosses) {
        this.cc.undo();
        this.episodeUndoable = false;
      }
    }
    if (f.lostDistance >= 0) {
      this.packetThreshold = Math.max(this.packetThreshold, f.lostDistance + 1);
    } else if (f.lostDistance === BY_TIME) {
      this.timeFactor = Math.min(MAX_TIME_FACTOR, this.timeFactor + 1 / 8);
    }
    // A timeout that proves spurious says the RTO was short; the RTT samples already correct that.
  }

  private markLost(f: OutFragment, distance: number): void {
    f.state = LOST;
    f.lostDistance = distance;
    this.inFlight--;
    this.inFlightBytes -= f.wireBytes;
    this.lostCount++;
    this.lost.push(f.seq);
    this.lostSorted = false;
  }
}
