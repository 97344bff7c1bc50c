// Grammars load on demand in the webview (media/lazyHighlight.ts): until one arrives, code is shown
// escaped and asked for once; when it arrives, the same call highlights.
import assert from 'node:assert/strict';
import hljs from 'highlight.js/lib/core';
import {
  highlightToHtml,
  installHighlighter,
  onLanguageLoaded,
  registerLanguage,
  resetHighlighter,
  resolveLanguage,
  setLanguageLoader,
} from '../../media/highlight';
import { LANGUAGE_ALIASES, LANGUAGE_NAMES } from '../../media/hljs/languages';
import { grammarOf as grammar } from '../helpers/highlightAll';


describe('webview highlighting on demand', () => {
  beforeEach(resetHighlighter);
  after(resetHighlighter);

  it('lists exactly the aliases highlight.js gives each offered grammar', () => {
    for (const name of LANGUAGE_NAMES) {
      assert.deepEqual([...LANGUAGE_ALIASES[name]!], grammar(name)(hljs).aliases ?? [], name);
    }
  });

  it('resolves names and aliases before any grammar has loaded', () => {
    assert.equal(resolveLanguage('ts'), 'typescript');
    assert.equal(resolveLanguage('typescriptreact'), 'typescript');
    assert.equal(resolveLanguage('c#'), 'csharp');
    assert.equal(resolveLanguage('toml'), 'ini');
    assert.equal(resolveLanguage('cobol'), undefined);
  });

  it('shows escaped code at once, asks for each grammar once, and highlights once it has loaded', () => {
    const asked: string[] = [];
    const arrived: string[] = [];
    setLanguageLoader((l) => asked.push(l));
    onLanguageLoaded((l) => arrived.push(l));
    const first = highlightToHtml('const a = "<b>";', 'ts');
    assert.deepEqual(first, { html: 'const a = &#34;&#60;b&#62;&#34;;', language: 'typescript', pending: true });
    highlightToHtml('let b = 1;', 'typescriptreact');
    highlightToHtml('x = 1', 'py');
    assert.deepEqual(asked, ['typescript', 'python']);

    // A grammar that arrives before the engine is ignored rather than throwing.
    registerLanguage('typescript', grammar('typescript'));
    assert.deepEqual(arrived, []);
    installHighlighter(hljs);
    registerLanguage('typescript', grammar('typescript'));
    registerLanguage('not-offered', grammar('python'));
    assert.deepEqual(arrived, ['typescript']);
    const later = highlightToHtml('const a = 1;', 'ts');
    assert.equal(later.pending, undefined);
    assert.match(later.html, /^<span class="hljs-keyword">const<\/span>/);
    assert.deepEqual(asked, ['typescript', 'python']);
  });

  it('never asks for plain text, unknown languages or code too long to highlight', () => {
    const asked: string[] = [];
    setLanguageLoader((l) => asked.push(l));
    assert.equal(highlightToHtml('a', 'txt').pending, undefined);
    assert.equal(highlightToHtml('a', 'cobol').pending, undefined);
    assert.equal(highlightToHtml('x'.repeat(60_000), 'go').pending, undefined);
    assert.deepEqual(asked, []);
  });
});
