// Bundles a TypeScript entry point into one plain .js file with esbuild, the way scripts/build.mjs
// builds the shipped programs: children then run on bare Node, without the tsx loader in their
// memory or start-up, and always from the current sources (dist/ may be stale).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import { ROOT } from './proc';

let dir: string | undefined;
const built = new Map<string, string>();

export function bundle(entry: string): string {
  const hit = built.get(entry);
  if (hit) return hit;
  if (dir === undefined) {
    const made = mkdtempSync(path.join(tmpdir(), 'p2p-bench-bundle-'));
    dir = made;
    process.on('exit', () => rmSync(made, { recursive: true, force: true }));
  }
  const outfile = path.join(dir, `${path.basename(entry, '.ts')}.js`);
  buildSync({
    entryPoints: [path.join(ROOT, entry)],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    logLevel: 'warning',
    define: { __VERSION__: '"bench"' },
  });
  built.set(entry, outfile);
  return outfile;
}
