import assert from 'node:assert/strict';
import { webviewCsp, webviewHtml } from '../../extension/ui/webviewHtml';

const opts = {
  cspSource: 'https://file+.vscode-resource.vscode-cdn.net',
  nonce: 'AbCdEfGhIjKlMnOpQrStUv==',
  scriptUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/dist/media/main.js',
  styleUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/media/chat.css',
  codiconsUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/node_modules/@vscode/codicons/dist/codicon.css',
};

describe('webviewHtml', () => {
  it('sets a strict CSP', () => {
    const csp = webviewCsp(opts.cspSource, opts.nonce);
    const directives = Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v.join(' ')]));
    assert.equal(directives['default-src'], `'none'`);
    assert.equal(directives['style-src'], `${opts.cspSource} 'nonce-${opts.nonce}'`);
    assert.equal(directives['font-src'], opts.cspSource);
    assert.equal(directives['img-src'], `${opts.cspSource} data: blob:`);
    assert.equal(directives['script-src'], `'nonce-${opts.nonce}'`);
    assert.ok(!csp.includes('unsafe-inline') && !csp.includes('unsafe-eval'));
    const html = webviewHtml(opts);
    assert.ok(html.includes(`<meta http-equiv="Content-Security-Policy" content="${csp.replace(/'/g, '&#39;')}"`));
  });

  it('loads the script by nonce and the styles as files, with no inline handlers or styles', () => {
    const html = webviewHtml(opts);
    assert.ok(html.includes(`<script nonce="${opts.nonce}" src="${opts.scriptUri}"></script>`));
    assert.ok(html.includes(`href="${opts.styleUri}"`));
    assert.ok(html.includes(`href="${opts.codiconsUri}"`));
    assert.ok(html.indexOf(opts.codiconsUri) < html.indexOf(opts.styleUri), 'our CSS can override codicons');
    assert.equal((html.match(/<script/g) ?? []).length, 1);
    assert.ok(!/\son[a-z]+=/i.test(html), 'no inline event handlers');
    assert.ok(!/<style|style=/i.test(html), 'no inline styles');
    assert.ok(!webviewHtml({ ...opts, codiconsUri: undefined }).includes('codicon'));
  });

  it('escapes URIs into attributes and rejects unsafe nonces or sources', () => {
    const html = webviewHtml({ ...opts, scriptUri: 'https://x/"><script>alert(1)</script>' });
    assert.ok(!html.includes('"><script>alert'));
    assert.throws(() => webviewHtml({ ...opts, nonce: `abc'; script-src *` }));
    assert.throws(() => webviewHtml({ ...opts, nonce: 'short' }));
    assert.throws(() => webviewHtml({ ...opts, cspSource: `x; script-src *` }));
    assert.throws(() => webviewHtml({ ...opts, cspSource: `'unsafe-inline'` }));
    assert.throws(() => webviewHtml({ ...opts, cspSource: `'self' 'unsafe-eval'` }));
    // What VS Code 1.100+ and code-server really pass: a list with 'self'.
    assert.doesNotThrow(() => webviewHtml({ ...opts, cspSource: `'self' https://*.vscode-cdn.net` }));
    assert.match(webviewCsp(`'self' https://*.vscode-cdn.net`, opts.nonce), /style-src 'self' https:\/\/\*\.vscode-cdn\.net 'nonce-/);
  });
});
