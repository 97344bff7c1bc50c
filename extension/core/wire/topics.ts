// Client <-> rendezvous messages for topics: contacts' presence, DMs and contact-request inboxes meet
// here instead of in rooms. Layouts: docs/PROTOCOL.md §10.3; keep them in step. Types 0x30..0x3F belong
// to this file (the room messages live in rendezvous.ts).
//
// One `topicRegister` datagram carries up to MAX_TOPICS_PER_REGISTER topics, so a client with 200
// contacts refreshes with 4 datagrams per refresh period. The server answers each with one small
// `topicAck`, and tells both clients of a topic about each other with `topicPeer` (which, unlike a room's
// `peer`, names the topic), and `topicGone` when one leaves or expires.
import { Decoded, Reader, Writer, fail } from './bytes';
import { Endpoint, ENDPOINT_MAX_BYTES, readEndpoint, writeEndpoint } from './endpoint';
import { HEADER_BYTES, MAGIC, VERSION } from './header';
import { COOKIE_BYTES, MAX_CANDIDATES, type TurnCredentials } from './rendezvous';

export const enum TopicMsgType {
  Register = 0x30,
  Leave = 0x31,
  Ack = 0x32,
  Peer = 0x33,
  Gone = 0x34,
}

/** Rendezvous ErrorCode values of this part (16..23). */
export const enum TopicErrorCode {
  TooManyTopics = 16,
  TopicTableFull = 17,
}

export const TOPIC_BYTES = 16;
export const CLIENT_ID_BYTES = 16;
/** Keeps the largest register (8 IPv6 candidates) under 1200 bytes, the project's datagram budget. */
export const MAX_TOPICS_PER_REGISTER = 56;
export const MAX_TOPIC_REQUEST_BYTES = 1200;

/**
 * How a client meets others on a topic (who is told about whom):
 *  - peer: sees, and is seen by, every other `peer` (the pairwise DM/presence topic of two contacts);
 *  - host: sees every `visitor` and is seen by them (the owner of a contact-request inbox);
 *  - visitor: sees hosts only (a stranger sending a request never learns who else is knocking);
 *  - watcher: sees `peer`s without being seen ("appear offline": contacts' presence, none of ours).
 */
export const enum TopicKind {
  Peer = 0,
  Host = 1,
  Visitor = 2,
  Watcher = 3,
}

/** Whether a member of kind `receiver` is told about a member of kind `about` on the same topic. */
export function topicSees(receiver: TopicKind, about: TopicKind): boolean {
  switch (receiver) {
    case TopicKind.Peer:
    case TopicKind.Watcher:
      return about === TopicKind.Peer;
    case TopicKind.Host:
      return about === TopicKind.Visitor;
    case TopicKind.Visitor:
      return about === TopicKind.Host;
    default:
      return false;
  }
}

/** Register option bits. */
export const enum TopicOptions {
  /** Announce every partner on these topics again: the client's count differed from the ack's (a lost push). */
  Replay = 0x01,
}

/** Client flags relayed verbatim to partners: the NatFlags bits (0..2) plus presence. */
export const enum TopicFlags {
  Away = 0x08,
}

export interface TopicEntry {
  topic: Buffer;
  kind: TopicKind;
}

export interface TopicPartner {
  clientId: Buffer;
  flags: number;
  reflexive: Endpoint;
  candidates: Endpoint[];
}

export type TopicMessage =
  | { type: 'topicRegister'; cookie: Buffer; clientId: Buffer; seq: number; options: number; flags: number; candidates: Endpoint[]; topics: TopicEntry[] }
  | { type: 'topicLeave'; cookie: Buffer; clientId: Buffer; topics: Buffer[] }
  | {
      type: 'topicAck';
      seq: number;
      observed: Endpoint;
      refreshSeconds: number;
      accepted: number;
      refused: number;
      /** Partners the client should know of on this batch's topics: a mismatch means a lost topicPeer/topicGone. */
      partners: number;
      /** TURN credentials, when the server has a relay (only ever sent after the cookie: verified sources). */
      turn?: TurnCredentials;
    }
  | { type: 'topicPeer'; topic: Buffer; partner: TopicPartner }
  | { type: 'topicGone'; topic: Buffer; clientId: Buffer };

export function isTopicType(t: number): boolean {
  return t >= 0x30 && t <= 0x3f;
}

/** Client-to-server topic types: the only ones the server answers. */
export function isTopicRequestType(t: number): boolean {
  return t === TopicMsgType.Register || t === TopicMsgType.Leave;
}

