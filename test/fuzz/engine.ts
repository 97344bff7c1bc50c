// A small coverage-guided fuzzer on V8's own block coverage (the inspector's precise coverage), for
// where Jazzer.js cannot run (see README.md). Inputs are mutated in batches; a batch whose coverage
// shows a block never seen before is replayed input by input, and each input that reached a new block
// joins the corpus. Coverage is read only for the project's code (extension/, rendezvous/).
import { prng, type Prng as Rng } from '../helpers/prng';
import { Session } from 'node:inspector';
import type { Target } from './targets';

export interface Finding {
  target: string;
  error: string;
  input: string; // hex
}

export interface TargetReport {
  target: string;
  execs: number;
  corpus: number;
  seeds: number;
  /** Distinct code blocks of the project reached by this target's inputs. */
  blocks: number;
  /** Blocks the seeds alone reached: what the mutations added is blocks - seedBlocks. */
  seedBlocks: number;
  outcomes: number;
  findings: Finding[];
  ms: number;
  newInputs: Buffer[];
  /** The corpus at the end (seeds and finds), for the second phase. */
  finalCorpus: Buffer[];
}

interface Range {
  startOffset: number;
  endOffset: number;
  count: number;
}
interface CoverageResult {
  result: { scriptId: string; url: string; functions: { ranges: Range[] }[] }[];
}

export class Coverage {
  private readonly session = new Session();
  private readonly blocks = new Map<string, Map<string, { start: number; end: number; id: number }>>();
  private nextId = 0;
  private readonly wanted = new Map<string, boolean>();

  constructor(private readonly include: RegExp = /\/(extension|rendezvous)\//) {
    this.session.connect();
    this.post('Profiler.enable');
    this.post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
  }

  private post<T>(method: string, params: object = {}): T {
    let out: T | undefined;
    let err: Error | null = null;
    // A session on our own thread answers synchronously.
    this.session.post(method, params, (e, r) => {
      err = e;
      out = r as T;
    });
    if (err) throw err;
    return out as T;
  }

