// The Conversations list: every room this user has (joined now or only in history), with its unread
// count, last-message preview and mute flag. Pure (no `vscode` import) so ordering, labels, the badge,
// mentions and the migration from the one-room version are unit-tested directly; conversationsView.ts
// turns rows into tree items through sinks.ts. Everything shown is built with `inert`: labels and
// previews are peer text (a named room's name, a peer's message).
import { inert, inertText, type InertText } from '../../core/inertText';

export interface ConversationMeta {
  /** The room id (hex): also the history file name. */
  id: string;
  /** The room's name as shown (peer text for a named room). */
  name: string;
  /** Joined in this window right now (a live session), as opposed to history only. */
  joined: boolean;
  unread: number;
  /** Unread messages that mention us (counted even while muted). */
  mentions: number;
  /** ms since the epoch of the last message or of joining; orders the list. */
  lastAt: number;
  preview?: string;
  previewFrom?: string;
  muted: boolean;
}

const ROOM_ID = /^[0-9a-f]{64}$/;

/** Most recent first; ties by label, then id, so the order is stable. */
export function orderConversations(list: readonly ConversationMeta[]): ConversationMeta[] {
  return [...list].sort((a, b) => b.lastAt - a.lastAt || a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
}

/**
 * What the tree redraws after a change: only the rows that changed when the list still has the same rows
 * in the same order as last drawn (`drawn`: ids), else the whole list ('all': a row came, went or moved).
 * Redrawing only the changed rows keeps the others (and the keyboard focus and selection in the view)
 * untouched while messages arrive. `changed` undefined: the list itself changed.
 */
export function rowsToRedraw(drawn: readonly string[], ordered: readonly ConversationMeta[], changed: readonly string[] | undefined): 'all' | ConversationMeta[] {
  if (changed === undefined || drawn.length !== ordered.length || ordered.some((c, i) => c.id !== drawn[i])) return 'all';
  const ids = new Set(changed);
  return ordered.filter((c) => ids.has(c.id));
}

/** The badge on the view container: unread of unmuted conversations, plus mentions in muted ones. */
export function totalUnread(list: readonly ConversationMeta[]): number {
  let n = 0;
  for (const c of list) n += c.muted ? c.mentions : c.unread;
  return n;
}

export function badgeTooltip(n: number): InertText {
  return n === 1 ? inert`1 unread message` : inert`${n} unread messages`;
}

/** Does this message text mention us as `@name`? Case-insensitive, whole name, not inside an address. */
export function mentions(text: string, selfName: string): boolean {
  const name = selfName.trim();
  if (!name) return false;
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^\\w@])@${escaped}(?![\\w-])`, 'iu').test(text);
}

export interface ConversationRow {
  label: InertText;
  description: InertText;
  tooltip: InertText;
  /** What a screen reader says for the row. */
  accessibilityLabel: InertText;
  /** A codicon id. */
  icon: string;
  /** For `when` clauses of the context menu: conversation.(joined|history).(muted|unmuted)[.active]. */
  contextValue: string;
}

function plural(n: number, one: string): string {
  return `${n} ${one}${n === 1 ? '' : 's'}`;
}

/** One tree row. `now` only formats "2 min ago" in the tooltip. */
export function conversationRow(c: ConversationMeta, active: boolean, now: number): ConversationRow {
  const label = inertText(c.name, { max: 64 });
  const unread = c.muted ? c.mentions : c.unread;
  const preview = c.preview !== undefined ? inertText(c.previewFrom ? `${c.previewFrom}: ${c.preview}` : c.preview, { max: 80 }) : undefined;
  const parts: string[] = [];
  if (unread > 0) parts.push(unread > 99 ? '99+' : String(unread));
  if (c.muted) parts.push('muted');
  const counts = parts.length ? inert`(${parts.join(', ')})` : inert``;
  const description = preview ? (parts.length ? inert`${counts} ${preview}` : preview) : counts;
  const state = c.joined ? (active ? 'open, active' : 'open') : 'history only';
  const lines = [
    inert`${label} — ${state}`.value,
    unread > 0 ? plural(unread, c.muted ? 'unread mention' : 'unread message') : 'no unread messages',
    c.muted ? 'muted: notifies only when you are @mentioned' : '',
    preview ? `last: ${preview.value} (${ago(now - c.lastAt)})` : '',
  ].filter(Boolean);
  const tooltip = inertText(lines.join('\n'), { multiLine: true });
  const a11y = inert`${label}, ${state}, ${unread > 0 ? plural(unread, c.muted ? 'unread mention' : 'unread message') : 'no unread messages'}${c.muted ? ', muted' : ''}${preview ? inert`, last message ${preview}` : inert``}`;
  const icon = !c.joined ? 'history' : unread > 0 ? 'comment-unresolved' : 'comment-discussion';
  const contextValue = `conversation.${c.joined ? 'joined' : 'history'}.${c.muted ? 'muted' : 'unmuted'}${active ? '.active' : ''}`;
  return { label, description, tooltip, accessibilityLabel: a11y, icon, contextValue };
}

/** How long ago, for a row's tooltip (the Conversations and Requests views). */
export function ago(ms: number): string {
  if (!(ms >= 0) || ms < 60_000) return 'just now';
  const min = Math.floor(ms / 60_000);
  if (min < 60) return `${min} min ago`;
  const h = Math.floor(min / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.floor(h / 24)} days ago`;
}

