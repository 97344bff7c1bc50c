// Invites: the rendezvous address plus the 128-bit room secret, and the room's name sealed with a key
// derived from that secret, as one pasteable string and as a vscode:// link. The secret and the name never
// go to the rendezvous; only the room id derived from the secret does.
import { deriveNamedRoomKeys, deriveRoomKeys, generateRoomSecret, ROOM_SECRET_LEN, type RoomKeys } from './noise/room-keys';
import { cleanRoomName, openInviteName, sealInviteName } from './room/roomName';
import type { Endpoint } from './wire/endpoint';
import { isIP } from 'node:net';

export const INVITE_SCHEME = 'p2pchat:';
export const EXTENSION_ID = 'p2p-chat.p2p-chat';

export interface Invite {
  secret: Buffer;
  /** The first instance as written (for one-server invites, the only one). */
  server: ServerAddress;
  /**
   * Every instance when the server runs several (`p2pchat:secret@a:7000,b:7000`); clients rank them
   * per room (core/room/instances.ts). Absent in one-server invites, which keep today's format.
   */
  servers?: ServerAddress[];
  /** The room's name when the invite was made (absent in invites of older versions and unnamed rooms). */
  name?: string;
  /** `name` as sealed in the invite (core/room/roomName.ts), kept so the invite formats to the same text. */
  sealedName?: Buffer;
}

/** At most this many instances in one list: a longer list is a typo or an attack on our time. */
export const MAX_INSTANCES = 16;

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

/**
 * "a:7000, b:7000" (commas between, spaces around them allowed) → the list, duplicates dropped, or an
 * error naming the bad entry. An empty string is an empty list (the caller decides: usually "host one
 * here"). Spaces alone do not separate: "not a host" is one bad entry, not three servers.
 */
export function parseServerList(text: string): { ok: true; servers: ServerAddress[] } | { ok: false; error: string } {
  const parts = text.split(',').map((p) => p.trim()).filter((p) => p.length > 0);
  if (parts.length > MAX_INSTANCES) return { ok: false, error: `at most ${MAX_INSTANCES} servers` };
  const servers: ServerAddress[] = [];
  const seen = new Set<string>();
  for (const p of parts) {
    const s = parseServer(p);
    if (!s) return { ok: false, error: `"${p}" is not host:port` };
    if (seen.has(formatServer(s))) continue;
    seen.add(formatServer(s));
    servers.push(s);
  }
  return { ok: true, servers };
}

export function formatServerList(servers: readonly ServerAddress[]): string {
  return servers.map(formatServer).join(',');
}

/** Every instance an invite names, first as written. */
export function inviteServers(inv: Invite): ServerAddress[] {
  return inv.servers && inv.servers.length > 0 ? inv.servers : [inv.server];
}

export function createInvite(server: ServerAddress | ServerAddress[], name?: string): Invite {
  const list = Array.isArray(server) ? server : [server];
  if (list.length === 0) throw new RangeError('an invite needs a server');
  const inv: Invite = { secret: generateRoomSecret(), server: list[0], ...(list.length > 1 ? { servers: [...list] } : {}) };
  return name !== undefined && cleanRoomName(name) ? withRoomName(inv, name) : inv;
}

/** The same invite carrying `name` (sealed afresh: after a rename, "Copy Invite" hands out the new name). */
export function withRoomName(inv: Invite, name: string, nonce?: Buffer): Invite {
  const { name: _old, sealedName: _oldSealed, ...rest } = inv;
  const clean = cleanRoomName(name);
  if (!clean) return rest;
  return { ...rest, name: clean, sealedName: sealInviteName(inv.secret, clean, nonce) };
}

/**
 * `p2pchat:<secret>@<server>[,<server>…][#<sealed name>]`, base64url. Without a name (and with one
 * server): exactly the original format, so older clients keep reading it. The name goes after `#`, like
 * a URL fragment, which browsers never send to a server either.
 */
export function formatInvite(inv: Invite): string {
  const name = inv.sealedName ? `#${inv.sealedName.toString('base64url')}` : '';
  return `${INVITE_SCHEME}${inv.secret.toString('base64url')}@${formatServerList(inviteServers(inv))}${name}`;
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
  let rest = body.slice(at + 1);
  // The sealed name (newer invites): it must open with this secret, or the invite was changed or cut short.
  let named: Pick<Invite, 'name' | 'sealedName'> = {};
  const hash = rest.indexOf('#');
  if (hash >= 0) {
    const sealedText = rest.slice(hash + 1);
    rest = rest.slice(0, hash);
    if (!/^[A-Za-z0-9_-]{1,400}$/.test(sealedText)) return { ok: false, error: 'the room name after # is not valid base64url' };
    const sealedName = Buffer.from(sealedText, 'base64url');
    const name = openInviteName(secret, sealedName);
    if (name === undefined) return { ok: false, error: 'the room name after # does not match the room secret (the invite was changed or cut short)' };
    named = { name, sealedName };
  }
  if (!rest.includes(',')) {
    const server = parseServer(rest);
    if (!server) return { ok: false, error: 'the server address is not host:port' };
    return { ok: true, invite: { secret, server, ...named } };
  }
  // Several instances: commas only (the invite is one token), each entry a full address.
  if (/\s/.test(rest) || rest.split(',').some((p) => p === '')) return { ok: false, error: 'the server list must be host:port entries separated by single commas' };
  const list = parseServerList(rest);
  if (!list.ok) return { ok: false, error: `the server list: ${list.error}` };
  if (list.servers.length === 0) return { ok: false, error: 'the server address is not host:port' };
  const servers = list.servers;
  return { ok: true, invite: { secret, server: servers[0], ...(servers.length > 1 ? { servers } : {}), ...named } };
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
