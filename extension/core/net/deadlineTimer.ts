// The one timer an I/O shell keeps for its state machine's next deadline (`nextWakeup()`). Most datagrams
// move that deadline a little later (the peer's loss timer, say); re-arming a timer for each costs more
// than an early wakeup that finds nothing due, so an armed timer that fires no later is kept. The state
// machines are driven by `tick(now)` and do nothing before a deadline, so early wakeups are harmless.

/** setTimeout / clearTimeout, injectable so that tests drive time themselves. */
export interface TimerApi {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const nodeTimers: TimerApi = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (h) => clearTimeout(h as NodeJS.Timeout),
};

export class DeadlineTimer {
  private handle: unknown;
  private armed = false;
  private at = Infinity;

  constructor(
    private readonly fire: () => void,
    private readonly now: () => number = () => performance.now(),
    private readonly timers: TimerApi = nodeTimers,
  ) {}

  /** Make sure `fire` runs no later than `at` (a monotonic time; Infinity: nothing due). */
  noLaterThan(at: number): void {
    if (this.armed && this.at <= at) return;
    this.clear();
    this.at = at;
    if (at === Infinity) return;
    this.armed = true;
    this.handle = this.timers.set(() => {
      this.armed = false;
      this.at = Infinity;
      this.fire();
    }, Math.max(0, Math.ceil(at - this.now())));
  }

  clear(): void {
    if (this.armed) this.timers.clear(this.handle);
    this.armed = false;
    this.at = Infinity;
  }
}
