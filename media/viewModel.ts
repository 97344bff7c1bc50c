// Pure view-model for the chat webview: everything that decides *what* the panel says, with no DOM.
// Kept DOM-free so it runs under Node unit tests (test/unit/webview-viewmodel.test.ts).
import type { ConnectionState, DeliveryState, MemberInfo, PathKind, Presence, SnippetPayload } from '../extension/core/types';
import type { TranscriptEntry } from '../extension/shared/protocol';
import { unsafeCharsRegExp } from '../extension/shared/invisibleChars';

/** Consecutive messages from one sender closer than this share a header. */
export const GROUP_GAP_MS = 5 * 60_000;

export type BannerTone = 'neutral' | 'progress' | 'ok' | 'warning' | 'error';

export interface BannerView {
  tone: BannerTone;
  /** Codicon name without the `codicon-` prefix. */
  icon: string;
  /** Spin the icon (work in progress). */
  spin: boolean;
  title: string;
  detail?: string;
  action?: { label: string; message: 'retry' | 'connect' };
}

const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

export function bannerFor(state: ConnectionState): BannerView {
  switch (state.kind) {
    case 'idle':
      return {
        tone: 'neutral',
        icon: 'debug-disconnect',
        spin: false,
        title: 'Not connected.',
        detail: 'Join a room with an invite or a room name to start chatting.',
        action: { label: 'Connect', message: 'connect' },
      };
    case 'registering':
      return {
        tone: 'progress',
        icon: 'loading',
        spin: true,
        title: 'Contacting the rendezvous server…',
        detail: state.server ? `Server: ${state.server}` : undefined,
      };
    case 'waiting':
      return {
        tone: 'progress',
        icon: 'clock',
        spin: false,
        title: 'Waiting for others to join.',
        detail: 'Share the invite with the people you want to chat with.',
      };
    case 'punching':
      return {
        tone: 'progress',
        icon: 'loading',
        spin: true,
        title: `Opening a direct connection to ${plural(state.peers, 'peer', 'peers')}…`,
        detail: 'Getting through firewalls and routers; this usually takes a moment.',
      };
    case 'connected':
      return state.path === 'direct'
        ? {
            tone: 'ok',
            icon: 'pass',
            spin: false,
            title: `Connected directly to ${plural(state.peers, 'peer', 'peers')}.`,
            detail: 'End-to-end encrypted.',
          }
        : {
            tone: 'ok',
            icon: 'cloud',
            spin: false,
            title: `Connected to ${plural(state.peers, 'peer', 'peers')} through a relay.`,
            detail: 'Still end-to-end encrypted: the relay only forwards sealed packets.',
          };
    case 'reconnecting':
      return {
        tone: 'warning',
        icon: 'sync',
        spin: true,
        title: `Connection lost. Reconnecting (attempt ${state.attempt})…`,
        detail: state.reason ? `Reason: ${state.reason}` : undefined,
      };
    case 'failed':
      return {
        tone: 'error',
        icon: 'error',
        spin: false,
        title: `Could not connect: ${state.reason}`,
        detail: state.hint || undefined,
        action: { label: 'Retry', message: 'retry' },
      };
  }
}

export interface DeliveryView {
  icon: string;
  label: string;
}

export function deliveryView(d: DeliveryState): DeliveryView {
  switch (d) {
    case 'queued':
      return { icon: 'clock', label: 'Queued, not sent yet' };
    case 'sent':
      return { icon: 'check', label: 'Sent' };
    case 'delivered':
      return { icon: 'check-all', label: 'Delivered' };
    case 'rejected':
      return { icon: 'error', label: 'Rejected: a member refused this message (too long or malformed)' };
  }
}

/** Names come from peers: strip what could spoof layout (bidi overrides, controls) and bound the length. */
export function cleanName(name: string): string {
  const stripped = Array.from(
    name
      // Controls, zero-width and bidi characters: the one list the extension host's sinks use too.
      .replace(unsafeCharsRegExp(), '')
      .replace(/\s+/g, ' ')
      .trim(),
  );
  const bounded = stripped.length > 48 ? `${stripped.slice(0, 47).join('')}…` : stripped.join('');
  return bounded || 'Unknown';
}

export function initials(name: string): string {
  const clean = cleanName(name);
  const first = Array.from(clean)[0] ?? '?';
  return first.toLocaleUpperCase();
}

