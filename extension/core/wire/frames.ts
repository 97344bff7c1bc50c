// Frames: the contents of one decrypted inner packet (docs: docs/PROTOCOL.md §5).
// An inner packet is one or more frames back to back; every frame starts with a one-byte type
// and is self-delimiting, so a decoder either consumes the whole packet or rejects it whole.
// Unknown types are rejected rather than skipped: frames carry no generic length, and the
// session version (negotiated in the handshake) is what changes the frame set.
import { Decoded, Reader, Writer, fail } from './bytes';
import { fileFrameSize, isFileFrameType, PIECE_HEADER_BYTES, readFileFrame, writeFileFrame, writePieceHeader, type FileFrame } from './fileFrames';

export type { FileFrame } from './fileFrames';

export const FrameType = {
  Data: 0x01,
  Ack: 0x02,
  Ping: 0x03,
  Pong: 0x04,
  Ephemeral: 0x05,
  Close: 0x06,
} as const;

export const DATA_FLAG_FIRST = 0x01;
export const DATA_FLAG_LAST = 0x02;
const DATA_FLAGS_KNOWN = DATA_FLAG_FIRST | DATA_FLAG_LAST;

/** type, flags, seq u32, payload length u16. */
export const DATA_HEADER_BYTES = 8;
/** A first fragment also carries the whole message's length (u32), so a receiver can refuse it unbuffered. */
export const DATA_FIRST_EXTRA_BYTES = 4;
/** type, cumulative u32, ack delay u16, range count u8. */
export const ACK_HEADER_BYTES = 8;
/** start u32, length u16. */
export const ACK_RANGE_BYTES = 6;
/** Bounds both the frame (8 + 32 * 6 = 200 bytes) and the work a hostile ACK can cause. */
export const MAX_ACK_RANGES = 32;
export const MAX_ACK_DELAY_MS = 0xffff;
export const MAX_ACK_RANGE_LENGTH = 0xffff;
export const PING_BYTES = 5;
export const EPHEMERAL_HEADER_BYTES = 3;
export const CLOSE_HEADER_BYTES = 4;
export const MAX_CLOSE_REASON_BYTES = 255;
/** Any length field is a u16; the inner packet (mtu) is far smaller anyway. */
export const MAX_FRAME_PAYLOAD_BYTES = 0xffff;

/**
 * One reliable fragment. `seq` is the low 32 bits of the sender's fragment number (see
 * docs/PROTOCOL.md §5.3); `messageLength` is present exactly when `first` is set.
 */
export interface DataFrame {
  type: 'data';
  seq: number;
  first: boolean;
  last: boolean;
  messageLength?: number;
  payload: Buffer;
}

/** Half-open on the wire as (start, length): fragments start .. start+length-1 are held. */
export interface AckRange {
  start: number;
  length: number;
}

export interface AckFrame {
  type: 'ack';
  /** Every fragment below this (mod 2^32) has been received and, where it ended a message, delivered. */
  cumulative: number;
  /** Milliseconds the receiver held the highest acknowledged fragment before this ACK. */
  ackDelay: number;
  ranges: AckRange[];
}

export interface PingFrame {
  type: 'ping';
  token: number;
}

export interface PongFrame {
  type: 'pong';
  token: number;
}

export interface EphemeralFrame {
  type: 'ephemeral';
  payload: Buffer;
}

export interface CloseFrame {
  type: 'close';
  code: number;
  reason: string;
}

export type Frame = DataFrame | AckFrame | PingFrame | PongFrame | EphemeralFrame | CloseFrame | FileFrame;
/** Frames the reliable channel does not consume; the link layer handles them (file frames: core/transfer). */
export type LinkFrame = PingFrame | PongFrame | EphemeralFrame | CloseFrame | FileFrame;

function isUint(v: number, max: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= max;
}

/** Cuts at a UTF-8 character boundary so a truncated reason still decodes. */
function closeReasonBytes(reason: string): Buffer {
  const b = Buffer.from(reason, 'utf8');
  if (b.length <= MAX_CLOSE_REASON_BYTES) return b;
  let cut = MAX_CLOSE_REASON_BYTES;
  while (cut > 0 && (b[cut] & 0xc0) === 0x80) cut--;
  return b.subarray(0, cut);
}

