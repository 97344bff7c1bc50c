// Pop-ups nobody asked for: new messages while the chat is out of sight (throttled, so a busy room
// does not bury the editor in toasts) and a known name arriving with a different identity key.
import * as vscode from 'vscode';
import type { ChatController } from './chatController';
import type { KeyChangeWarning } from './contacts';
import { NotificationThrottle } from './statusView';

export class MessageNotifier implements vscode.Disposable {
  private readonly throttle = new NotificationThrottle();
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

  notify(text: string): void {
    if (!this.enabled() || this.controller.isVisible) return;
    if (this.throttle.offer(Date.now())) {
      void vscode.window.showInformationMessage(text, 'Open Chat').then((c) => c && this.showChat());
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
        void vscode.window.showInformationMessage(`P2P Chat: ${n} more new message${n === 1 ? '' : 's'} in ${room}`, 'Open Chat').then((c) => c && this.showChat());
      }
    }, Math.max(0, at - Date.now()));
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.unsubscribe();
  }
}

export function warnKeyChange(w: KeyChangeWarning, log: vscode.LogOutputChannel, verifyPeer: (peerId: string) => unknown): void {
  const text =
    `P2P Chat: "${w.name}" joined with a different identity key than the one you know for that name. ` +
    'It may be a new computer or reinstall, or someone impersonating them. Compare safety numbers before trusting it.';
  log.warn(`key change: "${w.name}" now ${w.peerId.slice(0, 16)}…, known as ${w.knownPeerIds.map((p) => p.slice(0, 16) + '…').join(', ')}`);
  void vscode.window.showWarningMessage(text, 'Verify…').then((c) => c && verifyPeer(w.peerId));
}
