// The two handshake patterns this project speaks (Noise spec rev 34 §7.5 and §9). Neither has
// pre-messages. Message i is written by the initiator when i is even.
export type Token = 'e' | 's' | 'ee' | 'es' | 'se' | 'ss' | 'psk';
export type PatternName = 'XX' | 'XXpsk3';

export interface HandshakePattern {
  protocolName: string;
  messages: readonly (readonly Token[])[];
  usesPsk: boolean;
}

export const PATTERNS: Readonly<Record<PatternName, HandshakePattern>> = {
  XX: {
    protocolName: 'Noise_XX_25519_ChaChaPoly_SHA256',
    messages: [['e'], ['e', 'ee', 's', 'es'], ['s', 'se']],
    usesPsk: false,
  },
  XXpsk3: {
    protocolName: 'Noise_XXpsk3_25519_ChaChaPoly_SHA256',
    messages: [['e'], ['e', 'ee', 's', 'es'], ['s', 'se', 'psk']],
    usesPsk: true,
  },
};
