// Peer text made inert for every place VS Code shows text outside the webview. VS Code renders
// `[label](command:…)`, `[label](file:…)` and `[label](https://…)` in notifications, input box prompts
// and validation messages as live links (command: links run the command, with arguments, on one
// click), `$(name)` as icons in status bar items, quick pick rows and button labels, and markdown with
// autolinks and HTML in a MarkdownString. A peer controls message text, display names, snippet paths
// and languages, and the rendezvous controls its error text, so none of it may reach those APIs as is.
//
// The rule (docs/ARCHITECTURE.md, "Where peer text is shown"): every string shown by the extension
// host goes through `inert` (a template tag: our literal text stays as written, every interpolated
// value is made inert) or `inertText`, which return an InertText object; extension/ui/sinks.ts, the
// only module that calls VS Code's text-showing APIs, takes nothing else. A plain string cannot be
// passed by mistake: InertText is a class, not a string.
//
// What it does to a value, so it still reads naturally:
//   - removes control, zero-width, bidi and other invisible characters (shared/invisibleChars.ts,
//     the list the webview strips too), and lone surrogates;
//   - single-line by default: line breaks and tabs become spaces, runs of spaces collapse;
//   - `](` becomes `] (`: no `[label](target)` link, in VS Code's link parser or in markdown;
//   - `$(` becomes `$ (`: no icon, so a name cannot forge `$(verified-filled)`;
//   - the colon of a URI scheme (`command:`, `file:`, `https://`, `vscode:` … any `letters:` not
//     followed by a space or digit, so `host:7000` and "Note: x" stay) becomes U+2236 RATIO `∶`,
//     which looks like a colon and is no scheme to any parser; `p2pchat:` (our invites) is kept;
//   - caps the length (code points, never splitting a surrogate pair) with an ellipsis.
// HTML, entities, backticks, backslashes and emphasis are shown literally by these plain-text APIs,
// so they are left as typed; `inertMarkdown` escapes them for the one API that parses markdown.
// No `vscode` import: the terminal peer and the unit tests use it as is.
import { CONTROL_SOURCE, INVISIBLE_FORMAT_SOURCE } from '../shared/invisibleChars';

export class InertText {
  private constructor(readonly value: string) {}

  /** For the factories below only: everything else gets an InertText from them. */
  static fromSafe(value: string): InertText {
    return new InertText(value);
  }

  toString(): string {
    return this.value;
  }
}

export interface InertOptions {
  /** Keep line breaks (at most one empty line in a row); default false: one line. */
  multiLine?: boolean;
  /** Cap in code points (an ellipsis included); default 300, or 4000 for multiLine. */
  max?: number;
}

export const DEFAULT_MAX = 300;
export const DEFAULT_MAX_MULTILINE = 4000;
/** Looks like a colon, but no parser takes `command∶x` for a URI. */
export const SCHEME_COLON = '\u2236';
/** Schemes of our own making that nothing opens (invites); every other scheme is defused. */
const KEPT_SCHEMES = new Set(['p2pchat']);

const LINE_BREAKS = /\r\n|[\n\r\u000b\u000c\u0085\u2028\u2029]/g;
const UNSAFE_EXCEPT_NEWLINE = new RegExp(`[${CONTROL_SOURCE.replace('\\u0000-\\u001f', '\\u0000-\\u0009\\u000b-\\u001f')}${INVISIBLE_FORMAT_SOURCE}]`, 'gu');
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const SCHEME = /([A-Za-z][A-Za-z0-9+.-]+):(?=[^\s\d])/g;

