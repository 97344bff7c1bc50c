// Peer <-> peer packets of contact requests (types 0x14..0x1F belong to contacts; PROTOCOL.md §10.4).
//
//   requestHello  0x14: sender index u32 | Noise IKpsk1 message 1 (e, es, s, ss, psk; payload = RequestPayload)
//   requestReply  0x15: receiver index u32 | Noise IKpsk1 message 2 (e, ee, se; payload = status u8)
//   requestPunch  0x16: 8 random bytes: the recipient opens its NAT towards a requester it was told of
//
// The requester knows the recipient's static key and request token (from a contact link or a signed
// account record); the psk is derived from them (contacts/topics.ts requestPsk), so only holders of a
// current link or record can write a readable message 1, and message 1 proves the requester's own static key.
// A reply is always smaller than the hello it answers, so a recipient cannot be used to amplify.
import { Decoded, Reader, Writer, fail } from './bytes';
import { HEADER_BYTES, MAGIC, VERSION } from './header';

export const enum ContactPacketType {
  RequestHello = 0x14,
  RequestReply = 0x15,
  RequestPunch = 0x16,
}

export function isContactPeerType(t: number): boolean {
  return t >= 0x14 && t <= 0x1f;
}

export const MAX_NOTE_CHARS = 280;
/** 280 characters of up to 3 UTF-8 bytes each; 4-byte ones count as 2 UTF-16 units, so this bounds both. */
export const MAX_NOTE_BYTES = 840;
export const MAX_REQUEST_NAME_BYTES = 64;
export const MAX_REQUEST_HANDLE_BYTES = 96;
export const PUNCH_BYTES = 8;

export const enum RequestStatus {
  /** Stored for the user to accept, ignore or block. */
  Received = 1,
  /** Already a contact: nothing to do, the DM topic works. */
  AlreadyContact = 2,
}

export interface RequestPayload {
  /** The requester's Ed25519 key (verifies its account record, when it has one); 32 bytes. */
  signingKey: Buffer;
  /** "alice@host:port" when the requester has an account, else empty. */
  handle: string;
  displayName: string;
  note: string;
}

export type ContactPacket =
  | { type: 'requestHello'; sender: number; noise: Buffer }
  | { type: 'requestReply'; receiver: number; noise: Buffer }
  | { type: 'requestPunch'; nonce: Buffer };

export function noteError(note: string): string | undefined {
  if ([...note].length > MAX_NOTE_CHARS) return `a note is at most ${MAX_NOTE_CHARS} characters`;
  if (Buffer.byteLength(note) > MAX_NOTE_BYTES) return `a note is at most ${MAX_NOTE_BYTES} bytes of UTF-8`;
  return undefined;
}

export function encodeRequestPayload(p: RequestPayload): Buffer {
  if (p.signingKey.length !== 32) throw new RangeError('signing key must be 32 bytes');
  const err = noteError(p.note);
  if (err) throw new RangeError(err);
  const note = Buffer.from(p.note, 'utf8');
  const w = new Writer(64 + note.length);
  w.u8(1).bytes(p.signingKey).str8(p.handle, MAX_REQUEST_HANDLE_BYTES).str8(p.displayName, MAX_REQUEST_NAME_BYTES).u16(note.length).bytes(note);
  return w.finish();
}

export function decodeRequestPayload(buf: Uint8Array): Decoded<RequestPayload> {
  const r = new Reader(buf);
  const version = r.u8('version');
  if (!r.failed && version !== 1) return fail(`unsupported request version ${version}`);
  const signingKey = r.bytes(32, 'signing key');
  const handle = r.str8(MAX_REQUEST_HANDLE_BYTES, 'handle');
  const displayName = r.str8(MAX_REQUEST_NAME_BYTES, 'display name');
  const len = r.u16('note length');
  if (len > MAX_NOTE_BYTES) return fail('note too long');
  const raw = r.bytes(len, 'note');
  const d = r.end({ signingKey, handle, displayName, note: '' });
  if (!d.ok) return d;
  const note = new TextDecoder('utf-8', { fatal: true });
  try {
    d.value.note = note.decode(raw);
  } catch {
    return fail('note is not valid UTF-8');
  }
  const err = noteError(d.value.note);
  return err ? fail(err) : d;
}

export function encodeContactPacket(p: ContactPacket): Buffer {
  const w = new Writer(HEADER_BYTES + 4 + (p.type === 'requestPunch' ? PUNCH_BYTES : p.noise.length));
  w.u8(MAGIC).u8(VERSION);
  switch (p.type) {
    case 'requestHello':
      w.u8(ContactPacketType.RequestHello).u32(p.sender).bytes(p.noise);
      break;
    case 'requestReply':
      w.u8(ContactPacketType.RequestReply).u32(p.receiver).bytes(p.noise);
      break;
    case 'requestPunch':
      if (p.nonce.length !== PUNCH_BYTES) throw new RangeError('punch nonce is 8 bytes');
      w.u8(ContactPacketType.RequestPunch).bytes(p.nonce);
      break;
  }
  return w.finish();
}

/** Never throws; Noise authenticates what this only frames. */
export function decodeContactPacket(buf: Uint8Array): Decoded<ContactPacket> {
  const r = new Reader(buf);
  if (r.u8() !== MAGIC) return fail('bad magic');
  if (r.u8() !== VERSION) return fail('unsupported version');
  const type = r.u8('type');
  switch (type) {
    case ContactPacketType.RequestHello: {
      const sender = r.u32('sender');
      return r.end({ type: 'requestHello', sender, noise: r.rest() });
    }
    case ContactPacketType.RequestReply: {
      const receiver = r.u32('receiver');
      return r.end({ type: 'requestReply', receiver, noise: r.rest() });
    }
    case ContactPacketType.RequestPunch:
      return r.end({ type: 'requestPunch', nonce: r.bytes(PUNCH_BYTES, 'nonce') });
    default:
      return fail(`unknown contact packet type 0x${type.toString(16)}`);
  }
}
