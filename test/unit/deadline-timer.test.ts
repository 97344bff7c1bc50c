import assert from 'node:assert/strict';
import { DeadlineTimer, type TimerApi } from '../../extension/core/net/deadlineTimer';

/** A scheduler on an injected clock: advance(ms) runs what falls due, in order. */
class FakeTimers implements TimerApi {
  now = 0;
  private next = 1;
  readonly pending = new Map<number, { at: number; fn: () => void }>();
  set(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.pending.set(id, { at: this.now + ms, fn });
    return id;
  }
  clear(h: unknown): void {
    this.pending.delete(h as number);
  }
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      const due = [...this.pending.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.pending.delete(due[0]);
      this.now = due[1].at;
      due[1].fn();
    }
    this.now = end;
  }
}

describe("DeadlineTimer (the I/O shells' one timer for the next deadline)", () => {
  it('fires once, no later than asked; a later deadline keeps the armed timer, an earlier one replaces it', () => {
    const ft = new FakeTimers();
    const fired: number[] = [];
    const t = new DeadlineTimer(() => fired.push(ft.now), () => ft.now, ft);
    t.noLaterThan(40);
    t.noLaterThan(1000); // later: the 40 ms timer stays, no re-arm
    assert.equal(ft.pending.size, 1);
    ft.advance(100);
    assert.deepEqual(fired, [40]);
    t.noLaterThan(1000);
    t.noLaterThan(105); // earlier: replaces the 1 s timer
    assert.equal(ft.pending.size, 1);
    ft.advance(2000);
    assert.deepEqual(fired, [40, 105]);
  });

  it('Infinity arms nothing; clear stops an armed timer; a past deadline fires at once; fractions round up', () => {
    const ft = new FakeTimers();
    ft.now = 100;
    const fired: number[] = [];
    const t = new DeadlineTimer(() => fired.push(ft.now), () => ft.now, ft);
    t.noLaterThan(Infinity);
    assert.equal(ft.pending.size, 0);
    t.noLaterThan(120);
    t.clear();
    assert.equal(ft.pending.size, 0);
    ft.advance(50);
    assert.deepEqual(fired, []);
    t.noLaterThan(50);
    ft.advance(0);
    assert.deepEqual(fired, [150]);
    t.noLaterThan(ft.now + 2.2);
    ft.advance(2);
    assert.deepEqual(fired, [150], 'not before the deadline');
    ft.advance(1);
    assert.deepEqual(fired, [150, 153]);
  });
});