function defuse(s: string): string {
  return s
    .replace(/\]\(/g, '] (')
    .replace(/\$\(/g, '$ (')
    .replace(SCHEME, (whole, scheme: string) => (KEPT_SCHEMES.has(scheme.toLowerCase()) ? whole : scheme + SCHEME_COLON));
}

function cap(s: string, max: number): string {
  if (s.length <= max) return s; // fast path: UTF-16 length >= code points
  const cps = Array.from(s);
  if (cps.length <= max) return s;
  return cps.slice(0, Math.max(0, max - 1)).join('').trimEnd() + '…';
}

/** The string itself, minus what no sink should show, but not yet defused or capped. */
function clean(raw: string, multiLine: boolean, max: number): string {
  // Bound the work on huge input before any regex runs: nothing past ~4x the cap can be shown.
  let s = raw.length > max * 4 + 64 ? raw.slice(0, max * 4 + 64) : raw;
  s = s.replace(LONE_SURROGATE, '\ufffd').replace(/\t/g, ' ');
  if (!multiLine) {
    return s
      .replace(LINE_BREAKS, ' ')
      .replace(UNSAFE_EXCEPT_NEWLINE, '')
      .replace(/\s+/g, ' ')
      .trim();
  }
  return s
    .replace(LINE_BREAKS, '\n')
    .replace(UNSAFE_EXCEPT_NEWLINE, '')
    .split('\n')
    .map((line) => line.replace(/\s+/g, ' ').trim())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

function textOf(raw: unknown): string {
  if (typeof raw === 'string') return raw;
  if (raw === undefined || raw === null) return '';
  return String(raw);
}

/**
 * Any value (peer text, a name, an error message) as inert text for a VS Code sink. An InertText is
 * returned as it is (only capped when `max` is given): it may hold our own icons.
 */
export function inertText(raw: unknown, opts: InertOptions = {}): InertText {
  if (raw instanceof InertText) return opts.max === undefined ? raw : truncateInert(raw, opts.max);
  const multiLine = opts.multiLine === true;
  const max = Math.max(1, opts.max ?? (multiLine ? DEFAULT_MAX_MULTILINE : DEFAULT_MAX));
  return InertText.fromSafe(cap(defuse(clean(textOf(raw), multiLine, max)), max));
}

/**
 * Template tag: `inert\`P2P Chat: ${name} joined\``. Literal parts are ours and stay as written
 * (icons like `$(bell)` and line breaks included); every value is passed through inertText (single
 * line, default cap) unless it already is an InertText. Where two parts meet, a `]` or `$` followed
 * by `(` gets a space, so no link or icon can be assembled across a boundary.
 */
export function inert(strings: TemplateStringsArray, ...values: unknown[]): InertText {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const piece = v instanceof InertText ? v.value : inertText(v).value;
    out = join(join(out, piece), strings[i + 1]);
  }
  return InertText.fromSafe(out);
}

function join(a: string, b: string): string {
  return /[\]$]$/.test(a) && b.startsWith('(') ? `${a} ${b}` : a + b;
}

/** Several inert pieces in one, with an (our own) separator. */
export function joinInert(parts: readonly InertText[], separator = ' '): InertText {
  let out = '';
  parts.forEach((p, i) => (out = i === 0 ? p.value : join(join(out, separator), p.value)));
  return InertText.fromSafe(out);
}

/** Shortened to `max` code points (for a sink with its own limit), still inert. */
export function truncateInert(t: InertText, max: number): InertText {
  return InertText.fromSafe(cap(t.value, max));
}

const MARKDOWN_PUNCTUATION = /[!-/:-@[-`{-~]/g;

/**
 * Markdown source that renders as exactly the inert text: every ASCII punctuation character is
 * backslash-escaped (CommonMark allows it for all of them), so no link, autolink (`www\.`, `https\:`),
 * image, HTML tag, entity, emphasis, code span, heading, list or table can form; line breaks become
 * hard breaks. For a vscode.MarkdownString with isTrusted, supportHtml and supportThemeIcons all off.
 */
export function inertMarkdown(raw: unknown, opts: InertOptions = {}): string {
  const t = raw instanceof InertText ? raw.value : inertText(raw, opts).value;
  return t
    .replace(MARKDOWN_PUNCTUATION, (c) => `\\${c}`)
    .split('\n')
    .join('\\\n');
}
