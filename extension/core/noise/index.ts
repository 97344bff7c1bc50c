// Public API of the Noise layer: handshake, data-phase transport, identity digests, room keys.
export { generateKeyPair, keyPairFromPrivate, type KeyPair } from './x25519';
export { CipherState } from './cipher-state';
export { HandshakeState, MAX_MESSAGE_LEN, PSKLEN, type HandshakeOptions, type ReadResult } from './handshake';
export type { PatternName } from './patterns';
export { ReplayWindow, type ReplayVerdict } from './replay';
export {
  TransportCipher,
  TransportExhaustedError,
  DEFAULT_COUNTER_LIMIT,
  type DropCounts,
  type Sealed,
  type TransportOptions,
} from './transport';
export { fingerprint, safetyNumber } from './fingerprint';
export {
  deriveRoomKeys,
  deriveNamedRoomKeys,
  generateRoomSecret,
  normalizeRoomName,
  ROOM_SECRET_LEN,
  type RoomKeys,
} from './room-keys';
