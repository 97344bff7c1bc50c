// A chat room: one rendezvous registration, a full mesh of peer links, the persistent outbox and
// the delivered-watermarks that make delivery exactly-once across reconnects and restarts.
// Sans-I/O: `receive`, `tick`, and the public actions queue datagrams in `outgoing`; the shell sends them.
import { fingerprint, safetyNumber, type KeyPair } from '../noise';
import type { ChatBody, ChatMessage, ConnectionState, DeliveryState, MemberInfo, PathKind } from '../types';
import { classify, MsgType } from '../wire/header';
import { Endpoint, endpointKey, Route } from '../wire/endpoint';
import { decodePeer } from '../wire/peer';
import { decodeRendezvous, ErrorCode, MemberRecord, NatFlags, TurnCredentials } from '../wire/rendezvous';
import { TurnClient } from '../relay/turnClient';
import { BIRTHDAY } from '../link/natStrategy';
import { peerHint } from '../link/hints';
import { LinkContext, LinkEvents, PeerLink } from '../link/peerLink';
import { cryptoRandom, type RandomSource } from '../link/random';
import type { OutboxEntry, RoomOp, RoomState, RoomStore } from '../store/roomStore';
import type { FileFrame } from '../wire/fileFrames';
import { APP_FEATURES, assertSendable, decodeApp, decodeEphemeral, encodeChatFor, encodeEphemeral, encodeReject, rejectText, type RejectMessage, type RejectReason } from './appMessages';
import { NatMapping, RendezvousClient } from './rendezvousClient';
import { isMailboxType } from '../wire/mailbox';
import { attachRoomMailbox, MailboxHook } from '../mailbox/roomHook';
import { dmScheme, roomScheme, type MailboxNotice, type RoomMailboxOptions } from '../mailbox/roomMailbox';
import { rendezvousRefusal, rendezvousSilence, type Trouble } from '../rendezvousTrouble';
import { decodeRoomName, encodeRoomName, mergeRoomName, renameRecord, roomNameWins, ROOM_NAME_APP_TYPE, type RoomNameRecord } from './roomName';

export interface RoomOptions {
  identity: KeyPair;
  name: string;
  roomId: Buffer;
  psk: Buffer;
  server: Endpoint;
  /** Several instances, ranked for this room (core/room/instances.ts); `server` should be the first. */
  servers?: Endpoint[];
  probePort?: number;
  store: RoomStore;
  hostCandidates?: () => Endpoint[];
  wallClock?: () => number;
  keepaliveMs?: number;
  lostAfterMs?: number;
  punchTimeoutMs?: number;
  /** Offline delivery through the rendezvous's blind mailbox (on unless false). */
  mailbox?: boolean | Partial<RoomMailboxOptions>;
  /**
   * Feature bits announced in handshakes (appMessages.AppFeature; default APP_FEATURES, all this version decodes).
   * Tests pass 0 to stand in for a version before feature bits.
   */
  features?: number;
  /**
   * The cookie mailbox requests carry when the room does not register at the rendezvous itself
   * (discovery 'external': a direct message uses the presence client's cookie for the same socket).
   */
  mailboxCookie?: () => Buffer | undefined;
  /**
   * Where mailbox requests go when the room does not register itself (a DM over several instances: the
   * instance its pair topic is registered with, whose cookie `mailboxCookie` gives). Default: the room's server.
   */
  mailboxServer?: () => Endpoint | undefined;
  /**
   * 'external': no room registration at the rendezvous (which would show it our static key); members are
   * introduced with `meet` instead (a direct message: the contacts' pairwise topic did the introducing).
   */
  discovery?: 'rendezvous' | 'external';
  /** Only this static key may be a member (a direct message): any other is refused, loudly. */
  onlyPeer?: Buffer;
  /**
   * The room's name as known before any member tells us (the invite's, lamport 0; or the creator's own
   * first naming, lamport 1). Kept only if it wins over what the room store holds (core/room/roomName.ts).
   */
  roomName?: RoomNameRecord;
  log?: (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;
  /** Spray ports, probe tokens, session indices (default node:crypto; the simulated network seeds it). */
  random?: RandomSource;
}

export interface RoomEvents {
  state?(state: ConnectionState): void;
  members?(members: MemberInfo[]): void;
  message?(message: ChatMessage): void;
  /** `reason` with 'rejected': who refused it and why, in our words (the member's name is peer text). */
  delivery?(id: string, state: DeliveryState, reason?: string): void;
  typing?(peerId: string, name: string, typing: boolean): void;
  nat?(mapping: NatMapping): void;
  /** Registered (or re-registered) with the rendezvous; `observed` is our public address as it saw it. */
  registered?(observed: Endpoint): void;
  /** A link's session is verified: who, where, and how we got there. */
  link?(info: { peerId: string; name: string; endpoint: string; path: PathKind; strategy: string; handshakes: number }): void;
  /** The mailbox: messages deposited, waiting (e.g. "the recipient's mailbox is full"), trouble. Ids are message ids. */
  mailbox?(notice: MailboxNotice & { ids?: string[] }): void;
  /**
   * The room's name changed: renamed by us (`by` undefined) or learnt from a member (`by`: the member whose
   * link brought it, name as it gave it; the record's author may be someone else who renamed it earlier).
   */
  roomName?(record: RoomNameRecord, by?: { peerId: string; name: string }): void;
}

export interface Outgoing {
  to: Endpoint;
  data: Buffer;
  /** Which local socket: 0 is the main one, others are the birthday sockets. */
  via: number;
  /** Send with this IP TTL (punches that only prime our own NAT); absent: the socket's default. */
  ttl?: number;
}

export interface RoomStats {
  droppedForeign: number;
  droppedMalformed: number;
  droppedUnknownPeer: number;
  duplicatesSuppressed: number;
  relayUnavailable: number;
  /** Chat messages we refused (and answered with a Reject). */
  refused: number;
}

const TYPING_TTL_MS = 6000;
const SAFETY_DELAY_MS = 250;
/** A room holds at most 255 members (the welcome's count is one byte): a rendezvous announcing more is lying. */
export const MAX_ROOM_LINKS = 254;
const ANYONE = '*';
/**
 * In an outbox entry's pending list: "and every member the rendezvous still has to name as already in the
 * room". A message written before the welcome (or while the welcome's member list is still arriving) owes
 * itself to everyone who was there, not only to the members we happened to know; it is never delivered
 * while this marker stands.
 */
const ROSTER = '?';
const SUSPECT_REFRESH_GAP_MS = 1000;
/**
 * While a link punches without success, register again this often: the rendezvous pushes a member's changed record
 * (a relay address, a NAT class) once and does not retransmit it, and the welcome carries every member's current
 * record. Without this a lost push (say, of the peer's relay address) waited for the next refresh, up to 15 s.
 */
const PUNCH_REFRESH_MS = 3000;

/** Per sender, the id prefix of its current epoch: built once, not for every message (bounded: cleared when full). */
const idPrefixes = new Map<string, { epoch: number; prefix: string }>();

export function messageId(senderHex: string, epoch: number, seq: number): string {
  let p = idPrefixes.get(senderHex);
  if (p === undefined || p.epoch !== epoch) {
    if (idPrefixes.size >= 1024) idPrefixes.clear();
    p = { epoch, prefix: `${senderHex.slice(0, 16)}-${epoch.toString(16)}-` };
    idPrefixes.set(senderHex, p);
  }
  return p.prefix + seq;
}

export class Room {
  readonly selfId: string;
  readonly outgoing: Outgoing[] = [];
  /**
   * Datagrams of file pieces, behind `outgoing`: takeOutgoing hands out everything else first and at most
   * a bounded number of these per call, so a chat message queued later still leaves before most of them.
   */
  private bulk: Outgoing[] = [];
  private bulkHead = 0;
  readonly stats: RoomStats = { droppedForeign: 0, droppedMalformed: 0, droppedUnknownPeer: 0, duplicatesSuppressed: 0, relayUnavailable: 0, refused: 0 };
  events: RoomEvents = {};
  state: ConnectionState = { kind: 'idle' };
  natMapping: NatMapping = 'unknown';

