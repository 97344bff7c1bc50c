// What travels inside the encrypted, reliable stream (chat) and as ephemeral frames (typing, presence).
// Layouts: docs/PROTOCOL.md §8. Bodies are JSON because they are small, extensible and already
// authenticated; they are still hostile input and are validated field by field.
import type { ChatBody, SnippetPayload } from '../types';
import { Decoded, Reader, Writer, fail } from '../wire/bytes';

export const MAX_TEXT_CHARS = 64 * 1024;
export const MAX_SNIPPET_BYTES = 1024 * 1024 + 64 * 1024; // a 1 MiB snippet plus its metadata
const MAX_PATH_CHARS = 1024;
/** The reliable channel's message limit (core/reliable/channel.ts default): a longer message breaks the link. */
export const MAX_APP_MESSAGE_BYTES = 4 * 1024 * 1024;

export const enum AppType {
  Chat = 0x01,
  /** Receiver → sender: that chat message was refused and not shown (§8.3). */
  Reject = 0x02,
  // 0x03 is the room name (roomName.ts).
  /** A plain-text chat message without the JSON body (§8.5): sent only to a member whose handshake announced ChatText. */
  ChatText = 0x04,
}

/**
 * Feature bits a peer announces in its handshake payload, after its name (docs/PROTOCOL.md §4.6): which app
 * messages beyond version 1's its decoder takes. A peer that announces none (any older version) gets only those.
 */
export const enum AppFeature {
  ChatText = 0x01,
}

/** What this version's decoder takes: announced in every handshake. */
export const APP_FEATURES: number = AppFeature.ChatText;

/** Why a receiver refused a chat message. The sender words it; a peer cannot put its own text in our UI. */
export const enum RejectReason {
  Other = 0,
  NotJson = 1,
  TextTooLong = 2,
  BadSnippet = 3,
  UnknownKind = 4,
  TooLarge = 5,
}

export function rejectText(r: RejectReason): string {
  switch (r) {
    case RejectReason.NotJson:
      return 'the message body is not JSON';
    case RejectReason.TextTooLong:
      return `the text is longer than ${MAX_TEXT_CHARS.toLocaleString('en-US')} characters`;
    case RejectReason.BadSnippet:
      return `the snippet is malformed (path ≤ ${MAX_PATH_CHARS} characters, language ≤ 64, lines 1–10,000,000 in order, code ≤ ${MAX_SNIPPET_BYTES.toLocaleString('en-US')} characters)`;
    case RejectReason.UnknownKind:
      return 'the message is of a kind this version does not know';
    case RejectReason.TooLarge:
      return `the message is larger than ${MAX_APP_MESSAGE_BYTES.toLocaleString('en-US')} bytes once encoded`;
    default:
      return 'the message was refused';
  }
}

/** A message the sender refuses before queuing it: exactly what a receiver would refuse. */
export class BodyRejectedError extends Error {
  constructor(readonly reason: RejectReason) {
    super(rejectText(reason));
    this.name = 'BodyRejectedError';
  }
}

export const enum EphemeralType {
  Typing = 0x01,
  Presence = 0x02,
}

export interface ChatEnvelope {
  /** Random per sender installation: a reset sender starts a new sequence space instead of reusing numbers. */
  epoch: number;
  seq: number;
  sentAt: number;
  body: ChatBody;
}

const CHAT_HEADER_BYTES = 17;
/**
 * A text body's JSON is written by hand, around the text escaped exactly as JSON.stringify escapes it: the same
 * bytes as JSON.stringify(body) for a plain `{kind, text}` (the wire is unchanged), at a fraction of the cost
 * (JSON.stringify of a 1 KB string took ~3.5 µs, a quarter of a 1 KB message's whole path; docs/BENCHMARKS.md).
 */
