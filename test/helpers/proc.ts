// Long-running child processes for network tests: each in its own process
// group (so a kill reaches its children too), stdout split into lines and
// JSON events, stdin writable, and awaitable predicates with timeouts whose
// errors carry the process's recent output. Generic: knows nothing about
// what the programs print beyond "one JSON object per line, maybe".

import { spawn, type ChildProcess } from 'node:child_process';

export type JsonEvent = Record<string, unknown>;

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnOptions {
  /** Label used in error messages and debug echo. */
  name?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Lines/events kept; older ones are forgotten (indices stay absolute). */
  maxLines?: number;
  /** Echo output to our stderr, prefixed with the name. Also on with LAB_DEBUG=1. */
  echo?: boolean;
}

export interface WaitOptions {
  timeoutMs: number;
  /** Absolute index to start scanning at (see mark()); default 0 = everything seen so far. */
  from?: number;
  /** What is being waited for, for the error message. */
  what?: string;
}

interface Waiter {
  kind: 'event' | 'line';
  test: (item: unknown) => boolean;
  resolve: (v: { item: unknown; index: number }) => void;
  reject: (e: Error) => void;
  from: number;
  what: string;
  timer: NodeJS.Timeout;
}

const TAIL_LINES = 15;
const live = new Set<ManagedProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous; a SIGKILL to each group is.
  process.on('exit', () => killAllManagedSync());
}

export class ManagedProcess {
  readonly name: string;
  readonly pid: number;
  private readonly child: ChildProcess;
  private readonly lineBuf: string[] = [];
  private readonly eventBuf: JsonEvent[] = [];
  private lineBase = 0;
  private eventBase = 0;
  private readonly eventLineIdx: number[] = [];
  private partial = '';
  private stderrTail = '';
  private waiters: Waiter[] = [];
  private readonly maxLines: number;
  private readonly echo: boolean;
  private exitInfo: ExitInfo | undefined;
  readonly exited: Promise<ExitInfo>;

