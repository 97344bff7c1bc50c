// Handles: the name a user claims on one server, shown as `alice@chat.example.org` (e-mail style, scoped
// to that server; no global registry). Canonical form = NFKC, then lowercase; the result must be 3–32
// characters of [a-z0-9._-], starting and ending with a letter or digit. NFKC folds compatibility
// forms (fullwidth "ＡＬＩＣＥ", the Kelvin sign) onto ASCII; anything still outside ASCII after it
// (Cyrillic "а", Greek "ο", "ß", dotted İ) is refused rather than mapped, so two different-looking
// strings never name one account and no look-alike ever reaches the directory.
export const HANDLE_MIN = 3;
export const HANDLE_MAX = 32;
export const DEFAULT_DIRECTORY_PORT = 7000;

export const HANDLE_RULE = `a handle is ${HANDLE_MIN}–${HANDLE_MAX} characters of a–z, 0–9, ".", "_" or "-" (case-insensitive), starting and ending with a letter or digit`;

export type HandleCheck = { ok: true; handle: string } | { ok: false; error: string };

const ALLOWED = /^[a-z0-9._-]+$/;
const EDGE = /^[a-z0-9]$/;

/** Fold case and compatibility forms. Exported so tests pin the exact folding. */
export function foldHandle(raw: string): string {
  return raw.normalize('NFKC').toLowerCase();
}

/** Canonical handle or an error that names the rule. Never throws. */
export function parseHandle(raw: string): HandleCheck {
  if (typeof raw !== 'string') return { ok: false, error: `not a string: ${HANDLE_RULE}` };
  const h = foldHandle(raw);
  // Length is counted in characters of the folded form; every allowed character is one byte.
  const n = [...h].length;
  if (n < HANDLE_MIN) return { ok: false, error: `"${shown(raw)}" is too short: ${HANDLE_RULE}` };
  if (n > HANDLE_MAX) return { ok: false, error: `"${shown(raw)}" is too long (${n} characters): ${HANDLE_RULE}` };
  if (!ALLOWED.test(h)) {
    const bad = [...h].find((c) => !/[a-z0-9._-]/.test(c)) ?? '?';
    return { ok: false, error: `"${shown(raw)}" contains ${describe(bad)}: ${HANDLE_RULE}` };
  }
  if (!EDGE.test(h[0]) || !EDGE.test(h[h.length - 1])) {
    return { ok: false, error: `"${shown(raw)}" must start and end with a letter or digit: ${HANDLE_RULE}` };
  }
  return { ok: true, handle: h };
}

/** True if `h` is already canonical (what the wire carries: the server refuses anything else). */
export function isCanonicalHandle(h: string): boolean {
  const p = parseHandle(h);
  return p.ok && p.handle === h;
}

function describe(c: string): string {
  const cp = c.codePointAt(0)!;
  const hex = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  return cp >= 0x21 && cp < 0x7f ? `"${c}" (${hex})` : `the character ${hex}`;
}

/** Echo user input in an error without letting it carry control or bidi characters. */
function shown(s: string): string {
  const cut = [...s].slice(0, 40).join('');
  return cut.replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/g, '?') + (cut.length < s.length ? '…' : '');
}

export interface AccountAddress {
  handle: string;
  /** Host name or IP address (IPv6 without brackets). */
  host: string;
  port: number;
}

export type AddressCheck = { ok: true; address: AccountAddress } | { ok: false; error: string };

/**
 * `alice@chat.example.org`, `alice@host:7001`, `alice@[2001:db8::1]:7001`. The handle is folded; the
 * host is lowercased (DNS is case-insensitive) and the port defaults to 7000.
 */
export function parseAccountAddress(raw: string, defaultPort = DEFAULT_DIRECTORY_PORT): AddressCheck {
  const s = raw.trim();
  const at = s.lastIndexOf('@');
  if (at <= 0 || at === s.length - 1) return { ok: false, error: `"${shown(s)}" is not an account address: expected handle@host or handle@host:port` };
  const h = parseHandle(s.slice(0, at));
  if (!h.ok) return h;
  const rest = s.slice(at + 1);
  let host: string;
  let port = defaultPort;
  const v6 = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(rest);
  const plain = /^([a-zA-Z0-9.-]+)(?::(\d+))?$/.exec(rest);
  const m = v6 ?? plain;
  if (!m) return { ok: false, error: `"${shown(rest)}" is not a host: expected a DNS name, an IPv4 address or [IPv6], optionally with :port` };
  host = m[1].toLowerCase();
  if (m[2] !== undefined) {
    port = Number(m[2]);
    if (!(port >= 1 && port <= 65535)) return { ok: false, error: `port ${m[2]} is out of range 1–65535` };
  }
  if (!v6 && (host.startsWith('.') || host.endsWith('.') || host.startsWith('-') || host.includes('..'))) {
    return { ok: false, error: `"${shown(rest)}" is not a valid host name` };
  }
  return { ok: true, address: { handle: h.handle, host, port } };
}

export function formatAccountAddress(a: AccountAddress, defaultPort = DEFAULT_DIRECTORY_PORT): string {
  const host = a.host.includes(':') ? `[${a.host}]` : a.host;
  if (a.port === defaultPort) return `${a.handle}@${a.host.includes(':') ? host : a.host}`;
  return `${a.handle}@${host}:${a.port}`;
}