  private readonly selfHint: Buffer;
  private readonly rendezvous: RendezvousClient;
  private readonly links = new Map<string, PeerLink>(); // by peer id hex
  private readonly byHint = new Map<string, PeerLink>();
  private readonly byIndex = new Map<number, PeerLink>();
  private readonly inFlight = new Map<PeerLink, Map<number, number>>(); // link -> reliable handle -> seq
  private readonly away = new Set<string>();
  /** Our own presence: told to every link as it comes up, since the ephemeral announcement is not retried. */
  private selfAway = false;
  private readonly typingUntil = new Map<string, number>();
  private readonly persisted: RoomState;
  private readonly ctx: LinkContext;
  private rendezvousTrouble?: Trouble;
  private everConnected = false;
  private closed = false;
  private lastStateJson = '';
  private lastMembersJson = '';
  private safety = new Map<string, string>();
  /** Safety numbers cost ~20 ms each (iterated hashing): computed shortly after a link is up, off the connect path. */
  private safetyDueAt = Infinity;
  private membersDirty = true;
  private extraSocketCount = 0;
  private readonly dirty = new Set<PeerLink>();
  private lastAskedForMembers = -Infinity;
  private sprayTokens = BIRTHDAY.sprayPerSecond / 10;
  private sprayRefilledAt = 0;
  private tooManyMembersLogged = false;
  private rawSend: (to: Route, data: Buffer) => void;
  private turnCreds?: TurnCredentials;
  /** Our public address as the rendezvous last saw it: a change means our NAT mapping changed. */
  private observed?: Endpoint;
  private lastSuspectRefresh = -Infinity;
  private suspectRefreshAt = Infinity;
  private punchRefreshAt = Infinity;
  private turn?: TurnClient;
  private relayTrouble?: string;
  private readonly mailbox?: MailboxHook;
  /**
   * Until the rendezvous has named every member its welcome counted, new messages stay open (ROSTER). A room
   * found elsewhere (discovery 'external': a DM, whose one other member is known) has no roster to wait for.
   */
  private rosterOpen: boolean;
  /** Other members the latest welcome counted (-1: no welcome yet). */
  private rosterExpected = -1;
  /** Members named since that welcome (its own records, then `peer` records that did not fit). */
  private readonly rosterNamed = new Set<string>();
  /** Every member seen while the roster was open: each is added to open entries once, never again after it acked. */
  private readonly rosterSeen = new Set<string>();

