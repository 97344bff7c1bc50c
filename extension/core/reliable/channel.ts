// Reliable, ordered, exactly-once message delivery over an unreliable datagram link, sans-I/O:
// the caller feeds in decrypted inner packets and the current time, and transmits whatever
// poll() returns. Nothing here owns a socket or a timer; nextWakeup() says when to call poll().
//
// Fragment numbers, not packets, are the unit of sequencing and of the send/receive windows: a
// fragment always fits one packet, and several small fragments may share one. The congestion
// window counts bytes, so packets of coalesced small messages are paced like full ones.
import {
  ACK_HEADER_BYTES,
  ACK_RANGE_BYTES,
  DataFrame,
  Frame,
  LinkFrame,
  MAX_ACK_DELAY_MS,
  MAX_ACK_RANGES,
  decodePacket,
  encodePacket,
  frameSize,
} from '../wire/frames';
import { Receiver } from './receiver';
import { OutFragment, Sender } from './sender';
import { MAX_WINDOW, toWire } from './sequence';

export const MIB = 1024 * 1024;

export interface ReliableChannelOptions {
  /** Largest inner packet poll() returns, in bytes. Default 1100; at least 64. */
  mtu?: number;
  /** Largest message either way. Default 4 MiB; at least 1 MiB. */
  maxMessageBytes?: number;
  /** Fragments that may be outstanding (sent, not cumulatively acked). Default 256. */
  sendWindow?: number;
  /** Fragments beyond the next expected one that we accept. Default 1024; keep >= the peer's sendWindow. */
  receiveWindow?: number;
  /** Payload bytes held out of order. Default 1 MiB. */
  maxReassemblyBytes?: number;
  /** RFC 6298 bounds, ms. Defaults 200 / 10 000 / 1000. */
  minRto?: number;
  maxRto?: number;
  initialRto?: number;
  /** Longest we hold back an ACK for a lone data packet, ms; assumed the same on the peer. Default 25. */
  maxAckDelay?: number;
  /** Congestion window at start, in full packets (mtu bytes). Default 10 (RFC 6928). */
  initialWindow?: number;
  /** First fragment number, both directions; both peers must agree. Default 0 (tests use it to cross 2^32). */
  initialSeq?: number;
}

export type ChannelErrorCode = 'message-too-large' | 'protocol-violation' | 'handler-error';

export interface ChannelError {
  code: ChannelErrorCode;
  message: string;
}

export interface ReliableStats {
  packetsSent: number;
  packetsReceived: number;
  /** DATA fragments sent for the first time. */
  sent: number;
  retransmitted: number;
  acksSent: number;
  /** New DATA fragments accepted. */
  received: number;
  duplicates: number;
  messagesSent: number;
  messagesDelivered: number;
  messagesAcked: number;
  dropped: {
    malformed: number;
    outOfWindow: number;
    overBudget: number;
    badAck: number;
    oversize: number;
    protocol: number;
    afterFailure: number;
    /** Link frames in a received packet while no onLinkFrame handler is set (the link layer took them itself). */
    linkFramesIgnored: number;
  };
  timeouts: number;
  lossesDetected: number;
  /** Losses later disproved by an ACK (reordering); they raise the loss thresholds. */
  spuriousLosses: number;
  srtt: number | undefined;
  /** Smallest RTT sample so far (Infinity before the first). */
  minRtt: number;
  /** Smallest sample less the peer's reported ACK delay (Infinity before the first). */
  minPathRtt: number;
  rttvar: number;
  rto: number;
  /** Congestion window, bytes. */
  cwnd: number;
  ssthresh: number;
  /** DATA fragments in flight. */
  inFlight: number;
  /** Messages not yet fully transmitted once. */
  queued: number;
  queuedBytes: number;
  /** Messages handed to send() and not yet acknowledged. */
  unacked: number;
  /** Receive-side memory: out-of-order payload bytes plus the message being assembled. */
  reassemblyBytes: number;
  heldFragments: number;
}

function option(name: string, value: number | undefined, dflt: number, min: number, max: number): number {
  const v = value ?? dflt;
  if (!Number.isFinite(v) || v < min || v > max) {
    throw new RangeError(`ReliableChannel option ${name}=${v} is outside [${min}, ${max}]`);
  }
  return v;
}

