// A shared code snippet as a card: `path:start-end`, language, highlighted code with line numbers,
// and an Open button. Every peer string goes in as text; the code only through highlight + sanitize.
import type { SnippetPayload } from '../extension/core/types';
import type { WebviewToHost } from '../extension/shared/protocol';
import { bdi, h, icon } from './dom';
import { highlightToHtml } from './highlight';
import { sanitizeCodeHtml } from './sanitize';
import { snippetLineNumbers, snippetRange } from './viewModel';

export function renderSnippet(snippet: SnippetPayload, post: (m: WebviewToHost) => void): HTMLElement {
  const range = snippetRange(snippet);
  const { html, language } = highlightToHtml(snippet.code.replace(/\n$/, ''), snippet.language);
  const code = h('code', { class: `hljs${language ? ` language-${language}` : ''}` });
  code.append(sanitizeCodeHtml(html));

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
    h(
      'div',
      { class: 'p2p-snippet-body', attrs: { tabindex: '0', role: 'region', 'aria-label': `Code from ${range}` } },
      h('pre', { class: 'p2p-snippet-gutter', attrs: { 'aria-hidden': 'true' }, text: snippetLineNumbers(snippet).join('\n') }),
      h('pre', { class: 'p2p-snippet-code' }, code),
    ),
  );
}
