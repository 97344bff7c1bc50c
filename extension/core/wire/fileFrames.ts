// File-transfer frames (types 0x07–0x0E), carried in the same encrypted inner packets as the
// reliable channel's frames but outside its ordered stream: a lost file piece never holds up a chat
// message behind it (docs/PROTOCOL.md §5.7). The transfer layer (core/transfer) does its own
// recovery. Every frame is self-delimiting, like the others; decoders never throw.
import { Reader, Writer } from './bytes';

export const FileFrameType = {
  Offer: 0x07,
  Held: 0x08,
  Request: 0x09,
  Piece: 0x0a,
  PieceAck: 0x0b,
  Cancel: 0x0c,
  Done: 0x0d,
  Probe: 0x0e,
} as const;

export const TRANSFER_ID_BYTES = 8;
export const MAX_FILE_NAME_BYTES = 255;
export const MAX_MIME_BYTES = 127;
export const MAX_REQUEST_RANGES = 32;
export const MAX_CANCEL_REASON_BYTES = 255;
/**
 * Streams of one transfer: the manifest (the chunks' prefix digests, one unit) and the file itself (chunks).
 * `ContentBlocks` appears only in requests: the same file, asked for in 1 KiB blocks, so a resume
 * after the sender restarted fetches only what is missing from half-received chunks.
 */
export const Stream = { Manifest: 0, Content: 1, ContentBlocks: 2 } as const;
export const BLOCK_BYTES = 1024;
/** type, id, stream, pn, offset (u32 hi + u32 lo), length. */
export const PIECE_HEADER_BYTES = 1 + TRANSFER_ID_BYTES + 1 + 4 + 8 + 2;
export const PIECE_ACK_BYTES = 1 + TRANSFER_ID_BYTES + 4 + 4;
export const MAX_PIECE_PAYLOAD = 0xffff;

export interface FileOfferFrame {
  type: 'file-offer';
  id: Buffer;
  size: number;
  chunkSize: number;
  sha256: Buffer;
  /** SHA-256 over the prefix digests back to back (core/transfer/manifest.ts): binds the manifest to this (authenticated) offer. */
  manifestSha256: Buffer;
  mime: string;
  name: string;
}

/** The offer arrived and waits for the user: stop resending it. */
export interface FileHeldFrame {
  type: 'file-held';
  id: Buffer;
}

/** Chunk index ranges [start, start + length) the receiver wants (again). */
export interface FileRequestFrame {
  type: 'file-request';
  id: Buffer;
  stream: number;
  ranges: { start: number; length: number }[];
}

export interface FilePieceFrame {
  type: 'file-piece';
  id: Buffer;
  stream: number;
  /** The sender's packet number for this piece (per transfer): acknowledgements and loss detection. */
  pn: number;
  /** Byte offset within the stream. */
  offset: number;
  payload: Buffer;
}

/** `largest` and the 32 packet numbers below it (bit i = largest - 1 - i) that arrived. */
export interface FilePieceAckFrame {
  type: 'file-ack';
  id: Buffer;
  largest: number;
  mask: number;
}

export const CancelCode = {
  User: 0,
  Declined: 1,
  TooLarge: 2,
  NoSpace: 3,
  Corrupt: 4,
  Unavailable: 5,
  Unknown: 6,
  Error: 7,
} as const;

export interface FileCancelFrame {
  type: 'file-cancel';
  id: Buffer;
  code: number;
  reason: string;
}

/** The receiver has the whole file and its SHA-256 matched. */
export interface FileDoneFrame {
  type: 'file-done';
  id: Buffer;
}

/** A padded probe (echo = 0) is answered by an unpadded echo naming its size: the path carries that many bytes. */
export interface FileProbeFrame {
  type: 'file-probe';
  token: number;
  echo: boolean;
  size: number;
}

export type FileFrame =
  | FileOfferFrame
  | FileHeldFrame
  | FileRequestFrame
  | FilePieceFrame
  | FilePieceAckFrame
  | FileCancelFrame
  | FileDoneFrame
  | FileProbeFrame;

export const FILE_PROBE_HEADER_BYTES = 1 + 4 + 1 + 2;

function strBytes(s: string, max: number): Buffer {
  const b = Buffer.from(s, 'utf8');
  if (b.length <= max) return b;
  let cut = max;
  while (cut > 0 && (b[cut] & 0xc0) === 0x80) cut--;
  return b.subarray(0, cut);
}

export function isFileFrameType(t: number): boolean {
  return t >= FileFrameType.Offer && t <= FileFrameType.Probe;
}

