// Small order statistics: medians and percentiles over samples, nearest-rank.

export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export function median(samples: readonly number[]): number {
  if (samples.length === 0) return NaN;
  const s = [...samples].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Fixed-size reservoir so a 10 s run at 100k messages/s keeps percentiles without keeping every sample. */
export class Reservoir {
  private readonly buf: Float64Array;
  private seen = 0;
  private seed = 0x9e3779b9;

  constructor(readonly capacity = 200_000) {
    this.buf = new Float64Array(capacity);
  }

  add(v: number): void {
    if (this.seen < this.capacity) {
      this.buf[this.seen++] = v;
      return;
    }
    this.seen++;
    this.seed = (Math.imul(this.seed, 1103515245) + 12345) >>> 0;
    const j = this.seed % this.seen;
    if (j < this.capacity) this.buf[j] = v;
  }

  get count(): number {
    return this.seen;
  }

  private sorted?: Float64Array;
  private sortedAt = -1;

  values(): number[] {
    return Array.from(this.buf.subarray(0, Math.min(this.seen, this.capacity)));
  }

  /** Nearest-rank percentile; the samples are sorted once (numerically, as a typed array) per count. */
  percentile(p: number): number {
    const n = Math.min(this.seen, this.capacity);
    if (n === 0) return NaN;
    if (!this.sorted || this.sortedAt !== this.seen) {
      this.sorted = this.buf.slice(0, n).sort();
      this.sortedAt = this.seen;
    }
    return this.sorted[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))];
  }
}

export function fmt(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return String(n);
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** 12 300 -> "12.3k", 1 234 567 -> "1.23M". */
export function si(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  if (a >= 1e6) return `${(n / 1e6).toPrecision(3)}M`;
  if (a >= 1e3) return `${(n / 1e3).toPrecision(3)}k`;
  return n.toPrecision(3);
}

export function us(ms: number): string {
  return ms < 1 ? `${fmt(ms * 1000)} µs` : `${fmt(ms, ms < 10 ? 2 : 1)} ms`;
}

export function bytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(2)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
