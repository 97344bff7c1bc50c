// Rows of the Contacts and Requests views, pure (no `vscode` import) so labels, icons, colours,
// context values and screen-reader labels are unit-tested directly; contactsView.ts and requestsView.ts
// turn them into tree items through sinks.ts. Names, handles and notes are peer text: every string
// shown is built with `inert`/`inertText` (no link syntax, no $(icon), no bidi or invisible characters).
import { inert, inertText, type InertText } from '../../core/inertText';
import { ago } from './conversationModel';

export type Presence = 'online' | 'away' | 'offline';

export interface ContactView {
  /** The contact's X25519 static key, hex (the tree item id). */
  key: string;
  displayName: string;
  /** alice@host:port, or '' (added by link). */
  address: string;
  fingerprint: string;
  /** requested: our request is out, not accepted yet. */
  state: 'requested' | 'accepted';
  /** Our request has not reached them yet (they were never online since). */
  undelivered: boolean;
  presence: Presence;
  verified: boolean;
  /** Unread messages of the DM. */
  unread: number;
}

export interface RequestView {
  id: string;
  displayName: string;
  handle: string;
  note: string;
  fingerprint: string;
  receivedAt: number;
}

export interface TreeRow {
  label: InertText;
  description: InertText;
  tooltip: InertText;
  accessibilityLabel: InertText;
  /** A codicon id. */
  icon: string;
  /** A theme colour id for the icon, or undefined for the default. */
  color?: string;
  contextValue: string;
}

/** Presence as a codicon and a theme colour (the dot of the Contacts view and the status bar). */
export const PRESENCE_ICON: Record<Presence, { icon: string; color?: string; word: string }> = {
  online: { icon: 'circle-filled', color: 'charts.green', word: 'online' },
  away: { icon: 'clock', color: 'charts.yellow', word: 'away' },
  offline: { icon: 'circle-outline', color: 'disabledForeground', word: 'offline' },
};

/** Online first, then away, then offline; unread before read; then by name. Stable. */
export function orderContacts(list: readonly ContactView[]): ContactView[] {
  const rank = (c: ContactView) => (c.state === 'requested' ? 3 : c.presence === 'online' ? 0 : c.presence === 'away' ? 1 : 2);
  return [...list].sort((a, b) => rank(a) - rank(b) || Number(b.unread > 0) - Number(a.unread > 0) || a.displayName.localeCompare(b.displayName) || a.key.localeCompare(b.key));
}

/**
 * The rows VS Code holds, kept as the same objects so a change can redraw just those rows: a whole-list
 * refresh on every presence or message change resets the focused row under a keyboard user (Enter on a
 * contact then lands on nothing). Returns the ordered rows to hand out and what to redraw: 'all' when
 * contacts came, went or moved, else the rows whose content changed (updated in place).
 */
export class ContactRows {
  private readonly rows = new Map<string, { view: ContactView; sig: string }>();
  private drawn: string[] = [];

  /** For getChildren: the rows in order, as stable objects. */
  draw(list: readonly ContactView[]): ContactView[] {
    const ordered = orderContacts(list).map((c) => this.keep(c).view);
    this.drawn = ordered.map((c) => c.key);
    for (const k of [...this.rows.keys()]) if (!this.drawn.includes(k)) this.rows.delete(k);
    return ordered;
  }

  /** On a change of the source: what VS Code must redraw. */
  update(list: readonly ContactView[]): 'all' | ContactView[] {
    const ordered = orderContacts(list);
    if (ordered.length !== this.drawn.length || ordered.some((c, i) => c.key !== this.drawn[i])) return 'all';
    const changed: ContactView[] = [];
    for (const c of ordered) {
      const before = this.rows.get(c.key)?.sig;
      const kept = this.keep(c);
      if (kept.sig !== before) changed.push(kept.view);
    }
    return changed;
  }

  private keep(c: ContactView): { view: ContactView; sig: string } {
    const sig = JSON.stringify(c);
    let row = this.rows.get(c.key);
    if (!row) {
      row = { view: { ...c }, sig };
      this.rows.set(c.key, row);
    } else if (row.sig !== sig) {
      for (const k of Object.keys(row.view)) if (!(k in c)) delete (row.view as unknown as Record<string, unknown>)[k];
      Object.assign(row.view, c);
      row.sig = sig;
    }
    return row;
  }
}

