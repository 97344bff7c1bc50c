// Room credentials from the invite's secret. HKDF-SHA256 (RFC 5869) with one extract and two expands
// under different info strings: the rendezvous server is given roomId, and since HKDF-Expand outputs for
// distinct info are independent, roomId tells it nothing about the psk that guards the handshake.
// Named rooms use another salt, so a typed name can never land in the same room as an invite.
import * as crypto from 'node:crypto';

export const ROOM_SECRET_LEN = 16;

const INVITE_SALT = Buffer.from('p2p-chat room v1', 'utf8');
const NAMED_SALT = Buffer.from('p2p-chat named room v1', 'utf8');
const INFO_ROOM_ID = Buffer.from('room id', 'utf8');
const INFO_PSK = Buffer.from('noise psk', 'utf8');
const INFO_ROOM_NAME = Buffer.from('room name', 'utf8');

export interface RoomKeys {
  roomId: Buffer; // 32 bytes, public: shown to the rendezvous
  psk: Buffer; // 32 bytes, secret: Noise XXpsk3 pre-shared key
}

function derive(ikm: Buffer, salt: Buffer): RoomKeys {
  const expand = (info: Buffer): Buffer => Buffer.from(crypto.hkdfSync('sha256', ikm, salt, info, 32));
  return { roomId: expand(INFO_ROOM_ID), psk: expand(INFO_PSK) };
}

export function generateRoomSecret(): Buffer {
  return crypto.randomBytes(ROOM_SECRET_LEN);
}

/**
 * The key that seals the room's name in invites (core/room/roomName.ts): a third expand of the same
 * extract, independent of the room id and the psk.
 */
export function deriveRoomNameKey(secret: Buffer): Buffer {
  if (secret.length !== ROOM_SECRET_LEN) throw new RangeError(`room secret must be ${ROOM_SECRET_LEN} bytes`);
  return Buffer.from(crypto.hkdfSync('sha256', secret, INVITE_SALT, INFO_ROOM_NAME, 32));
}

export function deriveRoomKeys(secret: Buffer): RoomKeys {
  if (secret.length !== ROOM_SECRET_LEN) throw new RangeError(`room secret must be ${ROOM_SECRET_LEN} bytes`);
  return derive(secret, INVITE_SALT);
}

/**
 * So that people typing "Team Sync" and "team  sync " meet: compatibility-normalised (NFKC), trimmed,
 * inner whitespace collapsed, lower-cased.
 */
export function normalizeRoomName(name: string): string {
  return name.normalize('NFKC').trim().replace(/\s+/gu, ' ').toLowerCase();
}

/**
 * Keys for a room both sides join by typing the same name. A name is guessable, so anyone (the rendezvous
 * included) who guesses it gets the psk too: such rooms rely on comparing fingerprints, not on the psk.
 */
export function deriveNamedRoomKeys(name: string): RoomKeys {
  const normalized = normalizeRoomName(name);
  if (normalized.length === 0) throw new RangeError('room name is empty');
  return derive(Buffer.from(normalized, 'utf8'), NAMED_SALT);
}
