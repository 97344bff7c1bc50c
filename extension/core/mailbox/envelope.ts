// Sealed room envelopes: what a member deposits in the room's mailbox. The server stores these bytes
// and nothing else; only holders of the room secret can open them.
//   envelope  = version (1) || nonce (12) || ChaCha20-Poly1305(sealKey, nonce, plaintext, ad = mailbox id)
//   plaintext = sender peer id (32) || sender name (str8) || record count (1) || records
//   record    = kind (1) || length (2) || payload
// Binding the mailbox id as associated data means an envelope copied into another mailbox (or period)
// does not open. Layouts: docs/PROTOCOL.md §3.9.
import * as crypto from 'node:crypto';
import { Decoded, Reader, Writer, fail } from '../wire/bytes';
import { MAX_NAME_BYTES, PEER_ID_BYTES } from '../wire/rendezvous';

export const ENVELOPE_VERSION = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Outer framing: version, nonce, tag. */
export const SEAL_OVERHEAD = 1 + NONCE_BYTES + TAG_BYTES;

export const enum RecordKind {
  /** A whole chat message: the same bytes the direct path carries (appMessages.encodeChat). */
  Chat = 1,
  /** One piece of a chat message too large for one envelope. */
  Part = 2,
  /** "I have shown every message of these senders up to these sequence numbers." */
  Receipt = 3,
}

export interface ReceiptEntry {
  sender: Buffer;
  epoch: number;
  seq: number;
}

export type EnvelopeRecord =
  | { kind: 'chat'; payload: Buffer }
  | { kind: 'part'; epoch: number; seq: number; index: number; count: number; data: Buffer }
  | { kind: 'receipt'; entries: ReceiptEntry[] };

export interface EnvelopeContent {
  sender: Buffer;
  name: string;
  records: EnvelopeRecord[];
}

/** Plaintext bytes before the records (the name at its longest). */
export function contentHeadBytes(name: string): number {
  return PEER_ID_BYTES + 1 + Math.min(Buffer.byteLength(name), MAX_NAME_BYTES) + 1;
}

export const RECORD_HEAD_BYTES = 3;
export const PART_HEAD_BYTES = 12;
export const RECEIPT_ENTRY_BYTES = PEER_ID_BYTES + 8;

function truncateName(name: string): string {
  let n = name;
  while (Buffer.byteLength(n) > MAX_NAME_BYTES) n = n.slice(0, -1);
  return n;
}

export function encodeContent(c: EnvelopeContent): Buffer {
  const w = new Writer(256);
  if (c.sender.length !== PEER_ID_BYTES) throw new RangeError('sender must be 32 bytes');
  w.bytes(c.sender).str8(truncateName(c.name), MAX_NAME_BYTES).u8(c.records.length);
  for (const rec of c.records) {
    const p = new Writer(64);
    if (rec.kind === 'chat') {
      w.u8(RecordKind.Chat);
      p.bytes(rec.payload);
    } else if (rec.kind === 'part') {
      w.u8(RecordKind.Part);
      p.u32(rec.epoch).u32(rec.seq).u16(rec.index).u16(rec.count).bytes(rec.data);
    } else {
      w.u8(RecordKind.Receipt);
      p.u8(rec.entries.length);
      for (const e of rec.entries) p.bytes(e.sender).u32(e.epoch).u32(e.seq);
    }
    const payload = p.finish();
    w.u16(payload.length).bytes(payload);
  }
  return w.finish();
}

/** Never throws; unknown record kinds are skipped (a newer sender), malformed ones fail the envelope. */
export function decodeContent(buf: Uint8Array): Decoded<EnvelopeContent> {
  const r = new Reader(buf);
  const sender = r.bytes(PEER_ID_BYTES, 'sender');
  const name = r.str8(MAX_NAME_BYTES, 'name');
  const n = r.u8('record count');
  const records: EnvelopeRecord[] = [];
  for (let i = 0; i < n && !r.failed; i++) {
    const kind = r.u8('record kind');
    const len = r.u16('record length');
    const payload = r.bytes(len, 'record');
    if (r.failed) break;
    if (kind === RecordKind.Chat) {
      records.push({ kind: 'chat', payload });
    } else if (kind === RecordKind.Part) {
      const p = new Reader(payload);
      const epoch = p.u32('epoch');
      const seq = p.u32('seq');
      const index = p.u16('index');
      const count = p.u16('count');
      const data = p.rest();
      if (p.failed || count === 0 || index >= count) return fail(p.failed ?? 'bad part index');
      records.push({ kind: 'part', epoch, seq, index, count, data: Buffer.from(data) });
    } else if (kind === RecordKind.Receipt) {
      const p = new Reader(payload);
      const m = p.u8('receipt count');
      const entries: ReceiptEntry[] = [];
      for (let j = 0; j < m && !p.failed; j++) entries.push({ sender: p.bytes(PEER_ID_BYTES, 'receipt sender'), epoch: p.u32('epoch'), seq: p.u32('seq') });
      const done = p.end(null);
      if (!done.ok) return fail(done.error);
      records.push({ kind: 'receipt', entries });
    }
  }
  return r.end({ sender, name, records });
}

export function seal(key: Buffer, mailboxId: Buffer, plaintext: Buffer): Buffer {
  const nonce = crypto.randomBytes(NONCE_BYTES);
  const c = crypto.createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_BYTES });
  c.setAAD(mailboxId, { plaintextLength: plaintext.length });
  const body = Buffer.concat([c.update(plaintext), c.final()]);
  return Buffer.concat([Buffer.from([ENVELOPE_VERSION]), nonce, body, c.getAuthTag()]);
}

/** Undefined for anything that is not ours: wrong key, wrong mailbox, tampered, truncated. */
export function open(key: Buffer, mailboxId: Buffer, envelope: Buffer): Buffer | undefined {
  if (envelope.length < SEAL_OVERHEAD || envelope[0] !== ENVELOPE_VERSION) return undefined;
  const nonce = envelope.subarray(1, 1 + NONCE_BYTES);
  const body = envelope.subarray(1 + NONCE_BYTES, envelope.length - TAG_BYTES);
  const tag = envelope.subarray(envelope.length - TAG_BYTES);
  try {
    const d = crypto.createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_BYTES });
    d.setAAD(mailboxId, { plaintextLength: body.length });
    d.setAuthTag(tag);
    return Buffer.concat([d.update(body), d.final()]);
  } catch {
    return undefined;
  }
}

/**
 * Split one encoded chat message into records that each fit an envelope of `maxEnvelope` bytes:
 * one `chat` record when it fits, else numbered `part` records (reassembled by the receiver).
 */
export function chatRecords(payload: Buffer, epoch: number, seq: number, name: string, maxEnvelope: number): EnvelopeRecord[] {
  const room = maxEnvelope - SEAL_OVERHEAD - contentHeadBytes(name) - RECORD_HEAD_BYTES;
  if (payload.length <= room) return [{ kind: 'chat', payload }];
  const piece = room - PART_HEAD_BYTES;
  if (piece <= 0) throw new RangeError('envelope cap too small');
  const count = Math.ceil(payload.length / piece);
  if (count > 0xffff) throw new RangeError('message too large for the mailbox');
  const out: EnvelopeRecord[] = [];
  for (let i = 0; i < count; i++) out.push({ kind: 'part', epoch, seq, index: i, count, data: payload.subarray(i * piece, (i + 1) * piece) });
  return out;
}
