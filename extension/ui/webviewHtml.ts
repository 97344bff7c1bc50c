// The chat panel's HTML shell. Pure (no `vscode` import) so the CSP is unit-tested and the browser
// tests load the exact page the extension serves. Everything visible is built by media/main.ts.

export interface WebviewHtmlOptions {
  /** `webview.cspSource`: the origin VS Code serves local resources from. */
  cspSource: string;
  /** Fresh per render; base64 or alphanumeric. */
  nonce: string;
  scriptUri: string;
  styleUri: string;
  codiconsUri?: string;
}

const NONCE_RE = /^[A-Za-z0-9+/_-]{16,}={0,2}$/;

function attr(value: string): string {
  return value.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** The Content-Security-Policy: nothing loads but our own script (by nonce), styles and fonts. */
export function webviewCsp(cspSource: string, nonce: string): string {
  return [
    `default-src 'none'`,
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `font-src ${cspSource}`,
    // blob: for file cards' image previews, made in the page from bytes the host sniffed (media/fileCard.ts).
    `img-src ${cspSource} data: blob:`,
    `script-src 'nonce-${nonce}'`,
    // Not covered by default-src: stop a stray <base> or form from redirecting anything.
    `base-uri 'none'`,
    `form-action 'none'`,
  ].join('; ');
}

const CSP_SOURCE_RE = `(?:'self'|[^\\s;,'"<>]+)`;
const CSP_SOURCE_LIST_RE = new RegExp(`^${CSP_SOURCE_RE}(?: +${CSP_SOURCE_RE})*$`);

export function webviewHtml(o: WebviewHtmlOptions): string {
  if (!NONCE_RE.test(o.nonce)) throw new Error('webviewHtml: nonce must be at least 16 base64/alphanumeric characters');
  // cspSource lands inside the policy itself: a list of source expressions (VS Code gives e.g.
  // "'self' https://*.vscode-cdn.net"), each a host source or a quoted keyword, never a directive break.
  if (!CSP_SOURCE_LIST_RE.test(o.cspSource.trim())) throw new Error('webviewHtml: invalid cspSource');
  const nonce = attr(o.nonce);
  const codicons = o.codiconsUri ? `\n    <link rel="stylesheet" nonce="${nonce}" href="${attr(o.codiconsUri)}" />` : '';
  return `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8" />
    <meta http-equiv="Content-Security-Policy" content="${attr(webviewCsp(o.cspSource, o.nonce))}" />
    <meta name="viewport" content="width=device-width, initial-scale=1.0" />${codicons}
    <link rel="stylesheet" nonce="${nonce}" href="${attr(o.styleUri)}" />
    <title>P2P Chat</title>
  </head>
  <body>
    <noscript>P2P Chat needs scripts enabled in webviews.</noscript>
    <script nonce="${nonce}" src="${attr(o.scriptUri)}"></script>
  </body>
</html>
`;
}
