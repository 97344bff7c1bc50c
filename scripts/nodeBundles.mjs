// The Node bundles (extension host and programs), shared by the build (scripts/build.mjs) and the bundle
// budget test (test/unit/bundle-size.test.ts), so the test measures exactly what ships.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

/** Budget of dist/extension.js, minified (issue #13 part 8); bench/extensionSize.ts reports against it too. */
export const EXTENSION_BUDGET_BYTES = 150 * 1024;

/** esbuild options for every Node bundle, written under `outdir`. */
export function nodeBuilds(outdir, common = {}) {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const node = { bundle: true, legalComments: 'none', ...common, platform: 'node', target: 'node20', format: 'cjs', define: { __VERSION__: JSON.stringify(pkg.version) } };
  // dist/extension.js is the UI and what it needs before a room runs. Loaded on first use
  // (extension/ui/lazyBundles.ts), each a bundle of its own: the machinery that runs a room
  // (sessionCore.js) and the embedded rendezvous (rendezvousHost.js). The P2P_SPLIT_* defines make the
  // bundles that leave those out require them from beside themselves instead.
  const split = { ...node.define, 'process.env.P2P_SPLIT_HOST': '"1"', 'process.env.P2P_SPLIT_CORE': '"1"' };
  const at = (p) => path.join(ROOT, p);
  return [
    { ...node, entryPoints: [at('extension/ui/extension.ts')], outfile: path.join(outdir, 'extension.js'), external: ['vscode'], define: split },
    { ...node, entryPoints: [at('extension/ui/sessionCore.ts')], outfile: path.join(outdir, 'sessionCore.js'), external: ['vscode'], define: split },
    { ...node, entryPoints: [at('extension/ui/rendezvousHost.ts')], outfile: path.join(outdir, 'rendezvousHost.js') },
    { ...node, entryPoints: [at('rendezvous/cli.ts')], outfile: path.join(outdir, 'rendezvous.js'), banner: { js: '#!/usr/bin/env node' } },
    { ...node, entryPoints: [at('extension/cli/peer.ts')], outfile: path.join(outdir, 'peer.js'), banner: { js: '#!/usr/bin/env node' } },
  ];
}
