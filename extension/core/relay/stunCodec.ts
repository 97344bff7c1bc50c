// STUN (RFC 8489) and TURN (RFC 8656) message codec: pure encode/decode, no I/O.
//
// Why our own codec rather than the npm `stun` package (nodertc/stun 2.1.0), evaluated here:
// - its decoder throws on truncated or malformed input (hostile datagrams must not throw here);
// - it verifies MESSAGE-INTEGRITY / FINGERPRINT by *re-encoding* the decoded message, so the
//   original padding bytes are lost: it rejects the RFC 5769 §2.1 sample request (padded with spaces);
// - it has no ChannelData at all, which TURN's fast path needs;
// - at runtime it would drag in binary-data, ip, meow, parse-url and more for ~300 lines of work.
// It does know the TURN method and attribute numbers; this file needs only those and a CRC.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { Decoded, fail, Reader, Writer } from '../wire/bytes';
import { Endpoint, normaliseAddress, readEndpoint, writeEndpoint } from '../wire/endpoint';

export const MAGIC_COOKIE = 0x2112a442;
export const HEADER_BYTES = 20;
export const TXID_BYTES = 12;

export const enum StunClass {
  Request = 0,
  Indication = 1,
  Success = 2,
  Error = 3,
}

export const Method = {
  Binding: 0x001,
  Allocate: 0x003,
  Refresh: 0x004,
  Send: 0x006,
  Data: 0x007,
  CreatePermission: 0x008,
  ChannelBind: 0x009,
} as const;

export const Attr = {
  MappedAddress: 0x0001,
  Username: 0x0006,
  MessageIntegrity: 0x0008,
  ErrorCode: 0x0009,
  UnknownAttributes: 0x000a,
  ChannelNumber: 0x000c,
  Lifetime: 0x000d,
  XorPeerAddress: 0x0012,
  Data: 0x0013,
  Realm: 0x0014,
  Nonce: 0x0015,
  XorRelayedAddress: 0x0016,
  RequestedTransport: 0x0019,
  XorMappedAddress: 0x0020,
  Software: 0x8022,
  Fingerprint: 0x8028,
} as const;

export const PROTO_UDP = 17;
/** ChannelData channel numbers (RFC 8656 §12). */
export const CHANNEL_MIN = 0x4000;
export const CHANNEL_MAX = 0x4fff;

export interface StunAttribute {
  type: number;
  value: Buffer;
}

export interface StunMessage {
  method: number;
  cls: StunClass;
  txid: Buffer;
  /** Attributes before MESSAGE-INTEGRITY (those after it are not covered by it, so are dropped). */
  attrs: StunAttribute[];
  /** Byte offset of the MESSAGE-INTEGRITY attribute header in `raw`, if present. */
  integrityAt?: number;
  /** Byte offset of the FINGERPRINT attribute header in `raw`, if present (it is then last). */
  fingerprintAt?: number;
  raw: Buffer;
}

export interface EncodeOptions {
  /** HMAC-SHA1 key for MESSAGE-INTEGRITY (long-term: `longTermKey()`). */
  integrityKey?: Buffer;
  fingerprint?: boolean;
}

const pad4 = (n: number) => (4 - (n % 4)) % 4;

/** The 14-bit message type interleaves method bits M0-M11 with the class bits C0, C1. */
export function messageType(method: number, cls: StunClass): number {
  return ((method & 0xf80) << 2) | ((method & 0x070) << 1) | (method & 0x00f) | ((cls & 2) << 7) | ((cls & 1) << 4);
}

function splitType(t: number): { method: number; cls: StunClass } {
  const method = ((t >> 2) & 0xf80) | ((t >> 1) & 0x070) | (t & 0x00f);
  const cls = (((t >> 7) & 2) | ((t >> 4) & 1)) as StunClass;
  return { method, cls };
}

/** Long-term credential key (RFC 8489 §9.2.2). Our usernames/passwords are ASCII, so SASLprep is the identity. */
export function longTermKey(username: string, realm: string, password: string): Buffer {
  return createHash('md5').update(`${username}:${realm}:${password}`, 'utf8').digest();
}

