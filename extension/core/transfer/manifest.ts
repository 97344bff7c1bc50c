// What a file offer promises and how the file is cut: fixed-size chunks, and for each chunk the
// SHA-256 of the file *up to the end of that chunk* (a prefix digest). The digests back to back form
// the manifest, and the manifest's own SHA-256 travels in the offer. The offer is authenticated by the
// Noise session it arrives on, so a verified manifest binds every chunk to the sender's identity.
//
// Why prefix digests rather than each chunk's own hash: they cost one SHA-256 pass per side instead of
// two. The whole-file SHA-256 (which the receiver must check before it offers the file) is computed
// anyway, as one running hash; a digest of that running hash at each chunk boundary (`copy().digest()`,
// one extra 64-byte block) checks the chunk just completed, given that everything before it matched.
// The last digest *is* the file's SHA-256. The price is order: a chunk can be checked only once every
// chunk before it is, so the receiver holds a completed chunk in memory until its turn (its window
// bounds that), and a resume re-hashes the verified prefix from disk (it had to: the running hash's
// state cannot be saved). Chosen over a Merkle tree because a receiver always fetches the whole
// manifest (≤ 2 MiB) before any chunk, and over per-chunk hashes for the CPU (docs/BENCHMARKS.md).
import { createHash } from 'node:crypto';
import type { FileOfferFrame } from '../wire/fileFrames';

export const HASH_BYTES = 32;
export const MIN_CHUNK = 16 * 1024;
export const DEFAULT_CHUNK = 256 * 1024;
export const MAX_CHUNK = 16 * 1024 * 1024;
/** Bounds the manifest a receiver holds in memory (2 MiB of hashes). */
export const MAX_CHUNKS = 65_536;
export const GIB = 1024 * 1024 * 1024;

export function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

/** 256 KiB, or bigger (a power of two) so that no file needs more than 8192 chunks. */
export function chunkSizeFor(size: number): number {
  let c = DEFAULT_CHUNK;
  while (Math.ceil(size / c) > 8192 && c < MAX_CHUNK) c *= 2;
  return c;
}

export function chunkCount(size: number, chunkSize: number): number {
  return Math.max(0, Math.ceil(size / chunkSize));
}

export function chunkLength(size: number, chunkSize: number, index: number): number {
  return Math.max(0, Math.min(chunkSize, size - index * chunkSize));
}

export interface Manifest {
  size: number;
  chunkSize: number;
  sha256: Buffer;
  /** Prefix digests back to back: entry i is the SHA-256 of bytes [0, end of chunk i). */
  hashes: Buffer;
  manifestSha256: Buffer;
}

/** Incremental: feed the file in order (any slicing), get the manifest at the end. */
export class ManifestBuilder {
  private readonly whole = createHash('sha256');
  private inChunk = 0;
  private size = 0;
  private readonly hashes: Buffer[] = [];

  constructor(readonly chunkSize: number) {}

  update(data: Uint8Array): void {
    let off = 0;
    while (off < data.length) {
      const take = Math.min(this.chunkSize - this.inChunk, data.length - off);
      this.whole.update(off === 0 && take === data.length ? data : data.subarray(off, off + take));
      this.inChunk += take;
      off += take;
      if (this.inChunk === this.chunkSize) {
        this.hashes.push(this.whole.copy().digest());
        this.inChunk = 0;
      }
    }
    this.size += data.length;
  }

  finish(): Manifest {
    if (this.inChunk > 0) this.hashes.push(this.whole.copy().digest());
    const hashes = Buffer.concat(this.hashes);
    return { size: this.size, chunkSize: this.chunkSize, sha256: this.whole.digest(), hashes, manifestSha256: sha256(hashes) };
  }
}

export function manifestOf(data: Uint8Array, chunkSize = chunkSizeFor(data.length)): Manifest {
  const b = new ManifestBuilder(chunkSize);
  b.update(data);
  return b.finish();
}

/** Why an offer cannot be taken at all, whatever the user says; undefined when it is well-formed. */
export function offerProblem(o: FileOfferFrame): string | undefined {
  if (!Number.isSafeInteger(o.size) || o.size < 0) return 'bad size';
  if (o.chunkSize < MIN_CHUNK || o.chunkSize > MAX_CHUNK || (o.chunkSize & (o.chunkSize - 1)) !== 0) return 'bad chunk size';
  if (chunkCount(o.size, o.chunkSize) > MAX_CHUNKS) return 'too many chunks';
  return undefined;
}

export function manifestBytes(size: number, chunkSize: number): number {
  return chunkCount(size, chunkSize) * HASH_BYTES;
}
