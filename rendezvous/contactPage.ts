// Public contact pages (`/@handle`): the directory's web face. A static HTML page with no script at
// all (the CSP forbids any), every piece of user data escaped as text, and a QR code drawn on the
// server as inline SVG by the `qrcode` library. What the page shows comes from a lookup the server
// is given (the account directory); how the contact link is built is the directory's business.
import { createHash } from 'node:crypto';
import QRCode from 'qrcode';

export interface ContactCard {
  /** As the directory normalised it. */
  handle: string;
  /** The full account address as users type it (`alice@chat.example.org`), when the server knows its public name. */
  address?: string;
  displayName: string;
  /** The account key's fingerprint as users compare it (safety number). */
  fingerprint: string;
  /** `vscode://p2p-chat.p2p-chat/contact?link=…`: what the button opens and the QR code holds. */
  addUri: string;
}

/** `client`: the visitor's IP address, for rate limits. */
export type ContactLookup = (handle: string, client: string) => Promise<ContactCard | undefined>;

/** Handles as they may appear in a URL path; the directory applies its own, stricter rules. */
const HANDLE_IN_PATH = /^[A-Za-z0-9._-]{1,64}$/;

export function handleFromPath(pathname: string): string | undefined {
  const m = /^\/@([^/]+)\/?$/.exec(pathname);
  if (!m) return undefined;
  let h: string;
  try {
    h = decodeURIComponent(m[1]);
  } catch {
    return undefined;
  }
  return HANDLE_IN_PATH.test(h) ? h : undefined;
}

/** Text for HTML (element content or a quoted attribute): escaped, with bidi and invisible controls removed. */
export function escapeHtml(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g, '')
    .replace(/[&<>"'`=]/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `
body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#1b1b1b;background:#fafafa}
h1{font-size:1.6rem;margin:0 0 .25rem;overflow-wrap:anywhere}
.handle{color:#555;margin:0 0 1.5rem;overflow-wrap:anywhere}
.fp{font-family:ui-monospace,monospace;font-size:.95rem;overflow-wrap:anywhere}
a.add{display:inline-block;margin:1.25rem 0;padding:.6rem 1.1rem;border-radius:6px;background:#1f3f8f;color:#fff;text-decoration:none}
.qr svg{width:240px;height:240px;background:#fff}
.note{color:#666;font-size:.85rem}
`;
const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64');

/** The page's Content-Security-Policy: no script, no fetches, the one inline style by hash. */
export const CONTACT_PAGE_CSP = `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

export const PAGE_HEADERS: Record<string, string> = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': CONTACT_PAGE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/** Only our own scheme may become the button's href: a directory that returned anything else is ignored. */
const ADD_URI = /^vscode(-insiders)?:\/\/p2p-chat\.p2p-chat\/contact\?link=[A-Za-z0-9%._~-]+$/;

export async function qrSvg(text: string): Promise<string> {
  return QRCode.toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 4 });
}

export async function renderContactPage(card: ContactCard): Promise<string> {
  const name = escapeHtml(card.displayName || card.handle);
  const handle = escapeHtml(card.address ?? card.handle);
  const uriOk = ADD_URI.test(card.addUri);
  // The SVG is the library's output for our own URI (never user HTML); it contains no script.
  const qr = uriOk ? await qrSvg(card.addUri) : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${name} on P2P Chat</title><style>${STYLE}</style></head>
<body>
<h1 id="name">${name}</h1>
<p class="handle" id="handle">${handle}</p>
<p>Key fingerprint: <span class="fp" id="fingerprint">${escapeHtml(card.fingerprint)}</span></p>
${uriOk ? `<a class="add" id="add" href="${escapeHtml(card.addUri)}">Add in VS Code</a>
<div class="qr" id="qr">${qr}</div>` : '<p id="add-missing">No contact link is published for this account.</p>'}
<p class="note">Compare the fingerprint with the one your contact sees in P2P Chat before you trust messages.</p>
</body></html>
`;
}

export function notFoundPage(): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Not found</title><style>${STYLE}</style></head><body><h1>No such account</h1></body></html>\n`;
}