function intOption(name: string, value: number | undefined, dflt: number, min: number, max: number): number {
  const v = option(name, value, dflt, min, max);
  if (!Number.isInteger(v)) throw new RangeError(`ReliableChannel option ${name}=${v} must be an integer`);
  return v;
}

export class ReliableChannel {
  /** Complete messages, in order, exactly once. Called synchronously inside receivePacket, before any ACK covering it exists. */
  onMessage?: (message: Buffer) => void;
  /** The peer has delivered every fragment of that message (cumulatively acknowledged). */
  onAcked?: (handle: number) => void;
  /** The channel failed and is now inert (no packets in or out). Called once. */
  onError?: (error: ChannelError) => void;
  /** PING, PONG, EPHEMERAL and CLOSE frames found in received packets: the link layer's business. */
  onLinkFrame?: (frame: LinkFrame, now: number) => void;

  /** Raised by setMtu() once the path is known to carry bigger datagrams. */
  mtu: number;
  readonly maxMessageBytes: number;
  private readonly sender: Sender;
  private readonly receiver: Receiver;
  private nextHandle = 1;
  private lastNow = -Infinity;
  private failure: ChannelError | undefined;
  private readonly counters = {
    packetsSent: 0,
    packetsReceived: 0,
    acksSent: 0,
    received: 0,
    duplicates: 0,
    messagesSent: 0,
    messagesDelivered: 0,
    messagesAcked: 0,
  };
  private readonly dropped = {
    malformed: 0,
    outOfWindow: 0,
    overBudget: 0,
    badAck: 0,
    oversize: 0,
    protocol: 0,
    afterFailure: 0,
    linkFramesIgnored: 0,
  };

  constructor(opts: ReliableChannelOptions = {}) {
    this.mtu = intOption('mtu', opts.mtu, 1100, 64, 0xffff);
    this.maxMessageBytes = intOption('maxMessageBytes', opts.maxMessageBytes, 4 * MIB, MIB, 0xffffffff);
    const sendWindow = intOption('sendWindow', opts.sendWindow, 256, 1, MAX_WINDOW);
    const receiveWindow = intOption('receiveWindow', opts.receiveWindow, 1024, 1, MAX_WINDOW);
    const maxReassemblyBytes = intOption('maxReassemblyBytes', opts.maxReassemblyBytes, MIB, 0, 2 ** 40);
    const minRto = option('minRto', opts.minRto, 200, 1, 2 ** 31);
    const maxRto = option('maxRto', opts.maxRto, 10_000, minRto, 2 ** 31);
    const initialRto = option('initialRto', opts.initialRto, 1000, minRto, maxRto);
    const maxAckDelay = option('maxAckDelay', opts.maxAckDelay, 25, 0, MAX_ACK_DELAY_MS);
    const initialWindow = intOption('initialWindow', opts.initialWindow, 10, 1, MAX_WINDOW);
    const initialSeq = intOption('initialSeq', opts.initialSeq, 0, 0, 2 ** 52);
    const maxAckRanges = Math.min(MAX_ACK_RANGES, Math.floor((this.mtu - ACK_HEADER_BYTES) / ACK_RANGE_BYTES));

    this.sender = new Sender({
      mtu: this.mtu,
      sendWindow,
      initialWindow,
      initialSeq,
      rtt: { initialRto, minRto, maxRto, peerMaxAckDelay: maxAckDelay },
    });
    this.receiver = new Receiver(
      { receiveWindow, maxReassemblyBytes, maxMessageBytes: this.maxMessageBytes, maxAckDelay, maxAckRanges, initialSeq },
      (message) => {
        this.counters.messagesDelivered++;
        this.onMessage?.(message);
      },
    );
  }

  /**
   * Bigger inner packets from now on (never smaller): the link proved with a probe that the path
   * carries them, so many small messages share one datagram, one seal and one syscall.
   */
  setMtu(mtu: number): void {
    if (!Number.isInteger(mtu) || mtu <= this.mtu || mtu > 0xffff) return;
    this.mtu = mtu;
    this.sender.setMtu(mtu);
  }

  /** Set once the channel has failed; it then ignores input and produces nothing. */
  get error(): ChannelError | undefined {
    return this.failure;
  }

