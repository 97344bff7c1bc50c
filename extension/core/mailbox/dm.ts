// Direct-message mailboxes: one per contact pair, direction and UTC day, owned by the pair and readable
// only by the recipient. Keys come from the pair's X25519 shared secret (the same secret the DM topics
// use), so only the two contacts can derive the mailbox's signing key: a stranger cannot deposit into
// it or fetch it, and a stranger's own pair mailbox with the recipient is one the recipient never reads
// (it reads only its accepted contacts'), so strangers cannot fill a contact's mailbox.
// Envelopes are one-way Noise `X` messages to the recipient's static key: they authenticate the sender's
// static key (the recipient checks it is the contact it pinned) and only the recipient can open them.
import * as crypto from 'node:crypto';
import { HandshakeState, type KeyPair } from '../noise';
import { dh } from '../noise/x25519';
import { signingKeyFromSeed } from '../account/signing';
import { mailboxIdOf, type MailboxKeys } from './keys';

const SALT = Buffer.from('p2p-chat dm mailbox v1', 'utf8');
const PROLOGUE = Buffer.from('p2p-chat dm mailbox v1 ', 'utf8');
/** What X adds to a payload: ephemeral key (32), encrypted static key (32 + 16), payload tag (16). */
export const DM_SEAL_OVERHEAD = 96;

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/**
 * The mailbox `sender` deposits in and `recipient` fetches from on `day`. Both sides compute it: the
 * sender as (me, contact) with direction 'outgoing', the recipient as (me, contact) with 'incoming'.
 * The seal key is unused (X seals to the recipient's static key) but kept for the common shape.
 */
export function dmMailboxKeys(me: KeyPair, contact: Buffer, day: number, direction: 'outgoing' | 'incoming'): MailboxKeys {
  const secret = dh(me.privateKey, contact, me.publicKey);
  const [sender, recipient] = direction === 'outgoing' ? [me.publicKey, contact] : [contact, me.publicKey];
  const info = Buffer.concat([Buffer.from('dm mailbox owner '), u32(day), sender, recipient]);
  const signing = signingKeyFromSeed(Buffer.from(crypto.hkdfSync('sha256', secret, SALT, info, 32)));
  return { period: day, mailboxId: mailboxIdOf(signing.publicKey), publicKey: signing.publicKey, signing, sealKey: Buffer.alloc(32) };
}

/** Seal `plaintext` to `recipient` from `me` for the mailbox `mailboxId` (bound into the prologue). */
export function sealDm(me: KeyPair, recipient: Buffer, mailboxId: Buffer, plaintext: Buffer): Buffer {
  const hs = new HandshakeState({ pattern: 'X', initiator: true, prologue: Buffer.concat([PROLOGUE, mailboxId]), s: me, rs: recipient });
  return hs.writeMessage(plaintext);
}

/**
 * Open an envelope from the mailbox `mailboxId`: undefined unless it was sealed to us, for this mailbox,
 * by exactly the contact we expect (an accepted contact's pinned static key). Never throws.
 */
export function openDm(me: KeyPair, expectedSender: Buffer, mailboxId: Buffer, envelope: Buffer): Buffer | undefined {
  try {
    const hs = new HandshakeState({ pattern: 'X', initiator: false, prologue: Buffer.concat([PROLOGUE, mailboxId]), s: me });
    const r = hs.readMessage(envelope);
    if (!r.ok) return undefined;
    const rs = hs.remoteStatic;
    if (!rs || !rs.equals(expectedSender)) return undefined;
    return r.payload;
  } catch {
    return undefined;
  }
}
