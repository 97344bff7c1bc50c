// Hostile datagrams, reproducible from a seed: random bytes, STUN- and ChannelData-looking noise,
// valid messages of every type (rendezvous and peer) that are then truncated, bit-flipped, extended or
// have a length field rewritten, data packets aimed at a live session with garbage ciphertext, and
// oversized datagrams up to the IPv4 UDP maximum.
import { encodeRendezvous, ErrorCode, type RendezvousMessage } from '../../../extension/core/wire/rendezvous';
import { encodePeer, HELLO_MIN_BYTES } from '../../../extension/core/wire/peer';
import { MAGIC, VERSION } from '../../../extension/core/wire/header';
import { prng } from './rig';

export const UDP_MAX_IPV4 = 65_507;

type Rng = ReturnType<typeof prng>;

export interface Aim {
  roomId: Buffer;
  /** Real peer ids and hints, so some forgeries route past the first checks. */
  peerIds: Buffer[];
  hints: Buffer[];
  /** Receiver indices of live sessions: data packets with these reach the AEAD. */
  liveIndices: number[];
  /** Real datagrams captured on the wire (handshakes and data) to mutate. */
  captured: Buffer[];
}

function validRendezvous(r: Rng, aim: Aim): Buffer {
  const ep = () => (r.next() < 0.5 ? { address: `127.0.0.${1 + r.int(254)}`, port: r.int(65536) } : { address: `2001:db8::${r.int(0xffff).toString(16)}`, port: r.int(65536) });
  const id = () => (r.next() < 0.5 ? r.pick(aim.peerIds) : r.bytes(32));
  const room = () => (r.next() < 0.5 ? aim.roomId : r.bytes(32));
  const name = () => 'x'.repeat(r.int(65));
  const cands = () => Array.from({ length: r.int(9) }, ep);
  const member = () => ({ peerId: id(), name: name(), flags: r.int(4), reflexive: ep(), candidates: cands() });
  const all: (() => RendezvousMessage)[] = [
    () => ({ type: 'register', roomId: room(), peerId: id(), cookie: r.bytes(16), name: name(), flags: r.int(4), candidates: cands() }),
    () => ({ type: 'cookie', cookie: r.bytes(16) }),
    () => ({ type: 'welcome', observed: ep(), refreshSeconds: r.int(65536), members: r.int(256), known: Array.from({ length: r.int(4) }, member) }),
    () => ({ type: 'peer', joined: r.next() < 0.5, member: member() }),
    () => ({ type: 'left', peerId: id() }),
    () => ({ type: 'leave', roomId: room(), peerId: id(), cookie: r.bytes(16) }),
    () => ({ type: 'error', code: r.pick([ErrorCode.Malformed, ErrorCode.RoomFull, ErrorCode.BadCookie, ErrorCode.ServerFull]), message: 'e'.repeat(r.int(121)) }),
    () => ({ type: 'probe', txid: r.bytes(8) }),
    () => ({ type: 'probeReply', txid: r.bytes(8), observed: ep() }),
  ];
  return encodeRendezvous(r.pick(all)());
}

function validPeer(r: Rng, aim: Aim): Buffer {
  const hint = () => (r.next() < 0.7 ? r.pick(aim.hints) : r.bytes(8));
  const index = () => (r.next() < 0.5 && aim.liveIndices.length ? r.pick(aim.liveIndices) : r.int(2 ** 32));
  switch (r.int(4)) {
    case 0:
      return encodePeer({ type: 'hello', sender: r.next() < 0.3 ? 0 : r.int(2 ** 32), senderHint: hint(), receiverHint: hint(), noise: r.bytes(HELLO_MIN_BYTES - 23 + r.int(100)) });
    case 1:
      return encodePeer({ type: 'reply', sender: index(), receiver: index(), noise: r.bytes(48 + r.int(120)) });
    case 2:
      return encodePeer({ type: 'confirm', sender: index(), receiver: index(), noise: r.bytes(48 + r.int(200)) });
    default:
      return garbageData(r, aim);
  }
}

/** A data packet with a valid header, a live receiver index when one is known, and garbage ciphertext. */
export function garbageData(r: Rng, aim: Aim): Buffer {
  const receiver = aim.liveIndices.length && r.next() < 0.8 ? r.pick(aim.liveIndices) : r.int(2 ** 32);
  const counter = r.next() < 0.5 ? BigInt(r.int(1 << 20)) : (BigInt(r.int(2 ** 32)) << 32n) | BigInt(r.int(2 ** 32));
  return encodePeer({ type: 'data', receiver, counter, ciphertext: r.bytes(16 + r.int(1100)) });
}

