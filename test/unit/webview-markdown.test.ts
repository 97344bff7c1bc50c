// The first (DOM-free) layer of peer-text rendering. The browser tests cover the sanitizer on top.
import assert from 'node:assert/strict';
import { escapeHtml, highlightToHtml, MAX_HIGHLIGHT_CHARS, resolveLanguage } from '../../media/highlight';
import { isAllowedHref, renderMarkdown } from '../../media/markdown';
import { installAllLanguages } from '../helpers/highlightAll';

describe('webview markdown', () => {
  before(installAllLanguages);

  it('allows only absolute http(s) and mailto links', () => {
    for (const ok of ['https://example.com', 'http://example.com/a?b#c', 'HTTPS://EXAMPLE.COM', 'mailto:a@example.com']) {
      assert.equal(isAllowedHref(ok), true, ok);
    }
    for (const bad of [
      'javascript:alert(1)',
      ' javascript:alert(1)',
      'JAVASCRIPT:alert(1)',
      'data:text/html,x',
      'vscode://file/x',
      'vscode-webview://x',
      'command:foo',
      'file:///etc/passwd',
      '//evil.example',
      '/relative',
      'relative',
      'https:evil',
      'https:///x',
      'mailto:',
      '',
    ]) {
      assert.equal(isAllowedHref(bad), false, bad);
    }
  });

  it('never passes raw HTML through', () => {
    const html = renderMarkdown('<script>x()</script> <img src=x onerror=y> <b>bold</b>');
    assert.ok(!/<script|<img|<b>/i.test(html), html);
    assert.match(html, /&lt;script&gt;/);
  });

  it('renders the chat subset', () => {
    assert.equal(renderMarkdown('**b** *i* ~~s~~ `c`'), '<p><strong>b</strong> <em>i</em> <s>s</s> <code>c</code></p>\n');
    assert.equal(renderMarkdown('a\nb'), '<p>a<br>\nb</p>\n', 'newlines are line breaks');
    assert.equal(renderMarkdown('# not a heading'), '<p># not a heading</p>\n');
    assert.match(renderMarkdown('- a\n- b'), /<ul>\n<li>a<\/li>\n<li>b<\/li>\n<\/ul>/);
    assert.match(renderMarkdown('> quoted'), /<blockquote>/);
  });

  it('links only allowed schemes, and shows the destination as a title', () => {
    assert.equal(renderMarkdown('[x](https://a.example/)'), '<p><a href="https://a.example/" title="https://a.example/">x</a></p>\n');
    assert.equal(renderMarkdown('[x](javascript:alert(1))'), '<p>[x](javascript:alert(1))</p>\n');
    assert.equal(renderMarkdown('[x](vscode://file/etc)'), '<p>[x](vscode://file/etc)</p>\n');
    assert.equal(renderMarkdown('<javascript:alert(1)>'), '<p>&lt;javascript:alert(1)&gt;</p>\n');
    assert.match(renderMarkdown('see example.com'), /href="http:\/\/example\.com"/, 'linkify');
    assert.match(renderMarkdown('mail a@example.com'), /href="mailto:a@example\.com"/);
    assert.ok(renderMarkdown('[r][1]\n\n[1]: https://x.example').startsWith('<p>[r][1]</p>'), 'no reference definitions');
  });

  it('never emits an <img>: images become labelled links', () => {
    assert.equal(
      renderMarkdown('![a cat](https://cats.example/c.png)'),
      '<p><a class="p2p-image-link" href="https://cats.example/c.png"><span class="codicon codicon-file-media" aria-hidden="true"></span>a cat</a></p>\n',
    );
    assert.ok(!renderMarkdown('![x](data:image/png;base64,AAAA)').includes('<img'));
    assert.ok(!renderMarkdown('![x" onerror="y](https://a.example/i.png)').includes('onerror="'));
  });

  it('highlights fenced code with a clean language class', () => {
    const html = renderMarkdown('```ts\nconst x: number = 1;\n```');
    assert.match(html, /^<pre class="p2p-code"><code class="language-ts"><span class="hljs-keyword">const<\/span>/);
    const evil = renderMarkdown('```" onmouseover="x\n<b>\n```');
    assert.ok(!evil.includes('onmouseover="'), evil);
    assert.match(evil, /<pre class="p2p-code"><code>&#60;b&#62;/);
  });

  it('resolves VS Code language ids and fence aliases', () => {
    assert.equal(resolveLanguage('typescriptreact'), 'typescript');
    assert.equal(resolveLanguage('ts'), 'typescript');
    assert.equal(resolveLanguage('shellscript'), 'bash');
    assert.equal(resolveLanguage('py'), 'python');
    assert.equal(resolveLanguage('html'), 'xml');
    assert.equal(resolveLanguage('cobol'), undefined);
    assert.equal(resolveLanguage('"><script>'), undefined);
  });

  it('escapes code it does not highlight', () => {
    assert.equal(highlightToHtml('<a href="x">&', 'nope').html, '&#60;a href=&#34;x&#34;&#62;&#38;');
    const big = 'x'.repeat(MAX_HIGHLIGHT_CHARS + 1);
    assert.equal(highlightToHtml(big, 'typescript').html, big);
    assert.equal(escapeHtml(`'`), '&#39;');
  });
});
