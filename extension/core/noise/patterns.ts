// The handshake patterns this project speaks (Noise spec rev 34 §7.4, §7.5, §9). Message i is written by
// the initiator when i is even. Pre-messages list the static keys each side knows before the first
// message: `initiator` is the initiator's key the responder already holds ("-> s"), `responder` the
// responder's key the initiator already holds ("<- s").
//   XX, XXpsk3  rooms: nobody knows anybody's key in advance.
//   KK, KKpsk0  direct messages between contacts: both keys pinned, payload in message 1.
//   IK, IKpsk1  contact requests: the requester knows the recipient's key (from a link or a signed
//               record) and proves its own in message 1; psk1 makes message 1 unreadable without the
//               current request token, so rotating the token revokes old links. (IKpsk2 too, for the
//               vectors and for uses where the psk need only be checked by the initiator.)
//   X           one-way sealed box to a known key (the mailbox of issue #12).
export type Token = 'e' | 's' | 'ee' | 'es' | 'se' | 'ss' | 'psk';
export type PatternName = 'XX' | 'XXpsk3' | 'KK' | 'KKpsk0' | 'IK' | 'IKpsk1' | 'IKpsk2' | 'X';

export interface HandshakePattern {
  protocolName: string;
  /** Static keys known before the handshake: hashed into the transcript first, initiator's first. */
  preMessages: { initiator: boolean; responder: boolean };
  messages: readonly (readonly Token[])[];
  usesPsk: boolean;
  /** One-way patterns: only the initiator ever sends; the responder never writes. */
  oneWay: boolean;
}

const NONE = { initiator: false, responder: false };
const BOTH = { initiator: true, responder: true };
const RESP = { initiator: false, responder: true };

export const PATTERNS: Readonly<Record<PatternName, HandshakePattern>> = {
  XX: {
    protocolName: 'Noise_XX_25519_ChaChaPoly_SHA256',
    preMessages: NONE,
    messages: [['e'], ['e', 'ee', 's', 'es'], ['s', 'se']],
    usesPsk: false,
    oneWay: false,
  },
  XXpsk3: {
    protocolName: 'Noise_XXpsk3_25519_ChaChaPoly_SHA256',
    preMessages: NONE,
    messages: [['e'], ['e', 'ee', 's', 'es'], ['s', 'se', 'psk']],
    usesPsk: true,
    oneWay: false,
  },
  KK: {
    protocolName: 'Noise_KK_25519_ChaChaPoly_SHA256',
    preMessages: BOTH,
    messages: [['e', 'es', 'ss'], ['e', 'ee', 'se']],
    usesPsk: false,
    oneWay: false,
  },
  KKpsk0: {
    protocolName: 'Noise_KKpsk0_25519_ChaChaPoly_SHA256',
    preMessages: BOTH,
    messages: [['psk', 'e', 'es', 'ss'], ['e', 'ee', 'se']],
    usesPsk: true,
    oneWay: false,
  },
  IK: {
    protocolName: 'Noise_IK_25519_ChaChaPoly_SHA256',
    preMessages: RESP,
    messages: [['e', 'es', 's', 'ss'], ['e', 'ee', 'se']],
    usesPsk: false,
    oneWay: false,
  },
  IKpsk1: {
    protocolName: 'Noise_IKpsk1_25519_ChaChaPoly_SHA256',
    preMessages: RESP,
    messages: [['e', 'es', 's', 'ss', 'psk'], ['e', 'ee', 'se']],
    usesPsk: true,
    oneWay: false,
  },
  IKpsk2: {
    protocolName: 'Noise_IKpsk2_25519_ChaChaPoly_SHA256',
    preMessages: RESP,
    messages: [['e', 'es', 's', 'ss'], ['e', 'ee', 'se', 'psk']],
    usesPsk: true,
    oneWay: false,
  },
  X: {
    protocolName: 'Noise_X_25519_ChaChaPoly_SHA256',
    preMessages: RESP,
    messages: [['e', 'es', 's', 'ss']],
    usesPsk: false,
    oneWay: true,
  },
};