  constructor(cmd: string, args: readonly string[], opts: SpawnOptions = {}) {
    this.name = opts.name ?? `${cmd} ${args.slice(0, 4).join(' ')}`;
    this.maxLines = opts.maxLines ?? 50_000;
    this.echo = opts.echo ?? process.env.LAB_DEBUG === '1';
    this.child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true, // setsid: its own process group, killed as a whole
    });
    if (this.child.pid === undefined) {
      // spawn failures (ENOENT) surface asynchronously; keep a pid of 0 and let exited reject waiters.
      this.pid = 0;
    } else {
      this.pid = this.child.pid;
    }
    live.add(this);
    installExitHook();
    this.exited = new Promise<ExitInfo>((resolve) => {
      const done = (info: ExitInfo) => {
        if (this.exitInfo) return;
        this.exitInfo = info;
        live.delete(this);
        this.flushPartial();
        this.failWaiters(`exited (code ${info.code}, signal ${info.signal}) before`);
        resolve(info);
      };
      // 'close' comes after stdout has drained, so waiters see every line
      // before they are failed; the timer covers a grandchild holding the
      // pipe open after the child itself died.
      let exitSeen: ExitInfo | undefined;
      this.child.on('exit', (code, signal) => {
        exitSeen = { code, signal };
        setTimeout(() => done(exitSeen!), 2000).unref();
      });
      this.child.on('close', (code, signal) => done(exitSeen ?? { code, signal }));
      this.child.on('error', (err) => {
        this.stderrTail += `\n[spawn error] ${err.message}`;
        done({ code: null, signal: null });
      });
    });
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (chunk: string) => this.onStdout(chunk));
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-4000);
      if (this.echo) process.stderr.write(prefixLines(`[${this.name} !] `, chunk));
    });
    // A child that exits with our writes in flight must not crash the test run.
    this.child.stdin!.on('error', () => undefined);
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  get exitStatus(): ExitInfo | undefined {
    return this.exitInfo;
  }

  /** All stdout lines still kept (oldest may have been dropped, see maxLines). */
  get lines(): readonly string[] {
    return this.lineBuf;
  }

  /** Stdout lines that parsed as JSON objects. */
  get events(): readonly JsonEvent[] {
    return this.eventBuf;
  }

  get stderr(): string {
    return this.stderrTail;
  }

  /** Absolute index of the next event; pass as `from` to wait only for later events. */
  mark(): number {
    return this.eventBase + this.eventBuf.length;
  }

  /** Absolute index of the next stdout line. */
  markLine(): number {
    return this.lineBase + this.lineBuf.length;
  }

  write(text: string): void {
    if (!this.running) throw new Error(`${this.name}: write after exit`);
    this.child.stdin!.write(text);
  }

  writeLine(line: string): void {
    this.write(line.endsWith('\n') ? line : `${line}\n`);
  }

  /** One JSON object as one line on stdin. */
  send(obj: unknown): void {
    this.writeLine(JSON.stringify(obj));
  }

  endInput(): void {
    this.child.stdin!.end();
  }

  /** Resolves with the first event (from `from` on) the predicate accepts. */
  async waitForEvent<T extends JsonEvent = JsonEvent>(
    pred: (ev: JsonEvent) => boolean,
    opts: WaitOptions,
  ): Promise<T> {
    const r = await this.waitFor('event', pred as (item: unknown) => boolean, opts);
    return r.item as T;
  }

  /** Like waitForEvent but also returns the event's absolute index. */
  async waitForEventAt(pred: (ev: JsonEvent) => boolean, opts: WaitOptions): Promise<{ event: JsonEvent; index: number }> {
    const r = await this.waitFor('event', pred as (item: unknown) => boolean, opts);
    return { event: r.item as JsonEvent, index: r.index };
  }

  async waitForLine(pred: RegExp | ((line: string) => boolean), opts: WaitOptions): Promise<string> {
    const test = typeof pred === 'function' ? pred : (l: string) => pred.test(l);
    const r = await this.waitFor('line', test as (item: unknown) => boolean, {
      ...opts,
      what: opts.what ?? (typeof pred === 'function' ? undefined : String(pred)),
    });
    return r.item as string;
  }

  /** Events (from `from` on) matching the predicate, without waiting. */
  eventsWhere(pred: (ev: JsonEvent) => boolean, from = 0): JsonEvent[] {
    const start = Math.max(0, from - this.eventBase);
    return this.eventBuf.slice(start).filter(pred);
  }

  /** Resolves after `withinMs` if no event (from `from` on) matched; rejects as soon as one does. */
  async expectNoEvent(pred: (ev: JsonEvent) => boolean, opts: { withinMs: number; from?: number; what?: string }): Promise<void> {
    let seen: JsonEvent | undefined;
    try {
      seen = await this.waitForEvent(pred, { timeoutMs: opts.withinMs, from: opts.from, what: opts.what });
    } catch (e) {
      if (e instanceof Error && / timed out after /.test(e.message)) return;
      throw e;
    }
    throw new Error(`${this.name}: unexpected event ${JSON.stringify(seen)}${opts.what ? ` (${opts.what})` : ''}\n${this.describe()}`);
  }

  async waitForExit(timeoutMs: number): Promise<ExitInfo> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        this.exited,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`${this.name}: did not exit within ${timeoutMs} ms\n${this.describe()}`)), timeoutMs);
        }),
      ]);
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  /** SIGTERM to the group, SIGKILL after graceMs; resolves once the child has exited. */
  async kill(graceMs = 1000): Promise<ExitInfo> {
    if (!this.running) return this.exitInfo!;
    this.signalGroup('SIGTERM');
    const timer = setTimeout(() => this.signalGroup('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL to the group without waiting (usable from exit handlers). */
  killSync(): void {
    if (this.running) this.signalGroup('SIGKILL');
  }

  /** Recent output, for error messages. */
  describe(): string {
    const out = this.lineBuf.slice(-TAIL_LINES).join('\n');
    const err = this.stderrTail.split('\n').slice(-TAIL_LINES).join('\n');
    const status = this.exitInfo ? `exited code=${this.exitInfo.code} signal=${this.exitInfo.signal}` : `running pid ${this.pid}`;
    return `--- ${this.name} (${status}) stdout tail:\n${out}\n--- stderr tail:\n${err}`;
  }

  private signalGroup(sig: NodeJS.Signals): void {
    if (this.pid <= 0) return;
    try {
      process.kill(-this.pid, sig);
    } catch {
      // Group already gone; fall back to the pid itself in case setsid had not run yet.
      try {
        process.kill(this.pid, sig);
      } catch {
        /* gone */
      }
    }
  }

  private onStdout(chunk: string): void {
    if (this.echo) process.stderr.write(prefixLines(`[${this.name}] `, chunk));
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop() ?? '';
    for (const p of parts) this.addLine(p.endsWith('\r') ? p.slice(0, -1) : p);
  }

  private flushPartial(): void {
    if (this.partial !== '') {
      const p = this.partial;
      this.partial = '';
      this.addLine(p);
    }
  }

  private addLine(line: string): void {
    const lineIndex = this.lineBase + this.lineBuf.length;
    this.lineBuf.push(line);
    let event: JsonEvent | undefined;
    const t = line.trimStart();
    if (t.startsWith('{')) {
      try {
        const v: unknown = JSON.parse(t);
        if (v !== null && typeof v === 'object' && !Array.isArray(v)) event = v as JsonEvent;
      } catch {
        // not JSON: stays a plain line
      }
    }
    let eventIndex = -1;
    if (event) {
      eventIndex = this.eventBase + this.eventBuf.length;
      this.eventBuf.push(event);
      this.eventLineIdx.push(lineIndex);
    }
    if (this.lineBuf.length > this.maxLines) {
      const drop = this.lineBuf.length - this.maxLines;
      this.lineBuf.splice(0, drop);
      this.lineBase += drop;
      let evDrop = 0;
      while (evDrop < this.eventLineIdx.length && this.eventLineIdx[evDrop] < this.lineBase) evDrop++;
      if (evDrop > 0) {
        this.eventBuf.splice(0, evDrop);
        this.eventLineIdx.splice(0, evDrop);
        this.eventBase += evDrop;
      }
    }
    for (const w of [...this.waiters]) {
      if (w.kind === 'line' && lineIndex >= w.from && safeTest(w.test, line)) this.settle(w, { item: line, index: lineIndex });
      else if (w.kind === 'event' && event && eventIndex >= w.from && safeTest(w.test, event)) {
        this.settle(w, { item: event, index: eventIndex });
      }
    }
  }

  private settle(w: Waiter, v: { item: unknown; index: number }): void {
    clearTimeout(w.timer);
    this.waiters = this.waiters.filter((x) => x !== w);
    w.resolve(v);
  }

  private failWaiters(reason: string): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) {
      clearTimeout(w.timer);
      w.reject(new Error(`${this.name}: ${reason} ${w.what}\n${this.describe()}`));
    }
  }

  private waitFor(kind: 'event' | 'line', test: (item: unknown) => boolean, opts: WaitOptions): Promise<{ item: unknown; index: number }> {
    const from = opts.from ?? 0;
    const what = opts.what ?? (kind === 'event' ? `an event matching ${test.toString().slice(0, 200)}` : 'a matching line');
    // Already seen?
    if (kind === 'event') {
      const start = Math.max(0, from - this.eventBase);
      for (let i = start; i < this.eventBuf.length; i++) {
        if (safeTest(test, this.eventBuf[i])) return Promise.resolve({ item: this.eventBuf[i], index: this.eventBase + i });
      }
    } else {
      const start = Math.max(0, from - this.lineBase);
      for (let i = start; i < this.lineBuf.length; i++) {
        if (safeTest(test, this.lineBuf[i])) return Promise.resolve({ item: this.lineBuf[i], index: this.lineBase + i });
      }
    }
    if (!this.running) {
      return Promise.reject(new Error(`${this.name}: already exited, never saw ${what}\n${this.describe()}`));
    }
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        kind,
        test,
        resolve,
        reject,
        from,
        what,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((x) => x !== w);
          reject(new Error(`${this.name}: timed out after ${opts.timeoutMs} ms waiting for ${what}\n${this.describe()}`));
        }, opts.timeoutMs),
      };
      this.waiters.push(w);
    });
  }
}

