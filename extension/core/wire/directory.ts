// Client <-> rendezvous directory messages (MsgType 0x20–0x2F). Byte layouts: docs/PROTOCOL.md §5.
// Requests carry a cookie (the same stateless proof of address as `register`) and a request id that
// the answer echoes. Records travel as raw bytes: the decoder only frames them; the directory and the
// client verify signatures (the server only after the cookie checked out, so a spoofed flood costs it
// no signature checks).
import { Decoded, Reader, Writer, fail } from './bytes';
import { HEADER_BYTES, MAGIC, MsgType, VERSION } from './header';
import { COOKIE_BYTES, MAX_ERROR_TEXT } from './rendezvous';

/** Statuses of `accountResult`. 0 is success; 1–6 are the rendezvous's own ErrorCodes; 7–15 are the directory's. */
export const enum DirectoryStatus {
  Ok = 0,
  Malformed = 1,
  RateLimited = 4,
  ServerFull = 5,
  InvalidHandle = 7,
  HandleTaken = 8,
  /** One handle per key per server: this signing key already holds one. */
  KeyHasHandle = 9,
  BadSignature = 10,
  /** The version is not above the stored one: a rollback or a replay. */
  StaleVersion = 11,
  NotFound = 12,
  SignupClosed = 13,
  AccountsFull = 14,
  /** Signed by a key that is not the account's (or a key change outside `rotate`). */
  WrongKey = 15,
}

export const DIRECTORY_STATUS_NAMES: Record<number, string> = {
  0: 'ok',
  1: 'malformed',
  4: 'rate-limited',
  5: 'server-full',
  7: 'invalid-handle',
  8: 'handle-taken',
  9: 'key-has-handle',
  10: 'bad-signature',
  11: 'stale-version',
  12: 'not-found',
  13: 'signup-closed',
  14: 'accounts-full',
  15: 'wrong-key',
};

export const REQUEST_ID_BYTES = 4;
/** Bound on the raw signed bytes a request carries (a rotation: record + 64; see record.ts). */
export const MAX_SIGNED_BYTES = 400;

export type DirectoryRequestMessage =
  | { type: 'accountClaim'; cookie: Buffer; requestId: number; record: Buffer }
  | { type: 'accountUpdate'; cookie: Buffer; requestId: number; record: Buffer }
  | { type: 'accountRotate'; cookie: Buffer; requestId: number; rotation: Buffer }
  | { type: 'accountDelete'; cookie: Buffer; requestId: number; deletion: Buffer }
  | { type: 'accountLookup'; cookie: Buffer; requestId: number; handle: string };

export type DirectoryReplyMessage =
  | { type: 'accountResult'; requestId: number; status: DirectoryStatus; version: bigint; message: string }
  | { type: 'accountFound'; requestId: number; record: Buffer };

export type DirectoryMessage = DirectoryRequestMessage | DirectoryReplyMessage;

const TYPES: Record<DirectoryMessage['type'], MsgType> = {
  accountClaim: MsgType.AccountClaim,
  accountUpdate: MsgType.AccountUpdate,
  accountRotate: MsgType.AccountRotate,
  accountDelete: MsgType.AccountDelete,
  accountLookup: MsgType.AccountLookup,
  accountResult: MsgType.AccountResult,
  accountFound: MsgType.AccountFound,
};

export function isDirectoryType(type: number): boolean {
  return type >= 0x20 && type <= 0x2f;
}

export function isDirectoryRequestType(type: number): boolean {
  return type >= MsgType.AccountClaim && type <= MsgType.AccountLookup;
}

function signedBytes(w: Writer, b: Buffer): void {
  if (b.length === 0 || b.length > MAX_SIGNED_BYTES) throw new RangeError(`signed payload must be 1..${MAX_SIGNED_BYTES} bytes`);
  w.bytes(b);
}

export function encodeDirectory(m: DirectoryMessage): Buffer {
  const w = new Writer(HEADER_BYTES + 32 + MAX_SIGNED_BYTES);
  w.u8(MAGIC).u8(VERSION).u8(TYPES[m.type]);
  switch (m.type) {
    case 'accountClaim':
    case 'accountUpdate':
    case 'accountRotate':
    case 'accountDelete':
    case 'accountLookup':
      if (m.cookie.length !== COOKIE_BYTES) throw new RangeError(`cookie must be ${COOKIE_BYTES} bytes`);
      w.bytes(m.cookie).u32(m.requestId);
      if (m.type === 'accountLookup') w.str8(m.handle, 64);
      else signedBytes(w, m.type === 'accountRotate' ? m.rotation : m.type === 'accountDelete' ? m.deletion : m.record);
      break;
    case 'accountResult': {
      w.u32(m.requestId).u8(m.status).u64(m.version);
      let text = m.message;
      while (Buffer.byteLength(text) > MAX_ERROR_TEXT) text = text.slice(0, -1);
      w.str8(text, MAX_ERROR_TEXT);
      break;
    }
    case 'accountFound':
      w.u32(m.requestId);
      signedBytes(w, m.record);
      break;
  }
  return w.finish();
}

/** Bytes of an `accountResult` with this message (the server sizes unverified replies with it). */
export function accountResultBytes(message: string): number {
  return HEADER_BYTES + 4 + 1 + 8 + 1 + Math.min(Buffer.byteLength(message), MAX_ERROR_TEXT);
}

/** Decode a datagram of a directory type. Never throws. */
export function decodeDirectory(buf: Uint8Array): Decoded<DirectoryMessage> {
  const r = new Reader(buf);
  if (r.u8() !== MAGIC) return fail('bad magic');
  const version = r.u8();
  if (version !== VERSION) return fail(`unsupported version ${version}`);
  const type = r.u8('type');
  const rest = (what: string): Buffer => {
    const n = r.remaining;
    if (n === 0 || n > MAX_SIGNED_BYTES) {
      r.fail(`${what} must be 1..${MAX_SIGNED_BYTES} bytes`);
      return Buffer.alloc(0);
    }
    return r.bytes(n, what);
  };
  switch (type) {
    case MsgType.AccountClaim:
    case MsgType.AccountUpdate:
    case MsgType.AccountRotate:
    case MsgType.AccountDelete:
    case MsgType.AccountLookup: {
      const cookie = r.bytes(COOKIE_BYTES, 'cookie');
      const requestId = r.u32('request id');
      if (type === MsgType.AccountLookup) return r.end({ type: 'accountLookup', cookie, requestId, handle: r.str8(64, 'handle') });
      if (type === MsgType.AccountRotate) return r.end({ type: 'accountRotate', cookie, requestId, rotation: rest('rotation') });
      if (type === MsgType.AccountDelete) return r.end({ type: 'accountDelete', cookie, requestId, deletion: rest('deletion') });
      const record = rest('record');
      return r.end(type === MsgType.AccountClaim ? { type: 'accountClaim', cookie, requestId, record } : { type: 'accountUpdate', cookie, requestId, record });
    }
    case MsgType.AccountResult: {
      const requestId = r.u32('request id');
      const status = r.u8('status') as DirectoryStatus;
      const v = r.u64('version');
      return r.end({ type: 'accountResult', requestId, status, version: v, message: r.str8(MAX_ERROR_TEXT, 'message') });
    }
    case MsgType.AccountFound: {
      const requestId = r.u32('request id');
      return r.end({ type: 'accountFound', requestId, record: rest('record') });
    }
    default:
      return fail(`unknown directory message type 0x${type.toString(16)}`);
  }
}
