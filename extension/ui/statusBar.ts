// The status bar item: connection state and unread count; a click shows the chat.
import * as vscode from 'vscode';
import type { ChatController } from './chatController';
import { setStatusItem } from './sinks';
import { statusView } from './statusView';

export class ChatStatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private readonly unsubscribe: () => void;

  constructor(private readonly controller: ChatController, command: string) {
    this.item = vscode.window.createStatusBarItem('p2pChat.status', vscode.StatusBarAlignment.Right, 100);
    this.item.name = 'P2P Chat';
    this.item.command = command;
    this.unsubscribe = controller.onChange((c) => {
      if (c === 'state' || c === 'unread' || c === 'room') this.update();
    });
    this.update();
    this.item.show();
  }

  private update(): void {
    const v = statusView(this.controller.state, this.controller.unread, this.controller.room?.roomLabel);
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
    this.item.dispose();
  }
}
