// Bounds-checked byte cursor. Decoders of network input must never throw, so the reader
// records the first failure and returns zeros afterwards; callers check `.failed` once at the end.

/** One fatal decoder for every string: constructing one per call cost more than the decoding. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A copy with memory of its own. Small Buffers (Buffer.from, allocUnsafe) are slices of a shared 8 KiB
 * pool, and one kept slice keeps its whole slab alive: tables that hold bytes for long copy them here.
 */
export function owned(b: Uint8Array): Buffer {
  const out = Buffer.allocUnsafeSlow(b.length);
  out.set(b);
  return out;
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; error: string };

export function fail<T>(error: string): Decoded<T> {
  return { ok: false, error };
}

export class Reader {
  private pos: number;
  failed: string | undefined;

  constructor(private readonly buf: Uint8Array, offset = 0) {
    this.pos = offset;
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private take(n: number, what: string): boolean {
    if (this.failed) return false;
    if (this.remaining < n) {
      this.failed = `truncated ${what}`;
      return false;
    }
    return true;
  }

  u8(what = 'u8'): number {
    if (!this.take(1, what)) return 0;
    return this.buf[this.pos++];
  }

  u16(what = 'u16'): number {
    if (!this.take(2, what)) return 0;
    const v = (this.buf[this.pos] << 8) | this.buf[this.pos + 1];
    this.pos += 2;
    return v;
  }

  u32(what = 'u32'): number {
    if (!this.take(4, what)) return 0;
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return ((b[p] << 24) >>> 0) + (b[p + 1] << 16) + (b[p + 2] << 8) + b[p + 3];
  }

  u64(what = 'u64'): bigint {
    const hi = this.u32(what);
    const lo = this.u32(what);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  bytes(n: number, what = 'bytes'): Buffer {
    if (!this.take(n, what)) return Buffer.alloc(0);
    const out = Buffer.from(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return out;
  }

  /** `n` bytes as a view (no copy); the caller checked `remaining`. */
  viewBytes(n: number): Buffer {
    if (!this.take(n, 'bytes')) return Buffer.alloc(0);
    const b = this.buf;
    const out = Buffer.from(b.buffer, b.byteOffset + this.pos, n);
    this.pos += n;
    return out;
  }

  /** The rest of the buffer, as a view (no copy): for ciphertexts handed straight to crypto. */
  rest(): Buffer {
    if (this.failed) return Buffer.alloc(0);
    const b = this.buf;
    const out = Buffer.from(b.buffer, b.byteOffset + this.pos, b.length - this.pos);
    this.pos = b.length;
    return out;
  }

  /** A copy of bytes already read, [start, end): for signed structures verified over their exact bytes. */
  slice(start: number, end: number): Buffer {
    return Buffer.from(this.buf.subarray(Math.max(0, start), Math.min(end, this.pos)));
  }

  /** UTF-8 string with a one-byte length prefix; rejects invalid UTF-8 rather than mangling it. */
  str8(max: number, what = 'string'): string {
    const n = this.u8(what);
    if (n > max) {
      this.fail(`${what} longer than ${max} bytes`);
      return '';
    }
    const raw = this.bytes(n, what);
    if (this.failed) return '';
    try {
      return UTF8.decode(raw);
    } catch {
      this.fail(`${what} is not valid UTF-8`);
      return '';
    }
  }

  fail(error: string): void {
    if (!this.failed) this.failed = error;
  }

  /** Finish: trailing bytes are an error unless the format allows them. */
  end<T>(value: T, allowTrailing = false): Decoded<T> {
    if (this.failed) return { ok: false, error: this.failed };
    if (!allowTrailing && this.remaining !== 0) return { ok: false, error: `${this.remaining} trailing bytes` };
    return { ok: true, value };
  }
}

export class Writer {
  private buf: Buffer;
  private pos = 0;

  constructor(capacity = 256) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): this {
    this.room(1);
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  u16(v: number): this {
    this.room(2);
    this.buf.writeUInt16BE(v & 0xffff, this.pos);
    this.pos += 2;
    return this;
  }

  u32(v: number): this {
    this.room(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
    return this;
  }

  u64(v: bigint): this {
    this.room(8);
    this.buf.writeBigUInt64BE(v, this.pos);
    this.pos += 8;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  zeros(n: number): this {
    this.room(n);
    this.buf.fill(0, this.pos, this.pos + n);
    this.pos += n;
    return this;
  }

  /** Encoders are called with trusted values; an over-long string is a programming error. */
  str8(s: string, max: number): this {
    const b = Buffer.from(s, 'utf8');
    if (b.length > max) throw new RangeError(`string of ${b.length} bytes exceeds ${max}`);
    return this.u8(b.length).bytes(b);
  }

  get length(): number {
    return this.pos;
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}