  constructor(private readonly opts: RoomOptions) {
    this.rosterOpen = opts.discovery !== 'external';
    this.selfId = opts.identity.publicKey.toString('hex');
    this.selfHint = peerHint(opts.roomId, opts.identity.publicKey);
    this.persisted = opts.store.load();
    if (opts.roomName && roomNameWins(opts.roomName, this.persisted.roomName)) {
      this.persisted.roomName = opts.roomName;
      if (opts.roomName.lamport > 0) opts.store.record({ op: 'roomName', record: opts.roomName }, this.persisted);
    }
    const send = (to: Route, data: Buffer, ttl?: number) => {
      if (to.relay) {
        if (!this.turn?.sendTo(to, data, this.lastNow)) this.stats.relayUnavailable++;
        return;
      }
      this.outgoing.push({ to: { address: to.address, port: to.port }, data, via: to.via ?? 0, ...(ttl !== undefined ? { ttl } : {}) });
    };
    this.rawSend = send;
    const sendBulk = (to: Route, data: Buffer) => {
      if (to.relay) send(to, data); // the relay paces by itself
      else this.bulk.push({ to: { address: to.address, port: to.port }, data, via: to.via ?? 0 });
    };
    const random = opts.random ?? cryptoRandom;
    this.ctx = {
      random,
      self: opts.identity,
      selfName: () => this.opts.name,
      selfHint: this.selfHint,
      psk: opts.psk,
      // Binds every handshake to this protocol version and this room (a DM: the pair's conversation id).
      prologue: Buffer.concat([Buffer.from('p2p-chat/1 '), opts.roomId]),
      // A DM pins the one member's key before any packet: KKpsk0, data in handshake message 1.
      kk: opts.onlyPeer !== undefined && opts.discovery === 'external',
      features: opts.features ?? APP_FEATURES,
      keepaliveMs: opts.keepaliveMs ?? 15000,
      lostAfterMs: opts.lostAfterMs ?? 4 * (opts.keepaliveMs ?? 15000),
      punchTimeoutMs: opts.punchTimeoutMs ?? 15000,
      allocIndex: (link) => {
        let i: number;
        do i = random.int(1, 2 ** 32 - 1);
        while (this.byIndex.has(i));
        this.byIndex.set(i, link);
        return i;
      },
      releaseIndex: (i) => void this.byIndex.delete(i),
      send,
      sendBulk,
      relayAvailable: () => this.turnCreds !== undefined || this.turn?.relayedAddress !== undefined,
      selfNat: () =>
        this.natMapping === 'endpoint-independent' ? NatFlags.EndpointIndependent : this.natMapping === 'endpoint-dependent' ? NatFlags.EndpointDependent : NatFlags.Unknown,
      extraSockets: () => this.extraSocketCount,
      markDirty: (link) => void this.dirty.add(link),
      takeSprayBudget: (want, now) => {
        // A token bucket at the birthday rate with a burst of one tick's worth.
        const burst = BIRTHDAY.sprayPerSecond / 10;
        this.sprayTokens = Math.min(burst, this.sprayTokens + ((now - this.sprayRefilledAt) * BIRTHDAY.sprayPerSecond) / 1000);
        this.sprayRefilledAt = now;
        const granted = Math.max(0, Math.min(want, Math.floor(this.sprayTokens)));
        this.sprayTokens -= granted;
        return granted;
      },
    };
    this.rendezvous = new RendezvousClient(
      {
        server: opts.server,
        ...(opts.servers ? { servers: opts.servers } : {}),
        probePort: opts.probePort,
        roomId: opts.roomId,
        peerId: opts.identity.publicKey,
        name: () => this.opts.name,
        // Our relay address goes last, flagged, so peers can both reach it and tell it is a relay.
        hostCandidates: () => {
          const host = (opts.hostCandidates ?? (() => []))();
          const relayed = this.turn?.relayedAddress;
          return relayed ? [...host.slice(0, 7), relayed] : host;
        },
        extraFlags: () => (this.turn?.relayedAddress ? NatFlags.RelayCandidate : 0),
        send,
      },
      {
        welcome: (observed, members, turn, now) => {
          this.rendezvousTrouble = undefined;
          if (turn) this.turnCreds = turn;
          const before = this.observed;
          this.observed = observed;
          if (before && endpointKey(before) !== endpointKey(observed)) {
            // Our NAT mapping changed under us (a flushed or rebooted NAT, a new address): every session still
            // aimed at the old one is broken. Probe now, and re-check whether the NAT still maps the same way.
            this.log('info', `our public address changed: ${endpointKey(before)} → ${endpointKey(observed)}`);
            for (const link of this.links.values()) link.suspect(now, 'our public address changed', true);
            this.rendezvous.reclassify(now);
          }
          this.events.registered?.(observed);
          this.log('debug', `registered as ${endpointKey(observed)}; ${members} member(s) in the room`);
          if (this.rosterOpen) {
            // Each welcome lists the whole room again, so counting restarts: a lost `peer` record is made good
            // by the next refresh, and a member who left meanwhile is no longer counted.
            this.rosterExpected = Math.max(0, members - 1);
            this.rosterNamed.clear();
            this.checkRoster(this.lastNow);
          }
          this.update();
        },
        peer: (m, joined, now) => this.onMemberRecord(m, joined, now),
        left: (peerId) => {
          const link = this.links.get(peerId.toString('hex'));
          if (link) this.log('info', `${link.remoteName} left the rendezvous`);
          this.update();
        },
        error: (code, message) => {
          if (code === ErrorCode.SharedStateUnavailable) {
            // A notice: we are registered; only members on the server's other instances are out of reach for now.
            this.log('warn', `the rendezvous says: ${message}`);
            return;
          }
          this.rendezvousTrouble = rendezvousRefusal(code, message);
          this.log('warn', `${this.rendezvousTrouble.reason} (server: code ${code}, "${message}")`);
          this.update();
        },
        unreachable: (ms) => {
          this.rendezvousTrouble = rendezvousSilence(endpointKey(this.rendezvous.server), ms);
          this.log('warn', this.rendezvousTrouble.reason);
          this.update();
        },
        instance: (server, position) => {
          this.log('info', `rendezvous: now using instance ${endpointKey(server)} (rank ${position + 1} of ${this.rendezvous.instances.length})`);
        },
        nat: (mapping, observed) => {
          this.natMapping = mapping;
          for (const link of this.links.values()) {
            link.strategyChanged(this.lastNow);
            if (link.strategy === 'relay') this.ensureRelay(this.lastNow);
          }
          this.log('info', `NAT mapping: ${mapping} (${observed.map(endpointKey).join(', ')})`);
          this.events.nat?.(mapping);
        },
      },
    );
    if (opts.mailbox !== false) this.mailbox = attachRoomMailbox(this, this.mailboxAccess(), opts.mailbox === true ? {} : (opts.mailbox ?? {}));
  }

  /** What the mailbox hook (core/mailbox/roomHook.ts) may see and do: the outbox, links, the two delivery paths' shared rules. */
  private mailboxAccess() {
    return {
      identity: this.opts.identity,
      // A direct message (one pinned peer) has the pair's mailboxes, sealed to the contact's key.
      scheme: this.opts.onlyPeer ? dmScheme(this.opts.identity, this.opts.onlyPeer) : roomScheme(this.opts.psk),
      server: this.opts.server,
      wall: () => this.wall(),
      cookie: () => this.opts.mailboxCookie?.() ?? this.rendezvous.currentCookie,
      // To the instance we are registered with: the cookie is its own (several instances share the store).
      send: (data: Buffer) => this.outgoing.push({ to: this.opts.mailboxServer?.() ?? this.rendezvous.server, data, via: 0 }),
      state: () => this.persisted,
      accept: (hex: string, name: string, payload: Buffer) => this.acceptChat(hex, name, payload, true),
      received: (hex: string, epoch: number, seq: number) => this.memberReceived(hex, epoch, seq),
      events: () => this.events,
      log: (level: 'debug' | 'info' | 'warn', message: string) => this.log(level, message),
    };
  }

  private log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void {
    this.opts.log?.(level, message);
  }

  get name(): string {
    return this.opts.name;
  }

  setName(name: string): void {
    this.opts.name = name;
  }

  /** The room's name as this member has it now (undefined: never named). */
  get roomName(): RoomNameRecord | undefined {
    return this.persisted.roomName;
  }

  /**
   * Renames the room for everyone: a record after every one we have seen, kept, and sent to each member
   * whose link is up (the others get it when their link comes up). Throws on an empty name.
   */
  rename(name: string, now: number): RoomNameRecord {
    this.lastNow = now;
    const record = renameRecord(this.persisted.roomName, name, this.selfId, this.wall());
    this.persisted.roomName = record;
    this.record({ op: 'roomName', record });
    const payload = encodeRoomName(record);
    for (const link of this.links.values()) if (this.inFlight.has(link)) link.send(payload, now);
    this.events.roomName?.(record);
    return record;
  }

