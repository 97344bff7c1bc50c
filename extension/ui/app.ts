// The extension's one long-lived object: the current room session, the chat view-model, the panel,
// contacts and settings. Connection changes are serialised so double clicks or a URI arriving
// mid-connect cannot interleave. The user-facing flows live beside it: connectFlow.ts (getting into a
// room), roomActions.ts (what to do in one), notifications.ts, awayTracker.ts and roomMemory.ts.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { inert } from '../core/inertText';
import { formatServer } from '../core/invite';
import type { KeyPair } from '../core/noise';
import { HistoryStore } from '../core/store/history';
import type { MemberInfo, SnippetPayload } from '../core/types';
import type { RoomView, WebviewToHost } from '../shared/protocol';
import { AwayTracker } from './awayTracker';
import { ChatController, messagePreview } from './chatController';
import { openSettings, readSettings } from './config';
import { ConnectFlow, type ConnectArgs } from './connectFlow';
import { ContactBook } from './contacts';
import { loadIdentity } from './identity';
import { MessageNotifier, warnKeyChange } from './notifications';
import { MailboxNotices } from './mailboxNotices';
import { ChatPanel } from './panel';
import { newMessageText } from './statusView';
import { RoomActions } from './roomActions';
import { RoomMemory } from './roomMemory';
import { lanAddress, RoomSession, roomKeys, startEmbeddedRendezvous, type EmbeddedRendezvous, type RoomTarget } from './roomSession';
import type { ChatSettings } from './settings';
import { notifyError, notifyWarning, flashStatus } from './sinks';
import { SnippetViewer } from './snippets';

const RETRY = inert`Retry`;
const SHOW_LOG = inert`Show Log`;
const OPEN_SETTINGS = inert`Open Settings`;
import { FileTransfersUi } from './files';

export const COMMANDS = {
  connect: 'p2pChat.connect',
  disconnect: 'p2pChat.disconnect',
  showChat: 'p2pChat.showChat',
  copyInvite: 'p2pChat.copyInvite',
  verifyPeer: 'p2pChat.verifyPeer',
  clearHistory: 'p2pChat.clearHistory',
  shareSelection: 'p2pChat.shareSelection',
  sendFile: 'p2pChat.sendFile',
} as const;

