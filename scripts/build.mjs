// Builds every bundle with esbuild. Separate bundles because each runs somewhere else:
// the extension host (cjs, vscode external), the webview (browser), and two Node programs.
import * as esbuild from 'esbuild';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');
const common = {
  bundle: true,
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: 'warning',
  metafile: true,
  legalComments: 'none',
};
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const node = { ...common, platform: 'node', target: 'node20', format: 'cjs', define: { __VERSION__: JSON.stringify(pkg.version) } };

const builds = [
  { ...node, entryPoints: ['extension/ui/extension.ts'], outfile: 'dist/extension.js', external: ['vscode'] },
  { ...node, entryPoints: ['rendezvous/cli.ts'], outfile: 'dist/rendezvous.js', banner: { js: '#!/usr/bin/env node' } },
  { ...node, entryPoints: ['extension/cli/peer.ts'], outfile: 'dist/peer.js', banner: { js: '#!/usr/bin/env node' } },
  { ...common, platform: 'browser', target: 'es2022', format: 'iife', entryPoints: ['media/main.ts'], outfile: 'dist/media/main.js' },
];

mkdirSync('dist', { recursive: true });
const { existsSync } = await import('node:fs');
const metas = {};
for (const b of builds) {
  if (!existsSync(b.entryPoints[0])) continue; // parts land one issue at a time
  if (watch) {
    const ctx = await esbuild.context(b);
    await ctx.watch();
  } else {
    const r = await esbuild.build(b);
    metas[b.outfile] = r.metafile;
  }
}
if (!watch) writeFileSync('dist/meta.json', JSON.stringify(metas));
