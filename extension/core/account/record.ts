// The signed account record and the signed operations on it (PROTOCOL.md §5). Pure codec: encode from
// trusted values (throws on programming errors), decode and verify untrusted bytes (never throws).
//
// The directory stores and serves these bytes but cannot make them: every record is signed by the
// account's Ed25519 key over a domain-separation context plus the body, and carries a version counter
// that only ever grows, so a server can neither forge a record nor roll one back unnoticed by a client
// that pinned a later version.
import { randomBytes } from 'node:crypto';
import { Reader, Writer } from '../wire/bytes';
import { CONTROL_SOURCE, INVISIBLE_FORMAT_SOURCE } from '../../shared/invisibleChars';
import { isCanonicalHandle, HANDLE_MAX } from './handle';
import { sign, SIGNATURE_BYTES, SigningKeyPair, SIGNING_PUBLIC_BYTES, verify } from './signing';

export const RECORD_FORMAT = 1;
export const X25519_PUBLIC_BYTES = 32;
export const REQUEST_TOKEN_BYTES = 16;
export const MAX_DISPLAY_NAME_BYTES = 64;
/** 1 + 8 + (1 + 32) + (1 + 64) + 32 + 32 + 16 + 64. */
export const MAX_RECORD_BYTES = 1 + 8 + 1 + HANDLE_MAX + 1 + MAX_DISPLAY_NAME_BYTES + SIGNING_PUBLIC_BYTES + X25519_PUBLIC_BYTES + REQUEST_TOKEN_BYTES + SIGNATURE_BYTES;
/** The largest version: u64, but kept below 2^53 so JSON state files and JS numbers hold it exactly. */
export const MAX_VERSION = BigInt(Number.MAX_SAFE_INTEGER);

// Domain separation: a signature made for one purpose can never be presented as another.
export const RECORD_CONTEXT = Buffer.from('p2p-chat account record v1\0', 'ascii');
export const ROTATE_CONTEXT = Buffer.from('p2p-chat account rotate v1\0', 'ascii');
export const DELETE_CONTEXT = Buffer.from('p2p-chat account delete v1\0', 'ascii');

export interface AccountFields {
  version: bigint;
  /** Canonical handle (see handle.ts). */
  handle: string;
  displayName: string;
  /** Ed25519: signs this record; the account key for "one handle per key". */
  signingKey: Buffer;
  /** X25519 Noise static key: what peers pin and handshake with. */
  staticKey: Buffer;
  /** Rotatable; contact requests go to a topic derived from the static key and this token. */
  requestToken: Buffer;
}

export interface AccountRecord extends AccountFields {
  signature: Buffer;
  /** The exact bytes received or produced: what the server stores and compares. */
  bytes: Buffer;
}

export interface AccountDeletion {
  version: bigint;
  handle: string;
  signingKey: Buffer;
  signature: Buffer;
  bytes: Buffer;
}

