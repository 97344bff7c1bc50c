// Sliding anti-replay window over 64-bit packet counters, after RFC 6479 (as WireGuard does it): a ring
// of 32-bit blocks, one spare block beyond the window so that sliding forward only zeroes whole blocks
// and never shifts bits. Checking and marking are separate so a packet is marked only after it
// authenticates: forged counters must not move the window.

export type ReplayVerdict = 'ok' | 'replay' | 'tooOld';

const BLOCK_BITS = 32;

export class ReplayWindow {
  /** How far behind the highest accepted counter a packet may still arrive. */
  readonly size: number;
  private readonly blocks: Uint32Array;
  private readonly nBlocks: bigint;
  private readonly sizeBig: bigint;
  private top = -1n; // highest accepted counter; -1 before the first

  constructor(size = 2048) {
    if (!Number.isInteger(size) || size < BLOCK_BITS || size % BLOCK_BITS !== 0) {
      throw new RangeError(`replay window size must be a positive multiple of ${BLOCK_BITS}`);
    }
    this.size = size;
    this.blocks = new Uint32Array(size / BLOCK_BITS + 1);
    this.nBlocks = BigInt(this.blocks.length);
    this.sizeBig = BigInt(size);
  }

  /** Highest counter accepted so far, or -1n. */
  get highest(): bigint {
    return this.top;
  }

  /** Would this counter be accepted? Does not change the window. */
  check(counter: bigint): ReplayVerdict {
    if (counter < 0n) return 'tooOld';
    if (counter > this.top) return 'ok';
    if (this.top - counter >= this.sizeBig) return 'tooOld';
    const { block, mask } = this.locate(counter);
    return (this.blocks[block] & mask) !== 0 ? 'replay' : 'ok';
  }

  /** Records an authenticated counter; returns false (and changes nothing) when check() would refuse it. */
  mark(counter: bigint): boolean {
    if (this.check(counter) !== 'ok') return false;
    if (counter > this.top) this.slideTo(counter);
    const { block, mask } = this.locate(counter);
    this.blocks[block] |= mask;
    return true;
  }

  private slideTo(counter: bigint): void {
    const newBlock = counter >> 5n;
    const oldBlock = this.top >> 5n; // -1n >> 5n == -1n: before the first packet everything is clear anyway
    const advance = newBlock - oldBlock;
    if (advance >= this.nBlocks || this.top < 0n) {
      this.blocks.fill(0);
    } else {
      // The slots entering the window last held blocks a full ring behind: stale, so clear them.
      for (let i = 1n; i <= advance; i++) this.blocks[Number((oldBlock + i) % this.nBlocks)] = 0;
    }
    this.top = counter;
  }

  private locate(counter: bigint): { block: number; mask: number } {
    return {
      block: Number((counter >> 5n) % this.nBlocks),
      mask: (1 << Number(counter & 31n)) >>> 0,
    };
  }
}