function safeTest(test: (item: unknown) => boolean, item: unknown): boolean {
  try {
    return test(item);
  } catch {
    return false;
  }
}

function prefixLines(prefix: string, chunk: string): string {
  return chunk
    .split('\n')
    .map((l, i, a) => (i === a.length - 1 && l === '' ? '' : prefix + l))
    .join('\n');
}

/** Predicate: every key of `shape` equals (===, or recursively for plain objects) the event's. */
export function where(shape: JsonEvent): (ev: JsonEvent) => boolean {
  const pred = (ev: JsonEvent) => matches(ev, shape);
  // Shown in timeout messages instead of the function's source.
  pred.toString = () => `where(${JSON.stringify(shape)})`;
  return pred;
}

function matches(value: unknown, shape: unknown): boolean {
  if (shape !== null && typeof shape === 'object' && !Array.isArray(shape)) {
    if (value === null || typeof value !== 'object') return false;
    const v = value as Record<string, unknown>;
    return Object.entries(shape as Record<string, unknown>).every(([k, s]) => matches(v[k], s));
  }
  return value === shape;
}

export function spawnManaged(cmd: string, args: readonly string[], opts: SpawnOptions = {}): ManagedProcess {
  return new ManagedProcess(cmd, args, opts);
}

/** Processes started by spawnManaged that have not exited yet. */
export function liveProcesses(): ManagedProcess[] {
  return [...live];
}

export async function killAllManaged(graceMs = 1000): Promise<void> {
  await Promise.all([...live].map((p) => p.kill(graceMs)));
}

export function killAllManagedSync(): void {
  for (const p of live) p.killSync();
}
