// The chat panel: a WebviewPanel showing media/main.ts. The host owns all state (ChatController);
// the webview is recreated whenever it is hidden (retainContextWhenHidden off) and asks for it again
// with `ready`, which is the only thing that (re)attaches it.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { inert } from '../core/inertText';
import type { WebviewToHost } from '../shared/protocol';
import { parseWebviewMessage, type ChatController } from './chatController';
import { createPanel, setPanelTitle } from './sinks';
import { webviewHtml } from './webviewHtml';

export const CHAT_VIEW_TYPE = 'p2pChat.chat';

function roots(extensionUri: vscode.Uri): vscode.Uri[] {
  return [
    vscode.Uri.joinPath(extensionUri, 'dist', 'media'),
    vscode.Uri.joinPath(extensionUri, 'media'),
    vscode.Uri.joinPath(extensionUri, 'node_modules', '@vscode', 'codicons', 'dist'),
  ];
}

/**
 * The codicon stylesheet: a copy next to the webview bundle when the build made one (a package built
 * with --no-dependencies carries no node_modules), else the npm package's own file.
 */
function codiconsCss(extensionUri: vscode.Uri): string[] {
  const bundled = ['dist', 'media', 'codicon.css'];
  if (extensionUri.scheme === 'file' && existsSync(path.join(extensionUri.fsPath, ...bundled))) return bundled;
  return ['node_modules', '@vscode', 'codicons', 'dist', 'codicon.css'];
}

export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions & vscode.WebviewPanelOptions {
  return { enableScripts: true, enableCommandUris: false, retainContextWhenHidden: false, localResourceRoots: roots(extensionUri) };
}

function errorHtml(message: string): string {
  const text = message.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
  return `<!DOCTYPE html><html lang="en"><head><meta charset="UTF-8" /><meta http-equiv="Content-Security-Policy" content="default-src 'none'" /></head>
<body><p>P2P Chat could not build its view: ${text}. See the "P2P Chat" output channel.</p></body></html>`;
}

export class ChatPanel implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private disposed = false;
  private readonly onDidDisposeEmitter = new vscode.EventEmitter<void>();
  readonly onDidDispose = this.onDidDisposeEmitter.event;

  static create(
    extensionUri: vscode.Uri,
    controller: ChatController,
    handle: (m: WebviewToHost) => void,
    onError: (err: Error) => void,
    preserveFocus = false,
  ): ChatPanel {
    const column = vscode.window.activeTextEditor ? vscode.ViewColumn.Beside : vscode.ViewColumn.Active;
    const panel = createPanel(CHAT_VIEW_TYPE, inert`P2P Chat`, { viewColumn: column, preserveFocus }, webviewOptions(extensionUri));
    return new ChatPanel(panel, extensionUri, controller, handle, onError);
  }

  /** Also used for a panel VS Code restores after a reload (WebviewPanelSerializer). */
  constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly extensionUri: vscode.Uri,
    private readonly controller: ChatController,
    private readonly handle: (m: WebviewToHost) => void,
    onError: (err: Error) => void,
  ) {
    panel.webview.options = webviewOptions(extensionUri);
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'icon.png');
    this.updateTitle();
    this.disposables.push(
      panel.webview.onDidReceiveMessage((raw: unknown) => this.onMessage(raw)),
      panel.onDidChangeViewState(() => this.onViewState()),
      panel.onDidDispose(() => this.dispose()),
      { dispose: controller.onChange((c) => c === 'room' && this.updateTitle()) },
    );
    controller.detachView(); // a new webview: nothing is posted until it says ready
    controller.setVisible(panel.visible);
    try {
      panel.webview.html = this.html();
    } catch (err) {
      // A static page instead of a half-built panel; the error goes to the log.
      onError(err as Error);
      panel.webview.html = errorHtml((err as Error).message);
    }
  }

  private html(): string {
    const webview = this.panel.webview;
    const asUri = (...p: string[]) => webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, ...p)).toString();
    return webviewHtml({
      cspSource: webview.cspSource,
      nonce: randomBytes(18).toString('base64'),
      scriptUri: asUri('dist', 'media', 'main.js'),
      styleUri: asUri('media', 'chat.css'),
      codiconsUri: asUri(...codiconsCss(this.extensionUri)),
    });
  }

  private updateTitle(): void {
    if (this.disposed) return;
    const room = this.controller.room;
    setPanelTitle(this.panel, room ? inert`P2P Chat: ${room.roomLabel}` : inert`P2P Chat`);
  }

  private onMessage(raw: unknown): void {
    const m = parseWebviewMessage(raw);
    if (!m) return;
    if (m.type === 'ready') {
      this.controller.attachView((msg) => void this.panel.webview.postMessage(msg));
      return;
    }
    this.handle(m);
  }

  private onViewState(): void {
    // Hidden means the webview is torn down; posts would be dropped, and `ready` comes when it is back.
    if (!this.panel.visible) this.controller.detachView();
    this.controller.setVisible(this.panel.visible);
  }

  reveal(preserveFocus = false): void {
    this.panel.reveal(undefined, preserveFocus);
  }

  get visible(): boolean {
    return !this.disposed && this.panel.visible;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.controller.detachView();
    this.controller.setVisible(false);
    this.onDidDisposeEmitter.fire();
    this.onDidDisposeEmitter.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
  }
}
