// A room's name ("Design review"), chosen by whoever starts the room and changeable by any member. It
// never goes to the rendezvous: it travels sealed in the invite (sealInviteName) and, among members,
// as an app message inside the encrypted link (encodeRoomName, docs/PROTOCOL.md §8.4).
//
// Convergence is last-writer-wins on a Lamport clock: a rename carries (lamport, author); a record wins
// over another if its lamport is higher, then if its author's key is higher, then if its name is
// (byte order), so every member picks the same winner whatever order the records arrive in. A rename
// takes lamport = the winning record's + 1, so it beats everything its author had seen. When a link
// comes up each side sends the record it holds: a member who was offline for a rename learns it from
// whoever is there next. `setAt` (wall clock) is only shown ("renamed 5 min ago"), never compared:
// clocks of different machines disagree.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { deriveRoomNameKey } from '../noise/room-keys';
import { unsafeCharsRegExp } from '../../shared/invisibleChars';
import { Decoded, Reader, Writer, fail } from '../wire/bytes';

/** A name is one line of at most this many code points (and so at most 256 UTF-8 bytes). */
export const MAX_ROOM_NAME_CHARS = 64;
const MAX_ROOM_NAME_BYTES = 255;

/** App message type (the first byte of a reliable app message; 0x01 chat, 0x02 reject). */
export const ROOM_NAME_APP_TYPE = 0x03;

export interface RoomNameRecord {
  name: string;
  /** Lamport time of the rename: 0 for a name only read from an invite (any member's record beats it). */
  lamport: number;
  /** Who renamed it: the member's static public key, hex (empty for an invite's name). */
  author: string;
  /** ms since the epoch, the author's clock: shown, never compared. */
  setAt: number;
}

/**
 * The name as it is stored, sent and compared: NFC, no control or invisible characters, one line with
 * single spaces, trimmed, at most MAX_ROOM_NAME_CHARS code points. '' when nothing is left.
 */
export function cleanRoomName(raw: string): string {
  const s = raw.normalize('NFC').replace(unsafeCharsRegExp(), ' ').replace(/\s+/gu, ' ').trim();
  const cps = Array.from(s);
  return cps.length <= MAX_ROOM_NAME_CHARS ? s : cps.slice(0, MAX_ROOM_NAME_CHARS).join('').trimEnd();
}

/** Does `a` win over `b`? A total order, the same on every member. */
export function roomNameWins(a: RoomNameRecord, b: RoomNameRecord | undefined): boolean {
  if (!b) return true;
  if (a.lamport !== b.lamport) return a.lamport > b.lamport;
  if (a.author !== b.author) return a.author > b.author;
  return Buffer.compare(Buffer.from(a.name, 'utf8'), Buffer.from(b.name, 'utf8')) > 0;
}

/** The record after `incoming` arrived: whichever wins; `changed` when that is the incoming one. */
export function mergeRoomName(current: RoomNameRecord | undefined, incoming: RoomNameRecord): { record: RoomNameRecord; changed: boolean } {
  return roomNameWins(incoming, current) ? { record: incoming, changed: current?.name !== incoming.name || current.lamport !== incoming.lamport || current.author !== incoming.author } : { record: current!, changed: false };
}

/** A rename by `author`: after everything it has seen. Throws on an empty name. */
export function renameRecord(current: RoomNameRecord | undefined, name: string, author: string, now: number): RoomNameRecord {
  const clean = cleanRoomName(name);
  if (!clean) throw new RangeError('the room name is empty');
  return { name: clean, lamport: (current?.lamport ?? 0) + 1, author, setAt: now };
}

// ---- among members: app message 0x03 -----------------------------------------------------------------

/**
 * `03 | lamport u32 | setAt u64 | author (32 bytes) | length u8 | name (UTF-8)`. The record the sender
 * holds, its own rename or one it learnt: the author is named, not implied by the link.
 */
