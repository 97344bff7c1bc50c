// The sending side of one file transfer, sans-I/O. It offers the file, serves the chunks the receiver
// requests (the receiver drives: it asks for what it lacks, so a resume after either side restarts is
// just a new request), cuts them into pieces, and keeps pieces flowing under the delay-based window
// in congestion.ts. Pieces carry packet numbers; the receiver's acks name them, so a lost piece is
// resent (after three later ones arrived, or after a timeout) without waiting for a chunk to fail.
import { BLOCK_BYTES, CancelCode, Stream, type FileFrame, type FileOfferFrame } from '../wire/fileFrames';
import { BulkCongestion } from './congestion';
import { chunkCount, chunkLength, type Manifest } from './manifest';

export type OutgoingStatus = 'offering' | 'held' | 'sending' | 'done' | 'cancelled';

export interface OutgoingInit {
  id: Buffer;
  peer: string;
  name: string;
  mime: string;
  manifest: Manifest;
  /** Reads file bytes (the shell's I/O); only called for offsets the manifest covers. */
  read(offset: number, length: number): Buffer;
  /** First packet number: random, so a restarted sender never reuses numbers the receiver acked. */
  pnStart: number;
  pieceBytes: number;
  now: number;
}

interface Piece {
  stream: number;
  /** -1 for the manifest, else the chunk index. */
  unit: number;
  offset: number;
  length: number;
}

interface InFlight extends Piece {
  sentAt: number;
}

const LOSS_REORDER_PACKETS = 3;
/** Consecutive timeouts double the wait, up to this: a receiver that died is not sent a window's worth per RTO. */
const MAX_TIMEOUT_MS = 4000;
const ended = (): Buffer => Buffer.alloc(0);
const OFFER_RETRY_MIN_MS = 1000;
const OFFER_RETRY_MAX_MS = 10_000;
/** A hostile request cannot make us queue more than this many chunks at once. */
const MAX_QUEUED_UNITS = 4096;

export class OutgoingTransfer {
  readonly id: Buffer;
  readonly idHex: string;
  readonly peer: string;
  readonly name: string;
  readonly mime: string;
  readonly manifest: Manifest;
  status: OutgoingStatus = 'offering';
  cancelReason?: { code: number; reason: string; byPeer: boolean };
  /** Payload bytes put on the wire, resends included. */
  bytesSent = 0;
  /** Content bytes the receiver acknowledged (first acknowledgement of each piece). */
  bytesAcked = 0;
  piecesResent = 0;
  timeouts = 0;
  readonly cc: BulkCongestion;
  /** Dropped when the transfer ends, so that the source file can be closed (fsIo.sourceReader). */
  private read: (offset: number, length: number) => Buffer;
  private pn: number;
  private pieceBytes: number;
  private queue: Piece[] = [];
  private queueHead = 0;
  private readonly inflight = new Map<number, InFlight>();
  private inflightBytes = 0;
  /** Pieces not yet acknowledged, per unit: a request for a unit still in progress is a duplicate. */
  private readonly pending = new Map<number, number>();
  private offerAttempt = 0;
  private nextOfferAt: number;
  private lastAckAt: number;
  /** Timeouts since the last acknowledgement: each doubles the next wait, and allows one probe piece only. */
  private backoff = 0;
  private probeDue = false;
  private readonly offer: FileOfferFrame;
  private readonly chunks: number;

  constructor(init: OutgoingInit) {
    this.id = init.id;
    this.idHex = init.id.toString('hex');
    this.peer = init.peer;
    this.name = init.name;
    this.mime = init.mime;
    this.manifest = init.manifest;
    this.read = init.read;
    this.pn = init.pnStart >>> 0;
    this.pieceBytes = init.pieceBytes;
    this.cc = new BulkCongestion({ mss: init.pieceBytes });
    this.nextOfferAt = init.now;
    this.lastAckAt = init.now;
    this.chunks = chunkCount(init.manifest.size, init.manifest.chunkSize);
    const m = init.manifest;
    this.offer = { type: 'file-offer', id: init.id, size: m.size, chunkSize: m.chunkSize, sha256: m.sha256, manifestSha256: m.manifestSha256, mime: init.mime, name: init.name };
  }

  get active(): boolean {
    return this.status === 'offering' || this.status === 'held' || this.status === 'sending';
  }

  get inFlightBytes(): number {
    return this.inflightBytes;
  }

  /** The link came (back) up: say the offer again at once, the peer may have restarted or never heard it. */
  linkUp(now: number): void {
    if (!this.active) return;
    this.offerAttempt = 0;
    this.nextOfferAt = now;
  }

  setPieceBytes(n: number): void {
    if (n === this.pieceBytes) return;
    this.pieceBytes = n;
    this.cc.setMss(n);
  }

  cancel(code: number, reason: string, byPeer: boolean): void {
    if (!this.active) return;
    this.status = 'cancelled';
    this.cancelReason = { code, reason, byPeer };
    this.clear();
  }

  private clear(): void {
    this.read = ended;
    this.queue = [];
    this.queueHead = 0;
    this.inflight.clear();
    this.inflightBytes = 0;
    this.pending.clear();
  }

