// One room the user is in: which room (invite or name), where its rendezvous is (possibly one we host
// ourselves), the UDP shell around the core Room, and the files it keeps. No `vscode` import, so the
// whole connect path is tested against real loopback sockets without an editor.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import * as path from 'node:path';
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
import { hostCandidates } from '../core/net/hostCandidates';
import { rankInstances } from '../core/room/instances';
import { endpointKey, type Endpoint } from '../core/wire/endpoint';
import { monotonicNow, UdpRoomHost } from '../core/net/udpRoomHost';
import type { KeyPair, RoomKeys } from '../core/noise';
import { normalizeRoomName } from '../core/noise';
import { messageId, type RoomEvents } from '../core/room/room';
import { FileRoomStore } from '../core/store/roomStore';
import type { ChatBody, ChatMessage, ConnectionState, MemberInfo } from '../core/types';
import type { RendezvousServer } from '../../rendezvous/server';
import type { DmHost } from './contacts/dmHost';
import { contactsModule } from './contacts/load';

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
  if (t.kind === 'dm') return [t.server];
  return rankInstances(t.kind === 'invite' ? inviteServers(t.invite) : [t.server], roomKeys(t).roomId);
}

/** The address other machines on this network reach us at: first non-internal IPv4, else loopback. */
export function lanAddress(): string {
  return hostCandidates(0, 4)[0]?.address ?? '127.0.0.1';
}

