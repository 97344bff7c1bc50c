// The chat panel's view-model, owned by the extension host: transcript, members, connection state,
// unread count and draft. It produces every HostToWebview message, and posts deltas only once the
// webview has said `ready` (anything earlier is covered by the `init` that answers `ready`).
// No `vscode` import: the glue in panel.ts / app.ts stays thin and this is unit-tested directly.
import { deliveryRank, type HistoryEntry } from '../core/store/history';
import type { ChatMessage, ConnectionState, DeliveryState, MemberInfo, PeerId, SnippetPayload } from '../core/types';
import type { HostToWebview, RoomView, TranscriptEntry, WebviewToHost } from '../shared/protocol';

/** Where a room's transcript persists (core/store/history.ts's HistoryStore in the extension). */
export interface TranscriptStore {
  load(): HistoryEntry[];
  append(entry: HistoryEntry): void;
  updateDelivery(id: string, delivery: DeliveryState): void;
  clear(): void;
}

export type ControllerChange = 'room' | 'state' | 'members' | 'unread' | 'transcript';

export const DEFAULT_TRANSCRIPT_LIMIT = 2000;

export class ChatController {
  room: RoomView | undefined;
  state: ConnectionState = { kind: 'idle' };
  transcript: TranscriptEntry[] = [];
  unread = 0;
  draft: string | undefined;

  private rawMembers: MemberInfo[] = [];
  private decorated: MemberInfo[] = [];
  private decorate: (members: MemberInfo[]) => MemberInfo[] = (m) => m;
  private store: TranscriptStore | undefined;
  private readonly ids = new Set<string>();
  /** Delivery marks that arrived before their message (Room.send reports 'queued'/'sent' before it returns). */
  private readonly earlyDelivery = new Map<string, DeliveryState>();
  private post: ((m: HostToWebview) => void) | undefined;
  private visible = false;
  private readonly listeners = new Set<(c: ControllerChange) => void>();

  constructor(private readonly limit = DEFAULT_TRANSCRIPT_LIMIT) {}

  // ---- listeners -------------------------------------------------------------------------------