  receive(f: FileFrame, now: number): void {
    if (!this.active) return;
    switch (f.type) {
      case 'file-held':
        if (this.status === 'offering') this.status = 'held';
        return;
      case 'file-request':
        if (this.status !== 'sending') this.status = 'sending';
        this.nextOfferAt = Infinity;
        if (this.backoff > 0) this.receiverBack(now);
        for (const r of f.ranges) this.request(f.stream, r.start, r.length);
        return;
      case 'file-ack':
        this.onAck(f.largest, f.mask, now);
        return;
      case 'file-done':
        this.status = 'done';
        this.bytesAcked = this.manifest.size;
        this.clear();
        return;
      case 'file-cancel':
        this.cancel(f.code, f.reason, true);
        return;
    }
  }

  /** 1 KiB blocks [start, start + length) of the file: only what a half-received chunk still lacks. */
  private requestBlocks(start: number, length: number): void {
    const size = this.manifest.size;
    const cs = this.manifest.chunkSize;
    let from = Math.min(size, start * BLOCK_BYTES);
    const to = Math.min(size, (start + length) * BLOCK_BYTES);
    // Marked pending only after the loop: several ranges of this one request may fall in the same unit.
    const added = new Map<number, number>();
    while (from < to) {
      const unit = Math.floor(from / cs);
      const end = Math.min(to, (unit + 1) * cs);
      if (!this.pending.has(unit) && this.pending.size < MAX_QUEUED_UNITS) {
        const pieces = this.queuePieces(Stream.Content, unit, from, end);
        if (pieces > 0) added.set(unit, (added.get(unit) ?? 0) + pieces);
      }
      from = end;
    }
    for (const [unit, n] of added) this.pending.set(unit, n);
  }

  private request(stream: number, start: number, length: number): void {
    if (stream === Stream.ContentBlocks) {
      this.requestBlocks(start, length);
      return;
    }
    let first: number;
    let end: number;
    if (stream === Stream.Manifest) {
      if (start !== 0 || length < 1) return;
      first = -1;
      end = 0;
    } else if (stream === Stream.Content) {
      first = Math.min(start, this.chunks);
      end = Math.min(this.chunks, start + length);
    } else return;
    for (let unit = first; unit < end; unit++) {
      if (this.pending.has(unit)) continue; // still being sent: a duplicate request
      if (this.pending.size >= MAX_QUEUED_UNITS) return;
      const base = unit < 0 ? 0 : unit * this.manifest.chunkSize;
      const len = unit < 0 ? this.manifest.hashes.length : chunkLength(this.manifest.size, this.manifest.chunkSize, unit);
      const pieces = this.queuePieces(unit < 0 ? Stream.Manifest : Stream.Content, unit, base, base + len);
      if (pieces > 0) this.pending.set(unit, pieces);
    }
  }

  /** Queues bytes [from, end) of a stream's unit as pieces of equal size (see evenStep); returns how many. */
  private queuePieces(stream: number, unit: number, from: number, end: number): number {
    const step = this.evenStep(end - from);
    let pieces = 0;
    for (let off = from; off < end; off += step) {
      this.queue.push({ stream, unit, offset: off, length: Math.min(step, end - off) });
      pieces++;
    }
    return pieces;
  }

  /**
   * Pieces of equal size (at most pieceBytes) rather than full ones and a runt: a 256 KiB chunk in 64 KiB
   * datagrams is five pieces of 52 KiB, not four full ones and a 462-byte tail. The receiver's shell opens
   * small datagrams inside its read loop and big ones after it (udpRoomHost DEFER_BYTES), so a runt would
   * overtake the pieces before it and look to the loss detector like three of them were lost.
   */
  private evenStep(len: number): number {
    if (len <= this.pieceBytes) return Math.max(1, len);
    return Math.ceil(len / Math.ceil(len / this.pieceBytes));
  }

  private onAck(largest: number, mask: number, now: number): void {
    let bytes = 0;
    let rtt: number | undefined;
    const top = this.inflight.get(largest);
    if (top) rtt = now - top.sentAt;
    const ackOne = (pn: number): void => {
      const p = this.inflight.get(pn);
      if (!p) return;
      this.inflight.delete(pn);
      this.inflightBytes -= p.length;
      bytes += p.length;
      if (p.stream === Stream.Content) this.bytesAcked = Math.min(this.manifest.size, this.bytesAcked + p.length);
      const left = (this.pending.get(p.unit) ?? 1) - 1;
      if (left <= 0) this.pending.delete(p.unit);
      else this.pending.set(p.unit, left);
    };
    ackOne(largest >>> 0);
    for (let i = 0; i < 32; i++) if (mask & (1 << i)) ackOne((largest - 1 - i) >>> 0);
    if (bytes === 0) return;
    this.lastAckAt = now;
    this.backoff = 0;
    this.probeDue = false;
    this.cc.onAck(bytes, rtt, now);
    // Packet-threshold loss detection: anything sent well before the newest acknowledged piece and
    // still unacknowledged is lost. The map iterates in send order.
    let lost = false;
    for (const [pn, p] of this.inflight) {
      if (((largest - pn) | 0) <= LOSS_REORDER_PACKETS) break;
      this.inflight.delete(pn);
      this.inflightBytes -= p.length;
      this.requeue(p);
      lost = true;
    }
    if (lost) this.cc.onLoss(now);
  }

