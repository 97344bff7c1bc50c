// Which room (an invite or a name), where its rendezvous is, and how a new one is made: the light part of a
// room that the UI needs before (and without) running one. The machinery that runs a room (RoomSession, the
// core, file transfer) is a bundle of its own, loaded on first use (lazyBundles.ts); this file and what it
// imports stay small, since they are in dist/extension.js. No `vscode` import.
import {
  createInvite,
  formatInvite,
  formatServer,
  inviteKeys,
  inviteServers,
  namedRoomKeys,
  parseInvite,
  parseServer,
  type Invite,
  type ServerAddress,
} from '../core/invite';
import { cleanRoomName } from '../core/room/roomName';
import { hostCandidates } from '../core/net/hostCandidates';
import { rankInstances } from '../core/room/instances';
import { normalizeRoomName, type RoomKeys } from '../core/noise/room-keys';
import type { RendezvousServer } from '../../rendezvous/server';
import { rendezvousHostModule } from './lazyBundles';

export type RoomTarget =
  | { kind: 'invite'; invite: Invite; /** We host its rendezvous (embedded server). */ hosted: boolean }
  | { kind: 'named'; name: string; server: ServerAddress }
  | DmTarget;

/**
 * A direct conversation with a contact (contacts/dmHost.ts): the keys come from the pair's X25519
 * secret (PairKeys), so the target carries them; it is never saved with the rooms (the contact list
 * is what brings a DM back).
 */
export interface DmTarget {
  kind: 'dm';
  /** The contact's static key, hex. */
  peer: string;
  /** The contact's display name (peer text). */
  name: string;
  server: ServerAddress;
  /** Every listed instance of that server (p2pChat.rendezvousServer), when `server` is one of several. */
  instances?: ServerAddress[];
  keys: RoomKeys;
}

/** What is remembered to rejoin after a window reload. Holds the room secret: keep it in SecretStorage. */
export type SavedRoom = { kind: 'invite'; invite: string; hosted?: boolean } | { kind: 'named'; name: string; server: string };

export type LogFn = (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;

export function saveRoom(t: Exclude<RoomTarget, DmTarget>): SavedRoom {
  return t.kind === 'invite'
    ? { kind: 'invite', invite: formatInvite(t.invite), ...(t.hosted ? { hosted: true } : {}) }
    : { kind: 'named', name: t.name, server: formatServer(t.server) };
}

export function loadRoom(x: unknown): RoomTarget | undefined {
  if (typeof x !== 'object' || x === null) return undefined;
  const s = x as Record<string, unknown>;
  if (s.kind === 'invite' && typeof s.invite === 'string') {
    const p = parseInvite(s.invite);
    return p.ok ? { kind: 'invite', invite: p.invite, hosted: s.hosted === true } : undefined;
  }
  if (s.kind === 'named' && typeof s.name === 'string' && typeof s.server === 'string') {
    const server = parseServer(s.server);
    return server && normalizeRoomName(s.name) ? { kind: 'named', name: s.name, server } : undefined;
  }
  return undefined;
}

export function roomKeys(t: RoomTarget): RoomKeys {
  return t.kind === 'invite' ? inviteKeys(t.invite) : t.kind === 'dm' ? t.keys : namedRoomKeys(t.name);
}

export function roomServer(t: RoomTarget): ServerAddress {
  return t.kind === 'invite' ? t.invite.server : t.server;
}

/** Every instance the room may use, best first for this room (rendezvous hashing). */
export function roomServers(t: RoomTarget): ServerAddress[] {
  if (t.kind === 'dm') return t.instances && t.instances.length > 1 ? t.instances : [t.server];
  return rankInstances(t.kind === 'invite' ? inviteServers(t.invite) : [t.server], roomKeys(t).roomId);
}

/** The address other machines on this network reach us at: first non-internal IPv4, else loopback. */
export function lanAddress(): string {
  return hostCandidates(0, 4)[0]?.address ?? '127.0.0.1';
}

/** What a room is called before anyone named it: a named room's name, else "Room c9ae88f7". */
export function roomLabel(t: RoomTarget, roomIdHex: string): string {
  if (t.kind === 'dm') return t.name;
  return t.kind === 'named' ? normalizeRoomName(t.name) : `Room ${roomIdHex.slice(0, 8)}`;
}

/** A sensible default for a new room's name (the creator may type another). */
export function defaultRoomName(displayName: string, now = new Date()): string {
  const who = cleanRoomName(displayName);
  const day = now.toLocaleDateString('en-US', { month: 'short', day: 'numeric' });
  return cleanRoomName(who ? `${who}'s room, ${day}` : `Room of ${day}`);
}

// ---- an embedded rendezvous ----------------------------------------------------------------------

export interface EmbeddedRendezvous {
  server: RendezvousServer;
  port: number;
  probePort: number;
}

export type StartEmbeddedOptions = {
  preferredPort: number;
  bindHost?: string;
  log?: LogFn;
  attempts?: number;
  /** Only the preferred port will do (re-hosting a room whose invite is already out). */
  exact?: boolean;
  random?: () => number;
};

/**
 * Hosts a rendezvous in this process. The preferred port first (it is in invites already handed out);
 * when taken, random pairs with the probe on port+1, which is where clients look for it; port 0 last.
 */
export function startEmbeddedRendezvous(opts: StartEmbeddedOptions): Promise<EmbeddedRendezvous> {
  return rendezvousHostModule().startEmbeddedRendezvous(opts);
}

/** A new invite room: on the configured rendezvous, or on one we host (its address: our LAN address). */
export async function createHostedTarget(opts: {
  /** One server or several instances (the invite then carries the list). */
  configuredServer: ServerAddress | ServerAddress[] | undefined;
  hostPort: number;
  bindHost?: string;
  advertiseAddress?: string;
  log?: LogFn;
  /** The room's name, sealed into the invite. */
  roomName?: string;
}): Promise<{ target: RoomTarget; embedded?: EmbeddedRendezvous }> {
  const configured = opts.configuredServer === undefined ? [] : Array.isArray(opts.configuredServer) ? opts.configuredServer : [opts.configuredServer];
  if (configured.length) return { target: { kind: 'invite', invite: createInvite(configured, opts.roomName), hosted: false } };
  const embedded = await startEmbeddedRendezvous({ preferredPort: opts.hostPort, bindHost: opts.bindHost, log: opts.log });
  const advertise = opts.advertiseAddress ?? lanAddress();
  return { target: { kind: 'invite', invite: createInvite({ host: advertise, port: embedded.port }, opts.roomName), hosted: true }, embedded };
}

