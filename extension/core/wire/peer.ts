// Peer <-> peer datagrams: the three Noise handshake messages and transport packets.
// Layouts: docs/PROTOCOL.md §4. Session indices work like WireGuard's: each side picks a random
// 32-bit index for the session, so packets find their session even when the sender's address moves.
import { Decoded, Reader, Writer, fail } from './bytes';
import { HEADER_BYTES, MAGIC, MsgType, VERSION } from './header';

/**
 * A Hello is padded to at least this size: a Hello from a spoofed source then never draws a
 * larger Reply (Reply carries 32 + 48 + payload + 16 Noise bytes), so peers cannot be used to amplify.
 */
export const HELLO_MIN_BYTES = 192;
/**
 * Hellos name sender and receiver by short hints, H(room id || peer id)[0..8]: enough to route a punch to
 * the right link before any key agreement, meaningless outside the room. Noise authenticates the real keys.
 */
export const HINT_BYTES = 8;
export const MAX_DATAGRAM_BYTES = 1200;
export const DATA_OVERHEAD = HEADER_BYTES + 4 + 8 + 16;
/**
 * File pieces may travel in larger data packets once a probe showed the path carries them
 * (core/transfer/probe: loopback, LANs); everything else stays under MAX_DATAGRAM_BYTES.
 */
export const MAX_BULK_INNER_BYTES = 65_507 - DATA_OVERHEAD;

export type PeerPacket =
  | { type: 'hello'; sender: number; senderHint: Buffer; receiverHint: Buffer; noise: Buffer }
  | { type: 'reply'; sender: number; receiver: number; noise: Buffer }
  | { type: 'confirm'; sender: number; receiver: number; noise: Buffer }
  | { type: 'data'; receiver: number; counter: bigint; ciphertext: Buffer };

export function encodePeer(p: PeerPacket): Buffer {
  const w = new Writer(p.type === 'data' ? p.ciphertext.length + 16 : 256);
  switch (p.type) {
    case 'hello':
      if (p.senderHint.length !== HINT_BYTES || p.receiverHint.length !== HINT_BYTES) throw new RangeError('hints are 8 bytes');
      w.u8(MAGIC).u8(VERSION).u8(MsgType.Hello).u32(p.sender).bytes(p.senderHint).bytes(p.receiverHint).bytes(p.noise);
      if (w.length < HELLO_MIN_BYTES) throw new RangeError('hello must be padded inside its Noise payload');
      break;
    case 'reply':
      w.u8(MAGIC).u8(VERSION).u8(MsgType.Reply).u32(p.sender).u32(p.receiver).bytes(p.noise);
      if (w.length > HELLO_MIN_BYTES) throw new RangeError('reply larger than a hello');
      break;
    case 'confirm':
      w.u8(MAGIC).u8(VERSION).u8(MsgType.Confirm).u32(p.sender).u32(p.receiver).bytes(p.noise);
      break;
    case 'data':
      w.u8(MAGIC).u8(VERSION).u8(MsgType.Data).u32(p.receiver).u64(p.counter).bytes(p.ciphertext);
      break;
  }
  return w.finish();
}

/** Bytes before a data packet's ciphertext: magic, version, type, receiver index, counter. */
export const DATA_HEADER_BYTES = HEADER_BYTES + 4 + 8;

/**
 * Writes a data packet's header into the first DATA_HEADER_BYTES of `datagram` (whose rest is the
 * sealed inner packet): the same bytes encodePeer produces, without copying the ciphertext.
 */
export function writeDataHeader(datagram: Buffer, receiver: number, counter: bigint): Buffer {
  datagram[0] = MAGIC;
  datagram[1] = VERSION;
  datagram[2] = MsgType.Data;
  datagram.writeUInt32BE(receiver >>> 0, 3);
  datagram.writeBigUInt64BE(counter, 7);
  return datagram;
}

export function isPeerType(type: number): boolean {
  return type >= MsgType.Hello && type <= MsgType.Data;
}

/** Never throws; the Noise/transport layer authenticates what this only frames. */
export function decodePeer(buf: Uint8Array): Decoded<PeerPacket> {
  const max = buf.length >= 3 && buf[2] === MsgType.Data ? MAX_BULK_INNER_BYTES + DATA_OVERHEAD : MAX_DATAGRAM_BYTES + 300;
  if (buf.length > max) return fail('oversized datagram');
  const r = new Reader(buf);
  if (r.u8() !== MAGIC) return fail('bad magic');
  if (r.u8() !== VERSION) return fail('unsupported version');
  const type = r.u8('type');
  switch (type) {
    case MsgType.Hello: {
      if (buf.length < HELLO_MIN_BYTES) return fail('hello too short');
      const sender = r.u32('sender');
      const senderHint = r.bytes(HINT_BYTES, 'sender hint');
      const receiverHint = r.bytes(HINT_BYTES, 'receiver hint');
      return r.end({ type: 'hello', sender, senderHint, receiverHint, noise: r.rest() });
    }
    case MsgType.Reply:
    case MsgType.Confirm: {
      const sender = r.u32('sender');
      const receiver = r.u32('receiver');
      const noise = r.rest();
      if (noise.length < 48) return fail('handshake message too short');
      return r.end({ type: type === MsgType.Reply ? 'reply' : 'confirm', sender, receiver, noise });
    }
    case MsgType.Data: {
      const receiver = r.u32('receiver');
      const counter = r.u64('counter');
      const ciphertext = r.rest();
      if (ciphertext.length < 16) return fail('ciphertext shorter than its tag');
      return r.end({ type: 'data', receiver, counter, ciphertext });
    }
    default:
      return fail(`unknown peer message type 0x${type.toString(16)}`);
  }
}