  /** A member's record: kept if it wins (the same rule on every member, so all end with the same name). */
  private onRoomName(link: PeerLink, payload: Buffer): void {
    const d = decodeRoomName(payload);
    if (!d.ok) {
      this.stats.droppedMalformed++;
      this.log('debug', `dropped a malformed room name from ${link.remoteName}: ${d.error}`);
      return;
    }
    const { record, changed } = mergeRoomName(this.persisted.roomName, d.value);
    if (!changed) return;
    this.persisted.roomName = record;
    this.record({ op: 'roomName', record });
    this.events.roomName?.(record, { peerId: link.remoteHex, name: link.remoteName });
  }

  start(now: number): void {
    this.state = { kind: 'registering', server: endpointKey(this.rendezvous.server) };
    if (this.opts.discovery !== 'external') this.rendezvous.start(now);
    this.update();
  }

  /** Introduce a member found elsewhere (discovery 'external'): as if the rendezvous had announced it. */
  meet(m: MemberRecord, now: number): void {
    this.lastNow = now;
    if (!this.closed) this.onMemberRecord(m, true, now);
  }

  // ---- members and links -----------------------------------------------------------------------

  private onMemberRecord(m: MemberRecord, joined: boolean, now: number): void {
    if (m.peerId.equals(this.opts.identity.publicKey)) return;
    if (this.opts.onlyPeer && !m.peerId.equals(this.opts.onlyPeer)) {
      this.log('error', `refused a member with key ${fingerprint(m.peerId)}: this conversation is only with ${fingerprint(this.opts.onlyPeer)}`);
      return;
    }
    const hex = m.peerId.toString('hex');
    if (this.rosterOpen && !joined) this.rosterNamed.add(hex);
    this.addMember(m, joined, now);
    // After the link exists: a message owed to this member can go out on it as soon as it is up.
    if (this.rosterOpen) {
      const first = !this.rosterSeen.has(hex);
      this.rosterSeen.add(hex);
      // Already in the room when we registered (joined = 0): open messages are owed to it too. A member
      // announced as joining came after our registration, hence after any message still open.
      if (first && !joined) this.oweOpenEntries(hex, now);
      this.checkRoster(now);
    }
  }

  private addMember(m: MemberRecord, joined: boolean, now: number): void {
    const hex = m.peerId.toString('hex');
    let link = this.links.get(hex);
    if (!link && this.links.size >= MAX_ROOM_LINKS) {
      // Each link punches every candidate it is given: unbounded links would let a rendezvous aim us at anyone.
      if (!this.tooManyMembersLogged) this.log('warn', `the rendezvous announced more than ${MAX_ROOM_LINKS} other members; ignoring the rest`);
      this.tooManyMembersLogged = true;
      return;
    }
    if (!link || link.phase === 'closed') {
      if (link) this.dropLink(link);
      link = new PeerLink(this.ctx, this.linkEvents, m.peerId, peerHint(this.opts.roomId, m.peerId), m.name);
      this.links.set(hex, link);
      this.byHint.set(link.remoteHint.toString('hex'), link);
      this.log('info', `${joined ? 'joined' : 'member'}: ${m.name} ${endpointKey(m.reflexive)}`);
      if (link.acceptsEarly) {
        // KK initiator: queue the outbox now, before punching starts, so its first packet rides in message 1.
        this.inFlight.set(link, new Map());
        this.flushOutboxTo(link, now);
      }
    } else if (!link.established && !link.remoteName) {
      link.remoteName = m.name;
    }
    const moved = link.reflexive !== undefined && endpointKey(link.reflexive) !== endpointKey(m.reflexive);
    link.setRemoteNat(m.flags ?? 0, m.reflexive, m.candidates, now);
    this.turn?.permit(m.reflexive, now);
    if (link.strategy === 'relay') this.ensureRelay(now);
    // The reflexive address first: it is the one that works across NATs; host addresses cover hairpin-less NATs.
    link.addCandidates([m.reflexive, ...m.candidates], now);
    // The member's NAT mapping changed: our session may point at its old address. Probe the new one now.
    if (moved) link.suspect(now, `${link.remoteName}'s public address changed`, true);
    if (joined && link.phase === 'failed') link.startPunching(now);
    this.update();
  }

  /** Add `hex` to every open outbox entry, and send at once if its link is already up. */
  private oweOpenEntries(hex: string, now: number): void {
    const link = this.links.get(hex);
    for (const entry of this.persisted.outbox) {
      if (!entry.pending.includes(ROSTER) || entry.pending.includes(hex)) continue;
      entry.pending = [...entry.pending, hex];
      this.record({ op: 'pending', seq: entry.seq, pending: entry.pending });
      if (link && this.transmit(link, entry, now)) this.events.delivery?.(messageId(this.selfId, this.persisted.epoch, entry.seq), 'sent');
    }
  }

  /** The rendezvous has named everyone its welcome counted: open entries now owe exactly the members they list. */
  private checkRoster(now: number): void {
    if (!this.rosterOpen || this.rosterExpected < 0 || this.rosterNamed.size < this.rosterExpected) return;
    this.rosterOpen = false;
    const alone = this.rosterExpected === 0;
    for (const entry of [...this.persisted.outbox]) {
      if (!entry.pending.includes(ROSTER)) continue;
      const rest = entry.pending.filter((p) => p !== ROSTER);
      if (rest.length > 0) {
        entry.pending = rest;
        this.record({ op: 'pending', seq: entry.seq, pending: rest });
      } else if (alone) {
        // The rendezvous said the room was empty: written while alone, it goes to whoever comes first.
        const up = [...this.links.values()].find((l) => this.inFlight.has(l));
        entry.pending = [up ? up.remoteHex : ANYONE];
        this.record({ op: 'pending', seq: entry.seq, pending: entry.pending });
        if (up && this.transmit(up, entry, now)) this.events.delivery?.(messageId(this.selfId, this.persisted.epoch, entry.seq), 'sent');
      } else {
        // Everyone it was owed to has acknowledged it already.
        this.finish(entry.seq, 'delivered');
      }
    }
  }

  private dropLink(link: PeerLink): void {
    this.byHint.delete(link.remoteHint.toString('hex'));
    this.inFlight.delete(link);
  }

