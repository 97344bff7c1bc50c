// Every P2P Chat datagram starts with MAGIC, VERSION, TYPE. One socket carries rendezvous
// traffic, punches, peer traffic and (relayed) TURN/STUN, so the first byte must tell them apart:
// STUN starts with 0b00, TURN ChannelData with 0x40..0x4F, DTLS 20..63, RTP 128..191; 0xC5 is none of those.
export const MAGIC = 0xc5;
export const VERSION = 1;
export const HEADER_BYTES = 3;

export const enum MsgType {
  // client <-> rendezvous
  Register = 0x01,
  Cookie = 0x02,
  Welcome = 0x03,
  Peer = 0x04,
  Left = 0x05,
  Leave = 0x06,
  Error = 0x07,
  Probe = 0x08,
  ProbeReply = 0x09,
  // client <-> rendezvous: the blind mailbox (wire/mailbox.ts; 0x40-0x4F are reserved for it)
  MailboxDeposit = 0x40,
  MailboxDepositAck = 0x41,
  MailboxFetch = 0x42,
  MailboxItems = 0x43,
  MailboxDelete = 0x44,
  MailboxDeleted = 0x45,
  MailboxError = 0x46,
  // peer <-> peer
  Hello = 0x10, // Noise message 1, doubles as the punch packet
  Reply = 0x11, // Noise message 2
  Confirm = 0x12, // Noise message 3
  Data = 0x13, // Noise transport message
  // client <-> rendezvous directory (accounts), wire/directory.ts
  AccountClaim = 0x20,
  AccountUpdate = 0x21,
  AccountRotate = 0x22,
  AccountDelete = 0x23,
  AccountLookup = 0x24,
  AccountResult = 0x25,
  AccountFound = 0x26,
}

export type DatagramKind = 'p2p' | 'stun' | 'channeldata' | 'unknown';

const STUN_COOKIE = 0x2112a442;

/** Classify without parsing: cheap enough to run on every datagram before any allocation. */
export function classify(buf: Uint8Array): DatagramKind {
  if (buf.length >= HEADER_BYTES && buf[0] === MAGIC) return 'p2p';
  if (
    buf.length >= 20 &&
    (buf[0] & 0xc0) === 0 &&
    ((buf[4] << 24) >>> 0) + (buf[5] << 16) + (buf[6] << 8) + buf[7] === STUN_COOKIE
  ) {
    return 'stun';
  }
  if (buf.length >= 4 && buf[0] >= 0x40 && buf[0] <= 0x4f) return 'channeldata';
  return 'unknown';
}
