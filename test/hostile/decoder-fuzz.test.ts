// Item 2 of the hostile-input suite: the decoders of untrusted bytes (rendezvous and peer datagrams,
// inner frames, app messages and bodies, invites, STUN/ChannelData) never throw and keep their
// round-trip properties. Jazzer.js cannot run on this machine (test/fuzz/README.md), so the fuzzer is
// our own: coverage-guided on V8's block coverage, then plain mutation of the grown corpus, in a child
// process so that coverage instrumentation never slows the rest of the suite.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TARGETS } from '../fuzz/targets';
import type { Summary } from '../fuzz/run';

const ROOT = join(__dirname, '..', '..');
const FUZZ = join(ROOT, 'test', 'fuzz');

function inputs(kind: 'corpus' | 'regressions', target: string): { name: string; data: Buffer }[] {
  const dir = join(FUZZ, kind, target);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .map((name) => ({ name, data: readFileSync(join(dir, name)) }));
}

function runFuzzer(seconds: number, minExecs: number): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(FUZZ, 'run.ts'), '--seconds', String(seconds), '--min-execs', String(minExecs), '--json'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

describe('hostile: decoders never throw (fuzzing)', function () {
  this.timeout(180_000);

  for (const kind of ['corpus', 'regressions'] as const) {
    it(`the checked-in ${kind} passes every target's properties`, () => {
      let n = 0;
      const broken: string[] = [];
      for (const t of TARGETS) {
        for (const { name, data } of inputs(kind, t.name)) {
          n++;
          try {
            t.run(data);
          } catch (e) {
            broken.push(`${t.name}/${name}: ${(e as Error).message.split('\n')[0]}`);
          }
        }
      }
      if (kind === 'corpus') assert.ok(n >= TARGETS.length, `only ${n} corpus inputs`);
      assert.deepEqual(broken, []);
    });
  }

  // 3 s per decoder (2 s guided, 1 s plain): a fixed total would leave each of a growing list of decoders
  // too little time to get past its seeds on a busy machine.
  const seconds = 3 * TARGETS.length;
  it(`fuzzes every decoder for ~${seconds} s (coverage-guided, then plain mutation): ≥ 200,000 inputs, no throw, no broken property`, async () => {
    const r = await runFuzzer(seconds, 200_000);
    assert.ok(r.code === 0 || r.code === 1, `the fuzzer crashed (exit ${r.code}):\n${r.err}`);
    const line = r.out.trim().split('\n').pop() ?? '';
    let summaries: Summary[];
    try {
      summaries = JSON.parse(line) as Summary[];
    } catch {
      throw new Error(`the fuzzer printed no summary (exit ${r.code}):\n${r.out}\n${r.err}`);
    }
    const total = summaries.reduce((n, s) => n + s.guidedExecs + s.plainExecs, 0);
    console.log(
      summaries
        .map(
          (s) =>
            `      ${s.target.padEnd(11)} guided ${String(s.guidedExecs).padStart(7)} (corpus ${s.seeds}->${s.corpus}, code blocks ${s.seedBlocks}->${s.blocks}), plain ${String(s.plainExecs).padStart(7)}`,
        )
        .join('\n') + `\n      total ${total} executions`,
    );
    const findings = summaries.flatMap((s) => s.findings);
    assert.deepEqual(
      findings.map((f) => `${f.target}: ${f.error} (input hex ${f.input})`),
      [],
      'decoder properties broken',
    );
    assert.equal(r.code, 0, r.err);
    assert.equal(summaries.length, TARGETS.length);
    assert.ok(total >= 200_000, `only ${total} executions`);
    // The guidance worked: every target reached code its seeds did not.
    for (const s of summaries) assert.ok(s.blocks > s.seedBlocks, `${s.target}: no new code reached`);
  });
});
