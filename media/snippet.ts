// A shared code snippet as a card: `path:start-end`, language, highlighted code with line numbers,
// and an Open button. Every peer string goes in as text; the code only through highlight + sanitize.
import type { SnippetPayload } from '../extension/core/types';
import type { WebviewToHost } from '../extension/shared/protocol';
import { bdi, h, icon } from './dom';
import { highlightToHtml } from './highlight';
import { appendLinesInTasks, collapse, countLines, sliceBlock, type Collapsed } from './longContent';
import { clearPendingCode, markPendingCode } from './lazyHighlight';
import { sanitizeCodeHtml } from './sanitize';
import { snippetLineNumbers, snippetRange } from './viewModel';

/** Up to this size, an expanded snippet is highlighted whole in one go (a few tens of ms at most). */
const EXPAND_HIGHLIGHT_CHARS = 20_000;

export function renderSnippet(snippet: SnippetPayload, post: (m: WebviewToHost) => void): HTMLElement {
  const range = snippetRange(snippet);
  const text = snippet.code.replace(/\n$/, '');
  const collapsed = collapse(text);
  const code = h('code');
  const gutter = h('pre', { class: 'p2p-snippet-gutter', attrs: { 'aria-hidden': 'true' } });
  const numbers = snippetLineNumbers(snippet);
  const language = paint(code, collapsed ? collapsed.head : text, snippet.language);
  gutter.textContent = (collapsed ? numbers.slice(0, countLines(collapsed.head, Infinity)) : numbers).join('\n');

  const slash = snippet.path.lastIndexOf('/');
  const file = snippet.path.slice(slash + 1);
  const dir = slash >= 0 ? snippet.path.slice(0, slash) : '';
  const lines = range.slice(snippet.path.length); // ":12-20"

  const open = h(
    'button',
    {
      class: 'p2p-open p2p-button p2p-button-secondary',
      title: `Open ${range} in the editor`,
      attrs: { type: 'button', 'data-testid': 'open-snippet', 'aria-label': `Open ${range}` },
      on: {
        // A mouse press would focus the webview, and VS Code reports that focus up to 250 ms late (it
        // polls): the report could land after the editor opened and pull the chat back in front of it.
        // Keyboard activation is unaffected; the button is still reachable with Tab.
        mousedown: (ev) => ev.preventDefault(),
        click: () => post({ type: 'openSnippet', snippet }),
      },
    },
    icon('go-to-file'),
    h('span', { text: 'Open' }),
  );

  const region = h(
    'div',
    { class: 'p2p-snippet-body', attrs: { tabindex: '0', role: 'region', 'aria-label': `Code from ${range}` } },
    gutter,
    h('pre', { class: 'p2p-snippet-code' }, code),
  );
  const expand = collapsed
    ? h(
        'button',
        {
          class: 'p2p-button p2p-button-secondary p2p-expand',
          attrs: { type: 'button', 'data-testid': 'expand-snippet' },
          on: {
            click: () => {
              expand!.remove();
              region.focus({ preventScroll: true }); // the button had focus: keep keyboard users in the card
              void showRest(code, gutter, text, collapsed, numbers, snippet.language);
            },
          },
        },
        icon('unfold'),
        h('span', { text: `Show all ${collapsed.totalLines.toLocaleString('en-US')} lines` }),
      )
    : null;

  return h(
    'figure',
    { class: 'p2p-snippet', attrs: { 'data-testid': 'snippet', 'data-language': language ?? 'plaintext' } },
    h(
      'figcaption',
      { class: 'p2p-snippet-header' },
      icon('file-code', 'p2p-snippet-icon'),
      h(
        'span',
        { class: 'p2p-snippet-path', title: range },
        bdi(file, 'p2p-snippet-file'),
        h('span', { class: 'p2p-snippet-lines', text: lines }),
        dir ? bdi(dir, 'p2p-snippet-dir') : null,
      ),
      h('span', { class: 'p2p-snippet-lang', text: snippet.language || 'plaintext' }),
      open,
    ),
    region,
    expand,
  );
}

/** Highlighted (or, past the limits, escaped) `text` into `code`; returns the language it was painted as. */
function paint(code: HTMLElement, text: string, languageId: string): string | undefined {
  const { html, language, pending } = highlightToHtml(text, languageId);
  code.className = `hljs${language ? ` language-${language}` : ''}`;
  code.replaceChildren(sanitizeCodeHtml(html));
  if (pending) markPendingCode(code, language, text);
  return language;
}

/** The collapsed part of a long snippet: all of it highlighted if that is quick, else as text, a slice per task. */
async function showRest(code: HTMLElement, gutter: HTMLElement, text: string, c: Collapsed, numbers: string[], languageId: string): Promise<void> {
  if (text.length <= EXPAND_HIGHLIGHT_CHARS) {
    paint(code, text, languageId);
    gutter.textContent = numbers.join('\n');
    return;
  }
  const headLines = countLines(c.head, Infinity);
  clearPendingCode(code); // whatever arrives later colours the head only, below
  // The drawn head is a block of its own too, so the slices line up with the gutter's.
  code.replaceChildren(sliceBlock(`${c.head}\n`));
  gutter.replaceChildren(sliceBlock(`${numbers.slice(0, headLines).join('\n')}\n`));
  if (code.classList.contains('hljs')) paintSlice(code.firstChild as HTMLElement, c.head, languageId);
  let line = headLines;
  await appendLinesInTasks(code, c.rest, (slice) => {
    const n = countLines(slice.replace(/\n$/, ''), Infinity);
    gutter.appendChild(sliceBlock(numbers.slice(line, line + n).join('\n') + (slice.endsWith('\n') ? '\n' : '')));
    line += n;
  });
}

/** Re-highlights the head inside its slice block (the rest stays plain: too long to highlight). */
function paintSlice(el: HTMLElement, text: string, languageId: string): void {
  const { html, pending } = highlightToHtml(text, languageId);
  if (pending) return;
  el.replaceChildren(sanitizeCodeHtml(html), '\n');
}