export function fileFrameSize(f: FileFrame): number {
  switch (f.type) {
    case 'file-offer':
      return 1 + TRANSFER_ID_BYTES + 8 + 4 + 32 + 32 + 1 + strBytes(f.mime, MAX_MIME_BYTES).length + 1 + strBytes(f.name, MAX_FILE_NAME_BYTES).length;
    case 'file-held':
    case 'file-done':
      return 1 + TRANSFER_ID_BYTES;
    case 'file-request':
      return 1 + TRANSFER_ID_BYTES + 1 + 1 + 8 * f.ranges.length;
    case 'file-piece':
      return PIECE_HEADER_BYTES + f.payload.length;
    case 'file-ack':
      return PIECE_ACK_BYTES;
    case 'file-cancel':
      return 1 + TRANSFER_ID_BYTES + 1 + 1 + strBytes(f.reason, MAX_CANCEL_REASON_BYTES).length;
    case 'file-probe':
      return f.echo ? FILE_PROBE_HEADER_BYTES : Math.max(FILE_PROBE_HEADER_BYTES, f.size);
  }
}

function u64(w: Writer, v: number, what: string): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${what} must be a safe non-negative integer`);
  w.u32(Math.floor(v / 0x100000000)).u32(v >>> 0);
}

function readU64(r: Reader, what: string): number {
  const hi = r.u32(what);
  const lo = r.u32(what);
  if (hi > 0x1fffff) {
    r.fail(`${what} beyond 2^53`);
    return 0;
  }
  return hi * 0x100000000 + lo;
}

function id(w: Writer, b: Buffer): void {
  if (b.length !== TRANSFER_ID_BYTES) throw new RangeError('a transfer id is 8 bytes');
  w.bytes(b);
}

/** Encoders take our own values: one that does not fit its field is a programming error and throws. */
/** A piece's bytes up to its payload: encodePacketParts sends the payload itself without copying it. */
export function writePieceHeader(w: Writer, f: FilePieceFrame): void {
  if (f.payload.length > MAX_PIECE_PAYLOAD) throw new RangeError('piece payload exceeds 65535 bytes');
  w.u8(FileFrameType.Piece);
  id(w, f.id);
  w.u8(f.stream).u32(f.pn >>> 0);
  u64(w, f.offset, 'piece offset');
  w.u16(f.payload.length);
}

export function writeFileFrame(w: Writer, f: FileFrame): void {
  switch (f.type) {
    case 'file-offer': {
      if (f.sha256.length !== 32 || f.manifestSha256.length !== 32) throw new RangeError('hashes are 32 bytes');
      if (!Number.isInteger(f.chunkSize) || f.chunkSize <= 0 || f.chunkSize > 0xffffffff) throw new RangeError('bad chunk size');
      w.u8(FileFrameType.Offer);
      id(w, f.id);
      u64(w, f.size, 'file size');
      w.u32(f.chunkSize).bytes(f.sha256).bytes(f.manifestSha256);
      const mime = strBytes(f.mime, MAX_MIME_BYTES);
      w.u8(mime.length).bytes(mime);
      const name = strBytes(f.name, MAX_FILE_NAME_BYTES);
      w.u8(name.length).bytes(name);
      return;
    }
    case 'file-held':
    case 'file-done':
      w.u8(f.type === 'file-held' ? FileFrameType.Held : FileFrameType.Done);
      id(w, f.id);
      return;
    case 'file-request':
      if (f.ranges.length > MAX_REQUEST_RANGES) throw new RangeError(`a request carries at most ${MAX_REQUEST_RANGES} ranges`);
      w.u8(FileFrameType.Request);
      id(w, f.id);
      w.u8(f.stream).u8(f.ranges.length);
      for (const r of f.ranges) w.u32(r.start).u32(r.length);
      return;
    case 'file-piece':
      writePieceHeader(w, f);
      w.bytes(f.payload);
      return;
    case 'file-ack':
      w.u8(FileFrameType.PieceAck);
      id(w, f.id);
      w.u32(f.largest >>> 0).u32(f.mask >>> 0);
      return;
    case 'file-cancel': {
      if (!Number.isInteger(f.code) || f.code < 0 || f.code > 255) throw new RangeError('cancel code is a u8');
      w.u8(FileFrameType.Cancel);
      id(w, f.id);
      const reason = strBytes(f.reason, MAX_CANCEL_REASON_BYTES);
      w.u8(f.code).u8(reason.length).bytes(reason);
      return;
    }
    case 'file-probe': {
      if (!Number.isInteger(f.size) || f.size < FILE_PROBE_HEADER_BYTES || f.size > 0xffff) throw new RangeError('probe size out of range');
      w.u8(FileFrameType.Probe).u32(f.token >>> 0).u8(f.echo ? 1 : 0).u16(f.size);
      if (!f.echo) w.zeros(f.size - FILE_PROBE_HEADER_BYTES);
      return;
    }
  }
}

/** Reads one file frame whose type byte `type` was already consumed. Undefined (and `r.failed`) when malformed. */
export function readFileFrame(r: Reader, type: number): FileFrame | undefined {
  switch (type) {
    case FileFrameType.Offer: {
      const tid = r.bytes(TRANSFER_ID_BYTES, 'transfer id');
      const size = readU64(r, 'file size');
      const chunkSize = r.u32('chunk size');
      const sha256 = r.bytes(32, 'file hash');
      const manifestSha256 = r.bytes(32, 'manifest hash');
      const mime = r.str8(MAX_MIME_BYTES, 'MIME type');
      const name = r.str8(MAX_FILE_NAME_BYTES, 'file name');
      if (r.failed) return undefined;
      if (chunkSize === 0) {
        r.fail('zero chunk size');
        return undefined;
      }
      return { type: 'file-offer', id: tid, size, chunkSize, sha256, manifestSha256, mime, name };
    }
    case FileFrameType.Held:
    case FileFrameType.Done: {
      const tid = r.bytes(TRANSFER_ID_BYTES, 'transfer id');
      if (r.failed) return undefined;
      return { type: type === FileFrameType.Held ? 'file-held' : 'file-done', id: tid };
    }
    case FileFrameType.Request: {
      const tid = r.bytes(TRANSFER_ID_BYTES, 'transfer id');
      const stream = r.u8('stream');
      const count = r.u8('range count');
      if (r.failed) return undefined;
      if (count > MAX_REQUEST_RANGES) {
        r.fail(`request with ${count} ranges`);
        return undefined;
      }
      const ranges: { start: number; length: number }[] = [];
      for (let i = 0; i < count; i++) {
        const start = r.u32('range start');
        const length = r.u32('range length');
        if (r.failed) return undefined;
        ranges.push({ start, length });
      }
      return { type: 'file-request', id: tid, stream, ranges };
    }
    case FileFrameType.Piece: {
      const tid = r.bytes(TRANSFER_ID_BYTES, 'transfer id');
      const stream = r.u8('stream');
      const pn = r.u32('packet number');
      const offset = readU64(r, 'piece offset');
      const len = r.u16('piece length');
      if (r.remaining < len) {
        r.fail('truncated piece payload');
        return undefined;
      }
      // A view, not a copy (unlike every other payload): 16 KiB per piece is the hot path, and the
      // transfer layer copies it into its chunk buffer at once. Callers must not reuse the packet buffer.
      const payload = r.viewBytes(len);
      if (r.failed) return undefined;
      return { type: 'file-piece', id: tid, stream, pn, offset, payload };
    }
    case FileFrameType.PieceAck: {
      const tid = r.bytes(TRANSFER_ID_BYTES, 'transfer id');
      const largest = r.u32('largest');
      const mask = r.u32('mask');
      if (r.failed) return undefined;
      return { type: 'file-ack', id: tid, largest, mask };
    }
    case FileFrameType.Cancel: {
      const tid = r.bytes(TRANSFER_ID_BYTES, 'transfer id');
      const code = r.u8('cancel code');
      const reason = r.str8(MAX_CANCEL_REASON_BYTES, 'cancel reason');
      if (r.failed) return undefined;
      return { type: 'file-cancel', id: tid, code, reason };
    }
    case FileFrameType.Probe: {
      const token = r.u32('probe token');
      const echo = r.u8('probe echo');
      const size = r.u16('probe size');
      if (r.failed) return undefined;
      if (echo > 1 || size < FILE_PROBE_HEADER_BYTES) {
        r.fail('malformed probe');
        return undefined;
      }
      if (echo === 0) {
        // The padding is exactly what the size says: the echo must not claim more than arrived.
        if (r.remaining < size - FILE_PROBE_HEADER_BYTES) {
          r.fail('truncated probe padding');
          return undefined;
        }
        // Zeros, as written: one meaning per byte string (the decoders round-trip byte for byte).
        const pad = r.bytes(size - FILE_PROBE_HEADER_BYTES, 'probe padding');
        if (!r.failed && pad.some((b) => b !== 0)) {
          r.fail('probe padding is not zero');
          return undefined;
        }
      }
      return { type: 'file-probe', token, echo: echo === 1, size };
    }
    default:
      r.fail(`unknown frame type 0x${type.toString(16)}`);
      return undefined;
  }
}
