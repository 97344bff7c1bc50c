import assert from 'node:assert/strict';
import { ReplayWindow } from '../../extension/core/noise';

/** Reference model: remember every accepted counter exactly. */
class ModelWindow {
  private readonly seen = new Set<bigint>();
  private top = -1n;
  constructor(private readonly size: number) {}
  check(c: bigint): string {
    if (c > this.top) return 'ok';
    if (this.top - c >= BigInt(this.size)) return 'tooOld';
    return this.seen.has(c) ? 'replay' : 'ok';
  }
  mark(c: bigint): void {
    this.seen.add(c);
    if (c > this.top) this.top = c;
  }
}

describe('noise: replay window', () => {
  it('accepts an in-order stream and refuses each counter a second time', () => {
    const w = new ReplayWindow(2048);
    for (let i = 0n; i < 5000n; i++) {
      assert.equal(w.check(i), 'ok');
      assert.ok(w.mark(i));
      assert.equal(w.check(i), 'replay');
    }
    assert.equal(w.highest, 4999n);
  });

  it('accepts out-of-order arrivals within the window exactly once', () => {
    const w = new ReplayWindow(2048);
    assert.ok(w.mark(100n));
    for (const c of [99n, 3n, 50n, 0n, 101n, 98n]) assert.ok(w.mark(c), `first ${c}`);
    for (const c of [99n, 3n, 50n, 0n, 101n, 98n, 100n]) {
      assert.equal(w.check(c), 'replay');
      assert.equal(w.mark(c), false);
    }
    assert.equal(w.check(2n), 'ok');
  });

  it('refuses counters that fell behind the window, and the exact edge', () => {
    const w = new ReplayWindow(2048);
    w.mark(5000n);
    assert.equal(w.check(5000n - 2048n), 'tooOld');
    assert.equal(w.check(5000n - 2047n), 'ok');
    assert.equal(w.check(0n), 'tooOld');
    assert.equal(w.check(-1n), 'tooOld');
    assert.equal(w.mark(100n), false);
  });

  it('a far jump clears stale bits without false replays', () => {
    const w = new ReplayWindow(64);
    for (let i = 0n; i < 64n; i++) w.mark(i);
    w.mark(1_000_000n);
    assert.equal(w.check(63n), 'tooOld');
    // Slots reused by the ring must read as fresh, not as the old counters that shared them.
    for (let c = 1_000_000n - 63n; c < 1_000_000n; c++) assert.equal(w.check(c), 'ok', `counter ${c}`);
    w.mark((1n << 60n) - 1n);
    assert.equal(w.check((1n << 60n) - 2n), 'ok');
    assert.equal(w.check((1n << 60n) - 1n), 'replay');
    assert.equal(w.check(1_000_000n), 'tooOld');
  });

  it('matches an exact reference model on a long randomised, reordered stream', () => {
    let seed = 12345;
    const rand = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff; // deterministic LCG
      return seed / 0x80000000;
    };
    for (const size of [32, 64, 2048]) {
      const w = new ReplayWindow(size);
      const m = new ModelWindow(size);
      let base = 0;
      const counts = { ok: 0, replay: 0, tooOld: 0 };
      for (let step = 0; step < 20000; step++) {
        base += rand() < 0.9 ? 1 : Math.floor(rand() * size * 3); // mostly steady, sometimes a burst of loss
        const jitter = Math.floor(rand() * size * 1.5); // reordering that reaches beyond the window
        const c = BigInt(Math.max(0, base - jitter));
        const expected = m.check(c);
        assert.equal(w.check(c), expected, `size ${size} step ${step} counter ${c}`);
        if (expected === 'ok') {
          m.mark(c);
          assert.ok(w.mark(c));
        }
        counts[expected as keyof typeof counts]++;
      }
      assert.ok(counts.ok > 0 && counts.replay > 0 && counts.tooOld > 0, JSON.stringify(counts));
    }
  });

  it('rejects window sizes that are not whole blocks', () => {
    assert.throws(() => new ReplayWindow(0));
    assert.throws(() => new ReplayWindow(100));
  });
});