function fixed(w: Writer, b: Buffer, n: number, what: string): void {
  if (b.length !== n) throw new RangeError(`${what} must be ${n} bytes`);
  w.bytes(b);
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

/** Bytes of a topicPeer about this partner (the server budgets its answers with it). */
export function topicPeerBytes(p: TopicPartner): number {
  return HEADER_BYTES + TOPIC_BYTES + CLIENT_ID_BYTES + 1 + ENDPOINT_MAX_BYTES * (1 + p.candidates.length) + 1;
}

export function encodeTopic(m: TopicMessage): Buffer {
  const w = new Writer(m.type === 'topicRegister' ? 64 + m.topics.length * (TOPIC_BYTES + 1) : 128);
  w.u8(MAGIC).u8(VERSION);
  switch (m.type) {
    case 'topicRegister':
      if (m.topics.length > MAX_TOPICS_PER_REGISTER) throw new RangeError(`at most ${MAX_TOPICS_PER_REGISTER} topics per register`);
      w.u8(TopicMsgType.Register);
      fixed(w, m.cookie, COOKIE_BYTES, 'cookie');
      fixed(w, m.clientId, CLIENT_ID_BYTES, 'client id');
      w.u16(m.seq).u8(m.options).u8(m.flags);
      writeCandidates(w, m.candidates);
      w.u8(m.topics.length);
      for (const t of m.topics) {
        w.u8(t.kind);
        fixed(w, t.topic, TOPIC_BYTES, 'topic');
      }
      break;
    case 'topicLeave':
      if (m.topics.length > MAX_TOPICS_PER_REGISTER) throw new RangeError(`at most ${MAX_TOPICS_PER_REGISTER} topics per leave`);
      w.u8(TopicMsgType.Leave);
      fixed(w, m.cookie, COOKIE_BYTES, 'cookie');
      fixed(w, m.clientId, CLIENT_ID_BYTES, 'client id');
      w.u8(m.topics.length);
      for (const t of m.topics) fixed(w, t, TOPIC_BYTES, 'topic');
      break;
    case 'topicAck':
      w.u8(TopicMsgType.Ack).u16(m.seq);
      writeEndpoint(w, m.observed);
      w.u16(m.refreshSeconds).u8(m.accepted).u8(m.refused).u16(m.partners);
      if (m.turn) {
        w.u8(1);
        writeEndpoint(w, m.turn.server);
        w.str8(m.turn.username, 255).str8(m.turn.password, 255).u32(m.turn.ttlSeconds);
      } else {
        w.u8(0);
      }
      break;
    case 'topicPeer':
      w.u8(TopicMsgType.Peer);
      fixed(w, m.topic, TOPIC_BYTES, 'topic');
      fixed(w, m.partner.clientId, CLIENT_ID_BYTES, 'client id');
      w.u8(m.partner.flags);
      writeEndpoint(w, m.partner.reflexive);
      writeCandidates(w, m.partner.candidates);
      break;
    case 'topicGone':
      w.u8(TopicMsgType.Gone);
      fixed(w, m.topic, TOPIC_BYTES, 'topic');
      fixed(w, m.clientId, CLIENT_ID_BYTES, 'client id');
      break;
  }
  return w.finish();
}

/** Decode a datagram whose third byte is a topic type. Never throws. */
export function decodeTopic(buf: Uint8Array): Decoded<TopicMessage> {
  const r = new Reader(buf);
  if (r.u8() !== MAGIC) return fail('bad magic');
  const version = r.u8();
  if (version !== VERSION) return fail(`unsupported version ${version}`);
  const type = r.u8('type');
  switch (type) {
    case TopicMsgType.Register: {
      const cookie = r.bytes(COOKIE_BYTES, 'cookie');
      const clientId = r.bytes(CLIENT_ID_BYTES, 'client id');
      const seq = r.u16('seq');
      const options = r.u8('options');
      const flags = r.u8('flags');
      const candidates = readCandidates(r);
      const n = r.u8('topic count');
      if (n > MAX_TOPICS_PER_REGISTER) return fail(`more than ${MAX_TOPICS_PER_REGISTER} topics`);
      const topics: TopicEntry[] = [];
      for (let i = 0; i < n && !r.failed; i++) {
        const kind = r.u8('topic kind');
        if (kind > TopicKind.Watcher) r.fail(`unknown topic kind ${kind}`);
        topics.push({ kind, topic: r.bytes(TOPIC_BYTES, 'topic') });
      }
      return r.end({ type: 'topicRegister', cookie, clientId, seq, options, flags, candidates, topics });
    }
    case TopicMsgType.Leave: {
      const cookie = r.bytes(COOKIE_BYTES, 'cookie');
      const clientId = r.bytes(CLIENT_ID_BYTES, 'client id');
      const n = r.u8('topic count');
      if (n > MAX_TOPICS_PER_REGISTER) return fail(`more than ${MAX_TOPICS_PER_REGISTER} topics`);
      const topics: Buffer[] = [];
      for (let i = 0; i < n && !r.failed; i++) topics.push(r.bytes(TOPIC_BYTES, 'topic'));
      return r.end({ type: 'topicLeave', cookie, clientId, topics });
    }
    case TopicMsgType.Ack: {
      const seq = r.u16('seq');
      const observed = readEndpoint(r);
      const refreshSeconds = r.u16('refresh');
      const accepted = r.u8('accepted');
      const refused = r.u8('refused');
      const partners = r.u16('partners');
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
      return r.end({ type: 'topicAck', seq, observed, refreshSeconds, accepted, refused, partners, ...(turn ? { turn } : {}) });
    }
    case TopicMsgType.Peer: {
      const topic = r.bytes(TOPIC_BYTES, 'topic');
      const clientId = r.bytes(CLIENT_ID_BYTES, 'client id');
      const flags = r.u8('flags');
      const reflexive = readEndpoint(r);
      const candidates = readCandidates(r);
      return r.end({ type: 'topicPeer', topic, partner: { clientId, flags, reflexive, candidates } });
    }
    case TopicMsgType.Gone: {
      const topic = r.bytes(TOPIC_BYTES, 'topic');
      return r.end({ type: 'topicGone', topic, clientId: r.bytes(CLIENT_ID_BYTES, 'client id') });
    }
    default:
      return fail(`unknown topic message type 0x${type.toString(16)}`);
  }
}