export function contactsUnread(list: readonly ContactView[]): number {
  return list.reduce((n, c) => n + c.unread, 0);
}

function plural(n: number, one: string): string {
  return `${n} ${one}${n === 1 ? '' : 's'}`;
}

export function contactRow(c: ContactView): TreeRow {
  const label = inertText(c.displayName || c.address || c.fingerprint, { max: 64 });
  const p = c.state === 'requested' ? { icon: 'mail', color: undefined, word: c.undelivered ? 'request not delivered yet' : 'request sent, waiting for an answer' } : PRESENCE_ICON[c.presence];
  const parts: string[] = [];
  if (c.unread > 0) parts.push(c.unread > 99 ? '99+' : String(c.unread));
  if (c.verified) parts.push('✓ verified');
  if (c.state === 'requested') parts.push('pending');
  const address = c.address ? inertText(c.address, { max: 80 }) : undefined;
  const counts = parts.length ? inert`(${parts.join(', ')})` : inert``;
  const description = address ? (parts.length ? inert`${counts} ${address}` : address) : counts;
  const unreadText = c.unread > 0 ? plural(c.unread, 'unread message') : 'no unread messages';
  const tooltip = inertText(
    [
      inert`${label}${address ? inert` <${address}>` : inert``}`.value,
      p.word,
      c.verified ? 'verified (you compared safety numbers)' : 'not verified',
      `fingerprint ${c.fingerprint}`,
      c.state === 'accepted' ? unreadText : '',
    ]
      .filter(Boolean)
      .join('\n'),
    { multiLine: true },
  );
  const a11y = inert`${label}, ${p.word}, ${c.verified ? 'verified' : 'not verified'}${c.state === 'accepted' ? `, ${unreadText}` : ''}`;
  const contextValue = c.state === 'requested' ? 'contact.requested' : `contact.accepted.${c.verified ? 'verified' : 'unverified'}`;
  return { label, description, tooltip, accessibilityLabel: a11y, icon: p.icon, ...(p.color ? { color: p.color } : {}), contextValue };
}

export function requestRow(r: RequestView, now: number): TreeRow {
  const label = inertText(r.displayName || r.handle || r.fingerprint, { max: 64 });
  const handle = r.handle ? inertText(r.handle, { max: 80 }) : undefined;
  const note = r.note ? inertText(r.note, { max: 80 }) : undefined;
  const description = note ? (handle ? inert`${handle} — ${note}` : note) : (handle ?? inert``);
  const tooltip = inertText(
    [
      inert`Contact request from ${label}${handle ? inert` <${handle}>` : inert``}`.value,
      r.note ? inertText(`Note: ${r.note}`, { multiLine: true }).value : 'No note',
      `fingerprint ${r.fingerprint}`,
      `received ${ago(now - r.receivedAt)}`,
      'Accept, Ignore or Block from the context menu (Shift+F10).',
    ].join('\n'),
    { multiLine: true },
  );
  const a11y = inert`Contact request from ${label}${handle ? inert`, ${handle}` : inert``}${note ? inert`, note: ${note}` : inert``}`;
  return { label, description, tooltip, accessibilityLabel: a11y, icon: 'person-add', color: 'notificationsInfoIcon.foreground', contextValue: 'request' };
}

export function requestsBadgeTooltip(n: number): InertText {
  return n === 1 ? inert`1 contact request` : inert`${n} contact requests`;
}

/** The status bar item for our own presence. */
export function ownPresenceStatus(p: Presence, account: string | undefined): { text: InertText; tooltip: InertText } {
  const icon = p === 'online' ? 'circle-filled' : p === 'away' ? 'clock' : 'circle-slash';
  const word = p === 'offline' ? 'appearing offline' : p;
  const who = account ? inertText(account, { max: 80 }) : inert`not signed up`;
  // The $(icon) is ours; `who` cannot add one (inertText defuses `$(`).
  return { text: inert`$(${icon}) ${p === 'offline' ? 'Offline' : p === 'away' ? 'Away' : 'Online'}`, tooltip: inert`P2P Chat: ${who}, ${word}. Click to set your presence (Appear Offline hides you but still lets you send).` };
}
