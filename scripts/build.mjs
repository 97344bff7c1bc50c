// Builds every bundle with esbuild. Separate bundles because each runs somewhere else:
// the extension host (cjs, vscode external), the webview (browser), and two Node programs.
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { webviewBuilds } from './webviewBundles.mjs';
import { nodeBuilds } from './nodeBundles.mjs';

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
const builds = [
  // dist/extension.js (budget 150 KiB minified), dist/sessionCore.js and dist/rendezvousHost.js (loaded on first
  // use), dist/rendezvous.js, dist/peer.js: scripts/nodeBundles.mjs.
  ...nodeBuilds('dist', common).map((b) => ({ ...b, outfile: path.relative(process.cwd(), b.outfile) })),
  ...webviewBuilds('dist/media', common),
];

mkdirSync('dist/media', { recursive: true });
// Codicons ship next to the webview bundle: the .vsix carries no node_modules.
for (const f of ['codicon.css', 'codicon.ttf']) copyFileSync(`node_modules/@vscode/codicons/dist/${f}`, `dist/media/${f}`);
// A release must not carry source maps left over from a development build.
if (production) for (const f of readdirSync('dist', { recursive: true })) if (String(f).endsWith('.map')) rmSync(`dist/${f}`);
const { existsSync } = await import('node:fs');
const metas = {};
for (const b of builds) {
  if (b.entryPoints && !existsSync(b.entryPoints[0])) continue; // parts land one issue at a time
  if (watch) {
    const ctx = await esbuild.context(b);
    await ctx.watch();
  } else {
    const r = await esbuild.build(b);
    metas[b.outfile] = r.metafile;
  }
}
if (!watch) writeFileSync('dist/meta.json', JSON.stringify(metas));
