// Receiving half of the reliable channel: accepts DATA fragments within a bounded window,
// holds out-of-order ones under a byte budget, reassembles messages in order, hands each
// complete message to `deliver` synchronously, and decides when an ACK is owed.
//
// The cumulative point only moves past a message's last fragment after `deliver` returned, and
// ACKs are only built afterwards (in poll), so an ACK covering a message's last fragment means
// the application has already taken it. SACK ranges mean "buffered", never "delivered", and
// buffered fragments are never discarded, so the sender may rely on them (no reneging).
import type { AckFrame, AckRange, DataFrame } from '../wire/frames';
import { MAX_ACK_RANGE_LENGTH } from '../wire/frames';
import { RangeSet, SeqRange } from './rangeSet';
import { expand, toWire } from './sequence';

export interface ReceiverOptions {
  receiveWindow: number;
  maxReassemblyBytes: number;
  maxMessageBytes: number;
  maxAckDelay: number;
  maxAckRanges: number;
  initialSeq: number;
}

export type ReceiveOutcome = 'accepted' | 'duplicate' | 'out-of-window' | 'over-budget';

export interface ReceiveViolation {
  code: 'message-too-large' | 'protocol-violation';
  message: string;
}

interface HeldFragment {
  first: boolean;
  last: boolean;
  messageLength: number;
  payload: Buffer;
}

interface PartialMessage {
  expected: number;
  got: number;
  chunks: Buffer[];
}

export class Receiver {
  /** Next fragment number expected in order; everything below it has been consumed. */
  rcvNext: number;
  private readonly held = new Map<number, HeldFragment>();
  private readonly heldRanges = new RangeSet();
  heldBytes = 0;
  private partial: PartialMessage | undefined;
  private largest = -Infinity;
  private largestAt = 0;
  private unackedPackets = 0;
  private ackImmediately = false;
  private ackDueAt: number | undefined;

  constructor(
    private readonly opts: ReceiverOptions,
    private readonly deliver: (message: Buffer) => void,
  ) {
    this.rcvNext = opts.initialSeq;
  }

  /** Bytes of the message being assembled in order (bounded by maxMessageBytes). */
  get partialBytes(): number {
    return this.partial?.got ?? 0;
  }

  get heldFragments(): number {
    return this.held.size;
  }

  onData(f: DataFrame, now: number): ReceiveOutcome | ReceiveViolation {
    const seq = expand(f.seq, this.rcvNext);
    if (seq < this.rcvNext || this.held.has(seq)) {
      // A repeat usually means our ACK was lost: answer at once so the sender stops resending.
      this.ackImmediately = true;
      return 'duplicate';
    }
    if (seq >= this.rcvNext + this.opts.receiveWindow) {
      this.ackImmediately = true;
      return 'out-of-window';
    }
    const messageLength = f.first ? (f.messageLength ?? -1) : 0;
    if (f.first) {
      // Refused on sight, even out of order, so it is never buffered.
      if (messageLength < 0) return { code: 'protocol-violation', message: 'first fragment without a message length' };
      if (messageLength > this.opts.maxMessageBytes) {
        return {
          code: 'message-too-large',
          message: `peer announced a ${messageLength}-byte message; the limit is ${this.opts.maxMessageBytes}`,
        };
      }
    }
    // A payload may be a view of its whole decrypted packet (decodePacket's dataViews): what is delivered at once
    // is used in place, what is kept (out of order, or part of a longer message) is copied, so a kept fragment
    // never pins a packet many times its size.
    const frag: HeldFragment = { first: f.first, last: f.last, messageLength, payload: f.payload };

    if (seq === this.rcvNext) {
      const err = this.consume(frag);
      if (err) return err;
      this.rcvNext++;
      const run = this.heldRanges.first();
      if (run && run.start === this.rcvNext) {
        this.heldRanges.shift();
        for (let s = run.start; s < run.end; s++) {
          const next = this.held.get(s)!;
          this.held.delete(s);
          this.heldBytes -= next.payload.length;
          const e = this.consume(next);
          if (e) return e;
          this.rcvNext++;
        }
        this.ackImmediately = true; // a filled gap: tell the sender promptly
      }
    } else {
      if (this.heldBytes + f.payload.length > this.opts.maxReassemblyBytes) {
        this.ackImmediately = true;
        return 'over-budget';
      }
      frag.payload = Buffer.from(f.payload);
      this.held.set(seq, frag);
      this.heldBytes += f.payload.length;
      this.heldRanges.add(seq);
      this.ackImmediately = true; // out of order: the sender needs the SACK evidence now
    }
    if (seq > this.largest) {
      this.largest = seq;
      this.largestAt = now;
    }
    return 'accepted';
  }

  /** Appends an in-order fragment; delivers when it completes a message. */
  private consume(f: HeldFragment): ReceiveViolation | undefined {
    const len = f.payload.length;
    if (f.first) {
      if (this.partial) return violation('first fragment inside an unfinished message');
      if (f.last) {
        if (len !== f.messageLength) return violation('single-fragment message length mismatch');
        this.deliver(f.payload);
        return undefined;
      }
      if (len >= f.messageLength) return violation('first fragment as long as the whole message');
      this.partial = { expected: f.messageLength, got: len, chunks: [Buffer.from(f.payload)] };
      return undefined;
    }
    const p = this.partial;
    if (!p) return violation('continuation fragment without a first fragment');
    p.got += len;
    if (f.last ? p.got !== p.expected : p.got >= p.expected) {
      return violation('fragments do not add up to the announced message length');
    }
    if (!f.last) {
      p.chunks.push(Buffer.from(f.payload));
      return undefined;
    }
    p.chunks.push(f.payload); // copied by the concatenation
    this.partial = undefined;
    this.deliver(Buffer.concat(p.chunks, p.expected));
    return undefined;
  }

  /** Called once per inner packet, after its frames. Acks every second data packet, else after a delay. */
  endPacket(now: number, carriedData: boolean): void {
    if (!carriedData) return;
    this.unackedPackets++;
    if (this.unackedPackets >= 2) this.ackImmediately = true;
    else if (this.ackDueAt === undefined) this.ackDueAt = now + this.opts.maxAckDelay;
  }

  get ackOwed(): boolean {
    return this.ackImmediately || this.unackedPackets > 0;
  }

  /** When an ACK must go out: -Infinity for "now", undefined for "nothing owed". */
  ackDeadline(): number | undefined {
    if (this.ackImmediately) return -Infinity;
    return this.ackDueAt;
  }

  buildAck(now: number): AckFrame {
    this.ackImmediately = false;
    this.ackDueAt = undefined;
    this.unackedPackets = 0;
    const ranges: AckRange[] = this.selectRanges().map((r) => ({
      start: toWire(r.start),
      length: Math.min(r.end - r.start, MAX_ACK_RANGE_LENGTH),
    }));
    const ackDelay = this.largest === -Infinity ? 0 : Math.max(0, now - this.largestAt);
    return { type: 'ack', cumulative: toWire(this.rcvNext), ackDelay, ranges };
  }

  /**
   * The lowest ranges tell the sender which holes to fill first; the highest one is always kept
   * because it holds the fragment the ACK delay refers to (the sender's RTT sample).
   */
  private selectRanges(): readonly SeqRange[] {
    const all = this.heldRanges.list();
    const max = this.opts.maxAckRanges;
    if (all.length <= max) return all;
    if (max <= 1) return all.slice(all.length - max);
    return [...all.slice(0, max - 1), all[all.length - 1]];
  }
}

function violation(message: string): ReceiveViolation {
  return { code: 'protocol-violation', message };
}