/** Exact encoded size; lets the channel pack packets without encoding twice. */
export function frameSize(f: Frame): number {
  switch (f.type) {
    case 'data':
      return DATA_HEADER_BYTES + (f.first ? DATA_FIRST_EXTRA_BYTES : 0) + f.payload.length;
    case 'ack':
      return ACK_HEADER_BYTES + ACK_RANGE_BYTES * f.ranges.length;
    case 'ping':
    case 'pong':
      return PING_BYTES;
    case 'ephemeral':
      return EPHEMERAL_HEADER_BYTES + f.payload.length;
    case 'close':
      return CLOSE_HEADER_BYTES + closeReasonBytes(f.reason).length;
    default:
      return fileFrameSize(f);
  }
}

/**
 * Encoders take trusted values from our own code: a value that does not fit its field is a
 * programming error and throws. A CLOSE reason longer than 255 bytes is truncated instead,
 * because reasons are often built from error messages of unknown length.
 */
function writeFrame(w: Writer, f: Frame): void {
  switch (f.type) {
    case 'data': {
      if (!isUint(f.seq, 0xffffffff)) throw new RangeError('DATA seq must be a uint32');
      if (f.payload.length > MAX_FRAME_PAYLOAD_BYTES) throw new RangeError('DATA payload exceeds 65535 bytes');
      const flags = (f.first ? DATA_FLAG_FIRST : 0) | (f.last ? DATA_FLAG_LAST : 0);
      w.u8(FrameType.Data).u8(flags).u32(f.seq);
      if (f.first) {
        if (f.messageLength === undefined || !isUint(f.messageLength, 0xffffffff)) {
          throw new RangeError('a first DATA fragment needs a uint32 messageLength');
        }
        w.u32(f.messageLength);
      } else if (f.messageLength !== undefined) {
        throw new RangeError('only a first DATA fragment carries messageLength');
      }
      w.u16(f.payload.length).bytes(f.payload);
      return;
    }
    case 'ack': {
      if (!isUint(f.cumulative, 0xffffffff)) throw new RangeError('ACK cumulative must be a uint32');
      if (f.ranges.length > MAX_ACK_RANGES) throw new RangeError(`ACK carries at most ${MAX_ACK_RANGES} ranges`);
      const delay = Math.min(MAX_ACK_DELAY_MS, Math.max(0, Math.round(f.ackDelay)));
      w.u8(FrameType.Ack).u32(f.cumulative).u16(delay).u8(f.ranges.length);
      for (const r of f.ranges) {
        if (!isUint(r.start, 0xffffffff)) throw new RangeError('ACK range start must be a uint32');
        if (!isUint(r.length, MAX_ACK_RANGE_LENGTH) || r.length === 0) {
          throw new RangeError('ACK range length must be 1..65535');
        }
        w.u32(r.start).u16(r.length);
      }
      return;
    }
    case 'ping':
    case 'pong':
      if (!isUint(f.token, 0xffffffff)) throw new RangeError('PING/PONG token must be a uint32');
      w.u8(f.type === 'ping' ? FrameType.Ping : FrameType.Pong).u32(f.token);
      return;
    case 'ephemeral':
      if (f.payload.length > MAX_FRAME_PAYLOAD_BYTES) throw new RangeError('EPHEMERAL payload exceeds 65535 bytes');
      w.u8(FrameType.Ephemeral).u16(f.payload.length).bytes(f.payload);
      return;
    case 'close': {
      if (!isUint(f.code, 0xffff)) throw new RangeError('CLOSE code must be a uint16');
      const reason = closeReasonBytes(f.reason);
      w.u8(FrameType.Close).u16(f.code).u8(reason.length).bytes(reason);
      return;
    }
    default:
      writeFileFrame(w, f);
  }
}

export function encodeFrame(f: Frame): Buffer {
  return encodePacket([f]);
}

/** Concatenates frames into one inner packet; the caller keeps it within the mtu. */
export function encodePacket(frames: readonly Frame[]): Buffer {
  if (frames.length === 0) throw new RangeError('an inner packet holds at least one frame');
  let size = 0;
  for (const f of frames) size += frameSize(f);
  const w = new Writer(size);
  for (const f of frames) writeFrame(w, f);
  return w.finish();
}

/** Payloads at least this large are passed by reference in encodePacketParts, not copied. */
const BY_REFERENCE_BYTES = 512;

/**
 * The same bytes as encodePacket, as a list of segments whose concatenation is the packet: file pieces'
 * payloads are referenced, not copied (the sealer encrypts segment by segment, so the plaintext packet
 * is never assembled). Everything else is written into one buffer.
 */
