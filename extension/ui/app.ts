// The extension's one long-lived object: the current room session, the chat view-model, the panel,
// contacts and settings, and every user-facing flow (connect, join, verify, share...). Connection
// changes are serialised so double clicks or a URI arriving mid-connect cannot interleave.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { formatServer, inviteLink, parseInvite, parseServer, type Invite } from '../core/invite';
import { fingerprint, normalizeRoomName, type KeyPair } from '../core/noise';
import { MAX_TEXT_CHARS } from '../core/room/appMessages';
import { HistoryStore } from '../core/store/history';
import type { ChatBody, MemberInfo } from '../core/types';
import type { RoomView, WebviewToHost } from '../shared/protocol';
import { ChatController, messagePreview } from './chatController';
import { openSettings, readSettings } from './config';
import { ContactBook, type KeyChangeWarning } from './contacts';
import { loadIdentity } from './identity';
import { ChatPanel } from './panel';
import {
  createHostedTarget,
  lanAddress,
  loadRoom,
  RoomSession,
  roomKeys,
  saveRoom,
  startEmbeddedRendezvous,
  type EmbeddedRendezvous,
  type RoomTarget,
} from './roomSession';
import type { ChatSettings } from './settings';
import { openSnippet, selectionSnippet } from './snippets';
import { NotificationThrottle } from './statusView';

const ACTIVE_ROOM_KEY = 'p2pChat.activeRoom'; // workspaceState: roomIdHex of the room this window is in
const LAST_ROOM_KEY = 'p2pChat.lastRoom'; // workspaceState: { roomIdHex, label } whose history to show
const LAST_NAMED_SERVER_KEY = 'p2pChat.lastNamedServer'; // globalState
const roomSecretKey = (roomIdHex: string) => `p2pChat.room.${roomIdHex}`; // SecretStorage: SavedRoom JSON
const draftKey = (roomIdHex: string) => `p2pChat.draft.${roomIdHex}`; // workspaceState
const AWAY_AFTER_MS = 5 * 60 * 1000;

export const COMMANDS = {
  connect: 'p2pChat.connect',
  disconnect: 'p2pChat.disconnect',
  showChat: 'p2pChat.showChat',
  copyInvite: 'p2pChat.copyInvite',
  verifyPeer: 'p2pChat.verifyPeer',
  clearHistory: 'p2pChat.clearHistory',
  shareSelection: 'p2pChat.shareSelection',
} as const;

/** Arguments the Connect command accepts from scripts, tests and links (none: ask with a quick pick). */
export type ConnectArgs =
  | { action: 'start' }
  | { action: 'join'; invite: string }
  | { action: 'named'; name: string; server?: string };

