// Second line of defence for peer content: whatever HTML markdown.ts / highlight.ts produced is
// re-parsed by DOMPurify with a tight allow-list before it reaches the document. If the first layer
// ever regresses, this one still keeps scripts, handlers, frames, styles and foreign URLs out.
import DOMPurify from 'dompurify';
import { isAllowedHref } from './markdown';

const MARKDOWN_TAGS = [
  'p', 'br', 'strong', 'em', 's', 'del', 'code', 'pre', 'span', 'a', 'ul', 'ol', 'li', 'blockquote',
  'table', 'thead', 'tbody', 'tr', 'th', 'td',
];
const CLASS_OK = /^(?:hljs(?:-[\w-]+)?|[\w-]+_|language-[a-z0-9_+#-]{1,32}|codicon|codicon-file-media|p2p-(?:code|image-link|note))$/;

// A private instance, so these hooks cannot leak into (or be changed by) anything else.
const purify = DOMPurify(window);

purify.addHook('uponSanitizeAttribute', (_node, data) => {
  if (data.attrName === 'class') {
    data.attrValue = data.attrValue
      .split(/\s+/)
      .filter((c) => CLASS_OK.test(c))
      .join(' ');
  }
});

purify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A') {
    const href = node.getAttribute('href');
    if (href === null || !isAllowedHref(href)) {
      node.removeAttribute('href');
    } else {
      node.setAttribute('rel', 'noopener noreferrer');
      node.setAttribute('title', href);
    }
  }
  if (node.getAttribute('class') === '') node.removeAttribute('class');
});

const CONFIG = {
  ALLOWED_TAGS: MARKDOWN_TAGS,
  ALLOWED_ATTR: ['href', 'class', 'title', 'start', 'aria-hidden', 'rel'],
  ALLOWED_URI_REGEXP: /^(?:https?:|mailto:)/i,
  ALLOW_DATA_ATTR: false,
  ALLOW_ARIA_ATTR: false,
  ALLOW_UNKNOWN_PROTOCOLS: false,
  KEEP_CONTENT: true,
  RETURN_DOM_FRAGMENT: true as const,
};

/** Sanitized fragment for HTML built by markdown.ts. */
export function sanitizeMarkdownHtml(html: string): DocumentFragment {
  return purify.sanitize(html, CONFIG);
}

/** Sanitized fragment for highlight.js output: text and classed spans only. */
export function sanitizeCodeHtml(html: string): DocumentFragment {
  return purify.sanitize(html, { ...CONFIG, ALLOWED_TAGS: ['span'], ALLOWED_ATTR: ['class'] });
}
