// Seeded pseudo-random numbers for tests and fuzzers: every hostile corpus is reproducible from its seed.
/** xorshift32. */
export interface Prng {
  next(): number;
  int(n: number): number;
  bytes(n: number): Buffer;
  pick<T>(a: readonly T[]): T;
}

export function prng(seed: number): Prng {
  let x = (Math.imul(seed | 0, 0x9e3779b1) ^ 0x5bd1e995) | 0 || 0x1234567;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
  const int = (n: number) => Math.floor(next() * n);
  return {
    next,
    int,
    bytes: (n) => {
      const b = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i++) b[i] = int(256);
      return b;
    },
    pick: (a) => a[int(a.length)],
  };
}
