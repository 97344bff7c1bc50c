// The receiving side of one file transfer, sans-I/O. Nothing touches the disk before the user
// accepts. Then it fetches the manifest (checked against the hash in the authenticated offer),
// requests chunks a window at a time and assembles each chunk in memory. One running SHA-256 covers
// the verified prefix of the file; a chunk is checked when it is next in file order, against the
// manifest's prefix digest at its end (core/transfer/manifest.ts), and only then written (through the
// injected PartFile) at its offset; a chunk that fails is requested again. A chunk completed out of
// order waits in memory (within the window) for its turn. The last digest is the file's SHA-256, checked
// once more at the end. After a restart the partial file is re-hashed from the start, chunk by chunk
// (the running hash has to be rebuilt anyway), so at most the chunks in flight at the crash travel twice.
import { createHash, type Hash } from 'node:crypto';
import { BLOCK_BYTES, CancelCode, MAX_REQUEST_RANGES, Stream, type FileFrame, type FileOfferFrame } from '../wire/fileFrames';
import { chunkCount, chunkLength, HASH_BYTES, sha256 } from './manifest';

export type IncomingStatus = 'offered' | 'manifest' | 'receiving' | 'done' | 'cancelled';

export interface PartFile {
  /** Writes (or copies) `data` before it returns: the caller reuses the buffer afterwards. */
  write(offset: number, data: Buffer): void;
  /** Bytes at offset (shorter or zero-filled where nothing was written). */
  read(offset: number, length: number): Buffer;
}

interface Assembly {
  buf: Buffer;
  /** Received byte ranges, sorted, disjoint, flat: [start0, end0, start1, end1 …]. */
  ranges: number[];
  got: number;
  /**
   * When the chunk is next in file order: a copy of the running file hash, fed with the chunk's
   * contiguous prefix as pieces arrive, so the hashing is spread over the pieces instead of landing on
   * the event loop as one long task when the chunk completes (a chat message arriving meanwhile would
   * wait for it). A copy, so that a chunk failing its check leaves the running hash untouched.
   */
  whole?: Hash;
  hashedTo: number;
  unit: number;
}

/**
 * Chunk buffers of the default size, reused: a new 256 KiB buffer per chunk was a steady stream of large
 * garbage, and the collector's work (on other cores too) counted in the transfer's CPU time. Bounded by
 * how many a full window of transfers needs back.
 */
const spareChunks: Buffer[] = [];
const SPARE_CHUNKS_MAX = 32;
const POOLED_CHUNK_BYTES = 256 * 1024;

function chunkBuffer(len: number): Buffer {
  if (len === POOLED_CHUNK_BYTES && spareChunks.length > 0) return spareChunks.pop()!;
  return Buffer.allocUnsafe(len);
}

function releaseChunkBuffer(b: Buffer): void {
  if (b.length === POOLED_CHUNK_BYTES && spareChunks.length < SPARE_CHUNKS_MAX) spareChunks.push(b);
}

/** A chunk that fails its hash this many times means a broken or hostile sender: give up. */
export const MAX_CHUNK_FAILURES = 5;
/** Acks are small packets that cost as much CPU as big ones: one per 8 pieces (the 32-bit mask covers 4 lost acks). */
const ACK_EVERY = 8;
/** Never more unacknowledged pieces than the ack mask (32) can describe, with room for reordering. */
const ACK_SPAN = 24;
const ACK_DELAY_MS = 1;
const STALL_MS = 1000;
const RESUME_GAP_MS = 250;

export interface IncomingSnapshot {
  verified: string; // base64 bitmap
  hashes?: string; // base64 manifest
}

