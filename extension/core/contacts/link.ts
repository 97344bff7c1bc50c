// Contact links: everything needed to send someone a contact request, with no directory involved.
//   p2pchat:contact:<base64url(payload)>
//   vscode://p2p-chat.p2p-chat/contact?link=<the same, URI-encoded>
// Payload (PROTOCOL.md §10.1): version u8 = 1 | Ed25519 public key (32) | X25519 public key (32) |
// request token (16) | rendezvous host str8 (≤ 253) | port u16 | suggested display name str8 (≤ 64 bytes UTF-8).
// The request token is the secret half of the link: the inbox topic and the request psk are derived from
// it (topics.ts), so rotating it revokes every link given out before, without changing identity.
import { Reader, Writer } from '../wire/bytes';
import { EXTENSION_ID, formatServer, parseServer, type ServerAddress } from '../invite';
import { displayNameError } from '../account/record';

export const CONTACT_LINK_PREFIX = 'p2pchat:contact:';
export const CONTACT_LINK_VERSION = 1;
export const ED25519_PUBLIC_BYTES = 32;
export const X25519_PUBLIC_BYTES = 32;
export const REQUEST_TOKEN_BYTES = 16;
export const MAX_HOST_BYTES = 253;
export const MAX_DISPLAY_NAME_BYTES = 64;

export interface ContactLink {
  signingKey: Buffer; // Ed25519 public key: verifies the account record
  staticKey: Buffer; // X25519 public key: the Noise static key, the identity the TOFU store pins
  requestToken: Buffer;
  server: ServerAddress;
  displayName: string;
}

export type ContactLinkParse = { ok: true; link: ContactLink } | { ok: false; error: string };

function encodePayload(l: ContactLink): Buffer {
  if (l.signingKey.length !== ED25519_PUBLIC_BYTES) throw new RangeError('signing key must be 32 bytes');
  if (l.staticKey.length !== X25519_PUBLIC_BYTES) throw new RangeError('static key must be 32 bytes');
  if (l.requestToken.length !== REQUEST_TOKEN_BYTES) throw new RangeError('request token must be 16 bytes');
  const w = new Writer(128 + MAX_HOST_BYTES);
  w.u8(CONTACT_LINK_VERSION).bytes(l.signingKey).bytes(l.staticKey).bytes(l.requestToken);
  w.str8(l.server.host, MAX_HOST_BYTES).u16(l.server.port);
  // A name too long for the link is cut on a character boundary: it is only a suggestion.
  let name = l.displayName;
  while (Buffer.byteLength(name) > MAX_DISPLAY_NAME_BYTES) name = name.slice(0, -1);
  w.str8(name, MAX_DISPLAY_NAME_BYTES);
  return w.finish();
}

export function formatContactLink(l: ContactLink): string {
  return CONTACT_LINK_PREFIX + encodePayload(l).toString('base64url');
}

export function contactUri(l: ContactLink, uriScheme = 'vscode'): string {
  return `${uriScheme}://${EXTENSION_ID}/contact?link=${encodeURIComponent(formatContactLink(l))}`;
}

/** Accepts the link or its vscode:// form, with stray whitespace or angle brackets around. Never throws. */
export function parseContactLink(text: string): ContactLinkParse {
  let t = text.trim().replace(/^<(.*)>$/, '$1').trim();
  const uri = /^[a-z-]+:\/\/[^/]+\/contact\?(.*)$/i.exec(t);
  if (uri) {
    let inner: string | null;
    try {
      inner = new URLSearchParams(uri[1]).get('link');
    } catch {
      inner = null;
    }
    if (!inner) return { ok: false, error: 'the link carries no contact (…/contact?link=p2pchat:contact:…)' };
    t = inner.trim();
  }
  if (!t.toLowerCase().startsWith(CONTACT_LINK_PREFIX)) return { ok: false, error: `a contact link starts with "${CONTACT_LINK_PREFIX}"` };
  const body = t.slice(CONTACT_LINK_PREFIX.length);
  if (!/^[A-Za-z0-9_-]+$/.test(body)) return { ok: false, error: 'the contact link is not valid base64url' };
  const r = new Reader(Buffer.from(body, 'base64url'));
  const version = r.u8('version');
  if (!r.failed && version !== CONTACT_LINK_VERSION) return { ok: false, error: `unsupported contact link version ${version}` };
  const signingKey = r.bytes(ED25519_PUBLIC_BYTES, 'signing key');
  const staticKey = r.bytes(X25519_PUBLIC_BYTES, 'static key');
  const requestToken = r.bytes(REQUEST_TOKEN_BYTES, 'request token');
  const host = r.str8(MAX_HOST_BYTES, 'host');
  const port = r.u16('port');
  const displayName = r.str8(MAX_DISPLAY_NAME_BYTES, 'display name');
  const d = r.end({ signingKey, staticKey, requestToken, host, port, displayName });
  if (!d.ok) return { ok: false, error: `the contact link is damaged: ${d.error}` };
  const server = parseServer(formatServer({ host: d.value.host, port: d.value.port }));
  if (!server || server.port !== port) return { ok: false, error: 'the contact link names no valid rendezvous host:port' };
  // The same rule as signed account records: no control, zero-width or bidi characters in a name.
  const nameError = displayNameError(displayName);
  if (nameError) return { ok: false, error: `the contact link's ${nameError}` };
  return { ok: true, link: { signingKey, staticKey, requestToken, server, displayName } };
}
