// Command registrations. Each returns what a script or test may want (Connect: the invite or room label).
import * as vscode from 'vscode';
import { COMMANDS, type P2pChatApp } from './app';
import type { ConnectArgs } from './connectFlow';

export function registerCommands(app: P2pChatApp): vscode.Disposable[] {
  const reg = (id: string, fn: (...args: any[]) => unknown) => vscode.commands.registerCommand(id, fn);
  return [
    reg(COMMANDS.connect, (args?: ConnectArgs | string) => app.connect(args)),
    reg(COMMANDS.disconnect, () => app.disconnect()),
    reg(COMMANDS.showChat, () => app.showChat()),
    reg(COMMANDS.copyInvite, () => app.copyInvite()),
    reg(COMMANDS.verifyPeer, (peerId?: unknown) => app.verifyPeer(typeof peerId === 'string' ? peerId : undefined)),
    reg(COMMANDS.clearHistory, (args?: { confirm?: boolean }) => app.clearHistory(args)),
    // From the editor context menu VS Code passes the document's URI; the active editor is what counts.
    reg(COMMANDS.shareSelection, () => app.shareSelection()),
    // From a Conversations row VS Code passes the row's element (a ConversationMeta); from the palette nothing.
    reg(COMMANDS.openConversation, (id?: unknown) => app.openConversation(conversationId(id))),
    reg(COMMANDS.switchConversation, () => app.switchConversation()),
    reg(COMMANDS.muteConversation, (c?: unknown) => app.setMuted(conversationId(c), true)),
    reg(COMMANDS.unmuteConversation, (c?: unknown) => app.setMuted(conversationId(c), false)),
    reg(COMMANDS.leaveConversation, (c?: unknown) => app.leaveConversation(conversationId(c))),
    reg(COMMANDS.removeConversation, (c?: unknown) => app.removeConversation(conversationId(c))),
    reg(COMMANDS.renameRoom, (c?: unknown) => app.renameRoom(conversationId(c))),
    // From the Explorer: (clicked file, every selected file).
    reg(COMMANDS.sendFile, (uri?: vscode.Uri, uris?: vscode.Uri[]) => app.files.send(uri instanceof vscode.Uri ? uri : undefined, Array.isArray(uris) ? uris : undefined)),
  ];
}

function conversationId(x: unknown): string | undefined {
  if (typeof x === 'string') return x;
  if (typeof x === 'object' && x !== null && typeof (x as { id?: unknown }).id === 'string') return (x as { id: string }).id;
  return undefined;
}
