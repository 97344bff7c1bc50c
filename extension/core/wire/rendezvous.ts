// Client <-> rendezvous messages. Byte layouts are specified in docs/PROTOCOL.md §3; keep them in step.
import { Decoded, Reader, Writer, fail } from './bytes';
import { Endpoint, endpointBytes, ENDPOINT_MAX_BYTES, readEndpoint, writeEndpoint } from './endpoint';
import { HEADER_BYTES, MAGIC, MsgType, VERSION } from './header';

export const ROOM_ID_BYTES = 32;
export const PEER_ID_BYTES = 32;
export const COOKIE_BYTES = 16;
export const MAX_NAME_BYTES = 64;
export const MAX_CANDIDATES = 8;
export const PROBE_TXID_BYTES = 8;
/** Probes are padded so the reply (txid + observed endpoint) is never larger than the request. */
export const PROBE_BYTES = HEADER_BYTES + PROBE_TXID_BYTES + ENDPOINT_MAX_BYTES + 2;
export const MAX_ERROR_TEXT = 120;
/**
 * A welcome carries the room's other members while it stays within this size (the same budget as
 * peer packets: it fits any path MTU a tunnel leaves); members past it follow as `peer` messages.
 */
export const WELCOME_BUDGET_BYTES = 1200;

export const enum ErrorCode {
  Malformed = 1,
  UnsupportedVersion = 2,
  RoomFull = 3,
  RateLimited = 4,
  ServerFull = 5,
  BadCookie = 6,
  // 7–15: directory statuses (DirectoryStatus in wire/directory.ts), carried by `accountResult`.
  /**
   * After a `welcome`: the registration stands, but this instance cannot reach the state it shares with
   * the other instances (Redis), so members registered elsewhere cannot be met until it recovers.
   * A notice, not a refusal.
   */
  SharedStateUnavailable = 32,
}

/** Register/peer flags: what a member learned about its own NAT, so the other side can pick a strategy. */
export const enum NatFlags {
  Unknown = 0,
  EndpointIndependent = 1,
  EndpointDependent = 2, // "symmetric": a new public port per destination
  /** The member's last candidate is its TURN relay address (so peers can tell a relayed path). */
  RelayCandidate = 4,
}
export const NAT_FLAGS_MASK = 0x03;

export interface MemberRecord {
  peerId: Buffer;
  name: string;
  /** NatFlags of the member (0 when unknown); relayed verbatim by the server. */
  flags?: number;
  /** The address the server saw this member's datagrams come from. */
  reflexive: Endpoint;
  /** Addresses the member reported for itself (LAN interfaces): needed where NATs do not hairpin. */
  candidates: Endpoint[];
}

export interface TurnCredentials {
  server: Endpoint;
  username: string;
  password: string;
  ttlSeconds: number;
}

export type RendezvousMessage =
  | { type: 'register'; roomId: Buffer; peerId: Buffer; cookie: Buffer; name: string; flags?: number; candidates: Endpoint[] }
  | { type: 'cookie'; cookie: Buffer }
  | {
      type: 'welcome';
      observed: Endpoint;
      refreshSeconds: number;
      /** Members in the room, this one included (one byte). */
      members: number;
      turn?: TurnCredentials;
      /** Other members, as `peer` messages with joined = false would carry them (those that fit the budget). */
      known: MemberRecord[];
    }
  | { type: 'peer'; joined: boolean; member: MemberRecord }
  | { type: 'left'; peerId: Buffer }
  | { type: 'leave'; roomId: Buffer; peerId: Buffer; cookie: Buffer }
  | { type: 'error'; code: ErrorCode; message: string }
  | { type: 'probe'; txid: Buffer }
  | { type: 'probeReply'; txid: Buffer; observed: Endpoint };

function header(w: Writer, type: MsgType): Writer {
  return w.u8(MAGIC).u8(VERSION).u8(type);
}

function writeCandidates(w: Writer, list: Endpoint[]): void {
  if (list.length > MAX_CANDIDATES) throw new RangeError(`at most ${MAX_CANDIDATES} candidates`);
  w.u8(list.length);
  for (const c of list) writeEndpoint(w, c);
}

function readCandidates(r: Reader): Endpoint[] {
  const n = r.u8('candidate count');
  if (n > MAX_CANDIDATES) {
    r.fail(`more than ${MAX_CANDIDATES} candidates`);
    return [];
  }
  const out: Endpoint[] = [];
  for (let i = 0; i < n && !r.failed; i++) out.push(readEndpoint(r));
  return out;
}

