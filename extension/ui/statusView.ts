// What the status bar item and new-message notifications say, as pure functions of the state.
// No `vscode` import: statusBar.ts maps `tone` to theme colours.
import type { ConnectionState } from '../core/types';

export interface StatusView {
  /** With $(codicon) references, as StatusBarItem.text takes them. */
  text: string;
  tooltip: string;
  tone: 'normal' | 'warning' | 'error';
}

function plural(n: number, one: string, many = one + 's'): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function statusView(state: ConnectionState, unread: number, roomLabel: string | undefined): StatusView {
  const unreadText = unread > 0 ? ` $(bell-dot) ${unread > 99 ? '99+' : unread}` : '';
  const unreadTip = unread > 0 ? `\n${plural(unread, 'unread message')}` : '';
  const room = roomLabel ? ` — ${roomLabel}` : '';
  let v: StatusView;
  switch (state.kind) {
    case 'idle':
      v = { text: '$(comment-discussion) Chat', tooltip: roomLabel ? `P2P Chat${room}: not connected` : 'P2P Chat: not in a room', tone: 'normal' };
      break;
    case 'registering':
      v = { text: '$(sync~spin) Chat', tooltip: `P2P Chat${room}: contacting the rendezvous server ${state.server}`, tone: 'normal' };
      break;
    case 'waiting':
      v = { text: '$(comment-discussion) Waiting', tooltip: `P2P Chat${room}: waiting for someone to join`, tone: 'normal' };
      break;
    case 'punching':
      v = { text: '$(sync~spin) Connecting', tooltip: `P2P Chat${room}: connecting to ${plural(state.peers, 'peer')}`, tone: 'normal' };
      break;
    case 'connected':
      v = {
        text: `$(${state.path === 'relayed' ? 'cloud' : 'comment-discussion'}) ${state.peers}`,
        tooltip: `P2P Chat${room}: connected to ${plural(state.peers, 'peer')} (${state.path === 'relayed' ? 'relayed' : 'direct'}, end-to-end encrypted)`,
        tone: 'normal',
      };
      break;
    case 'reconnecting':
      v = { text: '$(sync~spin) Reconnecting', tooltip: `P2P Chat${room}: ${state.reason}`, tone: 'warning' };
      break;
    case 'failed':
      v = { text: '$(error) Chat', tooltip: `P2P Chat${room}: ${state.reason}\n${state.hint}`, tone: 'error' };
      break;
  }
  return { text: v.text + unreadText, tooltip: `${v.tooltip}${unreadTip}\nClick to show the chat`, tone: v.tone };
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
