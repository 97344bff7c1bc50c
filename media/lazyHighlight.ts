// Loads highlight.js's engine and grammars on demand, as scripts beside the main bundle, and colours
// the code that waited for them in place. Code is on screen at once as plain text; a grammar that never
// arrives (a missing file, a CSP refusal) leaves it plain, which is still correct.
import type { HLJSApi, LanguageFn } from 'highlight.js';
import { highlightToHtml, installHighlighter, isLanguageLoaded, onLanguageLoaded, registerLanguage, resolveLanguage, setLanguageLoader, MAX_HIGHLIGHT_CHARS } from './highlight';
import { sanitizeCodeHtml } from './sanitize';

/** Set on a `<code>` element (by us, after sanitizing) whose grammar is still loading. */
const PENDING_ATTR = 'data-hl-pending';

/**
 * Call once, while the main bundle's own <script> runs: its URL says where the grammar scripts are, and
 * its nonce is what lets them past the page's CSP (script-src 'nonce-…').
 */
export function startLazyHighlighting(doc: Document): void {
  const me = doc.currentScript as HTMLScriptElement | null;
  if (!me?.src) return; // not loaded as a script (unit tests): nothing to fetch from
  const base = new URL('hljs/', me.src).toString();
  const nonce = me.nonce;
  (globalThis as { p2pHljs?: unknown }).p2pHljs = {
    core: (hljs: HLJSApi) => installHighlighter(hljs),
    language: (name: string, def: LanguageFn) => registerLanguage(name, def),
  };

  const load = (file: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const s = doc.createElement('script');
      s.nonce = nonce;
      s.src = base + file;
      s.async = true;
      s.onload = () => resolve();
      s.onerror = () => reject(new Error(`could not load ${file}`));
      doc.head.append(s);
    });
  let core: Promise<void> | undefined;
  setLanguageLoader((language) => {
    core ??= load('core.js');
    core.then(() => load(`${encodeURIComponent(language)}.js`)).catch(() => undefined);
  });

  onLanguageLoaded((language) => {
    for (const el of doc.querySelectorAll<HTMLElement>(`code[${PENDING_ATTR}="${language}"]`)) {
      el.removeAttribute(PENDING_ATTR);
      const { html, pending } = highlightToHtml(el.textContent ?? '', language);
      if (pending) continue;
      el.replaceChildren(sanitizeCodeHtml(html));
      el.classList.add('hljs');
    }
  });
}

/** Marks `code` to be coloured when `language` arrives (when it has not yet). */
export function markPendingCode(code: HTMLElement, language: string | undefined, text: string): void {
  if (!language || language === 'plaintext' || text.length > MAX_HIGHLIGHT_CHARS || isLanguageLoaded(language)) return;
  code.setAttribute(PENDING_ATTR, language);
}

/** `code` is no longer to be coloured as a whole (a long snippet drawn in slices). */
export function clearPendingCode(code: HTMLElement): void {
  code.removeAttribute(PENDING_ATTR);
}

/** Fenced code inside rendered markdown: `<pre class="p2p-code"><code class="language-x">`. */
export function markPendingFences(root: ParentNode): void {
  for (const code of root.querySelectorAll<HTMLElement>('pre.p2p-code > code')) {
    const cls = [...code.classList].find((c) => c.startsWith('language-'));
    if (cls) markPendingCode(code, resolveLanguage(cls.slice('language-'.length)), code.textContent ?? '');
  }
}