export function encodePacketParts(frames: readonly Frame[]): Buffer[] {
  if (frames.length === 0) throw new RangeError('an inner packet holds at least one frame');
  let size = 0;
  for (const f of frames) size += f.type === 'file-piece' && f.payload.length >= BY_REFERENCE_BYTES ? PIECE_HEADER_BYTES : frameSize(f);
  const w = new Writer(size);
  const parts: Buffer[] = [];
  let from = 0;
  for (const f of frames) {
    if (f.type === 'file-piece' && f.payload.length >= BY_REFERENCE_BYTES) {
      writePieceHeader(w, f);
      parts.push(w.finish().subarray(from), f.payload);
      from = w.length;
    } else writeFrame(w, f);
  }
  if (w.length > from) parts.push(w.finish().subarray(from));
  return parts;
}

function readFrame(r: Reader, dataViews = false): Frame | undefined {
  const type = r.u8('frame type');
  switch (type) {
    case FrameType.Data: {
      const flags = r.u8('DATA flags');
      if ((flags & ~DATA_FLAGS_KNOWN) !== 0) {
        r.fail(`unknown DATA flags 0x${flags.toString(16)}`);
        return undefined;
      }
      const seq = r.u32('DATA seq');
      const first = (flags & DATA_FLAG_FIRST) !== 0;
      const messageLength = first ? r.u32('DATA message length') : undefined;
      const len = r.u16('DATA length');
      const payload = dataViews ? r.viewBytes(len) : r.bytes(len, 'DATA payload');
      if (r.failed) return undefined;
      const frame: DataFrame = { type: 'data', seq, first, last: (flags & DATA_FLAG_LAST) !== 0, payload };
      if (first) frame.messageLength = messageLength;
      return frame;
    }
    case FrameType.Ack: {
      const cumulative = r.u32('ACK cumulative');
      const ackDelay = r.u16('ACK delay');
      const count = r.u8('ACK range count');
      if (r.failed) return undefined;
      if (count > MAX_ACK_RANGES) {
        r.fail(`ACK with ${count} ranges (max ${MAX_ACK_RANGES})`);
        return undefined;
      }
      if (r.remaining < count * ACK_RANGE_BYTES) {
        r.fail('truncated ACK ranges');
        return undefined;
      }
      const ranges: AckRange[] = [];
      for (let i = 0; i < count; i++) {
        const start = r.u32('ACK range start');
        const length = r.u16('ACK range length');
        if (length === 0) {
          r.fail('empty ACK range');
          return undefined;
        }
        ranges.push({ start, length });
      }
      return { type: 'ack', cumulative, ackDelay, ranges };
    }
    case FrameType.Ping:
    case FrameType.Pong: {
      const token = r.u32('token');
      if (r.failed) return undefined;
      return { type: type === FrameType.Ping ? 'ping' : 'pong', token };
    }
    case FrameType.Ephemeral: {
      const len = r.u16('EPHEMERAL length');
      const payload = r.bytes(len, 'EPHEMERAL payload');
      if (r.failed) return undefined;
      return { type: 'ephemeral', payload };
    }
    case FrameType.Close: {
      const code = r.u16('CLOSE code');
      const reason = r.str8(MAX_CLOSE_REASON_BYTES, 'CLOSE reason');
      if (r.failed) return undefined;
      return { type: 'close', code, reason };
    }
    default:
      if (r.failed) return undefined;
      if (isFileFrameType(type)) return readFileFrame(r, type);
      r.fail(`unknown frame type 0x${type.toString(16)}`);
      return undefined;
  }
}

/** One frame at `offset`; `next` is where the following frame starts. Never throws. */
export function decodeFrame(buf: Uint8Array, offset = 0): Decoded<{ frame: Frame; next: number }> {
  if (!Number.isInteger(offset) || offset < 0 || offset >= buf.length) return fail('no frame at offset');
  const r = new Reader(buf, offset);
  const frame = readFrame(r);
  if (frame === undefined || r.failed) return fail(r.failed ?? 'malformed frame');
  return { ok: true, value: { frame, next: r.offset } };
}

/**
 * A whole inner packet. Never throws; any malformed frame rejects the packet, so a caller never
 * acts on half of a packet. Payloads are fresh copies: the packet buffer may be reused afterwards.
 * With `dataViews`, DATA payloads are views of `buf` instead (one copy fewer per message): for a caller that
 * owns `buf` and never reuses it (a freshly decrypted packet; the reliable receiver copies what it keeps).
 */
export function decodePacket(buf: Uint8Array, dataViews = false): Decoded<Frame[]> {
  if (buf.length === 0) return fail('empty inner packet');
  const r = new Reader(buf);
  const frames: Frame[] = [];
  while (r.remaining > 0) {
    const frame = readFrame(r, dataViews);
    if (frame === undefined || r.failed) return fail(r.failed ?? 'malformed frame');
    frames.push(frame);
  }
  return { ok: true, value: frames };
}
