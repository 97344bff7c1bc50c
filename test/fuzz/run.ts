// Runs the fuzzer over every decoder target, bounded in time and with a floor on executions:
// phase 1 is coverage-guided (V8 block coverage, engine.ts), phase 2 mutates the grown corpus with
// coverage off, at full speed, until the execution floor is met.
//   node --import tsx test/fuzz/run.ts [--seconds 24] [--min-execs 200000] [--seed 1] [--target a,b] [--save] [--json]
// --save writes inputs that reached new code into test/fuzz/corpus/<target>/ (for longer local runs);
// the test suite never writes. Exit code 1 when any property was violated.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Coverage, fuzzTarget, mutateCorpus, type Finding } from './engine';
import { TARGETS } from './targets';

const CORPUS = join(__dirname, 'corpus');

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

export function loadCorpus(target: string): Buffer[] {
  const dir = join(CORPUS, target);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .map((f) => readFileSync(join(dir, f)));
}

export interface Summary {
  target: string;
  seeds: number;
  corpus: number;
  seedBlocks: number;
  blocks: number;
  outcomes: number;
  guidedExecs: number;
  guidedMs: number;
  plainExecs: number;
  plainMs: number;
  findings: Finding[];
}

function main(): void {
  const seconds = Number(arg('seconds') ?? 24);
  const minExecs = Number(arg('min-execs') ?? 200_000);
  const seed = Number(arg('seed') ?? 1);
  const only = arg('target')?.split(',');
  const json = process.argv.includes('--json');
  const targets = TARGETS.filter((t) => !only || only.includes(t.name));
  const guidedMs = (seconds * 1000 * 2) / 3 / targets.length;
  const plainMs = (seconds * 1000) / 3 / targets.length;
  const cov = new Coverage();
  const guided = targets.map((t, i) => {
    const rep = fuzzTarget(t, cov, { ms: guidedMs, seed: seed + i, corpus: loadCorpus(t.name) });
    if (process.argv.includes('--save')) {
      const dir = join(CORPUS, t.name);
      mkdirSync(dir, { recursive: true });
      for (const input of rep.newInputs) writeFileSync(join(dir, createHash('sha1').update(input).digest('hex').slice(0, 16)), input);
    }
    return rep;
  });
  cov.close();
  const guidedTotal = guided.reduce((n, r) => n + r.execs, 0);
  const summaries: Summary[] = guided.map((g, i) => {
    const floor = Math.ceil(Math.max(0, minExecs - guidedTotal) / targets.length);
    const p = mutateCorpus(targets[i], g.finalCorpus, { ms: plainMs, maxMs: Math.max(plainMs, 6000), minExecs: floor, seed: seed + 1000 + i });
    const s: Summary = {
      target: g.target,
      seeds: g.seeds,
      corpus: g.corpus,
      seedBlocks: g.seedBlocks,
      blocks: g.blocks,
      outcomes: g.outcomes,
      guidedExecs: g.execs,
      guidedMs: Math.round(g.ms),
      plainExecs: p.execs,
      plainMs: Math.round(p.ms),
      findings: [...g.findings, ...p.findings],
    };
    if (!json) {
      console.log(
        `${s.target.padEnd(11)} guided ${String(s.guidedExecs).padStart(7)} execs, corpus ${s.seeds}->${s.corpus}, blocks ${s.seedBlocks}->${s.blocks}; ` +
          `plain ${String(s.plainExecs).padStart(7)} execs; findings ${s.findings.length}`,
      );
      for (const f of s.findings) console.log(`   ${f.error}\n   input ${f.input}`);
    }
    return s;
  });
  if (json) process.stdout.write(`${JSON.stringify(summaries)}\n`);
  else console.log(`total ${summaries.reduce((n, s) => n + s.guidedExecs + s.plainExecs, 0)} executions`);
  process.exitCode = summaries.some((s) => s.findings.length) ? 1 : 0;
}

main();