export function encodeRoomName(r: RoomNameRecord): Buffer {
  const name = Buffer.from(r.name, 'utf8');
  const author = Buffer.from(r.author, 'hex');
  if (author.length !== 32) throw new RangeError('a room name record needs its author key');
  if (name.length === 0 || name.length > MAX_ROOM_NAME_BYTES) throw new RangeError('room name length');
  return new Writer(1 + 4 + 8 + 32 + 1 + name.length).u8(ROOM_NAME_APP_TYPE).u32(r.lamport).u64(BigInt(r.setAt)).bytes(author).u8(name.length).bytes(name).finish();
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Never throws. A name that is not exactly as cleanRoomName leaves it is refused: all members compare the same string. */
export function decodeRoomName(buf: Buffer): Decoded<RoomNameRecord> {
  const r = new Reader(buf);
  if (r.u8('type') !== ROOM_NAME_APP_TYPE) return fail('not a room name message');
  const lamport = r.u32('lamport');
  const setAt = Number(r.u64('setAt'));
  const author = r.bytes(32, 'author');
  const len = r.u8('length');
  const raw = r.bytes(len, 'name');
  if (r.failed) return fail(r.failed);
  if (lamport === 0) return fail('a room name record has lamport ≥ 1');
  let name: string;
  try {
    name = UTF8.decode(raw);
  } catch {
    return fail('the room name is not UTF-8');
  }
  if (!name || cleanRoomName(name) !== name) return fail('the room name is not clean (empty, control characters, spacing or too long)');
  return r.end({ name, lamport, author: author.toString('hex'), setAt });
}

// ---- in the invite --------------------------------------------------------------------------------------

const SEAL_VERSION = 0x01;
const NONCE_LEN = 12;
const TAG_LEN = 16;
const SEAL_AD = Buffer.from('p2p-chat invite room name', 'utf8');

/**
 * The name sealed for the invite: `01 | nonce (12) | ChaCha20-Poly1305(name) | tag (16)` under a key
 * derived from the room secret. Whoever holds the invite can read it (they can join the room anyway);
 * nobody can change it without the secret, and a server, log or link preview that sees only the room id
 * (or a mangled invite) learns nothing. A random nonce: the key is the room's for life, and the invite
 * is re-sealed after every rename.
 */
export function sealInviteName(secret: Buffer, name: string, nonce: Buffer = randomBytes(NONCE_LEN)): Buffer {
  const clean = cleanRoomName(name);
  if (!clean) throw new RangeError('the room name is empty');
  if (nonce.length !== NONCE_LEN) throw new RangeError('nonce length');
  const sealed = sealWithNonce(deriveRoomNameKey(secret), nonce, Buffer.from(clean, 'utf8'));
  return Buffer.concat([Buffer.from([SEAL_VERSION]), nonce, sealed]);
}

/** The name, or undefined when the bytes are not a name sealed with this room's secret. Never throws. */
export function openInviteName(secret: Buffer, sealed: Buffer): string | undefined {
  if (sealed.length < 1 + NONCE_LEN + 1 + TAG_LEN || sealed[0] !== SEAL_VERSION || sealed.length > 1 + NONCE_LEN + MAX_ROOM_NAME_BYTES + TAG_LEN) return undefined;
  const nonce = sealed.subarray(1, 1 + NONCE_LEN);
  let plain: Buffer | null;
  try {
    plain = openWithNonce(deriveRoomNameKey(secret), nonce, sealed.subarray(1 + NONCE_LEN));
  } catch {
    return undefined;
  }
  if (!plain) return undefined;
  let name: string;
  try {
    name = UTF8.decode(plain);
  } catch {
    return undefined;
  }
  return name && cleanRoomName(name) === name ? name : undefined;
}

/** ChaCha20-Poly1305 (RFC 8439) with a 96-bit nonce of our choosing (aead.ts builds Noise's counter nonces). */
function sealWithNonce(key: Buffer, nonce: Buffer, plain: Buffer): Buffer {
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_LEN });
  c.setAAD(SEAL_AD, { plaintextLength: plain.length });
  const body = c.update(plain);
  c.final();
  return Buffer.concat([body, c.getAuthTag()]);
}

function openWithNonce(key: Buffer, nonce: Buffer, sealed: Buffer): Buffer | null {
  if (sealed.length < TAG_LEN) return null;
  const bodyLen = sealed.length - TAG_LEN;
  try {
    const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_LEN });
    d.setAuthTag(sealed.subarray(bodyLen));
    d.setAAD(SEAL_AD, { plaintextLength: bodyLen });
    const body = d.update(sealed.subarray(0, bodyLen));
    d.final();
    return body;
  } catch {
    return null;
  }
}
