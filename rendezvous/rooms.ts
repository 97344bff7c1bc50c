// The room table: who is in which room, at which endpoint, until when. Pure: no sockets, no timers,
// the clock comes in as `now` (ms). Every operation returns the messages to send and to whom; the
// server shell only encodes and sends them. Rooms are keyed by the client-supplied room id, which
// is a hash of the room secret, so this table never sees anything that would let it join a room.
import { owned } from '../extension/core/wire/bytes';
import { Endpoint, sameEndpoint } from '../extension/core/wire/endpoint';
import {
  encodeMemberRecord,
  encodePeerWithRecord,
  encodeWelcomeWithRecords,
  ErrorCode,
  MemberRecord,
  RendezvousMessage,
  TurnCredentials,
  WELCOME_BUDGET_BYTES,
  welcomeHeadBytes,
  WelcomeHead,
} from '../extension/core/wire/rendezvous';

export interface RoomTableOptions {
  /** Members per room (the welcome's member count is one byte). */
  maxMembersPerRoom: number;
  maxRooms: number;
  /** Members over all rooms. */
  maxMembers: number;
  /** Members registered from one IP address over all rooms (many clients can share a NAT). */
  maxMembersPerAddress: number;
  /** What the welcome tells clients; members silent for `expiryMs` are dropped. */
  refreshSeconds: number;
  /** Default: three refresh intervals, so two lost refreshes in a row are survived. */
  expiryMs?: number;
  /** Adds TURN credentials to every welcome when configured. */
  turn?: (peerId: Buffer, now: number) => TurnCredentials | undefined;
  /**
   * Told of every membership change (never of a plain refresh), synchronously and after the table
   * changed: what shared state across instances (rendezvous/cluster/) mirrors.
   */
  observer?: RoomObserver;
}

export interface RoomObserver {
  /** Joined, moved or changed its record. `roomKey` is the room id in hex. */
  changed(roomKey: string, record: Readonly<MemberRecord>, encoded: Buffer, status: 'joined' | 'moved' | 'updated'): void;
  /** Left or expired. */
  removed(roomKey: string, peerId: Buffer): void;
  /** False while the shared state cannot be reached: joiners are told (ErrorCode.SharedStateUnavailable). */
  available?(): boolean;
}

export const DEFAULT_ROOM_OPTIONS: RoomTableOptions = {
  maxMembersPerRoom: 8,
  maxRooms: 10_000,
  maxMembers: 50_000,
  maxMembersPerAddress: 256,
  refreshSeconds: 15,
};

export interface Outgoing {
  to: Endpoint;
  message: RendezvousMessage;
  /**
   * `message` already encoded, when the table had its parts at hand (member records are encoded once
   * per change, not once per message). Always equal to encodeRendezvous(message).
   */
  bytes?: Buffer;
}

export interface RegisterRequest {
  roomId: Buffer;
  peerId: Buffer;
  name: string;
  /** The member's NatFlags; relayed verbatim, never interpreted here. */
  flags?: number;
  candidates: Endpoint[];
}

export type RegisterStatus = 'joined' | 'refreshed' | 'updated' | 'moved' | 'roomFull' | 'serverFull' | 'addressFull';

export interface RegisterResult {
  status: RegisterStatus;
  out: Outgoing[];
}

export type LeaveStatus = 'left' | 'unknown' | 'notOwner';

interface Member {
  room: Room;
  peerKey: string;
  /** Never mutated, only replaced: messages share it, and `encoded` must match it. */
  record: Readonly<MemberRecord>;
  encoded: Buffer;
  lastSeen: number;
}

interface Room {
  key: string;
  members: Map<string, Member>;
}

export interface RoomTableStats {
  rooms: number;
  members: number;
  joined: number;
  left: number;
  expired: number;
  moved: number;
  refused: Record<'roomFull' | 'serverFull' | 'addressFull', number>;
}

function newRecord(peerId: Buffer, req: RegisterRequest, from: Endpoint): MemberRecord {
  return { peerId, name: req.name, flags: req.flags ?? 0, reflexive: { ...from }, candidates: req.candidates.map((c) => ({ ...c })) };
}

function sameCandidates(a: Endpoint[], b: Endpoint[]): boolean {
  return a.length === b.length && a.every((e, i) => sameEndpoint(e, b[i]));
}

