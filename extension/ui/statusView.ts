// What the status bar item and new-message notifications say, as pure functions of the state.
// No `vscode` import: statusBar.ts maps `tone` to theme colours.
import { inert, inertText, joinInert, type InertText } from '../core/inertText';
import type { ConnectionState } from '../core/types';

export interface StatusView {
  /** With $(codicon) references, as StatusBarItem.text takes them. */
  text: InertText;
  /** Plain text; the room label and failure reasons in it may come from outside. */
  tooltip: InertText;
  tone: 'normal' | 'warning' | 'error';
}

function plural(n: number, one: string, many = one + 's'): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function statusView(state: ConnectionState, unread: number, roomLabel: string | undefined): StatusView {
  const unreadText = unread > 0 ? inert` $(bell-dot) ${unread > 99 ? '99+' : unread}` : inert``;
  const unreadTip = unread > 0 ? inert`\n${plural(unread, 'unread message')}` : inert``;
  const room = roomLabel ? inert` — ${inertText(roomLabel, { max: 64 })}` : inert``;
  let v: StatusView;
  switch (state.kind) {
    case 'idle':
      v = { text: inert`$(comment-discussion) Chat`, tooltip: roomLabel ? inert`P2P Chat${room}: not connected` : inert`P2P Chat: not in a room`, tone: 'normal' };
      break;
    case 'registering':
      v = { text: inert`$(sync~spin) Chat`, tooltip: inert`P2P Chat${room}: contacting the rendezvous server ${state.server}`, tone: 'normal' };
      break;
    case 'waiting':
      v = { text: inert`$(comment-discussion) Waiting`, tooltip: inert`P2P Chat${room}: waiting for someone to join`, tone: 'normal' };
      break;
    case 'punching':
      v = { text: inert`$(sync~spin) Connecting`, tooltip: inert`P2P Chat${room}: connecting to ${plural(state.peers, 'peer')}`, tone: 'normal' };
      break;
    case 'connected':
      v = {
        text: inert`$(${state.path === 'relayed' ? 'cloud' : 'comment-discussion'}) ${state.peers}`,
        tooltip: inert`P2P Chat${room}: connected to ${plural(state.peers, 'peer')} (${state.path === 'relayed' ? 'relayed' : 'direct'}, end-to-end encrypted)`,
        tone: 'normal',
      };
      break;
    case 'reconnecting':
      v = { text: inert`$(sync~spin) Reconnecting`, tooltip: inert`P2P Chat${room}: ${state.reason}`, tone: 'warning' };
      break;
    case 'failed':
      v = { text: inert`$(error) Chat`, tooltip: inert`P2P Chat${room}: ${state.reason}\n${state.hint}`, tone: 'error' };
      break;
  }
  return { text: joinInert([v.text, unreadText], ''), tooltip: inert`${v.tooltip}${unreadTip}\nClick to show the chat`, tone: v.tone };
}

/** The new-message notification: `sender: first line of the message`, both peer text, made inert. */
export function newMessageText(fromName: string, preview: string): InertText {
  return inert`${inertText(fromName || 'Someone', { max: 48 })}: ${inertText(preview, { max: 120 })}`;
}

/** The warning for a known name arriving with another key (the name is the peer's). */
export function keyChangeText(name: string): InertText {
  return inert`P2P Chat: "${inertText(name, { max: 64 })}" joined with a different identity key than the one you know for that name. It may be a new computer or reinstall, or someone impersonating them. Compare safety numbers before trusting it.`;
}

/**
 * New-message notifications without a storm: the first message shows at once; more within the quiet
 * period are counted and summarised in one notification when it ends.
 */
export class NotificationThrottle {
  private lastShownAt = -Infinity;
  private held = 0;

  constructor(private readonly quietMs = 5000) {}

  /** A message arrived: returns true when it should be shown now. */
  offer(now: number): boolean {
    if (now - this.lastShownAt >= this.quietMs) {
      this.lastShownAt = now;
      return true;
    }
    this.held++;
    return false;
  }

  /** When the held messages can be summarised (undefined: none held). */
  nextFlushAt(): number | undefined {
    return this.held > 0 ? this.lastShownAt + this.quietMs : undefined;
  }

  /** Called at nextFlushAt: how many were held back (0: nothing to show). */
  flush(now: number): number {
    if (this.held === 0 || now < this.lastShownAt + this.quietMs) return 0;
    const n = this.held;
    this.held = 0;
    this.lastShownAt = now;
    return n;
  }

  /** The panel became visible: nothing held is worth announcing any more. */
  reset(): void {
    this.held = 0;
  }
}
