// Rendezvous topics for contacts. A topic id is 16 bytes the server pairs on and learns nothing from:
//
//   pairwise secret  P = X25519(my static, their static)           (the same on both sides)
//   DM topic (day d) = HKDF-SHA256(ikm P, salt "p2p-chat dm v1", info "dm topic" || u32be(d) || lo || hi)[0..16]
//   DM psk           = HKDF-SHA256(ikm P, salt "p2p-chat dm v1", info "dm psk" || lo || hi)           (32 bytes)
//   inbox topic      = HKDF-SHA256(ikm X25519 pub || token, salt "p2p-chat inbox v1", info "inbox topic")[0..16]
//   request psk      = HKDF-SHA256(ikm X25519 pub || token, salt "p2p-chat inbox v1", info "request psk") (32 bytes)
//
// lo/hi are the two public keys in byte order, so both sides build the same info. d is the UTC day
// number (ms since the epoch / 86 400 000): the DM topic changes every day, so the server cannot link
// one day's meetings to the next by topic id (it still sees the two addresses meet). Near midnight a
// client registers both days' topics, so two clocks a few minutes apart still meet.
// Only the holders of a private key can compute P, so the server, given every handle and key, still
// cannot tell which topic belongs to which pair. The inbox topic is computable by whoever holds a link
// (or the signed record): it is an address for strangers, and rotating the token moves it.
import * as crypto from 'node:crypto';
import { dh, type KeyPair } from '../noise/x25519';

export const TOPIC_ID_BYTES = 16;
export const DAY_MS = 86_400_000;
/** How close to a UTC midnight both days' topics are registered. */
export const MIDNIGHT_MARGIN_MS = 15 * 60_000;

const DM_SALT = Buffer.from('p2p-chat dm v1', 'utf8');
const INBOX_SALT = Buffer.from('p2p-chat inbox v1', 'utf8');

function hkdf(ikm: Buffer, salt: Buffer, info: Buffer, len: number): Buffer {
  return Buffer.from(crypto.hkdfSync('sha256', ikm, salt, info, len));
}

function orderedKeys(a: Buffer, b: Buffer): Buffer {
  return Buffer.compare(a, b) <= 0 ? Buffer.concat([a, b]) : Buffer.concat([b, a]);
}

export function utcDay(wallMs: number): number {
  return Math.floor(wallMs / DAY_MS);
}

/** The keys of one contact pair: computed once per contact, then topics per day are cheap. */
export class PairKeys {
  private readonly secret: Buffer;
  private readonly keys: Buffer;
  readonly psk: Buffer;
  /** A stable 32-byte id for the pair's conversation: link hints and the local store's file name, never sent to a server. */
  readonly conversationId: Buffer;

  constructor(me: KeyPair, theirStatic: Buffer) {
    if (theirStatic.length !== 32) throw new RangeError('static key must be 32 bytes');
    // Throws for a low-order key (all-zero secret): such a "contact" is refused when added.
    this.secret = dh(me.privateKey, theirStatic, me.publicKey);
    this.keys = orderedKeys(me.publicKey, theirStatic);
    this.psk = hkdf(this.secret, DM_SALT, Buffer.concat([Buffer.from('dm psk'), this.keys]), 32);
    this.conversationId = hkdf(this.secret, DM_SALT, Buffer.concat([Buffer.from('dm conversation'), this.keys]), 32);
  }

  topic(day: number): Buffer {
    const d = Buffer.alloc(4);
    d.writeUInt32BE(day >>> 0);
    return hkdf(this.secret, DM_SALT, Buffer.concat([Buffer.from('dm topic'), d, this.keys]), TOPIC_ID_BYTES);
  }

  /** The topics to be registered at this wall-clock time: today's, plus the neighbour day near midnight. */
  topicsAt(wallMs: number): Buffer[] {
    const day = utcDay(wallMs);
    const into = wallMs - day * DAY_MS;
    const out = [this.topic(day)];
    if (into < MIDNIGHT_MARGIN_MS) out.push(this.topic(day - 1));
    else if (DAY_MS - into <= MIDNIGHT_MARGIN_MS) out.push(this.topic(day + 1));
    return out;
  }
}

function inboxIkm(staticKey: Buffer, requestToken: Buffer): Buffer {
  if (staticKey.length !== 32) throw new RangeError('static key must be 32 bytes');
  if (requestToken.length !== 16) throw new RangeError('request token must be 16 bytes');
  return Buffer.concat([staticKey, requestToken]);
}

export function inboxTopic(staticKey: Buffer, requestToken: Buffer): Buffer {
  return hkdf(inboxIkm(staticKey, requestToken), INBOX_SALT, Buffer.from('inbox topic'), TOPIC_ID_BYTES);
}

export function requestPsk(staticKey: Buffer, requestToken: Buffer): Buffer {
  return hkdf(inboxIkm(staticKey, requestToken), INBOX_SALT, Buffer.from('request psk'), 32);
}