  /**
   * Blocks executed since the last call (the counters reset on every read). V8 leaves out a nested
   * range whose count equals its parent's, so the same execution can be reported with different
   * ranges; every block ever seen in a function is kept, and judged by the innermost reported range
   * that holds it. A block then counts as covered the same way whatever the counts around it were.
   */
  take(): number[] {
    const r = this.post<CoverageResult>('Profiler.takePreciseCoverage');
    const out: number[] = [];
    for (const s of r.result) {
      let want = this.wanted.get(s.url);
      if (want === undefined) this.wanted.set(s.url, (want = this.include.test(s.url) && !/\/test\//.test(s.url)));
      if (!want) continue;
      for (const f of s.functions) {
        const rs = f.ranges;
        if (!rs.length || rs[0].count === 0) continue;
        const fkey = `${s.url}:${rs[0].startOffset}`;
        let known = this.blocks.get(fkey);
        if (!known) this.blocks.set(fkey, (known = new Map()));
        for (const rg of rs) {
          const k = `${rg.startOffset}:${rg.endOffset}`;
          if (!known.has(k)) known.set(k, { start: rg.startOffset, end: rg.endOffset, id: this.nextId++ });
        }
        for (const b of known.values()) {
          let count = -1;
          let len = Infinity;
          for (const rg of rs) {
            if (rg.startOffset <= b.start && b.end <= rg.endOffset && rg.endOffset - rg.startOffset < len) {
              len = rg.endOffset - rg.startOffset;
              count = rg.count;
            }
          }
          if (count > 0) out.push(b.id);
        }
      }
    }
    return out;
  }

  close(): void {
    this.post('Profiler.stopPreciseCoverage');
    this.post('Profiler.disable');
    this.session.disconnect();
  }
}

const INTERESTING_8 = [0, 1, 2, 3, 4, 6, 8, 9, 16, 0x1f, 0x20, 0x3f, 0x40, 0x7f, 0x80, 0xc0, 0xc5, 0xfe, 0xff];
const INTERESTING_16 = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0x3fff, 0x4000, 0x4fff, 0x7fff, 0x8000, 0xfffe, 0xffff];
const INTERESTING_32 = [0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x400000, 0x400001, 0x2112a442];

function mutateOnce(r: Rng, b: Buffer, corpus: Buffer[], dict: Buffer[], maxLen: number): Buffer {
  const pos = () => r.int(b.length + 1);
  switch (r.int(11)) {
    case 0: {
      if (!b.length) return Buffer.from([r.int(256)]);
      const c = Buffer.from(b);
      c[r.int(c.length)] ^= 1 << r.int(8);
      return c;
    }
    case 1: {
      if (!b.length) return b;
      const c = Buffer.from(b);
      c[r.int(c.length)] = INTERESTING_8[r.int(INTERESTING_8.length)];
      return c;
    }
    case 2: {
      if (b.length < 2) return b;
      const c = Buffer.from(b);
      const v = INTERESTING_16[r.int(INTERESTING_16.length)];
      const at = r.int(c.length - 1);
      if (r.int(2)) c.writeUInt16BE(v, at);
      else c.writeUInt16LE(v, at);
      return c;
    }
    case 3: {
      if (b.length < 4) return b;
      const c = Buffer.from(b);
      c.writeUInt32BE(INTERESTING_32[r.int(INTERESTING_32.length)] >>> 0, r.int(c.length - 3));
      return c;
    }
    case 4: {
      // A byte that is likely a length: set it to what remains, or one more.
      if (!b.length) return b;
      const c = Buffer.from(b);
      const at = r.int(c.length);
      c[at] = Math.min(255, c.length - at - 1 + r.int(3) - 1) & 0xff;
      return c;
    }
    case 5: {
      // An input already at (or, from a crossover, past) the size limit gets no insertion.
      if (b.length >= maxLen) return b;
      const at = pos();
      const n = 1 + r.int(Math.min(32, maxLen - b.length + 1));
      const ins = Buffer.alloc(n);
      for (let i = 0; i < n; i++) ins[i] = r.int(256);
      return Buffer.concat([b.subarray(0, at), ins, b.subarray(at)]);
    }
    case 6: {
      if (!b.length) return b;
      const at = r.int(b.length);
      const n = 1 + r.int(Math.min(32, b.length - at));
      return Buffer.concat([b.subarray(0, at), b.subarray(at + n)]);
    }
    case 7:
      return b.subarray(0, r.int(b.length + 1));
    case 8: {
      if (!b.length) return b;
      const from = r.int(b.length);
      const n = 1 + r.int(Math.min(64, b.length - from));
      const at = pos();
      return Buffer.concat([b.subarray(0, at), b.subarray(from, from + n), b.subarray(at)]);
    }
    case 9: {
      // Crossover: our head, another input's tail.
      const o = corpus[r.int(corpus.length)];
      return Buffer.concat([b.subarray(0, pos()), o.subarray(r.int(o.length + 1))]);
    }
    default: {
      if (!dict.length) return b;
      const t = dict[r.int(dict.length)];
      const at = pos();
      if (r.int(2)) return Buffer.concat([b.subarray(0, at), t, b.subarray(at)]);
      const c = Buffer.from(b);
      t.copy(c, Math.min(at, Math.max(0, c.length - t.length)));
      return c;
    }
  }
}

export function mutate(r: Rng, b: Buffer, corpus: Buffer[], dict: Buffer[], maxLen: number): Buffer {
  let out = b;
  const n = 1 + r.int(4);
  for (let i = 0; i < n; i++) out = mutateOnce(r, out, corpus, dict, maxLen);
  return out.length > maxLen ? out.subarray(0, maxLen) : out;
}

export interface RunOptions {
  ms: number;
  seed: number;
  corpus: Buffer[];
  batch?: number;
  maxFindings?: number;
}

/** Fuzz one target for `ms` milliseconds. Never throws: property violations come back as findings. */
export function fuzzTarget(t: Target, cov: Coverage, o: RunOptions): TargetReport {
  const r = prng(o.seed);
  const t0 = performance.now();
  const seen = new Set<number>();
  const outcomes = new Set<string>();
  const findings: Finding[] = [];
  const errorsSeen = new Set<string>();
  const corpus: Buffer[] = [];
  const newInputs: Buffer[] = [];
  const dict = t.dictionary ?? [];
  let execs = 0;

  const exec = (input: Buffer): void => {
    execs++;
    try {
      outcomes.add(t.run(input));
    } catch (e) {
      const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      const key = msg.split('\n')[0].slice(0, 200);
      if (!errorsSeen.has(key) && findings.length < (o.maxFindings ?? 10)) {
        errorsSeen.add(key);
        findings.push({ target: t.name, error: key, input: input.toString('hex') });
      }
    }
  };
  const novel = (blocks: number[]): boolean => {
    let fresh = false;
    for (const b of blocks) {
      if (!seen.has(b)) {
        seen.add(b);
        fresh = true;
      }
    }
    return fresh;
  };

  cov.take(); // forget whatever ran before
  for (const s of o.corpus.length ? o.corpus : t.seeds()) {
    exec(s);
    novel(cov.take());
    corpus.push(s);
  }
  const seeds = corpus.length;
  const seedBlocks = seen.size;
  const batchSize = o.batch ?? 256;
  const batch: Buffer[] = [];
  while (performance.now() - t0 < o.ms) {
    // Newer finds are more likely to lead somewhere new: favour the tail of the corpus.
    const parent = corpus[r.next() < 0.5 ? corpus.length - 1 - r.int(Math.min(corpus.length, 8)) : r.int(corpus.length)];
    batch.length = 0;
    for (let i = 0; i < batchSize; i++) {
      const m = mutate(r, parent, corpus, dict, t.maxLen);
      batch.push(m);
      exec(m);
    }
    if (!cov.take().some((b) => !seen.has(b))) continue;
    // Something in the batch reached new code: halve until the inputs that did it are found.
    const bisect = (list: Buffer[]): void => {
      for (const m of list) exec(m);
      const blocks = cov.take();
      if (!blocks.some((b) => !seen.has(b))) return;
      if (list.length === 1) {
        novel(blocks);
        corpus.push(list[0]);
        newInputs.push(list[0]);
        return;
      }
      const half = list.length >> 1;
      bisect(list.slice(0, half));
      bisect(list.slice(half));
    };
    bisect(batch.slice());
  }
  return { target: t.name, execs, corpus: corpus.length, seeds, blocks: seen.size, seedBlocks, outcomes: outcomes.size, findings, ms: performance.now() - t0, newInputs, finalCorpus: corpus };
}

/**
 * The second phase: plain seeded mutation of the corpus the guided phase grew, with coverage off, so
 * the decoders run at full speed. Runs for `ms`, and on past it (up to `maxMs`) until `minExecs`.
 */
export function mutateCorpus(t: Target, corpus: Buffer[], o: { ms: number; maxMs: number; minExecs: number; seed: number }): { execs: number; findings: Finding[]; ms: number } {
  const r = prng(o.seed);
  const findings: Finding[] = [];
  const errorsSeen = new Set<string>();
  const dict = t.dictionary ?? [];
  const t0 = performance.now();
  let execs = 0;
  for (;;) {
    const elapsed = performance.now() - t0;
    if (elapsed >= o.maxMs || (elapsed >= o.ms && execs >= o.minExecs)) break;
    for (let i = 0; i < 256; i++) {
      const m = mutate(r, corpus[r.int(corpus.length)], corpus, dict, t.maxLen);
      execs++;
      try {
        t.run(m);
      } catch (e) {
        const key = (e instanceof Error ? `${e.name}: ${e.message}` : String(e)).split('\n')[0].slice(0, 200);
        if (!errorsSeen.has(key) && findings.length < 10) {
          errorsSeen.add(key);
          findings.push({ target: t.name, error: key, input: m.toString('hex') });
        }
      }
    }
  }
  return { execs, findings, ms: performance.now() - t0 };
}