  /**
   * A request while we were timing out: the receiver is back (it restarted, or its path did). What we
   * sent meanwhile went nowhere: send it again now rather than one piece per (doubling) timeout.
   */
  private receiverBack(now: number): void {
    const lost = [...this.inflight.values()];
    this.inflight.clear();
    this.inflightBytes = 0;
    for (let i = lost.length - 1; i >= 0; i--) this.requeue(lost[i]);
    this.backoff = 0;
    this.probeDue = false;
    this.lastAckAt = now;
  }

  private requeue(p: Piece): void {
    this.piecesResent++;
    // Resends go first: the receiver holds the rest of that chunk in memory until they arrive.
    if (this.queueHead > 0) this.queue[--this.queueHead] = { stream: p.stream, unit: p.unit, offset: p.offset, length: p.length };
    else this.queue.unshift({ stream: p.stream, unit: p.unit, offset: p.offset, length: p.length });
  }

  /** Frames to send now, at most `maxPackets` pieces (the shell's burst bound). */
  poll(now: number, out: FileFrame[], maxPackets = 64): void {
    if (!this.active) return;
    if (this.status === 'offering' && now >= this.nextOfferAt) {
      out.push(this.offer);
      this.nextOfferAt = now + Math.min(OFFER_RETRY_MAX_MS, OFFER_RETRY_MIN_MS * 2 ** this.offerAttempt++);
    }
    if (this.status !== 'sending') return;
    // The same sum nextWakeup() reports: `now - lastAckAt >= rto` can round the other way, and a shell
    // woken at exactly lastAckAt + rto would find nothing to do and be woken again at the same instant.
    if (this.inflight.size > 0 && now >= this.timeoutAt) {
      // Nothing acknowledged for a whole timeout. Resend only the oldest piece, as a probe: a stalled
      // receiver (a busy event loop, a GC pause) has the rest already, and when the probe's ack comes
      // back, ordinary loss detection decides what was really lost. So a stall costs one piece, not a window.
      const [pn, oldest] = this.inflight.entries().next().value as [number, InFlight];
      this.inflight.delete(pn);
      this.inflightBytes -= oldest.length;
      this.requeue(oldest);
      this.timeouts++;
      this.cc.onTimeout(now);
      this.lastAckAt = now;
      // Until something is acknowledged, one probe per timeout and a doubling wait: a receiver that was
      // killed (measured: the resume test's restarted receiver took 3 s to be reached again) must not be
      // sent two pieces every 50 ms meanwhile, which was 3.4 % of a 100 MiB file sent twice.
      this.backoff = Math.min(this.backoff + 1, 10);
      this.probeDue = true;
    }
    let sent = 0;
    while (this.queueHead < this.queue.length && sent < maxPackets) {
      const p = this.queue[this.queueHead];
      if (this.backoff > 0) {
        if (!this.probeDue) break;
        this.probeDue = false;
      } else if (this.inflightBytes > 0 && this.inflightBytes + p.length > this.cc.cwnd) break;
      this.queueHead++;
      const payload = p.stream === Stream.Manifest ? this.manifest.hashes.subarray(p.offset, p.offset + p.length) : this.read(p.offset, p.length);
      const pn = this.pn;
      this.pn = (this.pn + 1) >>> 0;
      out.push({ type: 'file-piece', id: this.id, stream: p.stream, pn, offset: p.offset, payload });
      if (this.inflight.size === 0) this.lastAckAt = now; // the timeout runs from the first piece in flight
      this.inflight.set(pn, { stream: p.stream, unit: p.unit, offset: p.offset, length: p.length, sentAt: now });
      this.inflightBytes += p.length;
      this.bytesSent += p.length;
      sent++;
    }
    if (this.queueHead > 4096 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
  }

  /** When the oldest piece in flight counts as lost for want of any acknowledgement (see backoff). */
  private get timeoutAt(): number {
    return this.lastAckAt + Math.min(MAX_TIMEOUT_MS, this.cc.rto * 2 ** this.backoff);
  }

  /** True when pieces wait and the window has room: the shell should poll again right away. */
  get sendable(): boolean {
    if (this.status !== 'sending' || this.queueHead >= this.queue.length) return false;
    if (this.backoff > 0) return this.probeDue;
    return this.inflightBytes === 0 || this.inflightBytes + this.queue[this.queueHead].length <= this.cc.cwnd;
  }

  nextWakeup(): number {
    if (!this.active) return Infinity;
    let t = this.status === 'offering' ? this.nextOfferAt : Infinity;
    if (this.status === 'sending' && this.inflight.size > 0) t = Math.min(t, this.timeoutAt);
    return t;
  }
}

export { CancelCode };