export class RoomTable {
  private readonly opts: RoomTableOptions;
  private readonly expiryMs: number;
  private readonly rooms = new Map<string, Room>();
  /** Every member, least recently refreshed first: expiry reads from the front and stops early. */
  // Oldest refresh first (insertion order): expiry stops at the first member that is still fresh.
  private readonly byAge = new Set<Member>();
  private readonly perAddress = new Map<string, number>();
  private readonly counters = { joined: 0, left: 0, expired: 0, moved: 0, roomFull: 0, serverFull: 0, addressFull: 0 };

  constructor(opts: Partial<RoomTableOptions> = {}) {
    this.opts = { ...DEFAULT_ROOM_OPTIONS, ...opts };
    const { maxMembersPerRoom, refreshSeconds } = this.opts;
    if (!(maxMembersPerRoom >= 2 && maxMembersPerRoom <= 255)) throw new RangeError('maxMembersPerRoom must be 2..255');
    if (!(refreshSeconds >= 1 && refreshSeconds <= 65535)) throw new RangeError('refreshSeconds must be 1..65535');
    this.expiryMs = this.opts.expiryMs ?? 3 * refreshSeconds * 1000;
  }

  get refreshSeconds(): number {
    return this.opts.refreshSeconds;
  }

  stats(): RoomTableStats {
    const c = this.counters;
    return {
      rooms: this.rooms.size,
      members: this.byAge.size,
      joined: c.joined,
      left: c.left,
      expired: c.expired,
      moved: c.moved,
      refused: { roomFull: c.roomFull, serverFull: c.serverFull, addressFull: c.addressFull },
    };
  }

  /** Where this table's members of a room (hex id) are, and their peer ids in hex (cluster pushes). */
  localMembers(roomKey: string): { peerKey: string; reflexive: Endpoint; record: Readonly<MemberRecord>; encoded: Buffer }[] {
    const room = this.rooms.get(roomKey);
    return room ? [...room.members.values()].map((m) => ({ peerKey: m.peerKey, reflexive: m.record.reflexive, record: m.record, encoded: m.encoded })) : [];
  }

  /** Every room (hex id) with members here. */
  roomKeys(): IterableIterator<string> {
    return this.rooms.keys();
  }

  /** The members of a room as the server would announce them (for tests and diagnostics). */
  members(roomId: Buffer): MemberRecord[] {
    const room = this.rooms.get(roomId.toString('hex'));
    return room ? [...room.members.values()].map((m) => m.record) : [];
  }

  /**
   * Register or refresh `req.peerId` in `req.roomId`, seen at `from`. The caller has already checked
   * the cookie: `from` is proven to receive. Replies go to `from`; pushes to the other members.
   */
  register(now: number, from: Endpoint, req: RegisterRequest): RegisterResult {
    const roomKey = req.roomId.toString('hex');
    const peerKey = req.peerId.toString('hex');
    let room = this.rooms.get(roomKey);
    let member = room?.members.get(peerKey);
    let status: RegisterStatus;

    if (!member) {
      const refused = this.admit(room, from);
      if (refused) {
        this.counters[refused]++;
        const message =
          refused === 'roomFull'
            ? { code: ErrorCode.RoomFull, text: `room is full (${this.opts.maxMembersPerRoom} members)` }
            : { code: ErrorCode.ServerFull, text: refused === 'addressFull' ? 'too many members from this address' : 'server is full' };
        return { status: refused, out: [{ to: from, message: { type: 'error', code: message.code, message: message.text } }] };
      }
      if (!room) {
        room = { key: roomKey, members: new Map() };
        this.rooms.set(roomKey, room);
      }
      const record = newRecord(owned(req.peerId), req, from);
      member = { room, peerKey, record, encoded: owned(encodeMemberRecord(record)), lastSeen: now };
      room.members.set(peerKey, member);
      this.addAddress(from.address, 1);
      this.counters.joined++;
      status = 'joined';
    } else {
      const r = member.record;
      const moved = !sameEndpoint(r.reflexive, from);
      const changed = !sameCandidates(r.candidates, req.candidates) || r.name !== req.name || r.flags !== (req.flags ?? 0);
      status = moved ? 'moved' : changed ? 'updated' : 'refreshed';
      if (moved) {
        // Restart or NAT rebinding: the newest proven endpoint wins, the old one is forgotten.
        this.addAddress(r.reflexive.address, -1);
        this.addAddress(from.address, 1);
        this.counters.moved++;
      }
      if (moved || changed) {
        member.record = newRecord(r.peerId, req, from);
        member.encoded = owned(encodeMemberRecord(member.record));
      }
      room = member.room;
    }

    member.lastSeen = now;
    this.byAge.delete(member);
    this.byAge.add(member);

    const turn = this.opts.turn?.(member.record.peerId, now);
    const head: WelcomeHead = { observed: { ...from }, refreshSeconds: this.opts.refreshSeconds, members: room.members.size, ...(turn ? { turn } : {}) };
    // One datagram answers a register in rooms of any usual size: the other members ride in the
    // welcome while they fit, and only the rest follow as `peer` messages.
    const known: MemberRecord[] = [];
    const knownBytes: Buffer[] = [];
    const overflow: Outgoing[] = [];
    let size = welcomeHeadBytes(head);
    for (const other of room.members.values()) {
      if (other === member) continue;
      if (overflow.length === 0 && known.length < 255 && size + other.encoded.length <= WELCOME_BUDGET_BYTES) {
        size += other.encoded.length;
        known.push(other.record);
        knownBytes.push(other.encoded);
      } else {
        overflow.push({ to: from, message: { type: 'peer', joined: false, member: other.record }, bytes: encodePeerWithRecord(false, other.encoded) });
      }
    }
    const out: Outgoing[] = [{ to: from, message: { type: 'welcome', ...head, known }, bytes: encodeWelcomeWithRecords(head, knownBytes) }, ...overflow];
    // Pushes go out in the same instant as the welcome, so both sides start punching together.
    if (status !== 'refreshed' && room.members.size > 1) {
      const message: RendezvousMessage = { type: 'peer', joined: true, member: member.record };
      const bytes = encodePeerWithRecord(true, member.encoded);
      for (const other of room.members.values()) {
        if (other !== member) out.push({ to: other.record.reflexive, message, bytes });
      }
    }
    if (status !== 'refreshed') this.opts.observer?.changed(room.key, member.record, member.encoded, status);
    return { status, out };
  }