export class P2pChatApp implements vscode.Disposable {
  readonly controller = new ChatController();
  private session: RoomSession | undefined;
  private panel: ChatPanel | undefined;
  private readonly contacts: ContactBook;
  private settings: ChatSettings;
  private identity: Promise<KeyPair> | undefined;
  private readonly throttle = new NotificationThrottle();
  private throttleTimer: NodeJS.Timeout | undefined;
  private awayTimer: NodeJS.Timeout | undefined;
  private away = false;
  private queue: Promise<unknown> = Promise.resolve();
  /** Bumped by every room change the user asks for, so a slow restore() never overrides one. */
  private userChanges = 0;
  private readonly disposables: vscode.Disposable[] = [];
  private disposed = false;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.settings = readSettings();
    this.contacts = new ContactBook(context.globalState);
    this.controller.setDecorator((m) => this.contacts.decorate(m));
    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration('p2pChat') && this.onSettingsChanged()),
      vscode.window.onDidChangeWindowState((s) => this.onWindowState(s.focused)),
      { dispose: this.controller.onChange((c) => c === 'unread' && this.controller.unread === 0 && this.throttle.reset()) },
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

  private linkFor(invite: string): string {
    const p = parseInvite(invite);
    return p.ok ? inviteLink(p.invite, vscode.env.uriScheme) : invite;
  }

  // ---- startup -------------------------------------------------------------------------------------

  /** After a window reload: rejoin the room this window was in, or at least show its history. */
  async restore(): Promise<void> {
    const generation = this.userChanges;
    const active = this.context.workspaceState.get<string>(ACTIVE_ROOM_KEY);
    if (active) {
      let target: RoomTarget | undefined;
      try {
        const saved = await this.context.secrets.get(roomSecretKey(active));
        target = saved ? loadRoom(JSON.parse(saved)) : undefined;
      } catch (err) {
        this.log.warn(`could not read the saved room: ${(err as Error).message}`);
      }
      if (target && roomKeys(target).roomId.toString('hex') === active) {
        this.log.info('rejoining the room this window was in before the reload');
        await this.serial(async () => {
          // The user connected or disconnected while this was waiting: theirs is the newer choice.
          if (this.userChanges !== generation || this.session) return;
          await this.enter(target!, { rehost: target!.kind === 'invite' && target!.hosted });
        });
        return;
      }
      await this.context.workspaceState.update(ACTIVE_ROOM_KEY, undefined);
    }
    const last = this.context.workspaceState.get<{ roomIdHex?: unknown }>(LAST_ROOM_KEY);
    if (last && typeof last.roomIdHex === 'string' && /^[0-9a-f]{64}$/.test(last.roomIdHex) && !this.session) {
      this.controller.showHistory(this.historyFor(last.roomIdHex));
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
      const draft = this.context.workspaceState.get<string>(draftKey(session.roomIdHex));
      this.controller.openRoom(this.roomView(session, identity.publicKey.toString('hex')), this.historyFor(session.roomIdHex), session.pendingMessages(), draft);
      this.updateContext();
      await this.context.workspaceState.update(ACTIVE_ROOM_KEY, session.roomIdHex);
      await this.context.workspaceState.update(LAST_ROOM_KEY, { roomIdHex: session.roomIdHex, label: session.label });
      try {
        await this.context.secrets.store(roomSecretKey(session.roomIdHex), JSON.stringify(saveRoom(target)));
      } catch (err) {
        this.log.warn(`the room will not be rejoined after a reload: ${(err as Error).message}`);
      }
      this.log.info(`joining ${session.label} (${target.kind === 'named' ? 'named room' : 'invite'}) via ${formatServer(target.kind === 'invite' ? target.invite.server : target.server)}`);
      try {
        await session.start();
      } catch (err) {
        // The banner and status bar show the failure; Retry restarts the session.
        void vscode.window.showErrorMessage(`P2P Chat: ${(err as Error).message}`, 'Retry', 'Show Log').then((c) => {
          if (c === 'Retry') void this.retry();
          if (c === 'Show Log') this.log.show();
        });
      }
      return session;
    } finally {
      if (embedded) await embedded.server.stop().catch(() => undefined);
    }
  }

  private wire(session: RoomSession): void {
    const mine = () => this.session === session;
    session.setEvents({
      state: (s) => mine() && this.controller.setState(s),
      members: (m) => mine() && this.onMembers(m),
      message: (m) => {
        if (!mine()) return;
        const entry = this.controller.addIncoming(m);
        if (entry) this.notifyIncoming(`${entry.fromName}: ${messagePreview(entry)}`);
      },
      delivery: (id, d) => mine() && this.controller.setDelivery(id, d),
      typing: (peerId, name, typing) => mine() && this.controller.typing(peerId, name, typing),
    });
  }

  private onMembers(members: MemberInfo[]): void {
    for (const w of this.contacts.observe(members)) this.warnKeyChange(w);
    this.controller.setMembers(members);
  }

  private warnKeyChange(w: KeyChangeWarning): void {
    const text =
      `P2P Chat: "${w.name}" joined with a different identity key than the one you know for that name. ` +
      'It may be a new computer or reinstall, or someone impersonating them. Compare safety numbers before trusting it.';
    this.log.warn(`key change: "${w.name}" now ${w.peerId.slice(0, 16)}…, known as ${w.knownPeerIds.map((p) => p.slice(0, 16) + '…').join(', ')}`);
    void vscode.window.showWarningMessage(text, 'Verify…').then((c) => c && this.verifyPeer(w.peerId));
  }

  private notifyIncoming(text: string): void {
    if (!this.settings.notifications || this.controller.isVisible) return;
    if (this.throttle.offer(Date.now())) {
      void vscode.window.showInformationMessage(text, 'Open Chat').then((c) => c && this.showChat());
      return;
    }
    if (this.throttleTimer) return;
    const at = this.throttle.nextFlushAt();
    if (at === undefined) return;
    this.throttleTimer = setTimeout(() => {
      this.throttleTimer = undefined;
      const n = this.throttle.flush(Date.now());
      if (n > 0 && !this.controller.isVisible && this.settings.notifications) {
        const room = this.controller.room?.roomLabel ?? 'the room';
        void vscode.window.showInformationMessage(`P2P Chat: ${n} more new message${n === 1 ? '' : 's'} in ${room}`, 'Open Chat').then((c) => c && this.showChat());
      }
    }, Math.max(0, at - Date.now()));
  }

  // ---- commands ------------------------------------------------------------------------------------

  async connect(args?: ConnectArgs | string): Promise<string | undefined> {
    if (typeof args === 'string') return this.joinInvite(args);
    if (args && typeof args === 'object') {
      if (args.action === 'start') return this.startRoom();
      if (args.action === 'join') return this.joinInvite(args.invite);
      if (args.action === 'named') return this.joinNamed(args.name, args.server);
    }
    type Item = vscode.QuickPickItem & { action: 'start' | 'join' | 'named' };
    const items: Item[] = [
      {
        action: 'start',
        label: '$(add) Start a new room',
        detail: this.settings.rendezvousServer
          ? `Creates an invite on ${formatServer(this.settings.rendezvousServer)} and copies it to the clipboard`
          : 'Hosts the rendezvous on this computer (for people on your network) and copies the invite to the clipboard',
      },
      { action: 'join', label: '$(link) Join with an invite', detail: 'Paste an invite (p2pchat:…) or an invite link you were given' },
      { action: 'named', label: '$(symbol-key) Join a named room', detail: 'Everyone types the same room name — convenient, but unverified until you compare safety numbers' },
    ];
    const pick = await vscode.window.showQuickPick(items, {
      title: 'P2P Chat: Connect',
      placeHolder: this.session ? `You are in ${this.session.label}; choosing an option leaves it` : 'Start a room or join one',
    });
    if (!pick) return undefined;
    if (pick.action === 'start') return this.startRoom();
    if (pick.action === 'join') return this.joinInvite();
    return this.joinNamed();
  }

  /** Creates a room, copies its invite, and tells the user (never modal: the invite must stay visible). */
  async startRoom(): Promise<string | undefined> {
    if (this.settings.rendezvousServerError) {
      const c = await vscode.window.showErrorMessage(`P2P Chat: ${this.settings.rendezvousServerError}.`, 'Open Settings');
      if (c) await openSettings('p2pChat.rendezvousServer');
      return undefined;
    }
    let session: RoomSession;
    this.userChanges++;
    try {
      session = await this.serial(async () => {
        await this.leaveCurrent(); // it may own the rendezvous port we are about to bind
        const { target, embedded } = await createHostedTarget({
          configuredServer: this.settings.rendezvousServer,
          hostPort: this.settings.hostRendezvousPort,
          log: this.safeLog,
        });
        if (embedded) this.log.info(`hosting a rendezvous on UDP ${embedded.port} (probe ${embedded.probePort})`);
        return this.enter(target, embedded ? { embedded } : {});
      });
    } catch (err) {
      void vscode.window.showErrorMessage(`P2P Chat: could not start a room: ${(err as Error).message}`);
      return undefined;
    }
    const invite = session.inviteText!;
    const link = this.linkFor(invite);
    this.log.info(`invite: ${invite}`);
    this.log.info(`invite link: ${link}`);
    try {
      await vscode.env.clipboard.writeText(invite);
    } catch (err) {
      this.log.warn(`could not write the clipboard: ${(err as Error).message}`);
    }
    const where = session.embedded ? ' (hosted on this computer: people on your network can join)' : '';
    void vscode.window.showInformationMessage(`Room created${where}. Invite copied to the clipboard: ${invite}`, 'Copy Invite', 'Copy Link').then(async (c) => {
      if (c === 'Copy Invite') await vscode.env.clipboard.writeText(invite);
      if (c === 'Copy Link') await vscode.env.clipboard.writeText(link);
    });
    this.showChat(true);
    return invite;
  }

  async joinInvite(text?: string): Promise<string | undefined> {
    let value = text;
    if (value === undefined) {
      value = await vscode.window.showInputBox({
        title: 'P2P Chat: Join with an invite',
        prompt: 'Paste the invite (p2pchat:…@host:port) or an invite link',
        placeHolder: 'p2pchat:…@host:port',
        ignoreFocusOut: true,
        value: await this.clipboardInvite(),
        validateInput: (t) => {
          if (t.trim() === '') return undefined;
          const p = parseInvite(t);
          return p.ok ? undefined : `Not a valid invite: ${p.error}.`;
        },
      });
      if (value === undefined || value.trim() === '') return undefined;
    }
    const p = parseInvite(value);
    if (!p.ok) {
      void vscode.window.showErrorMessage(`P2P Chat: not a valid invite: ${p.error}.`);
      return undefined;
    }
    return this.joinParsed(p.invite);
  }

  private async joinParsed(invite: Invite): Promise<string | undefined> {
    const target: RoomTarget = { kind: 'invite', invite, hosted: false };
    const roomIdHex = roomKeys(target).roomId.toString('hex');
    if (this.session?.roomIdHex === roomIdHex) {
      this.showChat();
      return this.session.inviteText;
    }
    this.userChanges++;
    try {
      const session = await this.serial(() => this.enter(target));
      this.showChat();
      return session.inviteText;
    } catch (err) {
      void vscode.window.showErrorMessage(`P2P Chat: could not join: ${(err as Error).message}`);
      return undefined;
    }
  }

  /** An invite already on the clipboard pre-fills the box (bounded: a browser may never answer). */
  private async clipboardInvite(): Promise<string | undefined> {
    try {
      const text = await Promise.race([vscode.env.clipboard.readText(), new Promise<string>((r) => setTimeout(() => r(''), 300))]);
      return text && text.length < 4096 && parseInvite(text).ok ? text.trim() : undefined;
    } catch {
      return undefined;
    }
  }

  async joinNamed(name?: string, server?: string): Promise<string | undefined> {
    let roomName = name;
    if (roomName === undefined) {
      roomName = await vscode.window.showInputBox({
        title: 'P2P Chat: Join a named room',
        prompt: 'Everyone who types this name joins the same room. Anyone who guesses it can join too: compare safety numbers (Verify Peer).',
        placeHolder: 'room name',
        ignoreFocusOut: true,
        validateInput: (t) => (t.trim() !== '' && normalizeRoomName(t) === '' ? 'The name needs at least one visible character.' : t.length > 200 ? 'Keep the name under 200 characters.' : undefined),
      });
      if (roomName === undefined || normalizeRoomName(roomName) === '') return undefined;
    }
    if (normalizeRoomName(roomName) === '') {
      void vscode.window.showErrorMessage('P2P Chat: the room name is empty.');
      return undefined;
    }
    let address = server !== undefined ? parseServer(server) : this.settings.rendezvousServer;
    if (server !== undefined && !address) {
      void vscode.window.showErrorMessage(`P2P Chat: "${server}" is not host:port.`);
      return undefined;
    }
    if (!address) {
      if (this.settings.rendezvousServerError) {
        void vscode.window.showErrorMessage(`P2P Chat: ${this.settings.rendezvousServerError}.`);
        return undefined;
      }
      const typed = await vscode.window.showInputBox({
        title: 'P2P Chat: Join a named room',
        prompt: 'The rendezvous server everyone in this room uses (host:port). Set p2pChat.rendezvousServer to skip this question.',
        placeHolder: 'rendezvous.example.org:7000',
        value: this.context.globalState.get<string>(LAST_NAMED_SERVER_KEY),
        ignoreFocusOut: true,
        validateInput: (t) => (t.trim() === '' || parseServer(t) ? undefined : 'Enter host:port, for example 192.168.1.20:7000.'),
      });
      if (!typed || !parseServer(typed)) return undefined;
      address = parseServer(typed)!;
      await this.context.globalState.update(LAST_NAMED_SERVER_KEY, formatServer(address));
    }
    const target: RoomTarget = { kind: 'named', name: roomName.trim(), server: address };
    this.userChanges++;
    try {
      const session = await this.serial(() => this.enter(target));
      this.showChat();
      void vscode.window.showWarningMessage(
        `P2P Chat: "${session.label}" is a named room. Anyone who knows or guesses the name can join; members stay unverified until you compare safety numbers.`,
        'Verify Peer…',
      ).then((c) => c && this.verifyPeer());
      return session.label;
    } catch (err) {
      void vscode.window.showErrorMessage(`P2P Chat: could not join: ${(err as Error).message}`);
      return undefined;
    }
  }

  async disconnect(): Promise<void> {
    this.userChanges++;
    await this.serial(async () => {
      const s = this.session;
      if (!s) return;
      await this.leaveCurrent();
      this.controller.closeRoom();
      await this.context.workspaceState.update(ACTIVE_ROOM_KEY, undefined);
      try {
        await this.context.secrets.delete(roomSecretKey(s.roomIdHex));
      } catch {
        // Nothing to forget, or no secret storage.
      }
      vscode.window.setStatusBarMessage(`P2P Chat: left ${s.label}`, 4000);
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
      void vscode.window.showErrorMessage(`P2P Chat: could not show the chat panel: ${(err as Error).message}`, 'Show Log').then((c) => c && this.log.show());
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

  async copyInvite(): Promise<void> {
    const s = this.session;
    if (!s) {
      const c = await vscode.window.showInformationMessage('P2P Chat: you are not in a room.', 'Connect…');
      if (c) await this.connect();
      return;
    }
    if (!s.inviteText) {
      const server = formatServer(s.target.kind === 'named' ? s.target.server : s.target.invite.server);
      void vscode.window.showInformationMessage(`P2P Chat: "${s.label}" is a named room; it has no invite. Others join it by its name on the rendezvous server ${server}.`);
      return;
    }
    const invite = s.inviteText;
    await vscode.env.clipboard.writeText(invite);
    this.log.info(`invite: ${invite}`);
    void vscode.window.showInformationMessage(`Invite copied to the clipboard: ${invite}`, 'Copy Link').then(async (c) => {
      if (c) await vscode.env.clipboard.writeText(this.linkFor(invite));
    });
  }

  async verifyPeer(peerId?: string): Promise<void> {
    if (!this.session) {
      void vscode.window.showInformationMessage('P2P Chat: you are not in a room.');
      return;
    }
    const members = this.controller.members;
    let member = peerId ? this.controller.member(peerId) : undefined;
    if (!member) {
      if (members.length === 0) {
        void vscode.window.showInformationMessage('P2P Chat: no one else is in the room yet.');
        return;
      }
      const pick = await vscode.window.showQuickPick(
        members.map((m) => ({
          label: `${m.verified ? '$(verified-filled)' : '$(unverified)'} ${m.name || 'unnamed'}`,
          description: m.fingerprint,
          detail: `${m.verified ? 'Verified' : 'Not verified'} · ${m.presence}`,
          peerId: m.peerId,
        })),
        { title: 'P2P Chat: Verify Peer', placeHolder: 'Whose identity do you want to check?' },
      );
      if (!pick) return;
      member = this.controller.member(pick.peerId);
      if (!member) return;
    }
    const identity = await this.getIdentity();
    const mine = fingerprint(identity.publicKey);
    const safety = member.safetyNumber ?? '(not known yet: wait until you are connected)';
    const rows = member.safetyNumber ? groupRows(member.safetyNumber, 4) : safety;
    const conflict = this.contacts.isConflicted(member.peerId) ? '\n\nWarning: this name was seen before with a different key.' : '';
    const detail =
      `Safety number (must be identical on both screens):\n${rows}\n\n` +
      `${member.name}'s fingerprint: ${member.fingerprint ?? '?'}\nYour fingerprint: ${mine}\n\n` +
      `Compare it with ${member.name} in person or over a channel you already trust (a call, not this chat). ` +
      `Mark as verified only if every digit matches.${conflict}`;
    const action = member.verified ? 'Mark as Unverified' : 'Mark as Verified';
    const c = await vscode.window.showInformationMessage(`Verify ${member.name}`, { modal: true, detail }, action);
    if (!c) return;
    await this.contacts.setVerified(member.peerId, member.name, c === 'Mark as Verified');
    this.controller.refreshMembers();
    this.log.info(`${member.name} (${member.fingerprint}) marked as ${c === 'Mark as Verified' ? 'verified' : 'unverified'}`);
  }

  async clearHistory(args?: { confirm?: boolean }): Promise<void> {
    const label = this.controller.room?.roomLabel ?? this.context.workspaceState.get<{ label?: string }>(LAST_ROOM_KEY)?.label;
    if (this.controller.transcript.length === 0 && !this.session) {
      void vscode.window.showInformationMessage('P2P Chat: there is no chat history to clear.');
      return;
    }
    if (args?.confirm !== false) {
      const c = await vscode.window.showWarningMessage(
        `Clear the chat history${label ? ` of ${label}` : ''} on this computer?`,
        { modal: true, detail: 'Other members keep their copies.' },
        'Clear History',
      );
      if (!c) return;
    }
    this.controller.clearHistory();
    this.log.info(`cleared the history${label ? ` of ${label}` : ''}`);
  }

  async shareSelection(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      void vscode.window.showInformationMessage('P2P Chat: open a file and select the code to share.');
      return;
    }
    if (!this.session) {
      const c = await vscode.window.showInformationMessage('P2P Chat: join a room before sharing code.', 'Connect…');
      if (c) await this.connect();
      return;
    }
    const r = selectionSnippet(editor);
    if (!r.ok) {
      void vscode.window.showInformationMessage(`P2P Chat: ${r.error}`);
      return;
    }
    if (this.sendBody({ kind: 'snippet', snippet: r.snippet })) {
      const s = r.snippet;
      vscode.window.setStatusBarMessage(`P2P Chat: shared ${s.path}:${s.startLine}${s.endLine !== s.startLine ? '-' + s.endLine : ''}`, 4000);
      // A new panel opens beside the editor; an existing one is left where it is rather than
      // revealed over the editor the user is working in.
      if (!this.panel) this.showChat(true);
    }
  }

  async handleUri(uri: vscode.Uri): Promise<void> {
    if (uri.path.replace(/\/+$/, '') !== '/join') {
      void vscode.window.showErrorMessage(`P2P Chat: unknown link ${uri.path}.`);
      return;
    }
    const invite = new URLSearchParams(uri.query).get('invite');
    if (!invite) {
      void vscode.window.showErrorMessage('P2P Chat: the link carries no invite.');
      return;
    }
    await this.joinInvite(invite);
  }

  // ---- from the webview ----------------------------------------------------------------------------

  private onWebviewMessage(m: WebviewToHost): void {
    switch (m.type) {
      case 'send':
        this.sendText(m.text);
        break;
      case 'typing':
        this.session?.setTyping(m.typing);
        break;
      case 'draft':
        this.controller.setDraft(m.text);
        if (this.session) void this.context.workspaceState.update(draftKey(this.session.roomIdHex), m.text || undefined);
        break;
      case 'openSnippet':
        openSnippet(m.snippet, this.panel?.panel.viewColumn).then(undefined, (err: Error) => void vscode.window.showErrorMessage(`P2P Chat: could not open the snippet: ${err.message}`));
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

  private sendText(text: string): void {
    if (text.trim() === '') return;
    if (text.length > MAX_TEXT_CHARS) {
      void vscode.window.showErrorMessage(`P2P Chat: the message is too long (${text.length} characters; the limit is ${MAX_TEXT_CHARS}).`);
      return;
    }
    this.sendBody({ kind: 'text', text });
  }

  private sendBody(body: ChatBody): boolean {
    const s = this.session;
    if (!s) {
      void vscode.window.showErrorMessage('P2P Chat: you are not in a room.');
      return false;
    }
    try {
      this.controller.addOwn(s.send(body));
      return true;
    } catch (err) {
      void vscode.window.showErrorMessage(`P2P Chat: not sent: ${(err as Error).message}`);
      return false;
    }
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
      void vscode.window.showWarningMessage(`P2P Chat: ${this.settings.rendezvousServerError}.`, 'Open Settings').then((c) => c && openSettings('p2pChat.rendezvousServer'));
    }
  }

  private onWindowState(focused: boolean): void {
    if (this.awayTimer) clearTimeout(this.awayTimer);
    this.awayTimer = undefined;
    if (focused) {
      if (this.away) {
        this.away = false;
        this.session?.setAway(false);
      }
      return;
    }
    this.awayTimer = setTimeout(() => {
      this.awayTimer = undefined;
      this.away = true;
      this.session?.setAway(true);
    }, AWAY_AFTER_MS);
  }

  // ---- teardown ------------------------------------------------------------------------------------

  /** Leaves the room politely (peers and rendezvous are told) and stops any hosted rendezvous. */
  async shutdown(): Promise<void> {
    await this.serial(() => this.leaveCurrent());
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.throttleTimer) clearTimeout(this.throttleTimer);
    if (this.awayTimer) clearTimeout(this.awayTimer);
    this.panel?.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
    void this.shutdown();
  }
}

/** "a b c d e f g h i j k l" → rows of `per` groups, for a monospace-free dialog. */
function groupRows(safety: string, per: number): string {
  const groups = safety.split(' ');
  const rows: string[] = [];
  for (let i = 0; i < groups.length; i += per) rows.push(groups.slice(i, i + per).join(' '));
  return rows.join('\n');
}