function header(type: number, bodyLength: number, txid: Buffer): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  h.writeUInt16BE(type, 0);
  h.writeUInt16BE(bodyLength, 2);
  h.writeUInt32BE(MAGIC_COOKIE, 4);
  txid.copy(h, 8, 0, TXID_BYTES);
  return h;
}

function attribute(type: number, value: Buffer): Buffer {
  const out = Buffer.alloc(4 + value.length + pad4(value.length));
  out.writeUInt16BE(type, 0);
  out.writeUInt16BE(value.length, 2);
  value.copy(out, 4);
  return out;
}

export function encodeStun(
  msg: { method: number; cls: StunClass; txid: Buffer; attrs: readonly StunAttribute[] },
  opts: EncodeOptions = {},
): Buffer {
  const type = messageType(msg.method, msg.cls);
  let body = Buffer.concat(msg.attrs.map((a) => attribute(a.type, a.value)));
  if (opts.integrityKey) {
    // The HMAC covers the header with a length that already counts MESSAGE-INTEGRITY itself.
    const covered = Buffer.concat([header(type, body.length + 24, msg.txid), body]);
    const mac = createHmac('sha1', opts.integrityKey).update(covered).digest();
    body = Buffer.concat([body, attribute(Attr.MessageIntegrity, mac)]);
  }
  if (opts.fingerprint) {
    const covered = Buffer.concat([header(type, body.length + 8, msg.txid), body]);
    const fp = Buffer.alloc(4);
    fp.writeUInt32BE((crc32(covered) ^ 0x5354554e) >>> 0, 0);
    body = Buffer.concat([body, attribute(Attr.Fingerprint, fp)]);
  }
  return Buffer.concat([header(type, body.length, msg.txid), body]);
}

/** Decode one STUN message that fills the whole datagram. Never throws. */
export function decodeStun(buf: Buffer): Decoded<StunMessage> {
  if (buf.length < HEADER_BYTES) return fail('shorter than a STUN header');
  if ((buf[0] & 0xc0) !== 0) return fail('top bits set: not STUN');
  if (buf.readUInt32BE(4) !== MAGIC_COOKIE) return fail('no magic cookie');
  const length = buf.readUInt16BE(2);
  if (length % 4 !== 0) return fail('length not a multiple of 4');
  if (HEADER_BYTES + length !== buf.length) return fail('length does not match the datagram');
  const { method, cls } = splitType(buf.readUInt16BE(0));
  const msg: StunMessage = { method, cls, txid: buf.subarray(8, 20), attrs: [], raw: buf };
  let off = HEADER_BYTES;
  while (off < buf.length) {
    if (off + 4 > buf.length) return fail('truncated attribute header');
    const type = buf.readUInt16BE(off);
    const len = buf.readUInt16BE(off + 2);
    const end = off + 4 + len;
    if (end > buf.length) return fail('attribute overruns the message');
    const value = buf.subarray(off + 4, end);
    if (msg.fingerprintAt !== undefined) return fail('attribute after FINGERPRINT');
    if (type === Attr.Fingerprint) {
      if (len !== 4) return fail('bad FINGERPRINT length');
      msg.fingerprintAt = off;
    } else if (type === Attr.MessageIntegrity) {
      if (len !== 20) return fail('bad MESSAGE-INTEGRITY length');
      if (msg.integrityAt === undefined) msg.integrityAt = off;
    } else if (msg.integrityAt === undefined) {
      msg.attrs.push({ type, value });
    }
    off = end + pad4(len);
  }
  if (off !== buf.length) return fail('padding overruns the message');
  return { ok: true, value: msg };
}

/** MESSAGE-INTEGRITY check over the bytes as received (padding included), constant-time compare. */
export function checkIntegrity(msg: StunMessage, key: Buffer): boolean {
  const at = msg.integrityAt;
  if (at === undefined) return false;
  const covered = Buffer.from(msg.raw.subarray(0, at));
  covered.writeUInt16BE(at - HEADER_BYTES + 24, 2);
  const mac = createHmac('sha1', key).update(covered).digest();
  return timingSafeEqual(mac, msg.raw.subarray(at + 4, at + 24));
}

export function checkFingerprint(msg: StunMessage): boolean {
  const at = msg.fingerprintAt;
  if (at === undefined) return false;
  return ((crc32(msg.raw.subarray(0, at)) ^ 0x5354554e) >>> 0) === msg.raw.readUInt32BE(at + 4);
}