function fixed(w: Writer, b: Buffer, n: number, what: string): void {
  if (b.length !== n) throw new RangeError(`${what} must be ${n} bytes`);
  w.bytes(b);
}

function writeMemberRecord(w: Writer, m: MemberRecord): void {
  fixed(w, m.peerId, PEER_ID_BYTES, 'peer id');
  w.str8(m.name, MAX_NAME_BYTES);
  w.u8(m.flags ?? 0);
  writeEndpoint(w, m.reflexive);
  writeCandidates(w, m.candidates);
}

function readMemberRecord(r: Reader): MemberRecord {
  const peerId = r.bytes(PEER_ID_BYTES, 'peer id');
  const name = r.str8(MAX_NAME_BYTES, 'name');
  const flags = r.u8('flags');
  const reflexive = readEndpoint(r);
  const candidates = readCandidates(r);
  return { peerId, name, flags, reflexive, candidates };
}

/**
 * A member record as it appears inside `peer` and `welcome` (PROTOCOL.md §3.4). The server encodes
 * each member once and reuses the bytes in every message about it.
 */
export function encodeMemberRecord(m: MemberRecord): Buffer {
  const w = new Writer(64 + m.candidates.length * ENDPOINT_MAX_BYTES);
  writeMemberRecord(w, m);
  return w.finish();
}

/** `peer` from an encoded member record. */
export function encodePeerWithRecord(joined: boolean, record: Uint8Array): Buffer {
  const w = new Writer(4 + record.length);
  header(w, MsgType.Peer);
  return w.u8(joined ? 1 : 0).bytes(record).finish();
}

export type WelcomeHead = Omit<Extract<RendezvousMessage, { type: 'welcome' }>, 'type' | 'known'>;

/** Bytes of a welcome before its member records (the record count included). */
export function welcomeHeadBytes(m: WelcomeHead): number {
  const turn = m.turn ? endpointBytes(m.turn.server) + 2 + Buffer.byteLength(m.turn.username) + Buffer.byteLength(m.turn.password) + 4 : 0;
  return HEADER_BYTES + endpointBytes(m.observed) + 2 + 1 + 1 + turn + 1;
}

/** `welcome` from its head and already encoded member records (at most 255). */
export function encodeWelcomeWithRecords(m: WelcomeHead, records: readonly Uint8Array[]): Buffer {
  if (records.length > 255) throw new RangeError('at most 255 member records');
  let size = welcomeHeadBytes(m);
  for (const r of records) size += r.length;
  const w = new Writer(size);
  header(w, MsgType.Welcome);
  writeEndpoint(w, m.observed);
  w.u16(m.refreshSeconds).u8(m.members);
  if (m.turn) {
    w.u8(1);
    writeEndpoint(w, m.turn.server);
    w.str8(m.turn.username, 255).str8(m.turn.password, 255).u32(m.turn.ttlSeconds);
  } else {
    w.u8(0);
  }
  w.u8(records.length);
  for (const r of records) w.bytes(r);
  return w.finish();
}

export function encodeRendezvous(m: RendezvousMessage): Buffer {
  const w = new Writer(128);
  switch (m.type) {
    case 'register':
      header(w, MsgType.Register);
      fixed(w, m.roomId, ROOM_ID_BYTES, 'room id');
      fixed(w, m.peerId, PEER_ID_BYTES, 'peer id');
      fixed(w, m.cookie, COOKIE_BYTES, 'cookie');
      w.str8(m.name, MAX_NAME_BYTES);
      w.u8(m.flags ?? 0);
      writeCandidates(w, m.candidates);
      break;
    case 'cookie':
      header(w, MsgType.Cookie);
      fixed(w, m.cookie, COOKIE_BYTES, 'cookie');
      break;
    case 'welcome':
      return encodeWelcomeWithRecords(m, m.known.map(encodeMemberRecord));
    case 'peer':
      header(w, MsgType.Peer);
      w.u8(m.joined ? 1 : 0);
      writeMemberRecord(w, m.member);
      break;
    case 'left':
      header(w, MsgType.Left);
      fixed(w, m.peerId, PEER_ID_BYTES, 'peer id');
      break;
    case 'leave':
      header(w, MsgType.Leave);
      fixed(w, m.roomId, ROOM_ID_BYTES, 'room id');
      fixed(w, m.peerId, PEER_ID_BYTES, 'peer id');
      fixed(w, m.cookie, COOKIE_BYTES, 'cookie');
      break;
    case 'error': {
      header(w, MsgType.Error);
      w.u8(m.code);
      // Truncate on a character boundary so the text stays valid UTF-8.
      let text = m.message;
      while (Buffer.byteLength(text) > MAX_ERROR_TEXT) text = text.slice(0, -1);
      w.str8(text, MAX_ERROR_TEXT);
      break;
    }
    case 'probe':
      header(w, MsgType.Probe);
      fixed(w, m.txid, PROBE_TXID_BYTES, 'txid');
      w.zeros(PROBE_BYTES - w.length);
      break;
    case 'probeReply':
      header(w, MsgType.ProbeReply);
      fixed(w, m.txid, PROBE_TXID_BYTES, 'txid');
      writeEndpoint(w, m.observed);
      break;
  }
  return w.finish();
}

