// What every benchmark returns: rows for the summary table, plus details for the report.

export interface Row {
  /** What was measured, in words. */
  what: string;
  /** The figure itself, already formatted with its unit. */
  figure: string;
  /** The same-run reference (peer, ceiling or floor), formatted; '—' when there is none. */
  reference: string;
  /** figure / reference as a number (higher or lower is better depending on `what`), or undefined. */
  ratio?: number;
  /** How to read the ratio, e.g. "of the ceiling", "× the floor". */
  ratioNote?: string;
  /** The DESIGN.md target, when there is one, and whether this run met it. */
  target?: string;
  met?: boolean;
}

export interface BenchResult {
  id: string;
  title: string;
  /** One line: how it was measured. */
  method: string;
  rows: Row[];
  /** Extra lines for the detailed section (Markdown). */
  details: string[];
  /** Raw numbers, kept in the report's JSON appendix. */
  raw: Record<string, unknown>;
  /** Set when the benchmark could not run (missing tool...): the reason. */
  skipped?: string;
  seconds?: number;
}

export interface BenchContext {
  quick: boolean;
  root: string;
  log(line: string): void;
}

export type Benchmark = (ctx: BenchContext) => Promise<BenchResult>;
