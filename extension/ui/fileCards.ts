// What a file card shows, computed from the transfers behind it (pure: no `vscode`, unit-tested).
// A received file's card is its one transfer; a sent file's card is one send, offered to every
// member of the room (one transfer each, more as members come online), so its state and progress
// are the sum of those transfers'. Also: the image sniffing that decides whether a card may show a
// preview (the bytes must be PNG, JPEG, GIF or WebP; a name or a peer's MIME type decides nothing).
import type { TransferInfo } from '../core/transfer/manager';
import type { FileRef, TranscriptEntry } from '../core/types';
import type { FileStatus, PreviewMime } from '../shared/protocol';

/** Largest file whose bytes are posted to the webview for a preview. */
export const MAX_PREVIEW_BYTES = 8 * 1024 * 1024;

/** The image type by magic bytes, or undefined (SVG, HTML, anything else: no preview). */
export function sniffImage(b: Uint8Array): PreviewMime | undefined {
  const at = (i: number, bytes: number[]) => bytes.every((v, k) => b[i + k] === v);
  if (b.length >= 8 && at(0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (b.length >= 3 && at(0, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (b.length >= 6 && (at(0, [0x47, 0x49, 0x46, 0x38, 0x37, 0x61]) || at(0, [0x47, 0x49, 0x46, 0x38, 0x39, 0x61]))) return 'image/gif';
  if (b.length >= 12 && at(0, [0x52, 0x49, 0x46, 0x46]) && at(8, [0x57, 0x45, 0x42, 0x50])) return 'image/webp';
  return undefined;
}

/** A sent file's card: which transfers carry it, and where the file is (to open it, to offer it again). */
export interface OutgoingCard {
  id: string;
  /** The room it was sent in (room id, hex). */
  room: string;
  path: string;
  ref: FileRef;
  /** Transfer ids, one per recipient so far. */
  transfers: string[];
  /** Peers it was offered to (so a member coming online is offered it once). */
  peers: string[];
  /** Cancelled by us: members coming online later are not offered it. */
  cancelled?: boolean;
  /** How each finished transfer ended (the transfer manager forgets finished sends on restart). */
  ended?: Record<string, 'done' | 'cancelled'>;
}

/** The transcript entry of a card (`file:` ids never collide with chat message ids, which hold no `file:`). */
export function fileEntry(ref: FileRef, from: string, fromName: string, own: boolean, at: number): TranscriptEntry {
  return { id: `file:${ref.id}`, from, fromName, own, sentAt: at, body: { kind: 'file', file: ref } };
}

/** A received file's card state, from its transfer (undefined: this editor no longer knows it). */
export function incomingStatus(id: string, t: TransferInfo | undefined): FileStatus {
  if (!t) return { id, direction: 'in', state: 'gone', bytes: 0, total: 0, rate: 0, canOpen: false };
  const state: FileStatus['state'] = t.status === 'offered' ? 'offered' : t.status === 'waiting' ? 'waiting' : t.status;
  return {
    id,
    direction: 'in',
    state,
    bytes: t.status === 'done' ? t.size : t.bytes,
    total: t.size,
    rate: t.status === 'active' ? t.rate : 0,
    ...(t.status === 'active' && t.eta !== undefined && Number.isFinite(t.eta) ? { eta: t.eta } : {}),
    ...(t.status === 'cancelled' ? { error: stopReason(t) } : {}),
    canOpen: t.status === 'done' && t.path !== undefined,
  };
}

/** A sent file's card state: every transfer summed; done when every recipient has it. */
export function outgoingStatus(card: OutgoingCard, transfers: ReadonlyArray<TransferInfo | undefined>, canOpen: boolean): FileStatus {
  const known = transfers.filter((t): t is TransferInfo => t !== undefined);
  const live = known.filter((t) => t.status !== 'cancelled');
  const done = known.filter((t) => t.status === 'done').length;
  let state: FileStatus['state'];
  if (card.cancelled || (known.length > 0 && live.length === 0)) state = 'cancelled';
  else if (live.length > 0 && done === live.length) state = 'done';
  else if (live.some((t) => t.status === 'active')) state = 'active';
  else if (known.length === 0 && card.transfers.length > 0) state = 'gone';
  else state = 'waiting';
  const counted = state === 'cancelled' ? known : live;
  const bytes = counted.reduce((n, t) => n + (t.status === 'done' ? t.size : t.bytes), 0);
  const total = Math.max(card.ref.size, counted.length * card.ref.size);
  const rate = live.reduce((n, t) => n + (t.status === 'active' ? t.rate : 0), 0);
  const slowest = live.filter((t) => t.status === 'active' && t.eta !== undefined && Number.isFinite(t.eta)).reduce((m, t) => Math.max(m, t.eta!), -1);
  const cancelledOne = known.find((t) => t.status === 'cancelled');
  return {
    id: card.id,
    direction: 'out',
    state,
    bytes,
    total,
    rate,
    ...(state === 'active' && slowest >= 0 ? { eta: slowest } : {}),
    ...(state === 'cancelled' ? { error: card.cancelled ? 'cancelled' : cancelledOne ? stopReason(cancelledOne) : 'cancelled' } : {}),
    canOpen,
    recipients: live.length || known.length,
    received: done,
  };
}

/** A few known words for why a transfer stopped (a peer's own reason text is not shown: it is theirs). */
function stopReason(t: TransferInfo): string {
  if (!t.error) return 'cancelled';
  if (t.cancelledByPeer) return t.direction === 'in' ? 'cancelled by the sender' : 'declined or cancelled by the recipient';
  // Our own side's reasons are our words (manager.ts), at most one line.
  return t.error.replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, 200);
}
