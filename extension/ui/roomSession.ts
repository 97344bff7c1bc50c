// One room the user is in: which room (invite or name), where its rendezvous is (possibly one we host
// ourselves), the UDP shell around the core Room, and the files it keeps. No `vscode` import, so the
// whole connect path is tested against real loopback sockets without an editor.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import * as path from 'node:path';
import { formatInvite, formatServer, withRoomName } from '../core/invite';
import { cleanRoomName, type RoomNameRecord } from '../core/room/roomName';
import { endpointKey, type Endpoint } from '../core/wire/endpoint';
import { monotonicNow, UdpRoomHost } from '../core/net/udpRoomHost';
import type { KeyPair, RoomKeys } from '../core/noise';
import { messageId, type RoomEvents } from '../core/room/room';
import { FileRoomStore } from '../core/store/roomStore';
import type { ChatBody, ChatMessage, ConnectionState, MemberInfo } from '../core/types';
import { roomKeys, roomLabel, roomServers, type DmTarget, type EmbeddedRendezvous, type LogFn, type RoomTarget } from './roomTarget';
import { startDmHost, type DmHost } from './contacts/dmHost';
import type { TopicInstance } from '../core/contacts/topicRouter';

// What used to live here and is light enough for dist/extension.js (tests and the terminal peer import it from here too).
export * from './roomTarget';

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
  /** A new room's name, chosen by its creator (this member names it first, docs/PROTOCOL.md §8.4). */
  roomName?: string;
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
  readonly named: boolean;
  readonly target: RoomTarget;
  /** The room's name as this member has it (core/room/roomName.ts); undefined: nobody named it yet. */
  private nameRecord: RoomNameRecord | undefined;
  private invite: { name: string | undefined; text: string } | undefined;

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
    this.named = opts.target.kind === 'named';
    this.name = opts.name;
    this.selfId = opts.identity.publicKey.toString('hex');
    this.store = new FileRoomStore(this.roomStoreFile);
    // What the room is called before the Room runs: the stored record (a rejoin), else the creator's
    // own naming (lamport 1), else the invite's name (lamport 0: any member's record replaces it).
    const creator = opts.roomName !== undefined && cleanRoomName(opts.roomName) ? { name: cleanRoomName(opts.roomName), lamport: 1, author: this.selfId, setAt: Date.now() } : undefined;
    const fromInvite = opts.target.kind === 'invite' && opts.target.invite.name ? { name: opts.target.invite.name, lamport: 0, author: '', setAt: 0 } : undefined;
    this.nameRecord = this.store.load().roomName ?? creator ?? fromInvite;
  }

  /** The room's name, or what it is called until someone names it. Peer text: show it through inertText. */
  get label(): string {
    return this.nameRecord?.name ?? roomLabel(this.target, this.roomIdHex);
  }

  get roomName(): RoomNameRecord | undefined {
    return this.nameRecord;
  }

  /** The shareable invite (invite rooms only), carrying the room's current name. */
  get inviteText(): string | undefined {
    if (this.target.kind !== 'invite') return undefined;
    const name = this.nameRecord?.name;
    if (!this.invite || this.invite.name !== name) {
      const inv = this.target.invite;
      // The invite as given while its name is still the current one: the same text the creator handed out.
      const text = name === undefined || name === inv.name ? formatInvite(inv) : formatInvite(withRoomName(inv, name));
      this.invite = { name, text };
    }
    return this.invite.text;
  }

  /** Renames the room for every member (sent over the encrypted links, never to the rendezvous). */
  rename(name: string): RoomNameRecord {
    const host = this.requireHost();
    const record = host.room.rename(name, monotonicNow());
    host.pump();
    return record;
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
    if (this.target.kind === 'dm') return this.startDm(this.target, servers.map((name, i) => ({ name, endpoint: ranked[i] })));
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
        ...(this.nameRecord ? { roomName: this.nameRecord } : {}),
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

  private async startDm(t: DmTarget, instances: TopicInstance[]): Promise<void> {
    let dm: DmHost;
    const open = (port: number) =>
      startDmHost({
        identity: this.opts.identity,
        peerKey: Buffer.from(t.peer, 'hex'),
        peerName: t.name,
        name: this.name,
        server: instances[0].endpoint,
        ...(instances.length > 1 ? { instances } : {}),
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
    this.log('info', `direct messages with ${t.name} on UDP port ${dm.room.port}, rendezvous ${instances.map((i) => endpointKey(i.endpoint)).join(", ")}`);
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
      roomName: (r, by) => {
        this.nameRecord = r;
        this.events.roomName?.(r, by);
      },
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