const TEXT_HEAD = '{"kind":"text","text":"';
const TEXT_TAIL = '"}';
/** What JSON.stringify escapes in a string, plus every surrogate (a pair is kept as is, a lone one escaped). */
const MAY_ESCAPE = /[\u0000-\u001f"\\\ud800-\udfff]/;
const ESCAPED = /[\u0000-\u001f"\\]/g;
const SHORT_ESCAPES: Record<string, string> = { '\b': '\\b', '\t': '\\t', '\n': '\\n', '\f': '\\f', '\r': '\\r', '"': '\\"', '\\': '\\\\' };
const escapeChar = (c: string): string => SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/**
 * `s` as it stands between the quotes of JSON.stringify(s) (ES2019 well-formed JSON.stringify: `"`, `\\`, the
 * controls below 0x20 and lone surrogates escaped, nothing else). The usual text has nothing to escape and is
 * returned as is after one regular-expression scan, which costs a fraction of JSON.stringify's.
 */
export function jsonStringBody(s: string): string {
  if (!MAY_ESCAPE.test(s)) return s;
  if (isWellFormed(s)) return s.replace(ESCAPED, escapeChar);
  return JSON.stringify(s).slice(1, -1); // lone surrogates: rare enough to take the slow road
}

function writeChatHeader(buf: Buffer, m: ChatEnvelope): void {
  buf[0] = AppType.Chat;
  buf.writeUInt32BE(m.epoch >>> 0, 1);
  buf.writeUInt32BE(m.seq >>> 0, 5);
  // sentAt is a non-negative integer below 2^53: two u32 halves, without a BigInt per message.
  buf.writeUInt32BE(Math.floor(m.sentAt / 0x1_0000_0000) >>> 0, 9);
  buf.writeUInt32BE(m.sentAt >>> 0, 13);
}

export function encodeChat(m: ChatEnvelope): Buffer {
  const b = m.body;
  if (b.kind === 'text' && typeof b.text === 'string' && Number.isSafeInteger(m.sentAt) && m.sentAt >= 0) {
    const json = jsonStringBody(b.text);
    const n = Buffer.byteLength(json, 'utf8');
    const buf = Buffer.allocUnsafe(CHAT_HEADER_BYTES + TEXT_HEAD.length + n + TEXT_TAIL.length);
    writeChatHeader(buf, m);
    buf.write(TEXT_HEAD, CHAT_HEADER_BYTES, 'latin1');
    buf.write(json, CHAT_HEADER_BYTES + TEXT_HEAD.length, 'utf8');
    buf.write(TEXT_TAIL, CHAT_HEADER_BYTES + TEXT_HEAD.length + n, 'latin1');
    return buf;
  }
  const json = Buffer.from(JSON.stringify(b), 'utf8');
  return new Writer(CHAT_HEADER_BYTES + json.length).u8(AppType.Chat).u32(m.epoch).u32(m.seq).u64(BigInt(m.sentAt)).bytes(json).finish();
}

function str(v: unknown, max: number): v is string {
  return typeof v === 'string' && v.length <= max;
}

function line(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 10_000_000;
}

/**
 * A text message as ChatText (§8.5): the header, then the text's UTF-8, no JSON around it. Encoding is a copy of
 * the string and decoding one read of it, where JSON costs a scan for characters to escape on each side (the
 * largest cost left on a 1 KB message's path; docs/BENCHMARKS.md).
 */
export function encodeChatText(m: ChatEnvelope & { body: { kind: 'text' } }): Buffer {
  const text = m.body.text;
  if (!Number.isSafeInteger(m.sentAt) || m.sentAt < 0) throw new RangeError('sentAt must be a u64 integer');
  const n = Buffer.byteLength(text, 'utf8');
  const buf = Buffer.allocUnsafe(CHAT_HEADER_BYTES + n);
  writeChatHeader(buf, m);
  buf[0] = AppType.ChatText;
  buf.write(text, CHAT_HEADER_BYTES, 'utf8');
  return buf;
}

/**
 * The chat message for a member whose handshake announced `features`: ChatText for a text when it takes it. A text
 * with a lone surrogate (no UTF-8 form) stays JSON, whose escape carries it: the receiver gets the same string.
 */
export function encodeChatFor(features: number, m: ChatEnvelope): Buffer {
  if (m.body.kind === 'text' && (features & AppFeature.ChatText) !== 0 && isWellFormed(m.body.text)) {
    return encodeChatText(m as ChatEnvelope & { body: { kind: 'text' } });
  }
  return encodeChat(m);
}

/**
 * The one definition of an acceptable chat body, used by receivers (what they show) and by senders
 * (what they agree to queue): a body or the reason it is refused.
 */
export function checkBody(v: unknown): { ok: true; body: ChatBody } | { ok: false; reason: RejectReason } {
  if (typeof v !== 'object' || v === null) return { ok: false, reason: RejectReason.UnknownKind };
  const o = v as Record<string, unknown>;
  if (o.kind === 'text') {
    if (typeof o.text !== 'string') return { ok: false, reason: RejectReason.Other };
    if (!str(o.text, MAX_TEXT_CHARS)) return { ok: false, reason: RejectReason.TextTooLong };
    return { ok: true, body: { kind: 'text', text: o.text } };
  }
  if (o.kind !== 'snippet') return { ok: false, reason: RejectReason.UnknownKind };
  if (typeof o.snippet !== 'object' || o.snippet === null) return { ok: false, reason: RejectReason.BadSnippet };
  const s = o.snippet as Record<string, unknown>;
  if (
    !(str(s.path, MAX_PATH_CHARS) && str(s.language, 64) && line(s.startLine) && line(s.endLine) && (s.endLine as number) >= (s.startLine as number) && str(s.code, MAX_SNIPPET_BYTES))
  ) {
    return { ok: false, reason: RejectReason.BadSnippet };
  }
  const snippet: SnippetPayload = { path: s.path, language: s.language, startLine: s.startLine, endLine: s.endLine, code: s.code };
  if (o.text === undefined) return { ok: true, body: { kind: 'snippet', snippet } };
  if (typeof o.text !== 'string') return { ok: false, reason: RejectReason.Other };
  if (!str(o.text, MAX_TEXT_CHARS)) return { ok: false, reason: RejectReason.TextTooLong };
  return { ok: true, body: { kind: 'snippet', snippet, text: o.text } };
}

export function validateBody(v: unknown): ChatBody | undefined {
  const c = checkBody(v);
  return c.ok ? c.body : undefined;
}

/**
 * The sender's side of the same rule: the encoded message a receiver would accept, or a BodyRejectedError.
 * Also bounds the encoded size by the channel's limit (JSON escaping can grow a body up to six times).
 */
export function encodeAcceptableChat(m: ChatEnvelope): Buffer {
  assertSendable(m.body);
  return encodeChat(m);
}

/**
 * Throws BodyRejectedError for a body a receiver would refuse or that would not fit the channel. Cheap on the
 * send path: the body is encoded only when its characters could exceed the limit (a UTF-16 unit becomes at
 * most 6 bytes of JSON), which takes a snippet of several hundred KiB.
 */
export function assertSendable(body: ChatBody): void {
  const c = checkBody(body);
  if (!c.ok) throw new BodyRejectedError(c.reason);
  const b = c.body;
  const chars = b.kind === 'text' ? b.text.length : b.snippet.code.length + b.snippet.path.length + b.snippet.language.length + (b.text?.length ?? 0);
  if (17 + 256 + 6 * chars <= MAX_APP_MESSAGE_BYTES) return;
  if (encodeChat({ epoch: 0, seq: 0, sentAt: 0, body }).length > MAX_APP_MESSAGE_BYTES) throw new BodyRejectedError(RejectReason.TooLarge);
}

export interface RejectMessage {
  epoch: number;
  seq: number;
  reason: RejectReason;
}

export type AppMessage =
  | ({ type: 'chat' } & ChatEnvelope)
  /** A chat message whose header is intact but whose body is refused: answered with a Reject. */
  | { type: 'refused'; epoch: number; seq: number; reason: RejectReason }
  | ({ type: 'reject' } & RejectMessage);

export function encodeReject(m: RejectMessage): Buffer {
  return new Writer(10).u8(AppType.Reject).u32(m.epoch).u32(m.seq).u8(m.reason).finish();
}

export function decodeApp(buf: Buffer): Decoded<AppMessage> {
  const r = new Reader(buf);
  const type = r.u8('type');
  if (type === AppType.Reject) {
    const epoch = r.u32('epoch');
    const seq = r.u32('seq');
    const reason = r.u8('reason') as RejectReason;
    return r.end({ type: 'reject', epoch, seq, reason });
  }
  if (type !== AppType.Chat && type !== AppType.ChatText) return fail(`unknown app message type ${type}`);
  const epoch = r.u32('epoch');
  const seq = r.u32('seq');
  const sentAt = Number(r.u64('sentAt'));
  if (r.failed) return fail(r.failed);
  if (type === AppType.ChatText) {
    // As lenient as the JSON body's decoding (invalid UTF-8 becomes U+FFFD), with the same length rule.
    const text = buf.toString('utf8', CHAT_HEADER_BYTES);
    if (text.length > MAX_TEXT_CHARS) return { ok: true, value: { type: 'refused', epoch, seq, reason: RejectReason.TextTooLong } };
    return { ok: true, value: { type: 'chat', epoch, seq, sentAt, body: { kind: 'text', text } } };
  }
  const json = r.rest();
  let parsed: unknown;
  try {
    parsed = JSON.parse(json.toString('utf8'));
  } catch {
    return { ok: true, value: { type: 'refused', epoch, seq, reason: RejectReason.NotJson } };
  }
  const c = checkBody(parsed);
  if (!c.ok) return { ok: true, value: { type: 'refused', epoch, seq, reason: c.reason } };
  return { ok: true, value: { type: 'chat', epoch, seq, sentAt, body: c.body } };
}

export type EphemeralMessage = { type: 'typing'; typing: boolean } | { type: 'presence'; away: boolean };

export function encodeEphemeral(m: EphemeralMessage): Buffer {
  return m.type === 'typing' ? Buffer.from([EphemeralType.Typing, m.typing ? 1 : 0]) : Buffer.from([EphemeralType.Presence, m.away ? 1 : 0]);
}

export function decodeEphemeral(buf: Buffer): Decoded<EphemeralMessage> {
  const r = new Reader(buf);
  const type = r.u8('type');
  const flag = r.u8('flag');
  if (flag > 1) return fail('bad flag');
  if (type === EphemeralType.Typing) return r.end({ type: 'typing', typing: flag === 1 });
  if (type === EphemeralType.Presence) return r.end({ type: 'presence', away: flag === 1 });
  return fail(`unknown ephemeral type ${type}`);
}
