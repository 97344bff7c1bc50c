// Client <-> rendezvous messages of the blind mailbox (PROTOCOL.md §3.9; keep them in step).
// Every request names a mailbox by an opaque id, carries the public key the id is derived from, the
// sender's rendezvous cookie (the server answers only sources that proved their address), a random
// nonce (the replay cache key) and, last, an Ed25519 signature over everything before it. The server
// checks id = H(key), the signature and the nonce; it never sees who owns a mailbox or what is in it.
import { Decoded, Reader, Writer, fail } from './bytes';
import { HEADER_BYTES, MAGIC, MsgType, VERSION } from './header';
import { COOKIE_BYTES } from './rendezvous';

export const MAILBOX_ID_BYTES = 16;
export const MAILBOX_KEY_BYTES = 32;
export const MAILBOX_NONCE_BYTES = 8;
export const MAILBOX_SIG_BYTES = 64;
/** The largest sealed envelope one deposit may carry (the server may set a lower cap, never higher). */
export const MAX_ENVELOPE_BYTES = 1024;
/** Budget of an items reply: like every other datagram, it fits a 1,200-byte path. */
export const MAILBOX_REPLY_BUDGET = 1200;
/** Bytes of a request before its body: header, id, key, cookie, nonce. */
export const MAILBOX_AUTH_BYTES = HEADER_BYTES + MAILBOX_ID_BYTES + MAILBOX_KEY_BYTES + COOKIE_BYTES + MAILBOX_NONCE_BYTES;
/** Largest request: a deposit with a full envelope. */
export const MAX_MAILBOX_REQUEST_BYTES = MAILBOX_AUTH_BYTES + 2 + MAX_ENVELOPE_BYTES + MAILBOX_SIG_BYTES;
/** Per item in an items reply: id (8), expiry in seconds (4), length (2). */
export const ITEM_OVERHEAD_BYTES = 14;
/** Bytes of an items reply before its items: header, nonce, flags, count. */
export const ITEMS_HEAD_BYTES = HEADER_BYTES + MAILBOX_NONCE_BYTES + 2;

/** Mailbox error codes (the rendezvous ErrorCode range 24-31 is the mailbox's). */
export const enum MailboxErrorCode {
  /** Over the mailbox's envelope or byte quota: the sender keeps the message and says so. */
  Full = 24,
  /** This source deposits faster than the server allows; detail = milliseconds to wait. */
  RateLimited = 25,
  /** Id does not match the key, or the signature is wrong: not the owner / not entitled. */
  BadProof = 26,
  /** The nonce was already used (a replayed request). */
  Replay = 27,
  /** The envelope is larger than this server's cap; detail = the cap in bytes. */
  TooLarge = 28,
  /** The server has no mailbox (disabled) or its store failed; retry later. */
  Unavailable = 29,
}

export interface MailboxAuth {
  mailboxId: Buffer;
  /** Ed25519 public key; mailboxId = SHA-256("p2p-chat mailbox id v1" || key)[0..16). */
  key: Buffer;
  cookie: Buffer;
  nonce: Buffer;
  /** Ed25519 signature over MAILBOX_SIG_DOMAIN || every byte of the request before the signature. */
  sig: Buffer;
}

export interface MailboxItem {
  id: bigint;
  /** Server wall clock after which the item is gone, in seconds since 1970 (what the server keeps for the TTL). */
  expiresAt: number;
  data: Buffer;
}

export type MailboxMessage =
  | ({ type: 'deposit'; envelope: Buffer } & MailboxAuth)
  | { type: 'depositAck'; nonce: Buffer; id: bigint; ttlSeconds: number }
  | ({ type: 'fetch'; after: bigint } & MailboxAuth)
  | { type: 'items'; nonce: Buffer; more: boolean; items: MailboxItem[] }
  | ({ type: 'delete'; upTo: bigint } & MailboxAuth)
  | { type: 'deleted'; nonce: Buffer; upTo: bigint }
  | { type: 'mailboxError'; nonce: Buffer; code: MailboxErrorCode; detail: number };

export type MailboxRequest = Extract<MailboxMessage, { type: 'deposit' | 'fetch' | 'delete' }>;