function stunLooking(r: Rng): Buffer {
  const len = r.int(16) * 4;
  const b = Buffer.concat([Buffer.alloc(20), r.bytes(len)]);
  b.writeUInt16BE(r.pick([0x0001, 0x0101, 0x0111, 0x0003, r.int(0x4000)]), 0);
  b.writeUInt16BE(r.next() < 0.7 ? len : r.int(65536), 2);
  b.writeUInt32BE(0x2112a442, 4);
  r.bytes(12).copy(b, 8);
  return b;
}

function channelDataLooking(r: Rng): Buffer {
  const len = r.int(1200);
  const b = Buffer.concat([Buffer.alloc(4), r.bytes(len)]);
  b.writeUInt16BE(0x4000 + r.int(0x1000), 0);
  b.writeUInt16BE(r.next() < 0.7 ? len : r.int(65536), 2);
  return b;
}

/** Truncate, flip bits, rewrite a byte that is likely a length or count, or append junk. */
export function mutate(r: Rng, src: Buffer): Buffer {
  const b = Buffer.from(src);
  switch (r.int(5)) {
    case 0:
      return b.subarray(0, r.int(b.length + 1));
    case 1: {
      const flips = 1 + r.int(8);
      for (let i = 0; i < flips && b.length; i++) b[r.int(b.length)] ^= 1 << r.int(8);
      return b;
    }
    case 2: {
      // Length prefixes and counts sit after the header and the fixed-size ids; hit every offset anyway.
      if (b.length > 3) b[3 + r.int(b.length - 3)] = r.pick([0, 1, 8, 9, 0x40, 0x7f, 0x80, 0xff]);
      return b;
    }
    case 3:
      return Buffer.concat([b, r.bytes(1 + r.int(64))]);
    default:
      if (b.length > 2) b[1] = r.pick([0, 2, VERSION, 0xff]);
      return b;
  }
}

export type Kind = 'random' | 'stun' | 'channelData' | 'rendezvous' | 'peer' | 'garbageData' | 'captured' | 'oversized';

export interface PoolOptions {
  seed: number;
  size: number;
  aim: Aim;
  /** Relative weights; oversized datagrams are kept rare, they cost the kernel 64 KiB each. */
  weights?: Partial<Record<Kind, number>>;
}

export function hostilePool(o: PoolOptions): { pool: Buffer[]; byKind: Record<Kind, number> } {
  const r = prng(o.seed);
  const w: Record<Kind, number> = { random: 3, stun: 1, channelData: 1, rendezvous: 3, peer: 3, garbageData: 3, captured: 2, oversized: 0.05, ...o.weights };
  if (!o.aim.captured.length) w.captured = 0;
  const kinds = Object.keys(w) as Kind[];
  const total = kinds.reduce((n, k) => n + w[k], 0);
  const byKind = Object.fromEntries(kinds.map((k) => [k, 0])) as Record<Kind, number>;
  const pool: Buffer[] = [];
  for (let i = 0; i < o.size; i++) {
    let x = r.next() * total;
    let kind = kinds[0];
    for (const k of kinds) {
      if ((x -= w[k]) < 0) {
        kind = k;
        break;
      }
    }
    byKind[kind]++;
    let d: Buffer;
    switch (kind) {
      case 'random':
        d = r.bytes(r.int(1500));
        break;
      case 'stun':
        d = stunLooking(r);
        break;
      case 'channelData':
        d = channelDataLooking(r);
        break;
      case 'rendezvous':
        d = r.next() < 0.8 ? mutate(r, validRendezvous(r, o.aim)) : validRendezvous(r, o.aim);
        break;
      case 'peer':
        d = r.next() < 0.8 ? mutate(r, validPeer(r, o.aim)) : validPeer(r, o.aim);
        break;
      case 'garbageData':
        d = garbageData(r, o.aim);
        break;
      case 'captured':
        d = mutate(r, r.pick(o.aim.captured));
        break;
      case 'oversized': {
        const n = 1500 + r.int(UDP_MAX_IPV4 - 1500 + 1);
        d = Buffer.concat([Buffer.from([MAGIC, VERSION, r.pick([0x01, 0x10, 0x13])]), r.bytes(n - 3)]);
        break;
      }
    }
    pool.push(d);
  }
  // At least one datagram of exactly the maximum size.
  pool.push(Buffer.concat([Buffer.from([MAGIC, VERSION, 0x13]), Buffer.alloc(UDP_MAX_IPV4 - 3)]));
  byKind.oversized++;
  return { pool, byKind };
}