export interface AccountRotation {
  /** The new record, signed by the new key. */
  record: AccountRecord;
  /** Signature by the OLD key over ROTATE_CONTEXT || record.bytes. */
  oldSignature: Buffer;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

// Display names are peer text: bounded, valid UTF-8, and free of the characters that reorder or hide
// text (bidi controls, zero-width and other invisible format characters) or drive a terminal (C0/C1
// controls): the same list every sink strips (shared/invisibleChars.ts), refused here at the source so a
// signed name never displays differently from what was signed. Renderers still treat names as inert text.
const FORBIDDEN_IN_NAME = new RegExp(`[${CONTROL_SOURCE}${INVISIBLE_FORMAT_SOURCE}]`, 'u');

export function displayNameError(name: string): string | undefined {
  if (Buffer.byteLength(name, 'utf8') > MAX_DISPLAY_NAME_BYTES) return `display name longer than ${MAX_DISPLAY_NAME_BYTES} bytes (UTF-8)`;
  if (FORBIDDEN_IN_NAME.test(name)) return 'display name contains control, zero-width or bidi characters';
  if (name.normalize('NFC') !== name) return 'display name is not in Unicode NFC';
  return undefined;
}

function fieldsError(f: AccountFields): string | undefined {
  if (!(f.version >= 1n && f.version <= MAX_VERSION)) return `version must be 1..2^53-1`;
  if (!isCanonicalHandle(f.handle)) return `handle "${f.handle}" is not canonical`;
  const dn = displayNameError(f.displayName);
  if (dn) return dn;
  if (f.signingKey.length !== SIGNING_PUBLIC_BYTES) return 'signing key must be 32 bytes';
  if (f.staticKey.length !== X25519_PUBLIC_BYTES) return 'static key must be 32 bytes';
  if (f.requestToken.length !== REQUEST_TOKEN_BYTES) return 'request token must be 16 bytes';
  return undefined;
}

function writeBody(w: Writer, f: AccountFields): void {
  w.u8(RECORD_FORMAT).u64(f.version).str8(f.handle, HANDLE_MAX).str8(f.displayName, MAX_DISPLAY_NAME_BYTES);
  w.bytes(f.signingKey).bytes(f.staticKey).bytes(f.requestToken);
}

function signed(context: Buffer, body: Uint8Array): Buffer {
  return Buffer.concat([context, body]);
}

export function newRequestToken(): Buffer {
  return randomBytes(REQUEST_TOKEN_BYTES);
}

/** Sign a record with the account key (which must be the record's signing key). Throws on bad fields. */
export function signRecord(fields: AccountFields, key: SigningKeyPair): AccountRecord {
  const err = fieldsError(fields);
  if (err) throw new RangeError(err);
  if (!key.publicKey.equals(fields.signingKey)) throw new RangeError('record must be signed by its own signing key');
  const w = new Writer(MAX_RECORD_BYTES);
  writeBody(w, fields);
  const body = Buffer.from(w.finish());
  const signature = sign(key, signed(RECORD_CONTEXT, body));
  const bytes = Buffer.concat([body, signature]);
  return { ...fields, signingKey: Buffer.from(fields.signingKey), staticKey: Buffer.from(fields.staticKey), requestToken: Buffer.from(fields.requestToken), signature, bytes };
}

function readBody(r: Reader): AccountFields {
  const format = r.u8('record format');
  if (format !== RECORD_FORMAT && !r.failed) r.fail(`unknown record format ${format}`);
  const version = r.u64('version');
  const handle = r.str8(HANDLE_MAX, 'handle');
  const displayName = r.str8(MAX_DISPLAY_NAME_BYTES, 'display name');
  const signingKey = r.bytes(SIGNING_PUBLIC_BYTES, 'signing key');
  const staticKey = r.bytes(X25519_PUBLIC_BYTES, 'static key');
  const requestToken = r.bytes(REQUEST_TOKEN_BYTES, 'request token');
  return { version, handle, displayName, signingKey, staticKey, requestToken };
}

/**
 * Read a record at the reader's position and check it completely: layout, field rules and the
 * signature by its own key. A record that fails any of these is not a record.
 */
export function readRecord(r: Reader): Checked<AccountRecord> {
  const start = r.offset;
  const fields = readBody(r);
  const bodyEnd = r.offset;
  const signature = r.bytes(SIGNATURE_BYTES, 'signature');
  if (r.failed) return { ok: false, error: r.failed };
  const err = fieldsError(fields);
  if (err) return { ok: false, error: err };
  // Re-read the exact bytes: Reader copies out, so take them from the fields' positions.
  const bytes = r.slice(start, r.offset);
  if (!verify(fields.signingKey, signed(RECORD_CONTEXT, bytes.subarray(0, bodyEnd - start)), signature)) {
    return { ok: false, error: 'record signature does not verify' };
  }
  return { ok: true, value: { ...fields, signature, bytes } };
}

export function decodeRecord(buf: Uint8Array): Checked<AccountRecord> {
  const r = new Reader(buf);
  const rec = readRecord(r);
  if (!rec.ok) return rec;
  if (r.remaining !== 0) return { ok: false, error: `${r.remaining} trailing bytes after record` };
  return rec;
}

export interface RecordExpectations {
  /** The handle that was asked for: a directory must not answer with another account. */
  handle?: string;
  /** The highest version this client has seen (pinned): anything lower is a rollback. */
  minVersion?: bigint;
  /** The signing key this client pinned for the handle, if any. */
  signingKey?: Buffer;
  /** The static (X25519) key this client pinned for the handle, if any. */
  staticKey?: Buffer;
}

/** What a client does with every record a directory hands it. */
export function verifyRecord(buf: Uint8Array, expect: RecordExpectations = {}): Checked<AccountRecord> {
  const d = decodeRecord(buf);
  if (!d.ok) return d;
  const rec = d.value;
  if (expect.handle !== undefined && rec.handle !== expect.handle) return { ok: false, error: `directory answered for "${rec.handle}", not "${expect.handle}"` };
  if (expect.minVersion !== undefined && rec.version < expect.minVersion) {
    return { ok: false, error: `record version ${rec.version} is older than version ${expect.minVersion} already seen (rollback)` };
  }
  if (expect.signingKey && !rec.signingKey.equals(expect.signingKey)) return { ok: false, error: 'record is signed by a different key than the one pinned for this handle' };
  if (expect.staticKey && !rec.staticKey.equals(expect.staticKey)) return { ok: false, error: 'record carries a different identity key than the one pinned for this handle' };
  return d;
}

/** A key rotation: `next` is signed by the new key, and the whole new record by the old one. */
export function signRotation(next: AccountFields, newKey: SigningKeyPair, oldKey: SigningKeyPair): AccountRotation {
  const record = signRecord(next, newKey);
  return { record, oldSignature: sign(oldKey, signed(ROTATE_CONTEXT, record.bytes)) };
}

export function encodeRotation(r: AccountRotation): Buffer {
  return Buffer.concat([r.record.bytes, r.oldSignature]);
}

/** Decodes and checks the new record's own signature; the old key's is checked against the stored record. */
export function readRotation(r: Reader): Checked<AccountRotation> {
  const rec = readRecord(r);
  const oldSignature = r.bytes(SIGNATURE_BYTES, 'old key signature');
  if (!rec.ok) return rec;
  if (r.failed) return { ok: false, error: r.failed };
  return { ok: true, value: { record: rec.value, oldSignature } };
}

export function verifyRotationBy(oldSigningKey: Uint8Array, rot: AccountRotation): boolean {
  return verify(oldSigningKey, signed(ROTATE_CONTEXT, rot.record.bytes), rot.oldSignature);
}

export function signDeletion(d: { version: bigint; handle: string }, key: SigningKeyPair): AccountDeletion {
  if (!(d.version >= 1n && d.version <= MAX_VERSION)) throw new RangeError('version must be 1..2^53-1');
  if (!isCanonicalHandle(d.handle)) throw new RangeError(`handle "${d.handle}" is not canonical`);
  const body = new Writer(80).u8(RECORD_FORMAT).u64(d.version).str8(d.handle, HANDLE_MAX).bytes(key.publicKey).finish();
  const signature = sign(key, signed(DELETE_CONTEXT, body));
  return { version: d.version, handle: d.handle, signingKey: Buffer.from(key.publicKey), signature, bytes: Buffer.concat([body, signature]) };
}

export function readDeletion(r: Reader): Checked<AccountDeletion> {
  const start = r.offset;
  const format = r.u8('deletion format');
  if (format !== RECORD_FORMAT && !r.failed) r.fail(`unknown deletion format ${format}`);
  const version = r.u64('version');
  const handle = r.str8(HANDLE_MAX, 'handle');
  const signingKey = r.bytes(SIGNING_PUBLIC_BYTES, 'signing key');
  const bodyEnd = r.offset;
  const signature = r.bytes(SIGNATURE_BYTES, 'signature');
  if (r.failed) return { ok: false, error: r.failed };
  if (!(version >= 1n && version <= MAX_VERSION)) return { ok: false, error: 'version must be 1..2^53-1' };
  if (!isCanonicalHandle(handle)) return { ok: false, error: `handle "${handle}" is not canonical` };
  const bytes = r.slice(start, r.offset);
  if (!verify(signingKey, signed(DELETE_CONTEXT, bytes.subarray(0, bodyEnd - start)), signature)) return { ok: false, error: 'deletion signature does not verify' };
  return { ok: true, value: { version, handle, signingKey, signature, bytes } };
}