/**
 * The stored list, checked like any input (a hand-edited or older state must not break the view),
 * plus what the one-room version left behind: its last room (label known) and every room with a
 * history file. `joined` is never stored: it is true only while a session runs in this window.
 */
export function loadConversations(stored: unknown, legacy: { lastRoom?: { roomIdHex?: unknown; label?: unknown } | undefined; historyIds?: readonly string[]; historyTimes?: ReadonlyMap<string, number> } = {}): ConversationMeta[] {
  const out = new Map<string, ConversationMeta>();
  if (Array.isArray(stored)) {
    for (const x of stored as unknown[]) {
      if (typeof x !== 'object' || x === null) continue;
      const r = x as Record<string, unknown>;
      if (typeof r.id !== 'string' || !ROOM_ID.test(r.id) || typeof r.name !== 'string' || out.has(r.id)) continue;
      const count = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? Math.min(v, 1_000_000) : 0);
      out.set(r.id, {
        id: r.id,
        name: r.name.slice(0, 200),
        joined: false,
        unread: count(r.unread),
        mentions: count(r.mentions),
        lastAt: typeof r.lastAt === 'number' && Number.isFinite(r.lastAt) ? r.lastAt : 0,
        ...(typeof r.preview === 'string' ? { preview: r.preview.slice(0, 300) } : {}),
        ...(typeof r.previewFrom === 'string' ? { previewFrom: r.previewFrom.slice(0, 100) } : {}),
        muted: r.muted === true,
      });
    }
  }
  const last = legacy.lastRoom;
  const lastId = last && typeof last.roomIdHex === 'string' && ROOM_ID.test(last.roomIdHex) ? last.roomIdHex : undefined;
  for (const id of legacy.historyIds ?? []) {
    if (!ROOM_ID.test(id) || out.has(id)) continue;
    const label = id === lastId && typeof last?.label === 'string' ? last.label : `Room ${id.slice(0, 8)}`;
    out.set(id, { id, name: label, joined: false, unread: 0, mentions: 0, lastAt: legacy.historyTimes?.get(id) ?? 0, muted: false });
  }
  if (lastId && !out.has(lastId)) {
    out.set(lastId, { id: lastId, name: typeof last?.label === 'string' ? last.label : `Room ${lastId.slice(0, 8)}`, joined: false, unread: 0, mentions: 0, lastAt: 0, muted: false });
  }
  return [...out.values()];
}

/** What is stored: everything but `joined`. */
export function saveConversations(list: readonly ConversationMeta[]): unknown[] {
  return list.map(({ joined: _joined, ...rest }) => rest);
}
