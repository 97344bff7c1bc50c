// The `p2pChat.*` settings, normalised: whatever a user typed into settings.json becomes a value
// the rest of the extension can use without checking again. No `vscode` import (config.ts reads them).
import { parseServerList, type ServerAddress } from '../core/invite';
import { MAX_NAME_BYTES } from '../core/wire/rendezvous';

export interface ChatSettings {
  /** Undefined: host a rendezvous ourselves when starting a room. The first of `rendezvousServers`. */
  rendezvousServer: ServerAddress | undefined;
  /** Every instance the setting lists ("a:7000, b:7000"); rooms rank them (core/room/instances.ts). */
  rendezvousServers: ServerAddress[];
  /** Set when the setting is non-empty but not host:port. */
  rendezvousServerError: string | undefined;
  displayName: string;
  localPort: number;
  keepaliveSeconds: number;
  notifications: boolean;
  /** `@name` in a room notifies even when the room is muted or notifications are off. */
  mentionNotifications: boolean;
  hostRendezvousPort: number;
}

export const KEEPALIVE_MIN_S = 5;
/** Conntrack and real gateways forget idle UDP mappings after 30 s: stay under it. */
export const KEEPALIVE_MAX_S = 25;
export const DEFAULT_KEEPALIVE_S = 15;
export const DEFAULT_HOST_RENDEZVOUS_PORT = 7000;

export interface RawSettings {
  rendezvousServer?: unknown;
  displayName?: unknown;
  localPort?: unknown;
  keepaliveSeconds?: unknown;
  notifications?: unknown;
  mentionNotifications?: unknown;
  hostRendezvousPort?: unknown;
}

function port(v: unknown, fallback: number, allowZero: boolean): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1) || n > 65535) return fallback;
  return n;
}

/** Cuts a name to what the wire carries (bytes, not characters), never splitting a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  let out = '';
  let used = 0;
  for (const ch of text) {
    const n = Buffer.byteLength(ch, 'utf8');
    if (used + n > maxBytes) break;
    out += ch;
    used += n;
  }
  return out;
}

export function cleanDisplayName(name: unknown, fallback: string): string {
  const s = typeof name === 'string' ? name.replace(/[\u0000-\u001f\u007f]/g, ' ').replace(/\s+/g, ' ').trim() : '';
  const chosen = s || fallback.trim() || 'Anonymous';
  return truncateUtf8(chosen, MAX_NAME_BYTES);
}

export function normalizeSettings(raw: RawSettings, osUserName: string): ChatSettings {
  const serverText = typeof raw.rendezvousServer === 'string' ? raw.rendezvousServer.trim() : '';
  const list = parseServerList(serverText);
  const servers = list.ok ? list.servers : [];
  const server = servers[0];
  const keepRaw = typeof raw.keepaliveSeconds === 'number' && Number.isFinite(raw.keepaliveSeconds) ? raw.keepaliveSeconds : DEFAULT_KEEPALIVE_S;
  return {
    rendezvousServer: server,
    rendezvousServers: servers,
    rendezvousServerError:
      serverText && !server
        ? `p2pChat.rendezvousServer "${serverText}" is not host:port, or a comma-separated list of them (for example rendezvous.example.org:7000)${list.ok ? '' : `: ${list.error}`}`
        : undefined,
    displayName: cleanDisplayName(raw.displayName, osUserName),
    localPort: port(raw.localPort, 0, true),
    keepaliveSeconds: Math.min(KEEPALIVE_MAX_S, Math.max(KEEPALIVE_MIN_S, Math.round(keepRaw))),
    notifications: raw.notifications !== false,
    mentionNotifications: raw.mentionNotifications !== false,
    // The probe port is the next one up, so the main port must leave room for it.
    hostRendezvousPort: Math.min(port(raw.hostRendezvousPort, DEFAULT_HOST_RENDEZVOUS_PORT, false), 65534),
  };
}
