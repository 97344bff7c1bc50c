// Pop-ups nobody asked for: new messages while the chat is out of sight (throttled, so a busy room
// does not bury the editor in toasts) and a known name arriving with a different identity key.
// Both carry peer text (names, message previews): it reaches VS Code only as InertText (sinks.ts).
import * as vscode from 'vscode';
import { inert, type InertText } from '../core/inertText';
import type { ChatController } from './chatController';
import type { KeyChangeWarning } from './contacts';
import { notifyInfo, notifyWarning } from './sinks';
import { keyChangeText, NotificationThrottle } from './statusView';

const OPEN_CHAT = inert`Open Chat`;
const VERIFY = inert`Verify…`;

export class MessageNotifier implements vscode.Disposable {
  private readonly throttle = new NotificationThrottle();
  /** Conversations in the background: their own quiet window, and nothing summarised later. */
  private readonly elsewhere = new NotificationThrottle();
  private timer: NodeJS.Timeout | undefined;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly controller: ChatController,
    /** The p2pChat.notifications setting, read when a notification is due. */
    private readonly enabled: () => boolean,
    private readonly showChat: () => void,
  ) {
    this.unsubscribe = controller.onChange((c) => c === 'unread' && controller.unread === 0 && this.throttle.reset());
  }

  /**
   * A message in a conversation that is not the one on screen: shown even while the panel is visible
   * (it shows another room), throttled on its own; its button opens that conversation.
   */
  notifyElsewhere(text: InertText, open: () => void, force = false): void {
    if (!force && !this.enabled()) return;
    if (!force && !this.elsewhere.offer(Date.now())) return;
    void notifyInfo(text, OPEN_CHAT).then((c) => c === OPEN_CHAT && open());
  }

  notify(text: InertText, force = false): void {
    if (force) {
      void notifyInfo(text, OPEN_CHAT).then((c) => c === OPEN_CHAT && this.showChat());
      return;
    }
    if (!this.enabled() || this.controller.isVisible) return;
    if (this.throttle.offer(Date.now())) {
      void notifyInfo(text, OPEN_CHAT).then((c) => c === OPEN_CHAT && this.showChat());
      return;
    }
    if (this.timer) return;
    const at = this.throttle.nextFlushAt();
    if (at === undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const n = this.throttle.flush(Date.now());
      if (n > 0 && !this.controller.isVisible && this.enabled()) {
        const room = this.controller.room?.roomLabel ?? 'the room';
        void notifyInfo(inert`P2P Chat: ${n} more new message${n === 1 ? '' : 's'} in ${room}`, OPEN_CHAT).then((c) => c === OPEN_CHAT && this.showChat());
      }
    }, Math.max(0, at - Date.now()));
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.unsubscribe();
  }
}

export function warnKeyChange(w: KeyChangeWarning, log: vscode.LogOutputChannel, verifyPeer: (peerId: string) => unknown): void {
  const text = keyChangeText(w.name);
  log.warn(`key change: "${w.name}" now ${w.peerId.slice(0, 16)}…, known as ${w.knownPeerIds.map((p) => p.slice(0, 16) + '…').join(', ')}`);
  void notifyWarning(text, VERIFY).then((c) => c === VERIFY && verifyPeer(w.peerId));
}