  onChange(listener: (c: ControllerChange) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  private changed(c: ControllerChange): void {
    for (const l of [...this.listeners]) l(c);
  }

  // ---- the webview -----------------------------------------------------------------------------

  /** The webview said `ready`: from now on it gets deltas, starting with a full `init`. */
  attachView(post: (m: HostToWebview) => void): void {
    this.post = post;
    post(this.initMessage());
  }

  /** The webview is gone or reloading (hidden with retainContextWhenHidden off): stop posting until `ready`. */
  detachView(): void {
    this.post = undefined;
  }

  get viewAttached(): boolean {
    return this.post !== undefined;
  }

  /** Whether the user can see the panel: unread messages count only while it is hidden. */
  setVisible(visible: boolean): void {
    this.visible = visible;
    if (visible && this.unread !== 0) {
      this.unread = 0;
      this.changed('unread');
    }
  }

  /** Messages that arrived while this conversation was in the background (app.ts counts those). */
  addUnread(n: number): void {
    if (n <= 0 || this.visible) return;
    this.unread += n;
    this.changed('unread');
  }

  get isVisible(): boolean {
    return this.visible;
  }

  initMessage(): HostToWebview {
    return {
      type: 'init',
      ...(this.room ? { room: this.room } : {}),
      state: this.state,
      members: this.decorated,
      transcript: [...this.transcript],
      ...(this.draft !== undefined ? { draft: this.draft } : {}),
    };
  }

  private send(m: HostToWebview): void {
    this.post?.(m);
  }

  // ---- room lifecycle --------------------------------------------------------------------------

  /**
   * Shows a room: its stored history, plus messages the core still owes peers that the history lacks
   * (e.g. history cleared while the outbox was not empty).
   */
  openRoom(room: RoomView, store: TranscriptStore | undefined, pending: ChatMessage[] = [], draft?: string): void {
    this.room = room;
    this.store = store;
    this.state = { kind: 'idle' };
    this.rawMembers = [];
    this.decorated = [];
    this.unread = 0;
    this.draft = draft;
    this.earlyDelivery.clear();
    this.setTranscript(store ? safeLoad(store) : []);
    for (const m of pending) {
      if (!this.ids.has(m.id)) this.push(this.entryFrom(m, true, 'queued'), true);
    }
    this.send(this.initMessage());
    this.changed('room');
    this.changed('unread');
  }

  /** The room's header changed (e.g. the display name setting): the webview re-renders from init. */
  setRoomView(room: RoomView): void {
    if (!this.room) return;
    this.room = room;
    this.send(this.initMessage());
    this.changed('room');
  }

  /** Shows the transcript of a room we are not in (e.g. the last one, after Disconnect or at startup). */
  showHistory(store: TranscriptStore | undefined): void {
    this.store = store;
    this.setTranscript(store ? safeLoad(store) : []);
    this.send(this.initMessage());
    this.changed('transcript');
  }

  /** Leaves the room view; the transcript stays on screen as history. */
  closeRoom(): void {
    this.room = undefined;
    this.state = { kind: 'idle' };
    this.rawMembers = [];
    this.decorated = [];
    this.draft = undefined;
    this.send(this.initMessage());
    this.changed('room');
    this.changed('state');
    this.changed('members');
  }

  setState(state: ConnectionState): void {
    this.state = state;
    this.send({ type: 'state', state });
    this.changed('state');
  }

  // ---- members ---------------------------------------------------------------------------------

  /** How members get their `verified` flag (the contact book), applied before anything is posted. */
  setDecorator(decorate: (members: MemberInfo[]) => MemberInfo[]): void {
    this.decorate = decorate;
    this.refreshMembers();
  }

  setMembers(members: MemberInfo[]): void {
    this.rawMembers = members;
    this.refreshMembers();
  }

  /** Re-applies the decorator (a contact was verified) and posts the result. */
  refreshMembers(): void {
    this.decorated = this.decorate(this.rawMembers.map((m) => ({ ...m })));
    this.send({ type: 'members', members: this.decorated });
    this.changed('members');
  }

  get members(): MemberInfo[] {
    return this.decorated;
  }

  member(peerId: PeerId): MemberInfo | undefined {
    return this.decorated.find((m) => m.peerId === peerId);
  }

  // ---- messages --------------------------------------------------------------------------------

  /** A message we sent (as returned by Room.send). */
  addOwn(message: ChatMessage): TranscriptEntry {
    const entry = this.entryFrom(message, true, 'queued');
    const early = this.earlyDelivery.get(message.id);
    if (early && deliveryRank(early) > deliveryRank(entry.delivery)) entry.delivery = early;
    this.earlyDelivery.delete(message.id);
    if (this.ids.has(entry.id)) return entry;
    this.push(entry, false);
    this.store?.append(entry);
    this.send({ type: 'message', entry });
    return entry;
  }

  /** A message from a peer; undefined when it is a duplicate of one already shown. */
  addIncoming(message: ChatMessage): TranscriptEntry | undefined {
    if (this.ids.has(message.id)) return undefined;
    const entry = this.entryFrom(message, false);
    this.push(entry, false);
    this.store?.append(entry);
    this.send({ type: 'message', entry });
    if (!this.visible) {
      this.unread++;
      this.changed('unread');
    }
    return entry;
  }

  /** Delivery marks only move forward (a second peer connecting re-sends: 'sent' after 'delivered'). */
  setDelivery(id: string, delivery: DeliveryState): void {
    const entry = this.findOwn(id);
    if (!entry) {
      if (deliveryRank(delivery) > deliveryRank(this.earlyDelivery.get(id))) this.earlyDelivery.set(id, delivery);
      return;
    }
    if (deliveryRank(delivery) <= deliveryRank(entry.delivery)) return;
    entry.delivery = delivery;
    this.store?.updateDelivery(id, delivery);
    this.send({ type: 'delivery', id, delivery });
  }

  typing(peerId: PeerId, name: string, typing: boolean): void {
    this.send({ type: 'typing', peerId, name, typing });
  }

  clearHistory(): void {
    this.store?.clear();
    this.transcript = [];
    this.ids.clear();
    this.send({ type: 'cleared' });
    this.changed('transcript');
  }

  setDraft(text: string): void {
    this.draft = text;
  }

  /** Who sent this snippet (the newest message carrying exactly it): a display name, or ours. */
  snippetSender(s: SnippetPayload): string | undefined {
    for (let i = this.transcript.length - 1; i >= 0; i--) {
      const e = this.transcript[i];
      if (e.body.kind !== 'snippet') continue;
      const t = e.body.snippet;
      if (t.path === s.path && t.startLine === s.startLine && t.endLine === s.endLine && t.code === s.code) return e.own ? (this.room?.selfName ?? 'you') : e.fromName;
    }
    return undefined;
  }

  // ---- internals -------------------------------------------------------------------------------

  private findOwn(id: string): TranscriptEntry | undefined {
    if (!this.ids.has(id)) return undefined;
    for (let i = this.transcript.length - 1; i >= 0; i--) {
      const e = this.transcript[i];
      if (e.id === id) return e.own ? e : undefined;
    }
    return undefined;
  }

  private entryFrom(m: ChatMessage, own: boolean, delivery?: DeliveryState): TranscriptEntry {
    const entry: TranscriptEntry = { id: m.id, from: m.from, fromName: m.fromName, own, sentAt: m.sentAt, body: m.body };
    if (own) entry.delivery = delivery ?? 'queued';
    return entry;
  }

  private setTranscript(entries: HistoryEntry[]): void {
    this.transcript = entries.slice(Math.max(0, entries.length - this.limit));
    this.ids.clear();
    for (const e of this.transcript) this.ids.add(e.id);
  }

  private push(entry: TranscriptEntry, persist: boolean): void {
    this.transcript.push(entry);
    this.ids.add(entry.id);
    if (persist) this.store?.append(entry);
    if (this.transcript.length > this.limit) {
      for (const old of this.transcript.splice(0, this.transcript.length - this.limit)) this.ids.delete(old.id);
    }
    this.changed('transcript');
  }
}

function safeLoad(store: TranscriptStore): HistoryEntry[] {
  try {
    return store.load();
  } catch {
    return []; // an unreadable history must not keep the panel from opening
  }
}

// ---- webview → host validation -----------------------------------------------------------------

/** Messages from the webview are checked like any input crossing a boundary. */
export function parseWebviewMessage(x: unknown): WebviewToHost | undefined {
  if (typeof x !== 'object' || x === null) return undefined;
  const m = x as Record<string, unknown>;
  switch (m.type) {
    case 'ready':
    case 'copyInvite':
    case 'connect':
    case 'retry':
    case 'focused':
      return { type: m.type };
    case 'send':
      return typeof m.text === 'string' ? { type: 'send', text: m.text } : undefined;
    case 'typing':
      return typeof m.typing === 'boolean' ? { type: 'typing', typing: m.typing } : undefined;
    case 'draft':
      if (typeof m.text !== 'string') return undefined;
      if (m.room === undefined) return { type: 'draft', text: m.text };
      return typeof m.room === 'string' && /^[0-9a-f]{64}$/.test(m.room) ? { type: 'draft', text: m.text, room: m.room } : undefined;
    case 'verifyPeer':
      return typeof m.peerId === 'string' ? { type: 'verifyPeer', peerId: m.peerId } : undefined;
    case 'openSnippet': {
      const s = m.snippet as Record<string, unknown> | undefined;
      if (typeof s !== 'object' || s === null) return undefined;
      const { path, language, startLine, endLine, code } = s;
      if (typeof path !== 'string' || typeof language !== 'string' || typeof code !== 'string') return undefined;
      if (!isLine(startLine) || !isLine(endLine)) return undefined;
      return { type: 'openSnippet', snippet: { path, language, startLine, endLine, code } };
    }
    default:
      return undefined;
  }
}

function isLine(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1;
}

/** One line for a notification or a tooltip. */
export function messagePreview(entry: Pick<TranscriptEntry, 'body'>, max = 120): string {
  const b = entry.body;
  const raw =
    b.kind === 'text'
      ? b.text
      : `${b.text ? b.text + ' ' : ''}[${b.snippet.path || 'snippet'}:${b.snippet.startLine}` +
        `${b.snippet.endLine !== b.snippet.startLine ? '-' + b.snippet.endLine : ''}]`;
  const one = raw.replace(/\s+/g, ' ').trim();
  return one.length > max ? one.slice(0, max - 1) + '…' : one;
}
