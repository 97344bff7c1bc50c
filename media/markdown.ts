// Peer text → HTML for a small chat-flavoured markdown subset. This layer alone never emits raw HTML
// from the input (markdown-it `html: false`), only allows http/https/mailto links and never loads
// images; sanitize.ts then re-checks the output in the DOM (defence in depth). No DOM here, so the
// rules are unit-tested under Node.
import MarkdownIt from 'markdown-it';
import { escapeHtml, highlightToHtml } from './highlight';

/** Absolute http(s) and mailto only: no javascript:, data:, vscode:, command:, file:, relative or protocol-relative URLs. */
export function isAllowedHref(href: string): boolean {
  return /^(?:https?:\/\/[^\s/?#]+|mailto:[^\s]+@)/i.test(href);
}

/** Past this, text is shown as a truncated plain paragraph rather than parsed. */
export const MAX_MARKDOWN_CHARS = 100_000;

const md = new MarkdownIt('default', {
  html: false,
  linkify: true,
  breaks: true, // chat semantics: a newline is a line break
  typographer: false,
  highlight: (code, info) => {
    const word = info.trim().split(/\s+/)[0] ?? '';
    return highlightToHtml(code, word).html;
  },
});
// Headings and rules look like shouting in a chat line; reference definitions let a message
// redefine link targets out of sight, so keep links inline only.
md.disable(['heading', 'lheading', 'hr', 'reference']);
md.validateLink = (url: string) => isAllowedHref(url);

// markdown-it puts the fence's info string in the class; keep only a clean language name.
md.renderer.rules.fence = (tokens, idx, options) => {
  const token = tokens[idx]!;
  const word = token.info.trim().split(/\s+/)[0] ?? '';
  const body = options.highlight ? options.highlight(token.content, word, '') : escapeHtml(token.content);
  const lang = /^[A-Za-z0-9_+#-]{1,32}$/.test(word) ? ` class="language-${escapeHtml(word.toLowerCase())}"` : '';
  return `<pre class="p2p-code"><code${lang}>${body}</code></pre>\n`;
};

// Images are never fetched (a remote load tells the sender you read it, and from where):
// show the alt text as a link to the image instead.
md.renderer.rules.image = (tokens, idx, options, env, self) => {
  const token = tokens[idx]!;
  const alt = self.renderInlineAsText(token.children ?? [], options, env) || 'image';
  const src = token.attrGet('src') ?? '';
  const label = `<span class="codicon codicon-file-media" aria-hidden="true"></span>${escapeHtml(alt)}`;
  return isAllowedHref(src)
    ? `<a class="p2p-image-link" href="${escapeHtml(src)}">${label}</a>`
    : `<span class="p2p-image-link">${label}</span>`;
};

// Let the sanitizer set rel/title; here only make sure a link's destination is visible on hover.
const defaultLinkOpen = md.renderer.rules.link_open ?? ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));
md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
  const token = tokens[idx]!;
  const href = token.attrGet('href') ?? '';
  token.attrSet('title', href);
  return defaultLinkOpen(tokens, idx, options, env, self);
};

export function renderMarkdown(text: string): string {
  if (text.length > MAX_MARKDOWN_CHARS) {
    return `<p>${escapeHtml(text.slice(0, MAX_MARKDOWN_CHARS))}…</p><p class="p2p-note">(message truncated for display)</p>`;
  }
  return md.render(text);
}
