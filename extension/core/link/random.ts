// The randomness links draw on for things that need to be unpredictable to others but not secret
// (spray ports, path-probe tokens, Hello padding, session indices). Injected so the simulated
// network can seed it: a test on SimNet then replays the same packets every run.
import { randomBytes, randomInt } from 'node:crypto';

export interface RandomSource {
  /** An integer in [min, max). */
  int(min: number, max: number): number;
  bytes(n: number): Buffer;
}

export const cryptoRandom: RandomSource = {
  int: (min, max) => randomInt(min, max),
  bytes: (n) => randomBytes(n),
};

/** A small deterministic generator (xorshift32) for simulations; never for anything an attacker may see. */
export function seededRandom(seed: number): RandomSource {
  let x = seed >>> 0 || 0x9e3779b9;
  const next = (): number => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
  return {
    int: (min, max) => min + Math.floor((next() / 2 ** 32) * (max - min)),
    bytes: (n) => {
      const b = Buffer.alloc(n);
      for (let i = 0; i < n; i++) b[i] = next() & 0xff;
      return b;
    },
  };
}
