// Invites: the rendezvous address plus the 128-bit room secret, as one pasteable string and as a
// vscode:// link. The secret never goes to the rendezvous; only the room id derived from it does.
import { deriveNamedRoomKeys, deriveRoomKeys, generateRoomSecret, ROOM_SECRET_LEN, type RoomKeys } from './noise';
import type { Endpoint } from './wire/endpoint';
import { isIP } from 'node:net';

export const INVITE_SCHEME = 'p2pchat:';
export const EXTENSION_ID = 'p2p-chat.p2p-chat';

export interface Invite {
  secret: Buffer;
  server: ServerAddress;
}

/** A rendezvous address as typed: host may be a name, resolved by the I/O layer. */
export interface ServerAddress {
  host: string;
  port: number;
}

export const DEFAULT_RENDEZVOUS_PORT = 7000;

export function formatServer(s: ServerAddress): string {
  return s.host.includes(':') ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`;
}

/** "host", "host:port", "[v6]:port" or a bare IPv6 address. */
export function parseServer(text: string): ServerAddress | undefined {
  const t = text.trim();
  if (!t) return undefined;
  let host: string;
  let port = DEFAULT_RENDEZVOUS_PORT;
  const v6 = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(t);
  if (v6) {
    host = v6[1];
    if (v6[2]) port = Number(v6[2]);
  } else if (isIP(t) === 6) {
    host = t;
  } else {
    const m = /^([A-Za-z0-9.-]+)(?::(\d+))?$/.exec(t);
    if (!m) return undefined;
    host = m[1];
    if (m[2]) port = Number(m[2]);
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  // A zone id (fe80::1%eth0) names an interface of this computer: meaningless in an invite, and not printable back.
  if (host.includes(':') && (isIP(host) !== 6 || host.includes('%'))) return undefined;
  return { host: host.toLowerCase(), port };
}

export function createInvite(server: ServerAddress): Invite {
  return { secret: generateRoomSecret(), server };
}

export function formatInvite(inv: Invite): string {
  return `${INVITE_SCHEME}${inv.secret.toString('base64url')}@${formatServer(inv.server)}`;
}

export function inviteLink(inv: Invite, uriScheme = 'vscode'): string {
  return `${uriScheme}://${EXTENSION_ID}/join?invite=${encodeURIComponent(formatInvite(inv))}`;
}

export type InviteParse = { ok: true; invite: Invite } | { ok: false; error: string };

/** Accepts the invite string or a vscode:// link carrying it, with stray whitespace or brackets around. */
export function parseInvite(text: string): InviteParse {
  let t = text.trim().replace(/^<(.*)>$/, '$1').trim();
  const link = /^[a-z-]+:\/\/[^/]+\/join\?(.*)$/i.exec(t);
  if (link) {
    const invite = new URLSearchParams(link[1]).get('invite');
    if (!invite) return { ok: false, error: 'the link carries no invite' };
    t = invite.trim();
  }
  if (!t.toLowerCase().startsWith(INVITE_SCHEME)) return { ok: false, error: `an invite starts with "${INVITE_SCHEME}"` };
  const body = t.slice(INVITE_SCHEME.length);
  const at = body.indexOf('@');
  if (at < 0) return { ok: false, error: 'the invite has no server address (…@host:port)' };
  const secretText = body.slice(0, at);
  if (!/^[A-Za-z0-9_-]+$/.test(secretText)) return { ok: false, error: 'the room secret is not valid base64url' };
  const secret = Buffer.from(secretText, 'base64url');
  if (secret.length !== ROOM_SECRET_LEN) return { ok: false, error: `the room secret must be ${ROOM_SECRET_LEN} bytes` };
  const server = parseServer(body.slice(at + 1));
  if (!server) return { ok: false, error: 'the server address is not host:port' };
  return { ok: true, invite: { secret, server } };
}

export function inviteKeys(inv: Invite): RoomKeys {
  return deriveRoomKeys(inv.secret);
}

export function namedRoomKeys(name: string): RoomKeys {
  return deriveNamedRoomKeys(name);
}

export function endpointFromServer(s: ServerAddress, resolvedAddress?: string): Endpoint {
  return { address: resolvedAddress ?? s.host, port: s.port };
}