  private readonly linkEvents: LinkEvents = {
    established: (link, { first, carried }) => {
      this.log('info', `${first ? 'connected to' : 're-established with'} ${link.remoteName} at ${endpointKey(link.endpoint!)}`);
      // A new (or restarted) peer has not heard that we are away; "online" is what it assumes.
      if (this.selfAway) link.sendEphemeral(encodeEphemeral({ type: 'presence', away: true }), this.lastNow);
      // The room's name as we hold it: a member who missed a rename (offline, or joined since) converges.
      const roomName = this.persisted.roomName;
      if (roomName && roomName.lamport > 0) link.send(encodeRoomName(roomName), this.lastNow);
      // carried: the session took over the channel the outbox was already queued in (KK, data in message 1).
      if (!carried || !this.inFlight.has(link)) {
        this.inFlight.set(link, new Map());
        this.flushOutboxTo(link, this.lastNow);
      }
      this.update();
    },
    verified: (link) => {
      this.everConnected = true;
      if (!this.safety.has(link.remoteHex)) this.safetyDueAt = Math.min(this.safetyDueAt, this.lastNow + SAFETY_DELAY_MS);
      const ep = link.endpoint;
      this.events.link?.({
        peerId: link.remoteHex,
        name: link.remoteName,
        endpoint: ep ? `${endpointKey(ep)}${ep.via ? ` via socket ${ep.via}` : ''}` : '',
        path: link.path,
        strategy: link.strategy,
        handshakes: link.stats.handshakes,
      });
      this.update();
    },
    message: (link, payload) => this.onAppMessage(link, payload),
    file: (link, frame, now) => this.files?.frame(link.remoteHex, frame, now),
    acked: (link, handle) => this.onAcked(link, handle),
    ephemeral: (link, payload, now) => {
      const d = decodeEphemeral(payload);
      if (!d.ok) return;
      if (d.value.type === 'typing') {
        if (d.value.typing) this.typingUntil.set(link.remoteHex, now + TYPING_TTL_MS);
        else this.typingUntil.delete(link.remoteHex);
        this.events.typing?.(link.remoteHex, link.remoteName, d.value.typing);
      } else {
        if (d.value.away) this.away.add(link.remoteHex);
        else this.away.delete(link.remoteHex);
        this.update();
      }
    },
    lost: (link, reason) => {
      this.log('warn', `lost ${link.remoteName}: ${reason}`);
      this.inFlight.delete(link);
      // Ask the rendezvous at once (the peer may have a new address by now), and re-check our own NAT:
      // if its mapping behaviour changed, both sides need a different strategy.
      this.rendezvous.refreshNow(this.lastNow);
      this.rendezvous.reclassify(this.lastNow);
      this.update();
    },
    suspect: (link, why) => {
      this.log('debug', `checking the path to ${link.remoteName}: ${why}`);
      // Fresh addresses (ours as the rendezvous sees it, the member's) are what a changed mapping needs. At most
      // one refresh a second for all links; one asked for sooner is deferred, not dropped.
      this.suspectRefreshAt = Math.min(this.suspectRefreshAt, Math.max(this.lastNow, this.lastSuspectRefresh + SUSPECT_REFRESH_GAP_MS));
      this.refreshIfDue(this.lastNow);
    },
    failed: (link, reason) => {
      this.log('warn', `could not reach ${link.remoteName}: ${reason} (our NAT mapping: ${this.natMapping})`);
      this.rendezvous.reclassify(this.lastNow);
      // No hole could be punched: fall back to a relay, then punch again (the peer learns our relay address).
      if (this.ensureRelay(this.lastNow) && this.turn?.relayedAddress) link.startPunching(this.lastNow);
      this.update();
    },
  };

  // ---- inbound datagrams -----------------------------------------------------------------------

  private lastNow = 0;

  receive(data: Buffer, from: Route, now: number): void {
    this.lastNow = now;
    if (this.closed) return;
    const kind = classify(data);
    if (kind !== 'p2p') {
      if ((kind === 'stun' || kind === 'channeldata') && this.turn?.isFromServer(from) && !from.relay) {
        const inner = this.turn.handle(data, from, now);
        // What a peer sent to our relay address: handle it as if it came from the peer, marked relayed.
        if (inner) this.receive(inner.data, { ...inner.peer, relay: true }, now);
        return;
      }
      this.stats.droppedForeign++;
      return;
    }
    const type = data[2];
    if (isMailboxType(type)) {
      if (this.rendezvous.isServer(from) && (from.via ?? 0) === 0 && !from.relay) this.mailbox?.receive(data, now);
      else this.stats.droppedForeign++;
      return;
    }
    if (type < MsgType.Hello) {
      if (!this.rendezvous.isServer(from) || (from.via ?? 0) !== 0 || from.relay) {
        this.stats.droppedForeign++; // rendezvous messages count only from the rendezvous
        return;
      }
      const m = decodeRendezvous(data);
      if (!m.ok) {
        this.stats.droppedMalformed++;
        return;
      }
      this.rendezvous.handle(m.value, from, now);
      return;
    }
    const p = decodePeer(data);
    if (!p.ok) {
      this.stats.droppedMalformed++;
      return;
    }
    const pkt = p.value;
    if (pkt.type === 'hello') {
      if (!pkt.receiverHint.equals(this.selfHint)) {
        this.stats.droppedUnknownPeer++;
        return;
      }
      const link = this.byHint.get(pkt.senderHint.toString('hex'));
      if (!link || link.phase === 'closed') {
        this.stats.droppedUnknownPeer++;
        // Someone in our room (the receiver hint is ours) whom the rendezvous has not introduced yet: its
        // push may have been lost. Ask now rather than at the next refresh, at most every 2 s.
        if (now - this.lastAskedForMembers >= 2000) {
          this.lastAskedForMembers = now;
          this.rendezvous.refreshNow(now);
        }
        return;
      }
      link.onHello(pkt, from, now);
    } else {
      const link = this.byIndex.get(pkt.receiver);
      if (!link) {
        this.stats.droppedUnknownPeer++;
        return;
      }
      if (pkt.type === 'reply') link.onReply(pkt, from, now);
      else if (pkt.type === 'confirm') link.onConfirm(pkt, from, now);
      else link.onData(pkt, from, now);
    }
    this.update(false); // the hot path: member changes arrive through link events, which update fully
  }

  private refreshIfDue(now: number): void {
    if (now < this.suspectRefreshAt) return;
    this.suspectRefreshAt = Infinity;
    this.lastSuspectRefresh = now;
    this.rendezvous.refreshNow(now);
  }

  private refreshWhilePunching(now: number): void {
    let punching = false;
    for (const link of this.links.values()) if (link.phase === 'punching' && !link.established) punching = true;
    if (!punching) this.punchRefreshAt = Infinity;
    else if (this.punchRefreshAt === Infinity) this.punchRefreshAt = now + PUNCH_REFRESH_MS;
    else if (now >= this.punchRefreshAt) {
      this.punchRefreshAt = now + PUNCH_REFRESH_MS;
      this.rendezvous.refreshNow(now);
    }
  }