export type RendezvousDecodeError = { ok: false; error: string; version?: number };

/**
 * Decode a datagram already classified as ours. Never throws. A foreign version is reported
 * separately so the server can answer "unsupported version" instead of "malformed".
 */
export function decodeRendezvous(buf: Uint8Array): Decoded<RendezvousMessage> | RendezvousDecodeError {
  const r = new Reader(buf);
  if (r.u8() !== MAGIC) return fail('bad magic');
  const version = r.u8();
  if (version !== VERSION) return { ok: false, error: `unsupported version ${version}`, version };
  const type = r.u8('type');
  switch (type) {
    case MsgType.Register: {
      const roomId = r.bytes(ROOM_ID_BYTES, 'room id');
      const peerId = r.bytes(PEER_ID_BYTES, 'peer id');
      const cookie = r.bytes(COOKIE_BYTES, 'cookie');
      const name = r.str8(MAX_NAME_BYTES, 'name');
      const flags = r.u8('flags');
      const candidates = readCandidates(r);
      return r.end({ type: 'register', roomId, peerId, cookie, name, flags, candidates });
    }
    case MsgType.Cookie:
      return r.end({ type: 'cookie', cookie: r.bytes(COOKIE_BYTES, 'cookie') });
    case MsgType.Welcome: {
      const observed = readEndpoint(r);
      const refreshSeconds = r.u16('refresh');
      const members = r.u8('members');
      const hasTurn = r.u8('turn flag');
      let turn: TurnCredentials | undefined;
      if (hasTurn === 1) {
        const server = readEndpoint(r);
        const username = r.str8(255, 'turn username');
        const password = r.str8(255, 'turn password');
        turn = { server, username, password, ttlSeconds: r.u32('ttl') };
      } else if (hasTurn !== 0) {
        r.fail('bad turn flag');
      }
      const count = r.u8('member record count');
      const known: MemberRecord[] = [];
      for (let i = 0; i < count && !r.failed; i++) known.push(readMemberRecord(r));
      return r.end({ type: 'welcome', observed, refreshSeconds, members, ...(turn ? { turn } : {}), known });
    }
    case MsgType.Peer: {
      const joined = r.u8('joined');
      if (joined > 1) r.fail('bad joined flag');
      const member = readMemberRecord(r);
      return r.end({ type: 'peer', joined: joined === 1, member });
    }
    case MsgType.Left:
      return r.end({ type: 'left', peerId: r.bytes(PEER_ID_BYTES, 'peer id') });
    case MsgType.Leave: {
      const roomId = r.bytes(ROOM_ID_BYTES, 'room id');
      const peerId = r.bytes(PEER_ID_BYTES, 'peer id');
      const cookie = r.bytes(COOKIE_BYTES, 'cookie');
      return r.end({ type: 'leave', roomId, peerId, cookie });
    }
    case MsgType.Error: {
      const code = r.u8('code') as ErrorCode;
      return r.end({ type: 'error', code, message: r.str8(MAX_ERROR_TEXT, 'message') });
    }
    case MsgType.Probe: {
      const txid = r.bytes(PROBE_TXID_BYTES, 'txid');
      // Padding is required, not optional: it is what keeps the reply from amplifying.
      if (buf.length !== PROBE_BYTES) return fail(`probe must be ${PROBE_BYTES} bytes`);
      r.bytes(r.remaining);
      return r.end({ type: 'probe', txid });
    }
    case MsgType.ProbeReply: {
      const txid = r.bytes(PROBE_TXID_BYTES, 'txid');
      return r.end({ type: 'probeReply', txid, observed: readEndpoint(r) });
    }
    default:
      return fail(`unknown rendezvous message type 0x${type.toString(16)}`);
  }
}
