// Entry point (bundled to dist/extension.js). Creates the app, registers commands, the URI handler,
// the panel serializer and the status bar, and rejoins the room this window was in before a reload.
import * as vscode from 'vscode';
import { COMMANDS, P2pChatApp } from './app';
import { registerCommands } from './commands';
import { CHAT_VIEW_TYPE } from './panel';
import { createLog } from './sinks';
import { ChatStatusBar } from './statusBar';
import { ConversationsView } from './sidebar/conversationsView';
import { totalUnread } from './sidebar/conversationModel';

let app: P2pChatApp | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const log = createLog('P2P Chat'); // every line made inert: core code logs peer names
  context.subscriptions.push(log);
  const chat = new P2pChatApp(context, log);
  app = chat;
  context.subscriptions.push(
    chat,
    new ChatStatusBar(chat.controller, COMMANDS.showChat, {
      unread: () => totalUnread(chat.conversations.all()),
      onDidChange: (l) => chat.conversations.onDidChange(l),
    }),
    new ConversationsView({
      conversations: () => chat.conversations.all(),
      activeId: () => chat.activeConversationId,
      onDidChange: (l) => chat.conversations.onDidChange(l),
    }),
    ...registerCommands(chat),
    vscode.window.registerUriHandler({ handleUri: (uri) => chat.handleUri(uri) }),
    vscode.window.registerWebviewPanelSerializer(CHAT_VIEW_TYPE, {
      deserializeWebviewPanel: async (panel) => chat.revivePanel(panel),
    }),
  );
  log.info(`P2P Chat ${context.extension.packageJSON.version ?? ''} activated (${vscode.env.appName}, ${vscode.env.uiKind === vscode.UIKind.Web ? 'web' : 'desktop'})`);
  chat.restore().catch((err: Error) => log.error(`restoring the previous room failed: ${err.message}`));
}

/** Leaves the room politely so peers see us go at once rather than after a keepalive timeout. */
export async function deactivate(): Promise<void> {
  const a = app;
  app = undefined;
  if (a) await a.shutdown();
}