/** Domain separation: a mailbox signature can never be mistaken for any other signature by the same key. */
export const MAILBOX_SIG_DOMAIN = Buffer.from('p2p-chat mailbox request v1', 'utf8');

export function isMailboxType(t: number): boolean {
  return t >= 0x40 && t <= 0x4f;
}

export function isMailboxRequestType(t: number): boolean {
  return t === MsgType.MailboxDeposit || t === MsgType.MailboxFetch || t === MsgType.MailboxDelete;
}

function fixed(w: Writer, b: Buffer, n: number, what: string): void {
  if (b.length !== n) throw new RangeError(`${what} must be ${n} bytes`);
  w.bytes(b);
}

function header(w: Writer, t: MsgType): Writer {
  return w.u8(MAGIC).u8(VERSION).u8(t);
}

type Unsigned<T> = Omit<T, 'sig'>;
export type UnsignedRequest =
  | Unsigned<Extract<MailboxRequest, { type: 'deposit' }>>
  | Unsigned<Extract<MailboxRequest, { type: 'fetch' }>>
  | Unsigned<Extract<MailboxRequest, { type: 'delete' }>>;

/** The bytes of a request up to (not including) its signature: what gets signed. */
export function encodeUnsignedRequest(m: UnsignedRequest): Buffer {
  const w = new Writer(MAILBOX_AUTH_BYTES + 2 + (m.type === 'deposit' ? m.envelope.length : 8) + MAILBOX_SIG_BYTES);
  header(w, m.type === 'deposit' ? MsgType.MailboxDeposit : m.type === 'fetch' ? MsgType.MailboxFetch : MsgType.MailboxDelete);
  fixed(w, m.mailboxId, MAILBOX_ID_BYTES, 'mailbox id');
  fixed(w, m.key, MAILBOX_KEY_BYTES, 'mailbox key');
  fixed(w, m.cookie, COOKIE_BYTES, 'cookie');
  fixed(w, m.nonce, MAILBOX_NONCE_BYTES, 'nonce');
  if (m.type === 'deposit') {
    if (m.envelope.length === 0 || m.envelope.length > MAX_ENVELOPE_BYTES) throw new RangeError(`an envelope is 1..${MAX_ENVELOPE_BYTES} bytes`);
    w.u16(m.envelope.length).bytes(m.envelope);
  } else if (m.type === 'fetch') {
    w.u64(m.after);
  } else {
    w.u64(m.upTo);
  }
  return w.finish();
}

export function encodeMailbox(m: MailboxMessage): Buffer {
  switch (m.type) {
    case 'deposit':
    case 'fetch':
    case 'delete': {
      const head = encodeUnsignedRequest(m);
      if (m.sig.length !== MAILBOX_SIG_BYTES) throw new RangeError(`signature must be ${MAILBOX_SIG_BYTES} bytes`);
      return Buffer.concat([head, m.sig]);
    }
    case 'depositAck': {
      const w = new Writer(HEADER_BYTES + 20);
      header(w, MsgType.MailboxDepositAck);
      fixed(w, m.nonce, MAILBOX_NONCE_BYTES, 'nonce');
      return w.u64(m.id).u32(m.ttlSeconds).finish();
    }
    case 'items': {
      if (m.items.length > 255) throw new RangeError('at most 255 items');
      let size = ITEMS_HEAD_BYTES;
      for (const it of m.items) size += ITEM_OVERHEAD_BYTES + it.data.length;
      const w = new Writer(size);
      header(w, MsgType.MailboxItems);
      fixed(w, m.nonce, MAILBOX_NONCE_BYTES, 'nonce');
      w.u8(m.more ? 1 : 0).u8(m.items.length);
      for (const it of m.items) {
        if (it.data.length > 0xffff) throw new RangeError('item too large');
        w.u64(it.id).u32(it.expiresAt).u16(it.data.length).bytes(it.data);
      }
      return w.finish();
    }
    case 'deleted': {
      const w = new Writer(HEADER_BYTES + 16);
      header(w, MsgType.MailboxDeleted);
      fixed(w, m.nonce, MAILBOX_NONCE_BYTES, 'nonce');
      return w.u64(m.upTo).finish();
    }
    case 'mailboxError': {
      const w = new Writer(HEADER_BYTES + 13);
      header(w, MsgType.MailboxError);
      fixed(w, m.nonce, MAILBOX_NONCE_BYTES, 'nonce');
      return w.u8(m.code).u32(m.detail >>> 0).finish();
    }
  }
}

