import { createHash } from 'node:crypto';
import { HINT_BYTES } from '../wire/peer';

/** A peer's routing hint inside one room (see wire/peer.ts). */
export function peerHint(roomId: Buffer, peerId: Buffer): Buffer {
  return createHash('sha256').update('p2p-chat hint').update(roomId).update(peerId).digest().subarray(0, HINT_BYTES);
}