export function getAttr(msg: StunMessage, type: number): Buffer | undefined {
  return msg.attrs.find((a) => a.type === type)?.value;
}

// --- attribute values -------------------------------------------------------------------------

export function u32Value(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}

export function readU32(value: Buffer | undefined): number | undefined {
  return value && value.length === 4 ? value.readUInt32BE(0) : undefined;
}

export function requestedTransportValue(proto = PROTO_UDP): Buffer {
  return Buffer.from([proto, 0, 0, 0]);
}

export function channelNumberValue(channel: number): Buffer {
  return u32Value((channel & 0xffff) << 16);
}

export function decodeErrorCode(value: Buffer | undefined): { code: number; reason: string } | undefined {
  if (!value || value.length < 4) return undefined;
  const code = (value[2] & 0x07) * 100 + value[3];
  return { code, reason: value.subarray(4).toString('utf8').replace(/[^\x20-\x7e]/g, '?').slice(0, 128) };
}

/** XOR-MAPPED/RELAYED/PEER-ADDRESS value; undefined for something that is not an IP address. */
export function encodeXorAddress(e: Endpoint, txid: Buffer): Buffer | undefined {
  if (!isIP(e.address) || !Number.isInteger(e.port) || e.port < 0 || e.port > 0xffff) return undefined;
  // Our wire form is family(4|6), port, raw address bytes: reuse it rather than parse IPv6 twice.
  const w = new Writer(19);
  writeEndpoint(w, e);
  const plain = w.finish();
  const raw = plain.subarray(3);
  const mask = Buffer.concat([u32Value(MAGIC_COOKIE), txid]);
  const out = Buffer.alloc(4 + raw.length);
  out[1] = raw.length === 4 ? 1 : 2;
  out.writeUInt16BE((e.port ^ (MAGIC_COOKIE >>> 16)) & 0xffff, 2);
  for (let i = 0; i < raw.length; i++) out[4 + i] = raw[i] ^ mask[i];
  return out;
}

export function decodeXorAddress(value: Buffer | undefined, txid: Buffer): Endpoint | undefined {
  if (!value || value.length < 4) return undefined;
  const family = value[1];
  const len = family === 1 ? 4 : family === 2 ? 16 : 0;
  if (len === 0 || value.length !== 4 + len) return undefined;
  const mask = Buffer.concat([u32Value(MAGIC_COOKIE), txid]);
  const plain = Buffer.alloc(3 + len);
  plain[0] = family === 1 ? 4 : 6;
  plain.writeUInt16BE(value.readUInt16BE(2) ^ (MAGIC_COOKIE >>> 16), 1);
  for (let i = 0; i < len; i++) plain[3 + i] = value[4 + i] ^ mask[i];
  const r = new Reader(plain);
  const e = readEndpoint(r);
  return r.failed ? undefined : { address: normaliseAddress(e.address), port: e.port };
}

// --- ChannelData (RFC 8656 §12.4) -------------------------------------------------------------

export function encodeChannelData(channel: number, data: Buffer): Buffer {
  // Over UDP the trailing padding is optional; leaving it off saves up to 3 bytes per datagram.
  const out = Buffer.alloc(4 + data.length);
  out.writeUInt16BE(channel, 0);
  out.writeUInt16BE(data.length, 2);
  data.copy(out, 4);
  return out;
}

export function decodeChannelData(buf: Buffer): Decoded<{ channel: number; data: Buffer }> {
  if (buf.length < 4) return fail('ChannelData shorter than its header');
  const channel = buf.readUInt16BE(0);
  if (channel < CHANNEL_MIN || channel > CHANNEL_MAX) return fail('not a ChannelData channel number');
  const len = buf.readUInt16BE(2);
  if (4 + len > buf.length) return fail('ChannelData length overruns the datagram');
  if (buf.length - (4 + len) > 3) return fail('ChannelData trailing bytes beyond padding');
  return { ok: true, value: { channel, data: buf.subarray(4, 4 + len) } };
}

// --- CRC-32 (ISO-HDLC, as in FINGERPRINT); zlib.crc32 is missing on older Node 20 lines ---------

let crcTable: Uint32Array | undefined;

export function crc32(data: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = crcTable[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