function readAuth(r: Reader): Omit<MailboxAuth, 'sig'> {
  const mailboxId = r.bytes(MAILBOX_ID_BYTES, 'mailbox id');
  const key = r.bytes(MAILBOX_KEY_BYTES, 'mailbox key');
  const cookie = r.bytes(COOKIE_BYTES, 'cookie');
  const nonce = r.bytes(MAILBOX_NONCE_BYTES, 'nonce');
  return { mailboxId, key, cookie, nonce };
}

/** The signed part of a request datagram (everything but the trailing signature). */
export function signedPart(buf: Uint8Array): Buffer {
  return Buffer.from(buf.buffer, buf.byteOffset, Math.max(0, buf.length - MAILBOX_SIG_BYTES));
}

/** Decode a datagram whose type byte is in 0x40-0x4F. Never throws. */
export function decodeMailbox(buf: Uint8Array): Decoded<MailboxMessage> {
  const r = new Reader(buf);
  if (r.u8() !== MAGIC) return fail('bad magic');
  const version = r.u8();
  if (version !== VERSION) return fail(`unsupported version ${version}`);
  const type = r.u8('type');
  switch (type) {
    case MsgType.MailboxDeposit: {
      const auth = readAuth(r);
      const n = r.u16('envelope length');
      if (n === 0 || n > MAX_ENVELOPE_BYTES) r.fail(`an envelope is 1..${MAX_ENVELOPE_BYTES} bytes`);
      const envelope = r.bytes(n, 'envelope');
      const sig = r.bytes(MAILBOX_SIG_BYTES, 'signature');
      return r.end({ type: 'deposit', ...auth, envelope, sig });
    }
    case MsgType.MailboxFetch: {
      const auth = readAuth(r);
      const after = r.u64('cursor');
      const sig = r.bytes(MAILBOX_SIG_BYTES, 'signature');
      return r.end({ type: 'fetch', ...auth, after, sig });
    }
    case MsgType.MailboxDelete: {
      const auth = readAuth(r);
      const upTo = r.u64('up to');
      const sig = r.bytes(MAILBOX_SIG_BYTES, 'signature');
      return r.end({ type: 'delete', ...auth, upTo, sig });
    }
    case MsgType.MailboxDepositAck: {
      const nonce = r.bytes(MAILBOX_NONCE_BYTES, 'nonce');
      const id = r.u64('id');
      const ttlSeconds = r.u32('ttl');
      return r.end({ type: 'depositAck', nonce, id, ttlSeconds });
    }
    case MsgType.MailboxItems: {
      const nonce = r.bytes(MAILBOX_NONCE_BYTES, 'nonce');
      const flags = r.u8('flags');
      if (flags > 1) r.fail('bad flags');
      const count = r.u8('count');
      const items: MailboxItem[] = [];
      for (let i = 0; i < count && !r.failed; i++) {
        const id = r.u64('item id');
        const expiresAt = r.u32('expires at');
        const n = r.u16('item length');
        items.push({ id, expiresAt, data: r.bytes(n, 'item') });
      }
      return r.end({ type: 'items', nonce, more: flags === 1, items });
    }
    case MsgType.MailboxDeleted: {
      const nonce = r.bytes(MAILBOX_NONCE_BYTES, 'nonce');
      return r.end({ type: 'deleted', nonce, upTo: r.u64('up to') });
    }
    case MsgType.MailboxError: {
      const nonce = r.bytes(MAILBOX_NONCE_BYTES, 'nonce');
      const code = r.u8('code');
      if (code < 24 || code > 31) r.fail(`mailbox error code ${code} outside 24..31`);
      const detail = r.u32('detail');
      return r.end({ type: 'mailboxError', nonce, code: code as MailboxErrorCode, detail });
    }
    default:
      return fail(`unknown mailbox message type 0x${type.toString(16)}`);
  }
}