  /** Nothing queued, nothing unacknowledged, no ACK owed. */
  get idle(): boolean {
    return this.sender.idle && !this.receiver.ackOwed;
  }

  /**
   * The path under the channel changed (the peer's address moved): what is in flight went to an address that
   * no longer works. Resend the earliest outstanding packet at the next poll instead of at a backed-off timer.
   */
  retransmitNow(now: number): void {
    if (this.failure) return;
    this.touch(now);
    this.sender.retransmitNow(now);
  }

  /**
   * Enqueues a message; returns the handle later passed to onAcked. The message is copied unless `owned`: the
   * caller then hands over a Buffer it never changes again (the room's freshly encoded messages), one copy fewer.
   */
  send(message: Uint8Array, now: number, owned = false): number {
    if (this.failure) throw new Error(`reliable channel has failed (${this.failure.code}): ${this.failure.message}`);
    if (message.length > this.maxMessageBytes) {
      throw new RangeError(`message of ${message.length} bytes exceeds the ${this.maxMessageBytes}-byte limit`);
    }
    this.touch(now);
    const handle = this.nextHandle++;
    this.sender.enqueue(handle, owned && Buffer.isBuffer(message) ? message : Buffer.from(message));
    this.counters.messagesSent++;
    return handle;
  }

  /** One decrypted inner packet. Malformed packets are dropped whole and counted. */
  receivePacket(packet: Uint8Array, now: number): void {
    if (this.failure) {
      this.dropped.afterFailure++;
      return;
    }
    this.counters.packetsReceived++;
    const decoded = decodePacket(packet);
    if (!decoded.ok) {
      this.dropped.malformed++;
      return;
    }
    this.receiveFrames(decoded.value, now);
  }

  /** The frames of one inner packet, already decoded (payloads must not be reused by the caller). */
  receiveFrames(frames: readonly Frame[], now: number): void {
    if (this.failure) {
      this.dropped.afterFailure++;
      return;
    }
    this.touch(now);
    let carriedData = false;
    const ackedHandles: number[] = [];
    for (const f of frames) {
      if (f.type === 'data') {
        carriedData = true;
        if (!this.onData(f, now)) return;
      } else if (f.type === 'ack') {
        const handles = this.sender.onAck(f, now);
        if (handles === 'bad') this.dropped.badAck++;
        else for (const h of handles) ackedHandles.push(h);
      } else if (this.onLinkFrame) {
        this.onLinkFrame(f, now);
      } else {
        this.dropped.linkFramesIgnored++;
      }
    }
    this.receiver.endPacket(now, carriedData);
    this.counters.messagesAcked += ackedHandles.length;
    // Callbacks run after all state changes so they may call send() freely; the first error
    // is rethrown once every handle has been reported.
    let thrown: unknown;
    let threw = false;
    for (const h of ackedHandles) {
      try {
        this.onAcked?.(h);
      } catch (e) {
        if (!threw) thrown = e;
        threw = true;
      }
    }
    if (threw) throw thrown;
  }

  private onData(f: DataFrame, now: number): boolean {
    let outcome;
    try {
      outcome = this.receiver.onData(f, now);
    } catch (e) {
      // The application could not take the message: never acknowledge it.
      this.fail('handler-error', `onMessage threw: ${e instanceof Error ? e.message : String(e)}`);
      return false;
    }
    switch (outcome) {
      case 'accepted':
        this.counters.received++;
        return true;
      case 'duplicate':
        this.counters.duplicates++;
        return true;
      case 'out-of-window':
        this.dropped.outOfWindow++;
        return true;
      case 'over-budget':
        this.dropped.overBudget++;
        return true;
      default:
        if (outcome.code === 'message-too-large') this.dropped.oversize++;
        else this.dropped.protocol++;
        this.fail(outcome.code, outcome.message);
        return false;
    }
  }

  private fail(code: ChannelErrorCode, message: string): void {
    if (this.failure) return;
    this.failure = { code, message };
    this.onError?.(this.failure);
  }

