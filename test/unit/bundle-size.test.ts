// Issue #13 part 8: dist/extension.js, the bundle VS Code loads to activate the extension, stays within
// 150 KiB minified. Built here exactly as scripts/build.mjs --production builds it (scripts/nodeBundles.mjs),
// in memory. What keeps it small is that the machinery of a running room and the embedded rendezvous are
// bundles of their own, loaded on first use (extension/ui/lazyBundles.ts): this also checks they stay out.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';

const ROOT = path.join(__dirname, '..', '..');

interface NodeBundles {
  EXTENSION_BUDGET_BYTES: number;
  nodeBuilds(outdir: string, common: object): esbuild.BuildOptions[];
}

describe('extension bundle size (production build)', function () {
  this.timeout(60_000);
  let mod: NodeBundles;
  const built = new Map<string, { bytes: number; inputs: string[] }>();

  before(async () => {
    const url = pathToFileURL(path.join(ROOT, 'scripts/nodeBundles.mjs')).href;
    mod = (await new Function('u', 'return import(u)')(url)) as NodeBundles;
    for (const b of mod.nodeBuilds(path.join(ROOT, 'dist-size-check'), { minify: true, metafile: true })) {
      const name = path.basename(b.outfile!);
      if (name !== 'extension.js' && name !== 'sessionCore.js') continue;
      const out = await esbuild.build({ ...b, write: false, logLevel: 'silent' });
      const js = out.outputFiles.find((f) => f.path.endsWith('.js'))!;
      const meta = Object.values(out.metafile!.outputs).find((o) => o.entryPoint)!;
      built.set(name, { bytes: js.contents.length, inputs: Object.keys(meta.inputs) });
    }
  });

  it(`dist/extension.js is at most 150 KiB minified`, () => {
    const { bytes } = built.get('extension.js')!;
    assert.equal(mod.EXTENSION_BUDGET_BYTES, 150 * 1024);
    assert.ok(bytes <= mod.EXTENSION_BUDGET_BYTES, `dist/extension.js is ${(bytes / 1024).toFixed(1)} KiB, over the 150 KiB budget`);
  });

  it('leaves the room machinery, file transfer and the rendezvous server to the bundles loaded on first use', () => {
    const main = built.get('extension.js')!.inputs;
    const core = built.get('sessionCore.js')!.inputs;
    for (const heavy of ['extension/core/room/room.ts', 'extension/core/link/peerLink.ts', 'extension/core/transfer/transferHost.ts', 'extension/core/relay/turnClient.ts', 'extension/ui/roomSession.ts']) {
      assert.ok(!main.includes(heavy), `${heavy} is in dist/extension.js`);
      assert.ok(core.includes(heavy), `${heavy} is not in dist/sessionCore.js`);
    }
    for (const bundle of [main, core]) assert.ok(!bundle.some((f) => f.startsWith('rendezvous/')), 'the rendezvous server is in a bundle other than its own');
    // The lazy bundles hold no UI: no copy of the inert-text classes or sinks that could be mixed up with the main bundle's.
    for (const ui of ['extension/core/inertText.ts', 'extension/ui/sinks.ts', 'extension/ui/app.ts']) assert.ok(!core.includes(ui), `${ui} is in dist/sessionCore.js`);
  });
});
