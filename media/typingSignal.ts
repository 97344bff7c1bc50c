// Decides when the composer tells peers "I am typing" / "I stopped". Pure: the caller passes `now`
// and posts whatever value comes back. Repeats `true` while typing continues so a receiver's
// time-to-live (state.ts TYPING_TTL_MS) never lapses mid-sentence, but no more often than `repeatMs`.
export interface TypingSignalOptions {
  /** Minimum spacing of repeated `true` signals. */
  repeatMs: number;
  /** Quiet time after the last keystroke before `false` is sent. */
  idleMs: number;
}

export const DEFAULT_TYPING_OPTIONS: TypingSignalOptions = { repeatMs: 3_000, idleMs: 4_000 };

export class TypingSignal {
  private typing = false;
  private lastSentTrue = -Infinity;
  private lastInput = -Infinity;

  constructor(private readonly opts: TypingSignalOptions = DEFAULT_TYPING_OPTIONS) {}

  get isTyping(): boolean {
    return this.typing;
  }

  /** A keystroke changed the draft. Returns the value to post, if any. */
  input(now: number, hasText: boolean): boolean | undefined {
    if (!hasText) return this.stop();
    this.lastInput = now;
    if (!this.typing || now - this.lastSentTrue >= this.opts.repeatMs) {
      this.typing = true;
      this.lastSentTrue = now;
      return true;
    }
    return undefined;
  }

  /** Call periodically; returns `false` once the user has been idle long enough. */
  tick(now: number): false | undefined {
    if (this.typing && now - this.lastInput >= this.opts.idleMs) return this.stop();
    return undefined;
  }

  /** Message sent, composer blurred or panel hidden. */
  stop(): false | undefined {
    if (!this.typing) return undefined;
    this.typing = false;
    this.lastSentTrue = -Infinity;
    return false;
  }

  /** When `tick` should next be called, if a `false` is pending. */
  deadline(): number | undefined {
    return this.typing ? this.lastInput + this.opts.idleMs : undefined;
  }
}