export class IncomingTransfer {
  readonly idHex: string;
  status: IncomingStatus = 'offered';
  cancelReason?: { code: number; reason: string; byPeer: boolean };
  /** Payload bytes received, duplicates included. */
  bytesReceived = 0;
  bytesVerified = 0;
  chunkFailures = 0;
  /** Payload bytes that were no use, by why: the unit was verified, never requested, or already held. */
  readonly waste = { verified: 0, unrequested: 0, overlap: 0 };
  readonly chunks: number;
  /** Set when the whole file is in the part file and its SHA-256 matched. */
  complete = false;
  private hashes?: Buffer;
  private verified: Uint8Array;
  private verifiedCount = 0;
  private part?: PartFile;
  private readonly assembling = new Map<number, Assembly>();
  private readonly failures = new Map<number, number>();
  private cursor = 0;
  private readonly window: number;
  private requests: { stream: number; units: number[] }[] = [];
  private blocks: [number, number][] = [];
  private lastResumeAt = -Infinity;
  private stallAt = Infinity;
  // acknowledgements
  private largest = -1;
  private mask = 0;
  private unacked = 0;
  private ackAt = Infinity;
  // the file's SHA-256 over the verified prefix
  private whole: Hash = createHash('sha256');
  private hashedUpTo = 0;

  constructor(
    readonly peer: string,
    readonly offer: FileOfferFrame,
    windowBytes = 4 * 1024 * 1024,
  ) {
    this.idHex = offer.id.toString('hex');
    this.chunks = chunkCount(offer.size, offer.chunkSize);
    this.verified = new Uint8Array(this.chunks);
    this.window = Math.max(2, Math.floor(windowBytes / offer.chunkSize));
  }

  get active(): boolean {
    return this.status === 'offered' || this.status === 'manifest' || this.status === 'receiving';
  }

  get accepted(): boolean {
    return this.status === 'manifest' || this.status === 'receiving';
  }

  /** Start (or resume) fetching into `part`. `snapshot` is the saved resume state, if any. */
  accept(part: PartFile, now: number, snapshot?: IncomingSnapshot): void {
    if (this.status !== 'offered') return;
    this.part = part;
    if (snapshot?.hashes) {
      const h = Buffer.from(snapshot.hashes, 'base64');
      if (h.length === this.chunks * HASH_BYTES && sha256(h).equals(this.offer.manifestSha256)) this.hashes = h;
    }
    if (this.hashes) {
      this.status = 'receiving';
      const bits = snapshot ? Buffer.from(snapshot.verified, 'base64') : Buffer.alloc(0);
      this.recheck(bits);
      this.advance(now);
    } else if (this.chunks === 0) {
      this.hashes = Buffer.alloc(0);
      this.status = 'receiving';
      this.advance(now);
    } else {
      this.status = 'manifest';
      this.requests.push({ stream: Stream.Manifest, units: [0] });
      this.stallAt = now + STALL_MS;
    }
  }

  /**
   * After a restart: the partial file is hashed from the start, chunk by chunk against the prefix
   * digests, as far as it matches: the running hash must be rebuilt anyway, and what was written after
   * the last save of the resume state is kept too. Chunks are written only in order, so the verified
   * part is always a prefix; the snapshot's bitmap says how far to expect it.
   */
  private recheck(bits: Buffer): void {
    void bits;
    for (let i = 0; i < this.chunks; i++) {
      const len = chunkLength(this.offer.size, this.offer.chunkSize, i);
      const data = this.part!.read(i * this.offer.chunkSize, len);
      if (data.length !== len) return;
      const next = this.whole.copy().update(data);
      if (!next.copy().digest().equals(this.hashAt(i))) return;
      this.whole = next;
      this.hashedUpTo++;
      this.markVerified(i);
    }
  }