  /**
   * Inner packets to transmit now, each at most `mtu` bytes: an ACK if one is due (or can ride
   * along), retransmissions, then new fragments. `extra` frames (e.g. the link layer's PING)
   * are packed alongside; each must fit in one packet.
   */
  poll(now: number, extra: readonly Frame[] = []): Buffer[] {
    if (this.failure) return [];
    this.touch(now);
    for (const f of extra) {
      if (frameSize(f) > this.mtu) throw new RangeError(`a ${f.type} frame of ${frameSize(f)} bytes exceeds the mtu`);
    }
    this.sender.onTimers(now);
    const dataPackets = this.sender.take(now);

    const packets: OutPacket[] = [];
    for (const frags of dataPackets) {
      const frames: Frame[] = [];
      let size = 0;
      for (const f of frags) {
        frames.push(toDataFrame(f));
        size += f.wireBytes;
      }
      packets.push({ frames, size });
    }
    const deadline = this.receiver.ackDeadline();
    const ackDue = deadline !== undefined && deadline <= now;
    // An owed ACK rides along with anything we send anyway, even before its timer is due.
    const canRide = this.receiver.ackOwed && (packets.length > 0 || extra.length > 0);
    if (ackDue || canRide) {
      this.place(packets, this.receiver.buildAck(now), true);
      this.counters.acksSent++;
    }
    for (const f of extra) this.place(packets, f, false);

    const out: Buffer[] = [];
    for (const p of packets) out.push(encodePacket(p.frames));
    this.counters.packetsSent += out.length;
    return out;
  }

  /** First fit, else a packet of its own; `front` puts the ACK ahead of the data it rides with. */
  private place(packets: OutPacket[], frame: Frame, front: boolean): void {
    const size = frameSize(frame);
    let target = packets.find((p) => p.size + size <= this.mtu);
    if (!target) {
      target = { frames: [], size: 0 };
      if (front) packets.unshift(target);
      else packets.push(target);
    }
    if (front) target.frames.unshift(frame);
    else target.frames.push(frame);
    target.size += size;
  }

  /**
   * When poll() should next be called; a value at or before the last `now` seen means "now".
   * Undefined when nothing is pending (or the channel has failed).
   */
  nextWakeup(): number | undefined {
    if (this.failure) return undefined;
    if (this.sender.hasSendable()) return this.lastNow;
    let at = this.sender.wakeup();
    const ack = this.receiver.ackDeadline();
    if (ack !== undefined) {
      const ackAt = ack === -Infinity ? this.lastNow : ack;
      at = at === undefined ? ackAt : Math.min(at, ackAt);
    }
    return at;
  }

  get stats(): ReliableStats {
    const s = this.sender;
    const c = this.counters;
    // Spelled out rather than spread: V8 builds this literal far faster without a spread prefix.
    return {
      packetsSent: c.packetsSent,
      packetsReceived: c.packetsReceived,
      acksSent: c.acksSent,
      received: c.received,
      duplicates: c.duplicates,
      messagesSent: c.messagesSent,
      messagesDelivered: c.messagesDelivered,
      messagesAcked: c.messagesAcked,
      sent: s.sent,
      retransmitted: s.retransmitted,
      dropped: { ...this.dropped },
      timeouts: s.timeouts,
      lossesDetected: s.lossesDetected,
      spuriousLosses: s.spuriousLosses,
      srtt: s.rtt.srtt,
      minRtt: s.rtt.minRtt,
      minPathRtt: s.rtt.minPathRtt,
      rttvar: s.rtt.rttvar,
      rto: s.rtt.rto,
      cwnd: s.cc.cwnd,
      ssthresh: s.cc.ssthresh,
      inFlight: s.inFlight,
      queued: s.queuedMessages,
      queuedBytes: s.queuedBytes,
      unacked: s.unackedMessages,
      reassemblyBytes: this.receiver.heldBytes + this.receiver.partialBytes,
      heldFragments: this.receiver.heldFragments,
    };
  }

  private touch(now: number): void {
    if (now > this.lastNow) this.lastNow = now;
  }
}

interface OutPacket {
  frames: Frame[];
  size: number;
}

function toDataFrame(f: OutFragment): DataFrame {
  const frame: DataFrame = { type: 'data', seq: toWire(f.seq), first: f.first, last: f.last, payload: f.payload };
  if (f.first) frame.messageLength = f.messageLength;
  return frame;
}
