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
    // From the Explorer: (clicked file, every selected file).
    reg(COMMANDS.sendFile, (uri?: vscode.Uri, uris?: vscode.Uri[]) => app.files.send(uri instanceof vscode.Uri ? uri : undefined, Array.isArray(uris) ? uris : undefined)),
  ];
}
