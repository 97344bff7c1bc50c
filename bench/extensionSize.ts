// What the extension weighs: the production bundles (esbuild metafile written by scripts/build.mjs)
// and the packaged .vsix (@vscode/vsce), built from a staged copy of the repository so the shared
// dist/ is left alone. Plus the activation time the e2e rig records, when it has.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ROOT } from './lib/proc';
import { bytes, fmt } from './lib/stats';
import type { BenchContext, BenchResult, Row } from './lib/types';

// Never part of the package, and slow to copy (.tools holds code-server).
const NOT_STAGED = new Set(['.git', '.tools', '.cache', 'test-results', 'node_modules', 'dist', 'bench']);

interface Metafile {
  outputs: Record<string, { bytes: number; inputs: Record<string, { bytesInOutput: number }> }>;
}

function run(cmd: string, args: string[], cwd: string, timeoutMs = 180_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${path.basename(cmd)} ${args.join(' ')}: ${err.message}\n${stdout}${stderr}`.slice(0, 2000)));
      else resolve(stdout + stderr);
    });
  });
}

function stage(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'p2p-bench-vsix-'));
  for (const entry of readdirSync(ROOT)) {
    if (NOT_STAGED.has(entry)) continue;
    cpSync(path.join(ROOT, entry), path.join(dir, entry), { recursive: true });
  }
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  return dir;
}

/** Entries of a zip file, from `unzip -Z1`. */
async function zipEntries(file: string): Promise<string[]> {
  try {
    return (await run('unzip', ['-Z1', file], path.dirname(file))).split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

const GRAMMAR_DIR = 'dist/media/hljs/';
/** Budgets from the everyday-use issue: the panel and the extension host should load light. */
const BUNDLE_BUDGET_KIB: Record<string, number> = { 'dist/media/main.js': 200, 'dist/extension.js': 150 };

export async function extensionSize(ctx: BenchContext): Promise<BenchResult> {
  const packagings = ctx.quick ? ['--dependencies'] : ['--dependencies', '--no-dependencies'];
  const dir = stage();
  const rows: Row[] = [];
  const details: string[] = [];
  const raw: Record<string, unknown> = {};
  try {
    // What vscode:prepublish runs; then packaging without it, twice.
    await run(process.execPath, ['scripts/build.mjs', '--production'], dir);
    const manifestPath = path.join(dir, 'package.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { scripts?: Record<string, string>; repository?: string | { url?: string } };
    delete manifest.scripts?.['vscode:prepublish'];
    writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
    const meta = JSON.parse(readFileSync(path.join(dir, 'dist', 'meta.json'), 'utf8')) as Record<string, { outputs: Metafile['outputs'] }>;
    // highlight.js's engine and grammars are separate scripts the webview loads when code appears: one row for all.
    const grammars = Object.entries(meta).filter(([outfile]) => outfile.startsWith(GRAMMAR_DIR));
    if (grammars.length) {
      const sizes = grammars.map(([outfile, m]) => ({ outfile, bytes: Object.entries(m.outputs).find(([name]) => name.endsWith('.js'))?.[1].bytes ?? 0 }));
      const total = sizes.reduce((n, s) => n + s.bytes, 0);
      const largest = [...sizes].sort((a, b) => b.bytes - a.bytes).slice(0, 3).map((s) => `${path.basename(s.outfile)} ${bytes(s.bytes)}`);
      rows.push({ what: `${GRAMMAR_DIR}*.js, loaded on demand (${sizes.length} scripts: highlight.js core + one per grammar)`, figure: `${bytes(total)} in all`, reference: `largest: ${largest.join(', ')}` });
      raw[GRAMMAR_DIR] = { bytes: total, scripts: sizes };
    }
    for (const [outfile, m] of Object.entries(meta)) {
      if (outfile.startsWith(GRAMMAR_DIR)) continue;
      const out = Object.entries(m.outputs).find(([name]) => name.endsWith('.js'));
      if (!out) continue;
      const [, info] = out;
      const top = Object.entries(info.inputs)
        .sort((a, b) => b[1].bytesInOutput - a[1].bytesInOutput)
        .slice(0, 4)
        .map(([name, v]) => `${name.replace(/^.*node_modules\//, '')} ${bytes(v.bytesInOutput)} (${fmt((100 * v.bytesInOutput) / info.bytes)} %)`);
      const budget = BUNDLE_BUDGET_KIB[outfile];
      rows.push({
        what: `bundle ${outfile} (production, minified)`,
        figure: bytes(info.bytes),
        reference: '—',
        ...(budget ? { target: `≤ ${budget} KiB`, met: info.bytes <= budget * 1024 } : {}),
      });
      details.push(`- ${outfile}: ${bytes(info.bytes)}; largest inputs: ${top.join(', ')}.`);
      raw[outfile] = { bytes: info.bytes, top };
    }
    const vsce = path.join(ROOT, 'node_modules', '@vscode', 'vsce', 'vsce');
    // vsce refuses relative links and images in the README unless it can derive a base URL from a
    // GitHub/GitLab repository: give it one from the manifest's repository, as the e2e rig does.
    const repo = typeof manifest.repository === 'string' ? manifest.repository : manifest.repository?.url;
    const base = repo && !/github\.com|gitlab\.com/i.test(repo) ? `${repo.replace(/^git\+/, '').replace(/\.git$/, '').replace(/\/+$/, '')}/raw/HEAD/` : undefined;
    const baseArgs = base ? ['--baseContentUrl', base, '--baseImagesUrl', base] : [];
    for (const deps of packagings) {
      const out = path.join(dir, `p2p-chat${deps}.vsix`);
      await run(process.execPath, [vsce, 'package', deps, '--allow-missing-repository', '--skip-license', ...baseArgs, '-o', out], dir);
      const size = statSync(out).size;
      const entries = await zipEntries(out);
      rows.push({
        what: `.vsix, vsce package ${deps}${deps === '--dependencies' ? ' (ships the codicons)' : ''}`,
        figure: `${bytes(size)}${entries.length ? `, ${entries.length} files` : ''}`,
        reference: '—',
      });
      raw[`vsix${deps}`] = { bytes: size, files: entries };
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  ctx.log(rows.map((r) => `${r.what}: ${r.figure}`).join('; '));
  return {
    id: 'extension',
    title: 'Extension size',
    method: 'A staged copy of the repository (without .git, .tools, .cache, test-results, dist, bench; node_modules linked) is built with `node scripts/build.mjs --production` (what vscode:prepublish runs); bundle sizes come from its esbuild metafile (dist/meta.json), then `vsce package` writes the .vsix with and without production dependencies (.vscodeignore applies to both).',
    rows,
    details,
    raw,
  };
}

/** Activation time comes from the e2e rig (a real VS Code); this only reads what it recorded. */
export async function activation(): Promise<BenchResult> {
  const file = path.join(ROOT, 'test-results', 'activation.json');
  const base = { id: 'activation', title: 'Activation time', method: 'Measured in the e2e rig (code-server), which writes test-results/activation.json; read here if present.', details: [] as string[] };
  if (!existsSync(file)) {
    return { ...base, rows: [{ what: 'activation time — measured in the e2e rig', figure: 'not recorded yet (no test-results/activation.json)', reference: '—' }], raw: {} };
  }
  const data = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  // Every field named …Ms (a number or one per editor) becomes "name: 123 ms"; anything else stays in the details.
  const timings = Object.entries(data).filter(([k, v]) => /Ms$/.test(k) && (typeof v === 'number' || (Array.isArray(v) && v.every((x) => typeof x === 'number'))));
  const figure = timings.length
    ? timings.map(([k, v]) => `${k.replace(/Ms$/, '')}: ${(Array.isArray(v) ? v : [v]).map((x) => fmt(x as number)).join(' / ')} ms`).join('; ')
    : JSON.stringify(data).slice(0, 200);
  return {
    ...base,
    rows: [{ what: 'activation time — measured in the e2e rig', figure, reference: '—' }],
    details: [`- From test-results/activation.json (${statSync(file).mtime.toISOString()}): \`${JSON.stringify(data).slice(0, 1200)}\``],
    raw: data,
  };
}