  tick(now: number): void {
    this.lastNow = now;
    if (this.closed) return;
    this.refreshIfDue(now);
    this.refreshWhilePunching(now);
    this.rendezvous.tick(now);
    this.turn?.tick(now);
    for (const link of this.links.values()) link.tick(now);
    for (const [peer, until] of this.typingUntil) {
      if (until <= now) {
        this.typingUntil.delete(peer);
        this.events.typing?.(peer, this.links.get(peer)?.remoteName ?? '', false);
      }
    }
    if (now >= this.safetyDueAt) this.computeSafetyNumbers();
    this.mailbox?.tick(now);
    this.update(this.membersDirty);
  }

  nextWakeup(): number {
    let t = Math.min(this.rendezvous.nextWakeup(), this.turn?.nextWakeup() ?? Infinity, this.suspectRefreshAt, this.punchRefreshAt);
    for (const link of this.links.values()) t = Math.min(t, link.nextWakeup());
    for (const until of this.typingUntil.values()) t = Math.min(t, until);
    return Math.min(t, this.safetyDueAt, this.dirty.size ? this.lastNow : Infinity, this.mailbox?.nextWakeup() ?? Infinity);
  }

  /**
   * Start a TURN allocation if the rendezvous handed out credentials. Returns false when no relay can be had.
   * Once allocated, every member's address is permitted and the relay address is published with our
   * next registration, which makes the rendezvous push it to every member.
   */
  ensureRelay(now: number): boolean {
    if (this.turn && this.turn.state !== 'failed' && this.turn.state !== 'closed') return true;
    const creds = this.turnCreds;
    if (!creds) {
      this.relayTrouble = 'no relay is configured on the rendezvous server';
      return false;
    }
    const turn = new TurnClient({ server: creds.server, username: creds.username, password: creds.password, send: (to, data) => this.rawSend(to, data), maxTransmissions: 5 });
    this.turn = turn;
    this.relayTrouble = undefined;
    turn.onAllocated = (relayed) => {
      this.log('info', `relay allocated at ${endpointKey(relayed)} on ${endpointKey(creds.server)}`);
      for (const link of this.links.values()) if (link.reflexive) turn.permit(link.reflexive, this.lastNow);
      this.rendezvous.refreshNow(this.lastNow);
      for (const link of this.links.values()) if (link.phase === 'failed' || link.phase === 'punching') link.startPunching(this.lastNow);
      this.update();
    };
    turn.onError = (reason, fatal) => {
      this.log('warn', `relay ${endpointKey(creds.server)}: ${reason}`);
      if (fatal) {
        this.relayTrouble = `the relay failed: ${reason}`;
        this.update();
      }
    };
    this.log('info', `allocating a relay on ${endpointKey(creds.server)}`);
    turn.start(now);
    return true;
  }

  /** Relay credentials from elsewhere (discovery 'external': the topic ack carries them, not a welcome). */
  setTurnCredentials(creds: TurnCredentials): void {
    this.turnCreds = creds;
  }

  get relayedAddress(): Endpoint | undefined {
    return this.turn?.relayedAddress;
  }

  /**
   * Extra sockets the room wants the shell to hold open: the birthday set while a link punches from
   * behind our symmetric NAT, and any socket a live session still runs over.
   */
  wantedSockets(): number {
    let want = 0;
    for (const link of this.links.values()) {
      if (link.phase === 'punching' && link.strategy === 'sockets') want = Math.max(want, BIRTHDAY.sockets);
      want = Math.max(want, link.endpoint?.via ?? 0);
    }
    return want;
  }

  /** The shell reports how many extra sockets exist now (their indices are 1..n). */
  setExtraSockets(n: number): void {
    this.extraSocketCount = n;
  }

  /**
   * Everything sent since the last batch goes out now, packed (many small messages, few datagrams), then
   * at most `maxBulk` datagrams of file pieces: the shell passes a bound and calls again on a later turn
   * while `bulkPending`, so what waits ahead of the socket is bounded and chat always goes first.
   */
  takeOutgoing(maxBulk = Infinity): Outgoing[] {
    for (const link of this.dirty) link.flush(this.lastNow);
    this.dirty.clear();
    const out = this.outgoing.splice(0, this.outgoing.length);
    const end = Math.min(this.bulk.length, this.bulkHead + maxBulk);
    for (; this.bulkHead < end; this.bulkHead++) out.push(this.bulk[this.bulkHead]);
    if (this.bulkHead === this.bulk.length) {
      this.bulk = [];
      this.bulkHead = 0;
    } else if (this.bulkHead > 1024) {
      this.bulk = this.bulk.slice(this.bulkHead);
      this.bulkHead = 0;
    }
    return out;
  }

  /** Datagrams of file pieces still held back by takeOutgoing's bound. */
  get bulkPending(): number {
    return this.bulk.length - this.bulkHead;
  }

  // ---- chat ------------------------------------------------------------------------------------

  private wall(): number {
    return (this.opts.wallClock ?? Date.now)();
  }

  private record(op: RoomOp): void {
    this.opts.store.record(op, this.persisted);
  }

  /**
   * Queue a message for every member, persist it, and send it on every live link. Throws a
   * BodyRejectedError, before queuing anything, for a body a receiver would refuse (one rule: checkBody).
   */
  send(body: ChatBody, now: number): ChatMessage {
    this.lastNow = now;
    assertSendable(body);
    const members = [...this.links.keys()];
    // Alone only if the rendezvous said so; before that, owed to whoever it will name as already here.
    const pending = this.rosterOpen ? [...members, ROSTER] : members.length ? members : [ANYONE];
    const entry: OutboxEntry = { seq: this.persisted.nextSeq++, sentAt: this.wall(), body, pending };
    this.persisted.outbox.push(entry);
    this.record({ op: 'add', entry });
    this.mailbox?.sent(entry);
    const id = messageId(this.selfId, this.persisted.epoch, entry.seq);
    this.events.delivery?.(id, 'queued');
    let sent = false;
    for (const link of this.links.values()) if (entry.pending.includes(link.remoteHex)) sent = this.transmit(link, entry, now) || sent;
    if (sent) this.events.delivery?.(id, 'sent');
    return { id, from: this.selfId, fromName: this.opts.name, sentAt: entry.sentAt, body };
  }

  private transmit(link: PeerLink, entry: OutboxEntry, now: number): boolean {
    const map = this.inFlight.get(link);
    if (!map) return false;
    // Encoded for what this session's peer announced it decodes (§4.6): ChatText for a text, else JSON.
    const handle = link.send(encodeChatFor(link.remoteFeatures, { epoch: this.persisted.epoch, seq: entry.seq, sentAt: entry.sentAt, body: entry.body }), now);
    if (handle === undefined) return false;
    map.set(handle, entry.seq);
    return true;
  }