export function roomLabel(t: RoomTarget, roomIdHex: string): string {
  if (t.kind === 'dm') return t.name;
  return t.kind === 'named' ? normalizeRoomName(t.name) : `Room ${roomIdHex.slice(0, 8)}`;
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
 * The rendezvous server's code is needed only when this editor hosts a room, so the extension bundle
 * leaves it out (scripts/build.mjs defines P2P_SPLIT_HOST for that bundle only) and loads
 * dist/rendezvousHost.js beside it on first use; from source (tests, the terminal peer) it is an
 * ordinary import. A computed path, so the bundler does not pull the file back in.
 */
function hostModule(): typeof import('./rendezvousHost') {
  const load = require; // not `require(…)` itself: the bundler would inline a literal path, even in a dead branch
  const file = process.env.P2P_SPLIT_HOST === '1' ? path.join(__dirname, 'rendezvousHost.js') : './rendezvousHost';
  return load(file) as typeof import('./rendezvousHost');
}

/**
 * Hosts a rendezvous in this process. The preferred port first (it is in invites already handed out);
 * when taken, random pairs with the probe on port+1, which is where clients look for it; port 0 last.
 */
export function startEmbeddedRendezvous(opts: StartEmbeddedOptions): Promise<EmbeddedRendezvous> {
  return hostModule().startEmbeddedRendezvous(opts);
}

// ---- the session ---------------------------------------------------------------------------------

export interface RoomSessionOptions {
  target: RoomTarget;
  identity: KeyPair;
  name: string;
  /** Where rooms/<roomId>.json (the core's outbox) lives. */
  storageDir: string;
  localPort?: number;
  keepaliveMs?: number;
  bindAddress?: string;
  log?: LogFn;
  /** Host name → address; the default prefers IPv4 (an embedded rendezvous listens on 0.0.0.0). */
  resolve?: (host: string) => Promise<string>;
  /** A rendezvous this session hosts: stopped with it. */
  embedded?: EmbeddedRendezvous;
}

export async function resolveHost(host: string): Promise<string> {
  if (isIP(host)) return host;
  try {
    return (await lookup(host, { family: 4 })).address;
  } catch {
    return (await lookup(host)).address;
  }
}

export class RoomSession {
  readonly keys: RoomKeys;
  readonly roomIdHex: string;
  readonly label: string;
  readonly named: boolean;
  /** The shareable invite (invite rooms only). */
  readonly inviteText: string | undefined;
  readonly target: RoomTarget;

  private host: UdpRoomHost | undefined;
  /** A DM's socket also carries its presence client: stopped with the room. */
  private dm: DmHost | undefined;
  private events: RoomEvents = {};
  private name: string;
  private away = false;
  private ownPresence: 'online' | 'away' | 'offline' = 'online';
  private stopped = false;
  private starting: Promise<void> | undefined;
  private readonly store: FileRoomStore;
  private readonly selfId: string;

  constructor(private readonly opts: RoomSessionOptions) {
    this.target = opts.target;
    this.keys = roomKeys(opts.target);
    this.roomIdHex = this.keys.roomId.toString('hex');
    this.label = roomLabel(opts.target, this.roomIdHex);
    this.named = opts.target.kind === 'named';
    this.inviteText = opts.target.kind === 'invite' ? formatInvite(opts.target.invite) : undefined;
    this.name = opts.name;
    this.selfId = opts.identity.publicKey.toString('hex');
    this.store = new FileRoomStore(this.roomStoreFile);
  }

  get roomStoreFile(): string {
    return path.join(this.opts.storageDir, 'rooms', `${this.roomIdHex}.json`);
  }

  get embedded(): EmbeddedRendezvous | undefined {
    return this.opts.embedded;
  }

  get roomHost(): UdpRoomHost | undefined {
    return this.host;
  }

  get started(): boolean {
    return this.host !== undefined;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  get state(): ConnectionState {
    return this.host?.room.state ?? { kind: 'idle' };
  }

  /** Receives the room's events across restarts (Retry builds a new Room). */
  setEvents(events: RoomEvents): void {
    this.events = events;
  }

  private log(level: Parameters<LogFn>[0], message: string): void {
    this.opts.log?.(level, message);
  }

  start(): Promise<void> {
    if (this.stopped) return Promise.reject(new Error('the session was stopped'));
    if (!this.starting) {
      this.starting = this.doStart().finally(() => {
        this.starting = undefined;
      });
    }
    return this.starting;
  }

  private async doStart(): Promise<void> {
    const servers = roomServers(this.target);
    this.events.state?.({ kind: 'registering', server: formatServer(servers[0]) });
    const ranked: Endpoint[] = [];
    for (const server of servers) {
      try {
        ranked.push({ address: await (this.opts.resolve ?? resolveHost)(server.host), port: server.port });
      } catch (err) {
        const reason = `cannot resolve the rendezvous server ${server.host}: ${(err as Error).message}`;
        this.log('error', reason);
        this.events.state?.({ kind: 'failed', reason, hint: 'Check the name and your network, then Retry.' });
        throw new Error(reason);
      }
    }
    if (this.stopped) return;
    if (this.target.kind === 'dm') return this.startDm(this.target, ranked[0]);
    const make = (port: number) =>
      new UdpRoomHost({
        identity: this.opts.identity,
        name: this.name,
        roomId: this.keys.roomId,
        psk: this.keys.psk,
        server: ranked[0],
        ...(ranked.length > 1 ? { servers: ranked } : {}),
        ...(this.opts.embedded ? { probePort: this.opts.embedded.probePort } : {}),
        store: this.store,
        keepaliveMs: this.opts.keepaliveMs,
        port,
        bindAddress: this.opts.bindAddress,
        log: this.opts.log,
      });
    let host = make(this.opts.localPort ?? 0);
    host.room.events = this.forwarder();
    try {
      await host.start();
    } catch (err) {
      if (!this.opts.localPort) throw this.fail(err);
      this.log('warn', `cannot use local UDP port ${this.opts.localPort} (${(err as Error).message}); using any free port`);
      host = make(0);
      host.room.events = this.forwarder();
      try {
        await host.start();
      } catch (err2) {
        throw this.fail(err2);
      }
    }
    if (this.stopped) {
      await host.stop();
      return;
    }
    this.host = host;
    if (this.away) this.setAway(true);
    this.log('info', `in ${this.label} as ${this.name}, UDP port ${host.port}, rendezvous ${ranked.map((e) => endpointKey(e)).join(", ")}`);
  }

  private async startDm(t: DmTarget, server: Endpoint): Promise<void> {
    let dm: DmHost;
    const open = (port: number) =>
      contactsModule().startDmHost({
        identity: this.opts.identity,
        peerKey: Buffer.from(t.peer, 'hex'),
        peerName: t.name,
        name: this.name,
        server,
        store: this.store,
        port,
        bindAddress: this.opts.bindAddress,
        keepaliveMs: this.opts.keepaliveMs,
        log: this.opts.log,
        events: this.forwarder(),
      });
    try {
      dm = await open(0); // p2pChat.localPort is the rooms' port: a DM takes any free one
    } catch (err) {
      throw this.fail(err);
    }
    if (this.stopped) {
      await dm.stop();
      return;
    }
    this.dm = dm;
    this.host = dm.room;
    dm.setOwnPresence(this.ownPresence);
    this.events.state?.(dm.room.room.state);
    if (this.away) this.setAway(true);
    this.log('info', `direct messages with ${t.name} on UDP port ${dm.room.port}, rendezvous ${endpointKey(server)}`);
  }

  private fail(err: unknown): Error {
    const reason = `cannot open a UDP socket: ${(err as Error).message}`;
    this.log('error', reason);
    this.events.state?.({ kind: 'failed', reason, hint: 'Check p2pChat.localPort, then Retry.' });
    return new Error(reason);
  }

  /** Forwards to whatever events are current, so a restarted Room reports to the same listeners. */
  private forwarder(): RoomEvents {
    return {
      state: (s) => this.events.state?.(s),
      members: (m) => this.events.members?.(m),
      message: (m) => this.events.message?.(m),
      delivery: (id, d) => this.events.delivery?.(id, d),
      typing: (p, n, t) => this.events.typing?.(p, n, t),
      nat: (m) => this.events.nat?.(m),
      mailbox: (n) => this.events.mailbox?.(n),
    };
  }

  /** Retry: a fresh Room on a fresh socket (the outbox and delivery marks persist in the room store). */
  async restart(): Promise<void> {
    if (this.stopped) return;
    if (this.starting) await this.starting.catch(() => undefined);
    const old = this.host;
    const oldDm = this.dm;
    this.host = undefined;
    this.dm = undefined;
    if (oldDm) await oldDm.stop();
    else if (old) await old.stop();
    await this.start();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.starting) await this.starting.catch(() => undefined);
    const host = this.host;
    const dm = this.dm;
    this.host = undefined;
    this.dm = undefined;
    try {
      if (dm) await dm.stop();
      else if (host) await host.stop();
    } finally {
      if (this.opts.embedded) await this.opts.embedded.server.stop();
    }
  }

  private requireHost(): UdpRoomHost {
    if (!this.host) throw new Error(this.stopped ? 'you left this room' : 'not connected to the room yet');
    return this.host;
  }

  send(body: ChatBody): ChatMessage {
    const host = this.requireHost();
    const m = host.room.send(body, monotonicNow());
    host.pump();
    return m;
  }

  setTyping(typing: boolean): void {
    const host = this.host;
    if (!host) return;
    host.room.setTyping(typing, monotonicNow());
    host.pump();
  }

  setAway(away: boolean): void {
    this.away = away; // remembered for a start or restart that comes later
    const host = this.host;
    if (!host) return;
    host.room.setAway(away, monotonicNow());
    host.pump();
  }

  /** A DM's registration follows the contacts' presence (Set Presence); rooms ignore it. */
  setOwnPresence(p: 'online' | 'away' | 'offline'): void {
    this.ownPresence = p;
    this.dm?.setOwnPresence(p);
  }

  /** Takes effect for new handshakes and the next rendezvous refresh. */
  setName(name: string): void {
    this.name = name;
    this.host?.room.setName(name);
  }

  members(): MemberInfo[] {
    return this.host?.room.members() ?? [];
  }

  /** Messages still owed to someone, read from the room store (works before the Room exists). */
  pendingMessages(): ChatMessage[] {
    if (this.host) return this.host.room.pendingMessages();
    const s = this.store.load();
    return s.outbox.map((e) => ({ id: messageId(this.selfId, s.epoch, e.seq), from: this.selfId, fromName: this.name, sentAt: e.sentAt, body: e.body }));
  }
}

/** A new invite room: on the configured rendezvous, or on one we host (its address: our LAN address). */
export async function createHostedTarget(opts: {
  /** One server or several instances (the invite then carries the list). */
  configuredServer: ServerAddress | ServerAddress[] | undefined;
  hostPort: number;
  bindHost?: string;
  advertiseAddress?: string;
  log?: LogFn;
}): Promise<{ target: RoomTarget; embedded?: EmbeddedRendezvous }> {
  const configured = opts.configuredServer === undefined ? [] : Array.isArray(opts.configuredServer) ? opts.configuredServer : [opts.configuredServer];
  if (configured.length) return { target: { kind: 'invite', invite: createInvite(configured), hosted: false } };
  const embedded = await startEmbeddedRendezvous({ preferredPort: opts.hostPort, bindHost: opts.bindHost, log: opts.log });
  const advertise = opts.advertiseAddress ?? lanAddress();
  return { target: { kind: 'invite', invite: createInvite({ host: advertise, port: embedded.port }), hosted: true }, embedded };
}