/** A stable small palette index for a peer, so everyone keeps one avatar colour. */
export function colorIndex(peerId: string, buckets: number): number {
  let h = 2166136261;
  for (let i = 0; i < peerId.length; i++) {
    h ^= peerId.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return (h >>> 0) % buckets;
}

export type TranscriptBlock =
  | { kind: 'day'; day: string; at: number }
  | { kind: 'group'; from: string; fromName: string; own: boolean; startedAt: number; entries: TranscriptEntry[] };

/** True when `next` can sit under the same header as `prev`. Clock skew between peers can make the gap negative. */
export function continuesGroup(
  prev: TranscriptEntry | undefined,
  next: TranscriptEntry,
  dayOf: (t: number) => string,
  gapMs: number = GROUP_GAP_MS,
): boolean {
  if (!prev) return false;
  if (prev.from !== next.from || prev.own !== next.own) return false;
  if (dayOf(prev.sentAt) !== dayOf(next.sentAt)) return false;
  return Math.abs(next.sentAt - prev.sentAt) <= gapMs;
}

/** Groups consecutive messages by sender, inserting a day marker whenever the day changes. Order is kept as given. */
export function groupTranscript(
  entries: readonly TranscriptEntry[],
  dayOf: (t: number) => string,
  gapMs: number = GROUP_GAP_MS,
): TranscriptBlock[] {
  const blocks: TranscriptBlock[] = [];
  let prev: TranscriptEntry | undefined;
  let lastDay: string | undefined;
  let group: Extract<TranscriptBlock, { kind: 'group' }> | undefined;
  for (const e of entries) {
    const day = dayOf(e.sentAt);
    if (day !== lastDay) {
      blocks.push({ kind: 'day', day, at: e.sentAt });
      lastDay = day;
      group = undefined;
    }
    if (group && continuesGroup(prev, e, dayOf, gapMs)) {
      group.entries.push(e);
    } else {
      group = { kind: 'group', from: e.from, fromName: e.fromName, own: e.own, startedAt: e.sentAt, entries: [e] };
      blocks.push(group);
    }
    prev = e;
  }
  return blocks;
}

export function typingText(names: readonly string[]): string {
  const n = names.map(cleanName);
  if (n.length === 0) return '';
  if (n.length === 1) return `${n[0]} is typing…`;
  if (n.length === 2) return `${n[0]} and ${n[1]} are typing…`;
  if (n.length === 3) return `${n[0]}, ${n[1]} and ${n[2]} are typing…`;
  return 'Several people are typing…';
}

export function presenceLabel(p: Presence): string {
  return p === 'online' ? 'Online' : p === 'away' ? 'Away' : 'Offline';
}

export function pathLabel(p: PathKind | undefined): string {
  return p === 'direct' ? 'Direct' : p === 'relayed' ? 'Relayed' : 'Not linked';
}

export interface MemberView {
  peerId: string;
  name: string;
  presence: Presence;
  presenceLabel: string;
  path?: PathKind;
  pathLabel: string;
  pathTitle: string;
  verified: boolean;
  /** Tooltip: how to check this member's identity. */
  identityTitle: string;
}

export function memberView(m: MemberInfo, namedRoom: boolean): MemberView {
  const name = cleanName(m.name);
  const verified = m.verified === true;
  const fp = m.fingerprint ? ` Key fingerprint: ${m.fingerprint}.` : '';
  const sn = m.safetyNumber ? ` Safety number: ${m.safetyNumber}.` : '';
  const identityTitle = verified
    ? `${name}'s identity is verified.${fp}`
    : `${name} is not verified${namedRoom ? ' (named rooms can be joined by anyone who guesses the name)' : ''}. ` +
      `Compare safety numbers to verify.${sn}${fp}`;
  return {
    peerId: m.peerId,
    name,
    presence: m.presence,
    presenceLabel: presenceLabel(m.presence),
    path: m.path,
    pathLabel: pathLabel(m.path),
    pathTitle:
      m.path === 'direct'
        ? 'Messages go straight to this peer.'
        : m.path === 'relayed'
          ? 'Messages go through a relay server; they stay end-to-end encrypted.'
          : 'No link to this peer yet.',
    verified,
    identityTitle,
  };
}

/** Online first, then away, then offline; by name within each. */
export function sortMembers<T extends { presence: Presence; name: string }>(members: readonly T[]): T[] {
  const rank = (p: Presence): number => (p === 'online' ? 0 : p === 'away' ? 1 : 2);
  return [...members].sort((a, b) => rank(a.presence) - rank(b.presence) || a.name.localeCompare(b.name));
}

export function snippetRange(s: SnippetPayload): string {
  const start = Math.max(1, Math.trunc(s.startLine) || 1);
  const end = Math.max(start, Math.trunc(s.endLine) || start);
  return start === end ? `${s.path}:${start}` : `${s.path}:${start}-${end}`;
}

/** Line numbers for the snippet gutter; capped because peers choose `startLine`. */
export function snippetLineNumbers(s: SnippetPayload): string[] {
  const start = Math.max(1, Math.min(Math.trunc(s.startLine) || 1, 1e9));
  const count = s.code.length === 0 ? 1 : s.code.replace(/\n$/, '').split('\n').length;
  const out: string[] = [];
  for (let i = 0; i < Math.min(count, 10_000); i++) out.push(String(start + i));
  return out;
}

/** What is actually sent for a composer value, or undefined if there is nothing to send. */
export function outgoingText(value: string): string | undefined {
  const text = value.replace(/^(?:[ \t]*\r?\n)+/, '').trimEnd();
  return text.trim() ? text : undefined;
}
