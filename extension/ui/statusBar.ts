// The status bar item: the active conversation's connection state and the unread count of every
// conversation; a click shows the chat.
import * as vscode from 'vscode';
import type { ChatController } from './chatController';
import { setStatusItem } from './sinks';
import { statusView } from './statusView';

export class ChatStatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private readonly unsubscribe: () => void;
  private readonly listSub: vscode.Disposable | undefined;

  constructor(
    private readonly controller: ChatController,
    command: string,
    private readonly all?: { unread(): number; onDidChange(listener: () => void): vscode.Disposable },
  ) {
    this.item = vscode.window.createStatusBarItem('p2pChat.status', vscode.StatusBarAlignment.Right, 100);
    this.item.name = 'P2P Chat';
    this.item.command = command;
    this.unsubscribe = controller.onChange((c) => {
      if (c === 'state' || c === 'unread' || c === 'room') this.update();
    });
    this.listSub = all?.onDidChange(() => this.update());
    this.update();
    this.item.show();
  }

  private update(): void {
    const v = statusView(this.controller.state, this.all ? this.all.unread() : this.controller.unread, this.controller.room?.roomLabel);
    setStatusItem(this.item, v);
    this.item.backgroundColor =
      v.tone === 'error'
        ? new vscode.ThemeColor('statusBarItem.errorBackground')
        : v.tone === 'warning'
          ? new vscode.ThemeColor('statusBarItem.warningBackground')
          : undefined;
  }

  dispose(): void {
    this.unsubscribe();
    this.listSub?.dispose();
    this.item.dispose();
  }
}
