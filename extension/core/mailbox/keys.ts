// Mailbox keys. A room's mailbox is derived from the room's secret (through the Noise psk, itself
// HKDF of the invite secret), per rotation period: the rendezvous sees an id, a public key and a
// signature per request, all of which change every period, so it cannot link today's mailbox to
// yesterday's, nor either of them to the room id it sees in registrations (HKDF outputs for different
// info strings are independent). Every member holds the same keys: a member is both a depositor and
// an owner of the room's mailbox; someone without the room secret is neither.
import * as crypto from 'node:crypto';
import { MAILBOX_ID_BYTES, MAILBOX_SIG_DOMAIN } from '../wire/mailbox';
import { sign, SigningKeyPair, signingKeyFromSeed, verify } from '../account/signing';

/** Mailboxes rotate once a day (wall clock, UTC): the id a member fetches depends only on the date. */
export const MAILBOX_PERIOD_MS = 24 * 3600 * 1000;

const SALT = Buffer.from('p2p-chat mailbox v1', 'utf8');
const ID_DOMAIN = Buffer.from('p2p-chat mailbox id v1', 'utf8');
export interface MailboxKeys {
  period: number;
  mailboxId: Buffer;
  /** Ed25519 public key (raw 32 bytes) the server checks requests against. */
  publicKey: Buffer;
  signing: SigningKeyPair;
  /** ChaCha20-Poly1305 key that seals this period's envelopes. */
  sealKey: Buffer;
}

export function periodOf(wallMs: number): number {
  return Math.floor(wallMs / MAILBOX_PERIOD_MS);
}

/** The id the server stores a mailbox under: a hash of its key, so a request proves it names its own mailbox. */
export function mailboxIdOf(publicKey: Buffer): Buffer {
  return crypto.createHash('sha256').update(ID_DOMAIN).update(publicKey).digest().subarray(0, MAILBOX_ID_BYTES);
}

/** Signature over the mailbox domain and the request bytes before the signature. */
export function signRequest(key: SigningKeyPair, unsigned: Buffer): Buffer {
  return sign(key, Buffer.concat([MAILBOX_SIG_DOMAIN, unsigned]));
}

const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/**
 * Never throws. `cache` keeps imported public keys: importing costs as much as verifying, and a
 * mailbox's key signs every request for a day.
 */
export function verifyRequest(publicKey: Buffer, signed: Buffer, sig: Buffer, cache?: Map<string, crypto.KeyObject>): boolean {
  if (!cache) return verify(publicKey, Buffer.concat([MAILBOX_SIG_DOMAIN, signed]), sig);
  if (publicKey.length !== 32 || sig.length !== 64) return false;
  const hex = publicKey.toString('hex');
  try {
    let key = cache.get(hex);
    if (!key) {
      key = crypto.createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
      if (cache.size >= 10_000) cache.clear();
      cache.set(hex, key);
    }
    return crypto.verify(null, Buffer.concat([MAILBOX_SIG_DOMAIN, signed]), key, sig);
  } catch {
    return false;
  }
}

/** The room's mailbox keys for one period, from the room's psk (never from anything the server sees). */
export function roomMailboxKeys(psk: Buffer, period: number): MailboxKeys {
  const info = (label: string) => Buffer.concat([Buffer.from(label, 'utf8'), Buffer.from([period >>> 24, (period >>> 16) & 255, (period >>> 8) & 255, period & 255])]);
  const expand = (label: string) => Buffer.from(crypto.hkdfSync('sha256', psk, SALT, info(label), 32));
  const signing = signingKeyFromSeed(expand('room mailbox owner '));
  return { period, mailboxId: mailboxIdOf(signing.publicKey), publicKey: signing.publicKey, signing, sealKey: expand('room mailbox seal ') };
}
