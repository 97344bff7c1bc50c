// Sorted, disjoint, non-adjacent half-open ranges of fragment numbers: the receiver's record of
// what it holds beyond the next expected fragment, which becomes the SACK ranges of an ACK.

export interface SeqRange {
  start: number;
  end: number; // exclusive
}

export class RangeSet {
  private readonly ranges: SeqRange[] = [];

  get count(): number {
    return this.ranges.length;
  }

  first(): SeqRange | undefined {
    return this.ranges[0];
  }

  shift(): SeqRange | undefined {
    return this.ranges.shift();
  }

  list(): readonly SeqRange[] {
    return this.ranges;
  }

  /** Index of the first range whose start is greater than n. */
  private upperBound(n: number): number {
    let lo = 0;
    let hi = this.ranges.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ranges[mid].start <= n) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  has(n: number): boolean {
    const i = this.upperBound(n);
    return i > 0 && n < this.ranges[i - 1].end;
  }

  /** Adds one number; false if it was already present. */
  add(n: number): boolean {
    const i = this.upperBound(n);
    const prev = i > 0 ? this.ranges[i - 1] : undefined;
    if (prev && n < prev.end) return false;
    const next = i < this.ranges.length ? this.ranges[i] : undefined;
    const joinsPrev = prev !== undefined && prev.end === n;
    const joinsNext = next !== undefined && next.start === n + 1;
    if (joinsPrev && joinsNext) {
      prev.end = next.end;
      this.ranges.splice(i, 1);
    } else if (joinsPrev) {
      prev.end = n + 1;
    } else if (joinsNext) {
      next.start = n;
    } else {
      this.ranges.splice(i, 0, { start: n, end: n + 1 });
    }
    return true;
  }
}