  private flushOutboxTo(link: PeerLink, now: number): void {
    for (const entry of this.persisted.outbox) {
      // Messages written while alone go to whoever connects first.
      if (entry.pending.length === 1 && entry.pending[0] === ANYONE) {
        entry.pending = [link.remoteHex];
        this.record({ op: 'pending', seq: entry.seq, pending: entry.pending });
      }
      if (!entry.pending.includes(link.remoteHex)) continue;
      if (this.transmit(link, entry, now)) this.events.delivery?.(messageId(this.selfId, this.persisted.epoch, entry.seq), 'sent');
    }
  }

  private onAcked(link: PeerLink, handle: number): void {
    const map = this.inFlight.get(link);
    const seq = map?.get(handle);
    if (seq === undefined) return;
    map!.delete(handle);
    const outbox = this.persisted.outbox;
    // Acks mostly arrive in order, for the oldest entry: check it before searching.
    const i = outbox.length && outbox[0].seq === seq ? 0 : outbox.findIndex((e) => e.seq === seq);
    if (i < 0) return;
    this.settle(i, link.remoteHex);
  }

  /**
   * A receipt through the mailbox: `member` has shown every message of ours up to `seq` (this epoch).
   * "Whoever connects first" counts as that member, as it would for the first link.
   */
  private memberReceived(member: string, epoch: number, seq: number): void {
    if (epoch !== this.persisted.epoch) return;
    for (let i = 0; i < this.persisted.outbox.length; ) {
      const e = this.persisted.outbox[i];
      if (e.seq > seq) break;
      const before = this.persisted.outbox.length;
      if (e.pending.includes(member) || (e.pending.length === 1 && e.pending[0] === ANYONE)) this.settle(i, e.pending.includes(member) ? member : ANYONE);
      if (this.persisted.outbox.length === before) i++;
    }
  }

  /** `member` has the outbox entry at index `i`: drop it from the pending set; delivered when none is left. */
  private settle(i: number, member: string): void {
    const entry = this.persisted.outbox[i];
    const seq = entry.seq;
    entry.pending = entry.pending.filter((p) => p !== member);
    if (entry.pending.length === 0) this.finish(seq, 'delivered');
    else this.record({ op: 'pending', seq, pending: entry.pending });
  }

  /** Take an entry out of the outbox for good and tell the UI how it ended: refused by anyone is 'rejected'. */
  private finish(seq: number, state: DeliveryState): void {
    const i = this.persisted.outbox.findIndex((e) => e.seq === seq);
    if (i < 0) return;
    const [entry] = this.persisted.outbox.splice(i, 1);
    this.record({ op: 'remove', seq });
    if (entry.rejected) this.events.delivery?.(messageId(this.selfId, this.persisted.epoch, seq), 'rejected', entry.rejected);
    else this.events.delivery?.(messageId(this.selfId, this.persisted.epoch, seq), state);
  }

  /** A member refused one of our messages. Its Reject precedes the transport ack covering the message. */
  private onRejected(link: PeerLink, r: RejectMessage): void {
    if (r.epoch !== this.persisted.epoch || r.seq >= this.persisted.nextSeq) return; // not a message of ours
    const reason = `${link.remoteName || link.remoteHex.slice(0, 8)} refused it: ${rejectText(r.reason)}`;
    const id = messageId(this.selfId, this.persisted.epoch, r.seq);
    this.log('warn', `message ${id}: ${reason}`);
    const entry = this.persisted.outbox.find((e) => e.seq === r.seq);
    if (!entry) {
      // Already settled (its ack overtook the Reject): the mark is corrected, never left at 'delivered'.
      this.events.delivery?.(id, 'rejected', reason);
      return;
    }
    if (!entry.rejected) {
      entry.rejected = reason;
      this.record({ op: 'rejected', seq: r.seq, reason });
      this.events.delivery?.(id, 'rejected', reason);
    }
    entry.pending = entry.pending.filter((p) => p !== link.remoteHex);
    if (entry.pending.length === 0) this.finish(r.seq, 'rejected');
    else this.record({ op: 'pending', seq: r.seq, pending: entry.pending });
  }

  /** We refuse a message from `link`: tell its sender (reliably, in order, before our ack), never show it. */
  private refuse(link: PeerLink, epoch: number, seq: number, reason: RejectReason, now: number): void {
    this.stats.refused++;
    this.log('warn', `refused a message from ${link.remoteName}: ${rejectText(reason)}`);
    link.send(encodeReject({ epoch, seq, reason }), now);
  }

  private onAppMessage(link: PeerLink, payload: Buffer): void {
    if (payload[0] === ROOM_NAME_APP_TYPE) return this.onRoomName(link, payload);
    this.acceptChat(link.remoteHex, link.remoteName, payload, false);
  }

  /**
   * One chat message from either path: a direct link (in order, reliable) or the mailbox. The same
   * watermark decides for both, so each message id is shown once whichever path (or both) brought it.
   */
  private acceptChat(sender: string, senderName: string, payload: Buffer, viaMailbox: boolean): boolean {
    const d = decodeApp(payload);
    if (!d.ok) {
      this.stats.droppedMalformed++;
      this.log('debug', `dropped a malformed message from ${senderName}: ${d.error}`);
      return false;
    }
    if (d.value.type === 'reject') {
      // Rejects travel only on a direct link (see refuse()); one out of a mailbox is nobody's to act on.
      const from = this.links.get(sender);
      if (from && !viaMailbox) this.onRejected(from, d.value);
      return false;
    }
    const { epoch, seq } = d.value;
    const mark = this.persisted.delivered[sender];
    if (mark && mark.epoch === epoch && seq <= mark.seq) {
      this.stats.duplicatesSuppressed++; // resent after a reconnect, or brought by both paths: already shown (or refused) once
      return false;
    }
    // While a verified link to the sender is up, it brings everything in order: a mailbox copy that would skip
    // ahead of it waits for the link (moving the watermark past a message still in flight would lose it).
    if (viaMailbox && mark && mark.epoch === epoch && seq !== mark.seq + 1 && this.links.get(sender)?.verified) return false;
    if (d.value.type === 'refused') {
      // Told on the direct link when there is one; a refusal out of the mailbox is only logged (known limit:
      // a later mailbox receipt covers it, docs/PROTOCOL.md §8.3).
      const from = this.links.get(sender);
      if (from) this.refuse(from, epoch, seq, d.value.reason, this.lastNow);
      else this.log('warn', `refused a message from ${senderName} that came through the mailbox: ${rejectText(d.value.reason)}`);
      // Handled for good: a copy resent after a reconnect is a duplicate, not a second refusal.
      this.persisted.delivered[sender] = { epoch, seq };
      this.record({ op: 'delivered', sender, epoch, seq });
      return false;
    }
    const { sentAt, body } = d.value;
    this.typingUntil.delete(sender);
    // The app stores the message first, then the watermark, and both before the ack this return allows:
    // a crash in between can at worst show a message twice (the UI's history dedupes by id), never lose one.
    const link = this.links.get(sender);
    this.events.message?.({ id: messageId(sender, epoch, seq), from: sender, fromName: link?.remoteName || senderName, sentAt, body });
    this.persisted.delivered[sender] = { epoch, seq };
    this.record({ op: 'delivered', sender, epoch, seq });
    return true;
  }

