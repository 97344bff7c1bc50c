// The webview's bundles, shared by the build (scripts/build.mjs) and the browser tests
// (test/webview/harness.ts), so the tests load exactly what ships: the main bundle, and
// highlight.js's engine and each grammar as scripts of their own, loaded on demand (media/lazyHighlight.ts).
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

/** Canonical grammar names: media/hljs/languages.json (the webview reads the same table). */
export function languageNames() {
  return Object.keys(JSON.parse(readFileSync(path.join(ROOT, 'media/hljs/languages.json'), 'utf8')));
}

/** esbuild options for every webview script, written under `outdir` (main.js, hljs/core.js, hljs/<name>.js). */
export function webviewBuilds(outdir, common = {}) {
  const browser = { bundle: true, platform: 'browser', target: 'es2022', format: 'iife', legalComments: 'none', ...common };
  return [
    {
      ...browser,
      entryPoints: [path.join(ROOT, 'media/main.ts')],
      outfile: path.join(outdir, 'main.js'),
      // markdown-it needs only the decoder; the package's index also pulls in the 23 KiB encoder tables.
      alias: { entities: 'entities/lib/decode.js' },
    },
    { ...browser, entryPoints: [path.join(ROOT, 'media/hljs/core.ts')], outfile: path.join(outdir, 'hljs/core.js') },
    ...languageNames().map((name) => ({
      ...browser,
      stdin: {
        contents: `import l from 'highlight.js/lib/languages/${name}';\nglobalThis.p2pHljs?.language(${JSON.stringify(name)}, l);\n`,
        resolveDir: ROOT,
        sourcefile: `hljs-${name}.js`,
        loader: 'js',
      },
      outfile: path.join(outdir, `hljs/${name}.js`),
    })),
  ];
}
