// Builds every bundle with esbuild. Separate bundles because each runs somewhere else:
// the extension host (cjs, vscode external), the webview (browser), and two Node programs.
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { webviewBuilds } from './webviewBundles.mjs';

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
  // The embedded rendezvous is a second bundle, required only when this editor hosts a room
  // (extension/ui/roomSession.ts hostModule): P2P_SPLIT_HOST keeps it out of dist/extension.js.
  { ...node, entryPoints: ['extension/ui/extension.ts'], outfile: 'dist/extension.js', external: ['vscode'], define: { ...node.define, 'process.env.P2P_SPLIT_HOST': '"1"', 'process.env.P2P_SPLIT_CONTACTS': '"1"' } },
  { ...node, entryPoints: ['extension/ui/rendezvousHost.ts'], outfile: 'dist/rendezvousHost.js' },
  // Accounts, contacts and DMs (extension/ui/contacts/load.ts): loaded once the user has used them.
  { ...node, entryPoints: ['extension/ui/contacts/lazy.ts'], outfile: 'dist/contacts.js' },
  { ...node, entryPoints: ['rendezvous/cli.ts'], outfile: 'dist/rendezvous.js', banner: { js: '#!/usr/bin/env node' } },
  { ...node, entryPoints: ['extension/cli/peer.ts'], outfile: 'dist/peer.js', banner: { js: '#!/usr/bin/env node' } },
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
