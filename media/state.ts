// The webview's copy of the host's state, folded from HostToWebview messages. Pure (time is passed in)
// so the reducer is unit-tested under Node. The host owns the truth; this is only what is on screen.
import type { ConnectionState, MemberInfo, PeerId } from '../extension/core/types';
import type { FileStatus, HostToWebview, RoomView, TranscriptEntry } from '../extension/shared/protocol';

/** A peer's typing flag expires on its own if the `typing: false` is lost. */
export const TYPING_TTL_MS = 6_000;

export interface ChatModel {
  initialized: boolean;
  room?: RoomView;
  state: ConnectionState;
  members: MemberInfo[];
  transcript: TranscriptEntry[];
  typing: Record<PeerId, { name: string; until: number }>;
}

export function initialModel(): ChatModel {
  return { initialized: false, state: { kind: 'idle' }, members: [], transcript: [], typing: {} };
}

const HOST_TYPES = new Set(['init', 'state', 'members', 'message', 'delivery', 'typing', 'cleared', 'fileStatus', 'filePreview']);
const FILE_STATES = new Set(['offered', 'waiting', 'active', 'done', 'cancelled', 'gone']);
const PREVIEW_MIMES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 128;

/** A file card's live state, checked field by field (the webview trusts nothing it is posted). */
export function isFileStatus(x: unknown): x is FileStatus {
  if (typeof x !== 'object' || x === null) return false;
  const s = x as Record<string, unknown>;
  return (
    isId(s.id) &&
    (s.direction === 'in' || s.direction === 'out') &&
    typeof s.state === 'string' &&
    FILE_STATES.has(s.state) &&
    isCount(s.bytes) &&
    isCount(s.total) &&
    isCount(s.rate) &&
    (s.eta === undefined || isCount(s.eta)) &&
    (s.error === undefined || typeof s.error === 'string') &&
    typeof s.canOpen === 'boolean' &&
    (s.recipients === undefined || isCount(s.recipients)) &&
    (s.received === undefined || isCount(s.received))
  );
}

function isFileRef(x: unknown): boolean {
  if (typeof x !== 'object' || x === null) return false;
  const f = x as Record<string, unknown>;
  return isId(f.id) && typeof f.name === 'string' && isCount(f.size) && typeof f.mime === 'string';
}

/** Anything can be posted to a window; only act on what looks like our protocol. */
export function isHostMessage(x: unknown): x is HostToWebview {
  if (typeof x !== 'object' || x === null) return false;
  const t = (x as { type?: unknown }).type;
  if (typeof t !== 'string' || !HOST_TYPES.has(t)) return false;
  const m = x as Record<string, unknown>;
  switch (t) {
    case 'init':
      return (
        isState(m.state) &&
        Array.isArray(m.members) &&
        Array.isArray(m.transcript) &&
        m.transcript.every(isEntry) &&
        (m.files === undefined || (Array.isArray(m.files) && m.files.every(isFileStatus)))
      );
    case 'state':
      return isState(m.state);
    case 'members':
      return Array.isArray(m.members);
    case 'message':
      return isEntry(m.entry);
    case 'delivery':
      return typeof m.id === 'string' && isDelivery(m.delivery);
    case 'typing':
      return typeof m.peerId === 'string' && typeof m.name === 'string' && typeof m.typing === 'boolean';
    case 'fileStatus':
      return isFileStatus(m.status);
    case 'filePreview':
      return isId(m.id) && typeof m.mime === 'string' && PREVIEW_MIMES.has(m.mime) && m.bytes instanceof Uint8Array;
    default:
      return true;
  }
}

function isState(x: unknown): x is ConnectionState {
  return typeof x === 'object' && x !== null && typeof (x as { kind?: unknown }).kind === 'string';
}

function isDelivery(x: unknown): boolean {
  return x === 'queued' || x === 'sent' || x === 'delivered' || x === 'rejected';
}