export class P2pChatApp implements vscode.Disposable {
  readonly controller = new ChatController();
  private session: RoomSession | undefined;
  private panel: ChatPanel | undefined;
  private readonly contacts: ContactBook;
  private settings: ChatSettings;
  private identity: Promise<KeyPair> | undefined;
  private readonly memory: RoomMemory;
  private readonly notifier: MessageNotifier;
  private readonly awayTracker = new AwayTracker(() => this.session);
  private readonly snippets = new SnippetViewer();
  private readonly flows: ConnectFlow;
  private readonly actions: RoomActions;
  private queue: Promise<unknown> = Promise.resolve();
  /** Bumped by every room change the user asks for, so a slow restore() never overrides one. */
  private userChanges = 0;
  private readonly disposables: vscode.Disposable[] = [];
  private disposed = false;
  readonly files: FileTransfersUi;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.settings = readSettings();
    this.contacts = new ContactBook(context.globalState);
    this.memory = new RoomMemory(context.workspaceState, context.secrets, log);
    this.files = new FileTransfersUi(() => this.session, context.globalStorageUri.fsPath, log);
    this.disposables.push(this.files);
    this.notifier = new MessageNotifier(this.controller, () => this.settings.notifications, () => this.showChat());
    this.flows = new ConnectFlow({
      log,
      safeLog: this.safeLog,
      globalState: context.globalState,
      settings: () => this.settings,
      session: () => this.session,
      userChange: (op) => this.userChange(op),
      leaveCurrent: () => this.leaveCurrent(),
      enter: (target, opts) => this.enter(target, opts),
      showChat: (preserveFocus) => this.showChat(preserveFocus),
      verifyPeer: () => this.verifyPeer(),
    });
    this.actions = new RoomActions({
      controller: this.controller,
      contacts: this.contacts,
      log,
      session: () => this.session,
      identity: () => this.getIdentity(),
      lastRoomLabel: () => this.memory.lastRoomLabel(),
      panelOpen: () => this.panel !== undefined,
      showChat: (preserveFocus) => this.showChat(preserveFocus),
      connect: () => this.connect(),
    });
    this.controller.setDecorator((m) => this.contacts.decorate(m));
    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration('p2pChat') && this.onSettingsChanged()),
      vscode.window.onDidChangeWindowState((s) => this.awayTracker.onWindowState(s.focused)),
    );
    this.updateContext();
  }

  // ---- plumbing ------------------------------------------------------------------------------------

  private get storageDir(): string {
    return this.context.globalStorageUri.fsPath;
  }

  private historyFor(roomIdHex: string): HistoryStore {
    return new HistoryStore(path.join(this.storageDir, 'history', `${roomIdHex}.jsonl`));
  }

  private getIdentity(): Promise<KeyPair> {
    this.identity ??= loadIdentity(this.context.secrets, this.log);
    return this.identity;
  }

  /** Runs connection changes one at a time. */
  private serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.queue.then(op, op);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** A room change the user asked for: counted (see userChanges), then run in turn like any other. */
  private userChange<T>(op: () => Promise<T>): Promise<T> {
    this.userChanges++;
    return this.serial(op);
  }

  private updateContext(): void {
    const ignore = () => undefined; // fails only while the window is going away
    vscode.commands.executeCommand('setContext', 'p2pChat.inRoom', this.session !== undefined).then(undefined, ignore);
    vscode.commands.executeCommand('setContext', 'p2pChat.hasInvite', this.session?.inviteText !== undefined).then(undefined, ignore);
  }

  private roomView(session: RoomSession, selfId: string): RoomView {
    return {
      roomLabel: session.label,
      named: session.named,
      selfId,
      selfName: this.settings.displayName,
      ...(session.inviteText ? { invite: session.inviteText } : {}),
    };
  }

  // ---- startup -------------------------------------------------------------------------------------

  /** After a window reload: rejoin the room this window was in, or at least show its history. */
  async restore(): Promise<void> {
    const generation = this.userChanges;
    const active = this.memory.activeRoomId();
    if (active) {
      const target = await this.memory.savedTarget(active);
      if (target && roomKeys(target).roomId.toString('hex') === active) {
        this.log.info('rejoining the room this window was in before the reload');
        await this.serial(async () => {
          // The user connected or disconnected while this was waiting: theirs is the newer choice.
          if (this.userChanges !== generation || this.session) return;
          await this.enter(target, { rehost: target.kind === 'invite' && target.hosted });
        });
        return;
      }
      await this.memory.clearActive();
    }
    const last = this.memory.lastRoomId();
    if (last && !this.session) {
      this.controller.showHistory(this.historyFor(last));
    }
  }

  // ---- entering and leaving rooms -----------------------------------------------------------------

  /**
   * For the core and for shutdown paths: during a window reload the output channel's connection to
   * the renderer may already be closed, and a throwing logger must not stop a socket from closing.
   */
  private readonly safeLog = (level: 'debug' | 'info' | 'warn' | 'error', message: string): void => {
    try {
      this.log[level](message);
    } catch {
      // Nowhere left to write to.
    }
  };

  private async leaveCurrent(): Promise<void> {
    const s = this.session;
    if (!s) return;
    this.session = undefined;
    this.updateContext();
    try {
      await s.stop();
    } catch (err) {
      this.safeLog('warn', `leaving ${s.label}: ${(err as Error).message}`);
    }
    this.safeLog('info', `left ${s.label}`);
  }

  /** Must run inside serial(). */
  private async enter(target: RoomTarget, opts: { embedded?: EmbeddedRendezvous; rehost?: boolean } = {}): Promise<RoomSession> {
    let embedded = opts.embedded;
    try {
      await this.leaveCurrent();
      const identity = await this.getIdentity();
      if (opts.rehost && target.kind === 'invite' && !embedded) {
        // The invite already names our address and port: only that port will do.
        try {
          embedded = await startEmbeddedRendezvous({
            preferredPort: target.invite.server.port,
            exact: true,
            log: this.safeLog,
          });
          const lan = lanAddress();
          if (lan !== target.invite.server.host) {
            this.log.warn(`this machine's address changed (${target.invite.server.host} → ${lan}); the old invite may no longer reach it`);
          }
        } catch (err) {
          this.log.warn(`could not host the room's rendezvous again (${(err as Error).message}); joining it as a guest`);
        }
      }
      const session = new RoomSession({
        target,
        identity,
        name: this.settings.displayName,
        storageDir: this.storageDir,
        localPort: this.settings.localPort,
        keepaliveMs: this.settings.keepaliveSeconds * 1000,
        log: this.safeLog,
        ...(embedded ? { embedded } : {}),
      });
      embedded = undefined; // owned by the session from here on
      this.session = session;
      this.wire(session);
      const draft = this.memory.draft(session.roomIdHex);
      this.controller.openRoom(this.roomView(session, identity.publicKey.toString('hex')), this.historyFor(session.roomIdHex), session.pendingMessages(), draft);
      this.updateContext();
      await this.memory.entered(session.roomIdHex, session.label, target);
      this.log.info(`joining ${session.label} (${target.kind === 'named' ? 'named room' : 'invite'}) via ${formatServer(target.kind === 'invite' ? target.invite.server : target.server)}`);
      try {
        await session.start();
      } catch (err) {
        // The banner and status bar show the failure; Retry restarts the session.
        void notifyError(inert`P2P Chat: ${(err as Error).message}`, RETRY, SHOW_LOG).then((c) => {
          if (c === RETRY) void this.retry();
          if (c === SHOW_LOG) this.log.show();
        });
      }
      return session;
    } finally {
      if (embedded) await embedded.server.stop().catch(() => undefined);
    }
  }

  private readonly mailboxNotices = new MailboxNotices({ appendLine: (l) => this.log.info(l) });

  private wire(session: RoomSession): void {
    const mine = () => this.session === session;
    session.setEvents({
      state: (s) => mine() && this.controller.setState(s),
      members: (m) => mine() && this.onMembers(m),
      message: (m) => {
        if (!mine()) return;
        const entry = this.controller.addIncoming(m);
        if (entry) this.notifier.notify(newMessageText(entry.fromName, messagePreview(entry)));
      },
      delivery: (id, d) => mine() && this.controller.setDelivery(id, d),
      typing: (peerId, name, typing) => mine() && this.controller.typing(peerId, name, typing),
      mailbox: (n) => mine() && this.mailboxNotices.handle(n),
    });
    // A room entered while the window has been away for a while starts out away, not present.
    if (this.awayTracker.isAway) session.setAway(true);
  }

  private onMembers(members: MemberInfo[]): void {
    for (const w of this.contacts.observe(members)) warnKeyChange(w, this.log, (peerId) => this.verifyPeer(peerId));
    this.controller.setMembers(members);
  }

  // ---- commands ------------------------------------------------------------------------------------

  connect(args?: ConnectArgs | string): Promise<string | undefined> {
    return this.flows.connect(args);
  }

  startRoom(): Promise<string | undefined> {
    return this.flows.startRoom();
  }

  joinInvite(text?: string): Promise<string | undefined> {
    return this.flows.joinInvite(text);
  }

  joinNamed(name?: string, server?: string): Promise<string | undefined> {
    return this.flows.joinNamed(name, server);
  }

  handleUri(uri: vscode.Uri): Promise<void> {
    return this.flows.handleUri(uri);
  }

  copyInvite(): Promise<void> {
    return this.actions.copyInvite();
  }

  verifyPeer(peerId?: string): Promise<void> {
    return this.actions.verifyPeer(peerId);
  }

  clearHistory(args?: { confirm?: boolean }): Promise<void> {
    return this.actions.clearHistory(args);
  }

  shareSelection(): Promise<void> {
    return this.actions.shareSelection();
  }

  async disconnect(): Promise<void> {
    await this.userChange(async () => {
      const s = this.session;
      if (!s) return;
      await this.leaveCurrent();
      this.controller.closeRoom();
      await this.memory.left(s.roomIdHex);
      flashStatus(inert`P2P Chat: left ${s.label}`, 4000);
    });
  }

  async retry(): Promise<void> {
    const s = this.session;
    if (!s) {
      await this.connect();
      return;
    }
    await this.serial(async () => {
      if (this.session !== s) return;
      this.log.info(`retrying ${s.label}`);
      try {
        await s.restart();
      } catch (err) {
        this.log.error(`retry failed: ${(err as Error).message}`);
      }
    });
  }

  /** Never throws: a panel that cannot render must not abort the flow that wanted to show it. */
  showChat(preserveFocus = false): void {
    try {
      if (this.panel) {
        this.panel.reveal(preserveFocus);
        return;
      }
      this.adopt(ChatPanel.create(this.context.extensionUri, this.controller, (m) => this.onWebviewMessage(m), this.panelError, preserveFocus));
    } catch (err) {
      this.log.error(`could not show the chat panel: ${(err as Error).stack ?? err}`);
      void notifyError(inert`P2P Chat: could not show the chat panel: ${(err as Error).message}`, SHOW_LOG).then((c) => c && this.log.show());
    }
  }

  /** A panel VS Code restored after a reload. */
  revivePanel(panel: vscode.WebviewPanel): void {
    if (this.panel) {
      panel.dispose(); // one chat panel per window
      return;
    }
    try {
      this.adopt(new ChatPanel(panel, this.context.extensionUri, this.controller, (m) => this.onWebviewMessage(m), this.panelError));
    } catch (err) {
      this.log.error(`could not restore the chat panel: ${(err as Error).stack ?? err}`);
      panel.dispose();
    }
  }

  private readonly panelError = (err: Error): void => {
    this.log.error(`the chat panel could not render: ${err.stack ?? err.message}`);
  };

  private adopt(panel: ChatPanel): void {
    this.panel = panel;
    panel.onDidDispose(() => {
      if (this.panel === panel) this.panel = undefined;
    });
  }

  // ---- from the webview ----------------------------------------------------------------------------

  private onWebviewMessage(m: WebviewToHost): void {
    switch (m.type) {
      case 'send':
        this.actions.sendText(m.text);
        break;
      case 'typing':
        this.session?.setTyping(m.typing);
        break;
      case 'draft':
        this.controller.setDraft(m.text);
        if (this.session) void this.memory.saveDraft(this.session.roomIdHex, m.text || undefined);
        break;
      case 'openSnippet':
        this.openSnippet(m.snippet);
        break;
      case 'copyInvite':
        void this.copyInvite();
        break;
      case 'verifyPeer':
        void this.verifyPeer(m.peerId);
        break;
      case 'connect':
        void this.connect();
        break;
      case 'retry':
        void this.retry();
        break;
      case 'ready':
        break; // handled by the panel
    }
  }

  /** The sender is found in the transcript (the webview posts only the snippet) and names the document. */
  private openSnippet(snippet: SnippetPayload): void {
    const from = this.controller.snippetSender(snippet) ?? 'unknown sender';
    this.snippets.open(snippet, from, this.panel?.panel.viewColumn).then(undefined, (err: Error) => {
      this.log.warn(`could not open the snippet ${snippet.path}: ${err.message}`);
      void notifyError(inert`P2P Chat: could not open the snippet: ${err.message}`);
    });
  }

  // ---- settings and presence ---------------------------------------------------------------------

  private onSettingsChanged(): void {
    const before = this.settings;
    this.settings = readSettings();
    if (before.displayName !== this.settings.displayName && this.session) {
      this.session.setName(this.settings.displayName);
      if (this.controller.room) this.controller.setRoomView({ ...this.controller.room, selfName: this.settings.displayName });
    }
    if (this.settings.rendezvousServerError && this.settings.rendezvousServerError !== before.rendezvousServerError) {
      void notifyWarning(inert`P2P Chat: ${this.settings.rendezvousServerError}.`, OPEN_SETTINGS).then((c) => c && openSettings('p2pChat.rendezvousServer'));
    }
  }

  // ---- teardown ------------------------------------------------------------------------------------

  /** Leaves the room politely (peers and rendezvous are told) and stops any hosted rendezvous. */
  async shutdown(): Promise<void> {
    await this.serial(() => this.leaveCurrent());
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.notifier.dispose();
    this.awayTracker.dispose();
    this.snippets.dispose();
    this.panel?.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
    void this.shutdown();
  }
}