  /** Messages we still owe someone, oldest first: for the UI's delivery marks after a restart. */
  pendingMessages(): ChatMessage[] {
    return this.persisted.outbox.map((e) => ({
      id: messageId(this.selfId, this.persisted.epoch, e.seq),
      from: this.selfId,
      fromName: this.opts.name,
      sentAt: e.sentAt,
      body: e.body,
    }));
  }

  setTyping(typing: boolean, now: number): void {
    const payload = encodeEphemeral({ type: 'typing', typing });
    for (const link of this.links.values()) link.sendEphemeral(payload, now);
  }

  setAway(away: boolean, now: number): void {
    this.selfAway = away;
    const payload = encodeEphemeral({ type: 'presence', away });
    for (const link of this.links.values()) link.sendEphemeral(payload, now);
  }

  leave(now: number): void {
    this.bulk = []; // pieces nobody will acknowledge; the close frames must not wait behind them
    this.bulkHead = 0;
    for (const link of this.links.values()) link.close(now, 'left the room');
    this.rendezvous.leave();
    this.turn?.close(now);
    this.opts.store.close?.();
    this.closed = true;
    this.state = { kind: 'idle' };
    this.events.state?.(this.state);
  }

  // ---- derived state ---------------------------------------------------------------------------

  members(): MemberInfo[] {
    const out: MemberInfo[] = [];
    for (const link of this.links.values()) {
      const sn = this.safety.get(link.remoteHex);
      const up = link.verified;
      out.push({
        peerId: link.remoteHex,
        name: link.remoteName,
        presence: up ? (this.away.has(link.remoteHex) ? 'away' : 'online') : 'offline',
        ...(up ? { path: link.path } : {}),
        ...(sn ? { safetyNumber: sn } : {}),
        fingerprint: fingerprint(link.remoteId),
      });
    }
    return out;
  }

  private computeSafetyNumbers(): void {
    this.safetyDueAt = Infinity;
    for (const link of this.links.values()) {
      if (link.verified && !this.safety.has(link.remoteHex)) {
        this.safety.set(link.remoteHex, safetyNumber(this.opts.identity.publicKey, link.remoteId));
        this.membersDirty = true;
      }
    }
  }

  /** File transfers hook in here (core/transfer/transferHost.ts); the room only routes their frames. */
  files?: { frame(peerHex: string, frame: FileFrame, now: number): void };

  /** Members whose link is verified right now (hex ids). */
  verifiedPeers(): string[] {
    const out: string[] = [];
    for (const [hex, link] of this.links) if (link.verified) out.push(hex);
    return out;
  }

  /** File frames to one member over its verified link; false when it has none. */
  sendFileFrames(peerHex: string, frames: readonly FileFrame[], maxInner: number, now: number): boolean {
    const link = this.links.get(peerHex);
    if (!link || !link.verified) return false;
    return link.sendFileFrames(frames, maxInner, now);
  }

  linkFor(peerHex: string): PeerLink | undefined {
    return this.links.get(peerHex);
  }

  private computeState(): ConnectionState {
    if (this.closed) return { kind: 'idle' };
    const links = [...this.links.values()];
    const up = links.filter((l) => l.verified).length;
    if (up > 0) {
      const relayed = links.some((l) => l.verified && l.path === 'relayed');
      return { kind: 'connected', path: relayed ? 'relayed' : 'direct', peers: up };
    }
    const trying = links.filter((l) => l.phase === 'punching' || (l.established && !l.verified)).length;
    if (trying > 0) {
      return this.everConnected ? { kind: 'reconnecting', reason: 'peer unreachable, trying again', attempt: 1 } : { kind: 'punching', peers: trying };
    }
    const failed = links.find((l) => l.phase === 'failed');
    if (failed) {
      return { kind: 'failed', reason: failed.failure ?? 'could not reach the other members', hint: this.failureHint(failed) };
    }
    if (this.rendezvousTrouble && !this.rendezvous.registered) {
      return { kind: 'failed', reason: this.rendezvousTrouble.reason, hint: this.rendezvousTrouble.hint };
    }
    if (this.rendezvous.registered || this.opts.discovery === 'external') return { kind: 'waiting', roomMembers: links.length + 1 };
    return { kind: 'registering', server: endpointKey(this.rendezvous.server) };
  }

  /** Blame a relay only when one was needed (both NATs symmetric) or was actually used and failed. */
  private failureHint(link: PeerLink): string {
    if (link.strategy === 'relay') {
      return this.relayTrouble && !this.turnCreds
        ? 'Ask the rendezvous operator to enable a TURN relay (the server\'s --turn-server and --turn-secret options), or connect one of you from another network.'
        : `Only a relay can connect these two NATs${this.relayTrouble ? `, and ${this.relayTrouble}` : ''}. Retrying; or connect one of you from another network.`;
    }
    if (this.turn && this.relayTrouble) return `No direct path worked, and then ${this.relayTrouble}. Retrying; check that UDP is allowed.`;
    if (this.natMapping === 'endpoint-dependent') return 'Your NAT changes ports per destination (symmetric), which makes a direct path unlikely; a relay on the rendezvous server would help, or try another network.';
    return 'The other side may be offline or behind a strict firewall. Retrying; check that UDP is allowed.';
  }

  private update(members = true): void {
    if (members) this.membersDirty = true;
    const s = this.computeState();
    const sj = JSON.stringify(s);
    if (sj !== this.lastStateJson) {
      this.lastStateJson = sj;
      this.state = s;
      this.events.state?.(s);
    }
    if (this.events.members && this.membersDirty) {
      this.membersDirty = false;
      const m = this.members();
      const mj = JSON.stringify(m);
      if (mj !== this.lastMembersJson) {
        this.lastMembersJson = mj;
        this.events.members(m);
      }
    }
  }
}