  /** Remove a member at once. Only its current endpoint may do so. */
  leave(_now: number, from: Endpoint, roomId: Buffer, peerId: Buffer): { status: LeaveStatus; out: Outgoing[] } {
    const room = this.rooms.get(roomId.toString('hex'));
    const member = room?.members.get(peerId.toString('hex'));
    if (!member) return { status: 'unknown', out: [] };
    if (!sameEndpoint(member.record.reflexive, from)) return { status: 'notOwner', out: [] };
    this.counters.left++;
    return { status: 'left', out: this.remove(member) };
  }

  /** Drop members not refreshed within the expiry time; the rest of their room hears `left`. */
  expire(now: number): Outgoing[] {
    const out: Outgoing[] = [];
    for (const member of this.byAge.values()) {
      if (now - member.lastSeen < this.expiryMs) break;
      this.counters.expired++;
      out.push(...this.remove(member));
    }
    return out;
  }

  private admit(room: Room | undefined, from: Endpoint): 'roomFull' | 'serverFull' | 'addressFull' | undefined {
    if (room && room.members.size >= this.opts.maxMembersPerRoom) return 'roomFull';
    if (!room && this.rooms.size >= this.opts.maxRooms) return 'serverFull';
    if (this.byAge.size >= this.opts.maxMembers) return 'serverFull';
    if ((this.perAddress.get(from.address) ?? 0) >= this.opts.maxMembersPerAddress) return 'addressFull';
    return undefined;
  }

  private addAddress(address: string, delta: number): void {
    const n = (this.perAddress.get(address) ?? 0) + delta;
    if (n > 0) this.perAddress.set(address, n);
    else this.perAddress.delete(address);
  }

  private remove(member: Member): Outgoing[] {
    const room = member.room;
    room.members.delete(member.peerKey);
    this.byAge.delete(member);
    this.addAddress(member.record.reflexive.address, -1);
    if (room.members.size === 0) this.rooms.delete(room.key);
    const out: Outgoing[] = [];
    for (const other of room.members.values()) out.push({ to: { ...other.record.reflexive }, message: { type: 'left', peerId: member.record.peerId } });
    this.opts.observer?.removed(room.key, member.record.peerId);
    return out;
  }
}

/** For logs: enough to correlate, never enough to identify a room or a peer. */
export function shortId(id: Uint8Array): string {
  return Buffer.from(id.subarray(0, 3)).toString('hex');
}