function isEntry(x: unknown): x is TranscriptEntry {
  if (typeof x !== 'object' || x === null) return false;
  const e = x as Record<string, unknown>;
  const body = e.body as Record<string, unknown> | undefined;
  if (typeof e.id !== 'string' || typeof e.from !== 'string' || typeof e.fromName !== 'string') return false;
  if (typeof e.sentAt !== 'number' || typeof e.own !== 'boolean' || typeof body !== 'object' || body === null) return false;
  if (body.kind === 'text') return typeof body.text === 'string';
  if (body.kind === 'file') return isFileRef(body.file);
  if (body.kind === 'snippet') {
    const s = body.snippet as Record<string, unknown> | undefined;
    return (
      typeof s === 'object' &&
      s !== null &&
      typeof s.path === 'string' &&
      typeof s.language === 'string' &&
      typeof s.code === 'string' &&
      typeof s.startLine === 'number' &&
      typeof s.endLine === 'number' &&
      (body.text === undefined || typeof body.text === 'string')
    );
  }
  return false;
}

/** What changed, so the view can update only that part. */
export type Change = 'all' | 'state' | 'members' | 'append' | 'replace' | 'delivery' | 'typing' | 'file' | 'none';

export interface Reduced {
  model: ChatModel;
  change: Change;
  /** For 'append' / 'replace' / 'delivery': the entry concerned. */
  entry?: TranscriptEntry;
}

export function reduce(model: ChatModel, msg: HostToWebview, now: number): Reduced {
  switch (msg.type) {
    case 'init':
      return {
        model: {
          initialized: true,
          room: msg.room,
          state: msg.state,
          members: msg.members,
          transcript: [...msg.transcript],
          typing: {},
        },
        change: 'all',
      };
    case 'state':
      return { model: { ...model, state: msg.state }, change: 'state' };
    case 'members':
      return { model: { ...model, members: msg.members }, change: 'members' };
    case 'message': {
      const typing = { ...model.typing };
      delete typing[msg.entry.from]; // a message ends that sender's typing
      const at = model.transcript.findIndex((e) => e.id === msg.entry.id);
      if (at >= 0) {
        const transcript = [...model.transcript];
        transcript[at] = msg.entry;
        return { model: { ...model, transcript, typing }, change: 'replace', entry: msg.entry };
      }
      return { model: { ...model, transcript: [...model.transcript, msg.entry], typing }, change: 'append', entry: msg.entry };
    }
    case 'delivery': {
      const at = model.transcript.findIndex((e) => e.id === msg.id);
      if (at < 0) return { model, change: 'none' };
      const cur = model.transcript[at]!;
      if (!cur.own || rank(msg.delivery) < rank(cur.delivery)) return { model, change: 'none' }; // never step back
      const entry = { ...cur, delivery: msg.delivery };
      const transcript = [...model.transcript];
      transcript[at] = entry;
      return { model: { ...model, transcript }, change: 'delivery', entry };
    }
    case 'typing': {
      const typing = { ...model.typing };
      if (msg.typing) typing[msg.peerId] = { name: msg.name, until: now + TYPING_TTL_MS };
      else delete typing[msg.peerId];
      return { model: { ...model, typing }, change: 'typing' };
    }
    case 'cleared':
      return { model: { ...model, transcript: [], typing: {} }, change: 'all' };
    case 'fileStatus':
    case 'filePreview':
      // The cards keep their own live state (media/fileCard.ts); the transcript does not change.
      return { model, change: 'file' };
  }
}

function rank(d: TranscriptEntry['delivery']): number {
  return d === 'rejected' ? 3 : d === 'delivered' ? 2 : d === 'sent' ? 1 : 0;
}

/** Names of peers typing at `now`, in the order they started. */
export function activeTypers(model: ChatModel, now: number): string[] {
  return Object.values(model.typing)
    .filter((t) => t.until > now)
    .map((t) => t.name);
}

/** Earliest future instant at which the typing line must be redrawn, if any. */
export function nextTypingExpiry(model: ChatModel, now: number): number | undefined {
  let next: number | undefined;
  for (const t of Object.values(model.typing)) if (t.until > now && (next === undefined || t.until < next)) next = t.until;
  return next;
}