  private hashAt(i: number): Buffer {
    return this.hashes!.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES);
  }

  private markVerified(i: number): void {
    if (this.verified[i]) return;
    this.verified[i] = 1;
    this.verifiedCount++;
    this.bytesVerified += chunkLength(this.offer.size, this.offer.chunkSize, i);
  }

  snapshot(): IncomingSnapshot {
    const bits = Buffer.alloc(Math.ceil(this.chunks / 8));
    for (let i = 0; i < this.chunks; i++) if (this.verified[i]) bits[i >> 3] |= 1 << (i & 7);
    return { verified: bits.toString('base64'), ...(this.hashes ? { hashes: this.hashes.toString('base64') } : {}) };
  }

  cancel(code: number, reason: string, byPeer: boolean): void {
    if (!this.active) return;
    this.status = 'cancelled';
    this.cancelReason = { code, reason, byPeer };
    this.assembling.clear();
    this.requests = [];
    this.blocks = [];
  }

  /** Ask again for everything outstanding: the link came back, or the sender restarted. */
  resumeRequests(now: number): void {
    if (!this.accepted) return;
    // The offer, the link coming back and the stall timer can all ask within moments of each other:
    // a second identical request would make the sender send again what it has just finished sending.
    if (now - this.lastResumeAt < RESUME_GAP_MS) return;
    this.lastResumeAt = now;
    if (this.status === 'manifest') this.requests.push({ stream: Stream.Manifest, units: [0] });
    else {
      const whole: number[] = [];
      for (const [unit, a] of this.assembling) {
        if (a.got === 0) whole.push(unit);
        else this.blocks.push(...this.missingBlocks(unit, a));
      }
      if (whole.length) this.requests.push({ stream: Stream.Content, units: whole });
    }
    this.stallAt = now + STALL_MS;
    this.advance(now);
  }

  /** The 1 KiB blocks of a half-received unit that hold bytes we lack, as [start, count] pairs. */
  private missingBlocks(unit: number, a: Assembly): [number, number][] {
    const base = unit * this.offer.chunkSize;
    const out: [number, number][] = [];
    let at = 0;
    const gap = (from: number, to: number) => {
      if (to <= from) return;
      const first = Math.floor((base + from) / BLOCK_BYTES);
      const end = Math.ceil((base + to) / BLOCK_BYTES);
      out.push([first, end - first]);
    };
    for (let i = 0; i < a.ranges.length; i += 2) {
      gap(at, a.ranges[i]);
      at = a.ranges[i + 1];
    }
    gap(at, a.buf.length);
    return out;
  }

  receive(f: FileFrame, now: number): void {
    if (f.type === 'file-cancel') {
      this.cancel(f.code, f.reason, true);
      return;
    }
    if (f.type !== 'file-piece' || !this.accepted) return;
    this.noteAck(f.pn, now);
    this.bytesReceived += f.payload.length;
    this.stallAt = now + STALL_MS;
    if (f.stream === Stream.Manifest) this.onManifestPiece(f.offset, f.payload, now);
    else if (f.stream === Stream.Content && this.status === 'receiving') this.onContentPiece(f.offset, f.payload, now);
  }

  private noteAck(pn: number, now: number): void {
    if (this.largest < 0) {
      this.largest = pn;
      this.mask = 0;
    } else {
      const d = (pn - this.largest) | 0;
      if (d > 0 && d < 1_000_000) {
        this.mask = d > 32 ? 0 : d === 32 ? 0x80000000 : ((this.mask << d) | (1 << (d - 1))) >>> 0;
        this.largest = pn;
      } else if (d < 0 && d >= -32) {
        this.mask = (this.mask | (1 << (-d - 1))) >>> 0;
      } else if (d !== 0) {
        // Far away: a restarted sender with a new packet-number start.
        this.largest = pn;
        this.mask = 0;
      }
    }
    this.unacked++;
    if (this.unacked >= ACK_SPAN) {
      // The shell polls once per event-loop turn, and one turn may bring hundreds of pieces: an ack
      // now, before the 32-bit mask can no longer cover them and the sender takes them for lost.
      this.earlyAcks.push({ type: 'file-ack', id: this.offer.id, largest: this.largest >>> 0, mask: this.mask });
      this.unacked = 0;
      this.ackAt = Infinity;
      return;
    }
    if (this.unacked >= ACK_EVERY) this.ackAt = now;
    else if (this.ackAt === Infinity) this.ackAt = now + ACK_DELAY_MS;
  }

  private earlyAcks: FileFrame[] = [];

  private assembly(unit: number, len: number): Assembly {
    let a = this.assembling.get(unit);
    if (!a) {
      // Never read before written: `ranges` says which bytes arrived, and only a complete chunk is hashed or saved.
      a = { buf: unit >= 0 ? chunkBuffer(len) : Buffer.allocUnsafe(len), ranges: [], got: 0, hashedTo: 0, unit };
      this.assembling.set(unit, a);
    }
    return a;
  }

  /** Copies a piece in; false if it is outside the unit. Returns whether the unit is now complete. */
  private place(a: Assembly, rel: number, payload: Buffer): boolean {
    const end = rel + payload.length;
    if (rel < 0 || end > a.buf.length || payload.length === 0) return false;
    // Count only bytes not already held (a resent piece may overlap differently cut older ones).
    const r = a.ranges;
    let fresh = payload.length;
    for (let i = 0; i < r.length; i += 2) {
      const lo = Math.max(rel, r[i]);
      const hi = Math.min(end, r[i + 1]);
      if (hi > lo) fresh -= hi - lo;
    }
    this.waste.overlap += payload.length - Math.max(0, fresh);
    if (fresh <= 0) return false;
    payload.copy(a.buf, rel);
    // Insert and merge.
    const merged: number[] = [];
    let s = rel;
    let e = end;
    let placed = false;
    for (let i = 0; i < r.length; i += 2) {
      if (r[i + 1] < s) merged.push(r[i], r[i + 1]);
      else if (r[i] > e) {
        if (!placed) {
          merged.push(s, e);
          placed = true;
        }
        merged.push(r[i], r[i + 1]);
      } else {
        s = Math.min(s, r[i]);
        e = Math.max(e, r[i + 1]);
      }
    }
    if (!placed) merged.push(s, e);
    a.ranges = merged;
    a.got += fresh;
    if (a.unit >= 0) this.feed(a);
    return a.got === a.buf.length;
  }

  /** Hashes the chunk's newly contiguous prefix, if the chunk is next in file order (see Assembly.whole). */
  private feed(a: Assembly): void {
    if (!a.whole) {
      if (a.unit !== this.hashedUpTo) return;
      a.whole = this.whole.copy();
      a.hashedTo = 0;
    }
    const end = a.ranges[0] === 0 ? a.ranges[1] : 0;
    if (end <= a.hashedTo) return;
    a.whole.update(a.buf.subarray(a.hashedTo, end));
    a.hashedTo = end;
  }

  private onManifestPiece(offset: number, payload: Buffer, now: number): void {
    if (this.status !== 'manifest') return;
    const len = this.chunks * HASH_BYTES;
    const a = this.assembly(-1, len);
    if (!this.place(a, offset, payload)) return;
    this.assembling.delete(-1);
    if (!sha256(a.buf).equals(this.offer.manifestSha256)) {
      this.fail(-1, now);
      if (this.active) this.requests.push({ stream: Stream.Manifest, units: [0] });
      return;
    }
    // The last prefix digest is the file's SHA-256: a manifest that says otherwise can never complete.
    if (this.chunks > 0 && !a.buf.subarray(a.buf.length - HASH_BYTES).equals(this.offer.sha256)) {
      this.cancel(CancelCode.Corrupt, 'the manifest does not end in the file\'s SHA-256', false);
      return;
    }
    this.hashes = a.buf;
    this.status = 'receiving';
    this.advance(now);
  }

  private onContentPiece(offset: number, payload: Buffer, now: number): void {
    const unit = Math.floor(offset / this.offer.chunkSize);
    if (unit >= this.chunks || this.verified[unit]) {
      this.waste.verified += payload.length;
      return;
    }
    const a = this.assembling.get(unit);
    if (!a) {
      this.waste.unrequested += payload.length; // a sender cannot make us buffer what we did not ask for
      return;
    }
    if (!this.place(a, offset - unit * this.offer.chunkSize, payload)) return;
    // Complete. Check it if it is next in file order, then any completed chunks waiting behind it.
    while (this.active && this.hashedUpTo < this.chunks) {
      const next = this.assembling.get(this.hashedUpTo);
      if (!next || next.got !== next.buf.length) break;
      this.check(next, now);
    }
    this.advance(now);
  }

  /** `a` is complete and next in file order: its prefix digest decides (see the header). */
  private check(a: Assembly, now: number): void {
    const unit = a.unit;
    this.assembling.delete(unit);
    this.feed(a);
    const digest = a.whole!.copy().digest();
    if (!digest.equals(this.hashAt(unit))) {
      this.fail(unit, now);
      releaseChunkBuffer(a.buf);
      if (this.active) {
        this.assembly(unit, a.buf.length);
        this.requests.push({ stream: Stream.Content, units: [unit] });
      }
      return;
    }
    this.part!.write(unit * this.offer.chunkSize, a.buf);
    releaseChunkBuffer(a.buf);
    this.whole = a.whole!;
    this.hashedUpTo++;
    this.markVerified(unit);
  }

  private fail(unit: number, now: number): void {
    this.chunkFailures++;
    const n = (this.failures.get(unit) ?? 0) + 1;
    this.failures.set(unit, n);
    void now;
    if (n >= MAX_CHUNK_FAILURES) this.cancel(CancelCode.Corrupt, `chunk ${unit < 0 ? 'manifest' : unit} failed its hash ${n} times`, false);
  }

  /** Request more chunks up to the window; finish when all are verified. */
  private advance(now: number): void {
    if (this.status !== 'receiving') return;
    if (this.verifiedCount === this.chunks) {
      this.finish();
      return;
    }
    const units: number[] = [];
    while (this.assembling.size < this.window && this.cursor < this.chunks) {
      const i = this.cursor++;
      if (this.verified[i] || this.assembling.has(i)) continue;
      this.assembly(i, chunkLength(this.offer.size, this.offer.chunkSize, i));
      units.push(i);
    }
    // Chunks skipped over earlier (failed and re-requested) are in `assembling` already.
    if (this.cursor >= this.chunks && this.assembling.size === 0) {
      for (let i = 0; i < this.chunks && units.length < this.window; i++) {
        if (!this.verified[i]) {
          this.assembly(i, chunkLength(this.offer.size, this.offer.chunkSize, i));
          units.push(i);
        }
      }
    }
    if (units.length) {
      this.requests.push({ stream: Stream.Content, units });
      this.stallAt = now + STALL_MS;
    }
  }

  private finish(): void {
    if (this.complete) return;
    const digest = this.whole.digest();
    if (!digest.equals(this.offer.sha256)) {
      this.cancel(CancelCode.Corrupt, 'the whole file does not match its SHA-256', false);
      return;
    }
    this.complete = true;
    this.status = 'done';
  }

  /** Frames to send: acknowledgements and requests. */
  poll(now: number, out: FileFrame[]): void {
    if (!this.accepted) return;
    if (this.earlyAcks.length) {
      for (const a of this.earlyAcks) out.push(a);
      this.earlyAcks = [];
    }
    if (now >= this.ackAt && this.unacked > 0) {
      out.push({ type: 'file-ack', id: this.offer.id, largest: this.largest >>> 0, mask: this.mask });
      this.unacked = 0;
      this.ackAt = Infinity;
    }
    if (now >= this.stallAt) {
      // Nothing arrived for a while: the sender may have restarted or lost our request.
      this.resumeRequests(now);
    }
    for (const r of this.requests) {
      const sorted = [...new Set(r.units)].sort((x, y) => x - y);
      let ranges: { start: number; length: number }[] = [];
      for (const u of sorted) {
        const start = r.stream === Stream.Manifest ? 0 : u;
        const last = ranges[ranges.length - 1];
        if (last && last.start + last.length === start) last.length++;
        else ranges.push({ start, length: 1 });
        if (ranges.length === MAX_REQUEST_RANGES) {
          out.push({ type: 'file-request', id: this.offer.id, stream: r.stream, ranges });
          ranges = [];
        }
      }
      if (ranges.length) out.push({ type: 'file-request', id: this.offer.id, stream: r.stream, ranges });
    }
    this.requests = [];
    for (let i = 0; i < this.blocks.length; i += MAX_REQUEST_RANGES) {
      const ranges = this.blocks.slice(i, i + MAX_REQUEST_RANGES).map(([start, length]) => ({ start, length }));
      out.push({ type: 'file-request', id: this.offer.id, stream: Stream.ContentBlocks, ranges });
    }
    this.blocks = [];
  }

  /** The final hash matched: forget the in-memory state. */
  nextWakeup(): number {
    if (!this.accepted) return Infinity;
    return Math.min(this.unacked > 0 ? this.ackAt : Infinity, this.stallAt, this.requests.length || this.blocks.length || this.earlyAcks.length ? -Infinity : Infinity);
  }
}
