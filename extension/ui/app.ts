// The extension's one long-lived object: the room sessions of this window (many conversations at
// once: one is active, on screen in the one chat panel, the others run on in the background and write
// their history and unread counts), the chat view-model, the panel, contacts and settings. Connection changes are serialised so double clicks or a URI arriving
// mid-connect cannot interleave. The user-facing flows live beside it: connectFlow.ts (getting into a
// room), roomActions.ts (what to do in one), notifications.ts, awayTracker.ts and roomMemory.ts.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { inert, inertText } from '../core/inertText';
import { formatServer } from '../core/invite';
import type { KeyPair } from '../core/noise';
import { HistoryStore } from '../core/store/history';
import type { ChatMessage, ConnectionState, MemberInfo, SnippetPayload, TranscriptEntry } from '../core/types';
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
import { lanAddress, roomKeys, startEmbeddedRendezvous, type DmTarget, type EmbeddedRendezvous, type RoomTarget } from './roomTarget';
import type { RoomSession } from './roomSession';
import { sessionCoreModule } from './lazyBundles';
import type { ChatSettings } from './settings';
import { notifyError, notifyInfo, notifyWarning, flashStatus, pick, refocusPicker } from './sinks';
import { askRename } from './roomNaming';
import { SnippetViewer } from './snippets';
import { ConversationList } from './sidebar/conversationList';
import { conversationRow, mentions, orderConversations } from './sidebar/conversationModel';

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
  openConversation: 'p2pChat.openConversation',
  switchConversation: 'p2pChat.switchConversation',
  muteConversation: 'p2pChat.muteConversation',
  unmuteConversation: 'p2pChat.unmuteConversation',
  leaveConversation: 'p2pChat.leaveConversation',
  removeConversation: 'p2pChat.removeConversation',
  sendFile: 'p2pChat.sendFile',
  renameRoom: 'p2pChat.renameRoom',
} as const;

/** What a background session last reported, to show it the moment its conversation is switched to. */
interface Snapshot {
  state: ConnectionState;
  members: MemberInfo[];
}

export class P2pChatApp implements vscode.Disposable {
  readonly controller = new ChatController();
  /** The active conversation's session (the one on screen); undefined when none or history only. */
  private session: RoomSession | undefined;
  /** Every session of this window by room id, the active one included. */
  private readonly sessions = new Map<string, RoomSession>();
  private readonly snapshots = new Map<string, Snapshot>();
  private readonly stores = new Map<string, HistoryStore>();
  /** Message ids already in a background conversation's history (loaded when it goes to the background). */
  private readonly seen = new Map<string, Set<string>>();
  readonly conversations: ConversationList;
  private selfId = '';
  private panel: ChatPanel | undefined;
  private readonly contacts: ContactBook;
  private settings: ChatSettings;
  private identity: Promise<KeyPair> | undefined;
  private readonly memory: RoomMemory;
  private readonly notifier: MessageNotifier;
  private readonly awayTracker = new AwayTracker(() => ({ setAway: (away: boolean) => this.sessions.forEach((s) => s.setAway(away)) }));
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
    this.conversations = new ConversationList(context.globalState, context.workspaceState, path.join(this.storageDir, 'history'));
    this.files = new FileTransfersUi(() => this.session, context.globalStorageUri.fsPath, log, () => this.sessions.values());
    this.disposables.push(this.files);
    this.files.host = {
      addEntry: (room, entry) => this.addFileEntry(room, entry),
      post: (room, m) => {
        if (this.controller.roomKey === room) this.controller.postFile(m);
      },
      selfName: () => this.settings.displayName,
      selfId: () => this.selfId,
    };
    this.controller.setFileSource((entries) => this.files.statuses(entries));
    this.controller.onViewInit(() => this.files.viewAttached(this.controller.roomKey, this.controller.transcript));
    this.notifier = new MessageNotifier(this.controller, () => this.settings.notifications, () => this.showChat());
    this.flows = new ConnectFlow({
      log,
      safeLog: this.safeLog,
      globalState: context.globalState,
      settings: () => this.settings,
      session: () => this.session,
      userChange: (op) => this.userChange(op),
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
    this.controller.onChange((c) => {
      if (c === 'unread' && this.session) this.conversations.setUnread(this.session.roomIdHex, this.controller.unread);
      // Our own messages are the conversation's latest too (peers' are counted in onMessage).
      const last = c === 'transcript' ? this.controller.transcript[this.controller.transcript.length - 1] : undefined;
      if (last?.own && this.session && this.controller.room) {
        this.conversations.message(this.session.roomIdHex, { preview: messagePreview(last), from: this.controller.room.selfName || 'you', at: Date.now(), unread: false, mention: false });
      }
    });
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

  /** One store per room: the active view-model and the background path append to the same file. */
  private historyFor(roomIdHex: string): HistoryStore {
    let store = this.stores.get(roomIdHex);
    if (!store) {
      store = new HistoryStore(path.join(this.storageDir, 'history', `${roomIdHex}.jsonl`));
      this.stores.set(roomIdHex, store);
    }
    return store;
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
    vscode.commands.executeCommand('setContext', 'p2pChat.conversationCount', this.sessions.size).then(undefined, ignore);
    vscode.commands.executeCommand('setContext', 'p2pChat.hasInvite', this.session?.inviteText !== undefined).then(undefined, ignore);
  }

  private roomView(session: RoomSession, selfId: string): RoomView {
    return {
      roomLabel: session.label,
      named: session.named,
      selfId,
      selfName: this.settings.displayName,
      key: session.roomIdHex,
      ...(session.inviteText ? { invite: session.inviteText } : {}),
    };
  }

  // ---- startup -------------------------------------------------------------------------------------

  /** After a window reload: rejoin the room this window was in, or at least show its history. */
  async restore(): Promise<void> {
    const generation = this.userChanges;
    const active = this.memory.activeRoomId();
    // The active one last, so it is the one on screen.
    const ids = this.memory.openRoomIds().sort((a, b) => Number(a === active) - Number(b === active));
    let rejoined = 0;
    for (const id of ids) {
      const target = await this.memory.savedTarget(id);
      if (!target || roomKeys(target).roomId.toString('hex') !== id) {
        await this.memory.left(id);
        continue;
      }
      this.log.info(`rejoining ${roomKeys(target).roomId.toString('hex').slice(0, 8)}…, a room this window was in before the reload`);
      rejoined++;
      await this.serial(async () => {
        // The user connected or disconnected while this was waiting: theirs is the newer choice.
        if (this.userChanges !== generation || this.sessions.has(id)) return;
        await this.enter(target, { rehost: target.kind === 'invite' && target.hosted });
      });
    }
    if (rejoined > 0) return;
    if (active) await this.memory.clearActive();
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

  /** Stops a session for good (peers and rendezvous are told). */
  private async leave(s: RoomSession): Promise<void> {
    if (this.sessions.get(s.roomIdHex) === s) this.sessions.delete(s.roomIdHex);
    this.snapshots.delete(s.roomIdHex);
    this.seen.delete(s.roomIdHex);
    if (this.session === s) {
      this.session = undefined;
      this.conversations.setActive(undefined);
    }
    this.conversations.left(s.roomIdHex);
    this.updateContext();
    try {
      await s.stop();
    } catch (err) {
      this.safeLog('warn', `leaving ${s.label}: ${(err as Error).message}`);
    }
    this.safeLog('info', `left ${s.label}`);
  }

  /** Must run inside serial(). */
  private async enter(target: RoomTarget, opts: { embedded?: EmbeddedRendezvous; rehost?: boolean; roomName?: string; background?: boolean } = {}): Promise<RoomSession> {
    let embedded = opts.embedded;
    try {
      const id = roomKeys(target).roomId.toString('hex');
      const existing = this.sessions.get(id);
      if (existing) {
        // Already open in this window: switch to it (an embedded server made for it is not needed).
        if (!opts.background) this.activate(existing);
        return existing;
      }
      if (!opts.background) this.parkActive();
      const identity = await this.getIdentity();
      this.selfId = identity.publicKey.toString('hex');
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
      // The room machinery is a bundle of its own, loaded here the first time (lazyBundles.ts).
      const { RoomSession } = sessionCoreModule();
      const session = new RoomSession({
        target,
        identity,
        name: this.settings.displayName,
        storageDir: this.storageDir,
        localPort: this.settings.localPort,
        keepaliveMs: this.settings.keepaliveSeconds * 1000,
        log: this.safeLog,
        ...(embedded ? { embedded } : {}),
        ...(opts.roomName !== undefined ? { roomName: opts.roomName } : {}),
      });
      embedded = undefined; // owned by the session from here on
      session.setOwnPresence(this.ownPresence);
      this.sessions.set(session.roomIdHex, session);
      this.wire(session);
      this.conversations.joined(session.roomIdHex, session.label, Date.now());
      if (!opts.background) this.activate(session);
      else this.updateContext();
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
    const id = session.roomIdHex;
    const mine = () => this.session === session;
    const snap: Snapshot = { state: { kind: 'idle' }, members: [] };
    this.snapshots.set(id, snap);
    session.setEvents({
      state: (s) => {
        snap.state = s;
        if (mine()) this.controller.setState(s);
      },
      members: (m) => {
        snap.members = m;
        if (mine()) this.onMembers(m);
        else for (const w of this.contacts.observe(m)) warnKeyChange(w, this.log, (peerId) => void this.openConversation(id).then(() => this.verifyPeer(peerId)));
      },
      message: (m) => this.onMessage(session, m),
      delivery: (mid, d) => (mine() ? this.controller.setDelivery(mid, d) : this.historyFor(id).updateDelivery(mid, d)),
      typing: (peerId, name, typing) => mine() && this.controller.typing(peerId, name, typing),
      mailbox: (n) => mine() && this.mailboxNotices.handle(n),
      roomName: (r, by) => this.onRoomName(session, r.name, by),
    });
    // A room entered while the window has been away for a while starts out away, not present.
    if (this.awayTracker.isAway) session.setAway(true);
  }

  /** Puts a session on screen: the view-model shows its history, draft, state and members. */
  private activate(session: RoomSession): void {
    if (this.session === session) return;
    this.parkActive();
    this.session = session;
    this.conversations.setActive(session.roomIdHex);
    this.seen.delete(session.roomIdHex);
    const unread = this.conversations.get(session.roomIdHex)?.unread ?? 0;
    this.controller.openRoom(this.roomView(session, this.selfId), this.historyFor(session.roomIdHex), session.pendingMessages(), this.memory.draft(session.roomIdHex));
    const snap = this.snapshots.get(session.roomIdHex);
    if (snap) {
      this.controller.setState(snap.state);
      this.onMembers(snap.members);
    }
    // What arrived in the background stays unread until the panel is seen.
    if (!this.controller.isVisible && unread > 0) this.controller.addUnread(unread);
    this.updateContext();
    void this.memory.setActive(session.roomIdHex);
  }

  /** The active session goes on in the background (its draft is already saved as it is typed). */
  private parkActive(): void {
    if (!this.session) return;
    this.session = undefined;
    this.conversations.setActive(undefined);
    this.updateContext();
  }

  private onMessage(session: RoomSession, m: ChatMessage): void {
    const id = session.roomIdHex;
    const active = this.session === session;
    let fromName: string;
    let preview: string;
    if (active) {
      const entry = this.controller.addIncoming(m);
      if (!entry) return;
      fromName = entry.fromName;
      preview = messagePreview(entry);
    } else {
      const store = this.historyFor(id);
      let seen = this.seen.get(id);
      if (!seen) {
        seen = new Set(safeIds(store));
        this.seen.set(id, seen);
      }
      if (seen.has(m.id)) return;
      seen.add(m.id);
      const entry = { id: m.id, from: m.from, fromName: m.fromName, own: false, sentAt: m.sentAt, body: m.body };
      try {
        store.append(entry);
      } catch (err) {
        this.log.warn(`could not write the history of ${session.label}: ${(err as Error).message}`);
      }
      fromName = m.fromName;
      preview = messagePreview(entry);
    }
    const text = m.body.text ?? '';
    const mention = mentions(text, this.settings.displayName);
    this.conversations.message(id, { preview, from: fromName, at: Date.now(), unread: !active, mention });
    const muted = this.conversations.get(id)?.muted ?? false;
    const forceMention = mention && this.settings.mentionNotifications;
    if (muted && !forceMention) return;
    const note = active ? newMessageText(fromName, preview) : inert`${session.label}: ${newMessageText(fromName, preview)}`;
    if (active) this.notifier.notify(note, forceMention && !this.controller.isVisible);
    else this.notifier.notifyElsewhere(note, () => void this.openConversation(id), forceMention);
  }

  /** A file card for a room: on screen if it is the active one, else into its history (like a background message). */
  private addFileEntry(room: string, entry: TranscriptEntry): void {
    const active = this.session?.roomIdHex === room;
    if (active) {
      if (!this.controller.addFileEntry(entry)) return;
    } else {
      let seen = this.seen.get(room);
      if (!seen) {
        seen = new Set(safeIds(this.historyFor(room)));
        this.seen.set(room, seen);
      }
      if (seen.has(entry.id)) return;
      seen.add(entry.id);
      try {
        this.historyFor(room).append(entry);
      } catch (err) {
        this.log.warn(`could not write a file card to the history: ${(err as Error).message}`);
      }
    }
    // The Conversations view's last line (our own cards are counted by the controller's transcript hook).
    if (!entry.own) this.conversations.message(room, { preview: messagePreview(entry), from: entry.fromName, at: Date.now(), unread: !active, mention: false });
  }

  /**
   * The room was renamed (by us, or a member's rename reached us): every place that shows its name
   * follows — the Conversations row and switcher, the panel's title and header, the status bar, the
   * invite Copy Invite hands out. Peer text: each of those goes through the inert-text sinks.
   */
  private onRoomName(session: RoomSession, name: string, by?: { peerId: string; name: string }): void {
    const id = session.roomIdHex;
    this.conversations.renamed(id, name);
    void this.memory.renamed(id, name);
    if (this.session === session && this.controller.room) {
      this.controller.setRoomView(this.roomView(session, this.selfId));
      this.updateContext();
    }
    if (by) flashStatus(inert`P2P Chat: ${inertText(by.name || 'a member', { max: 48 })} renamed the room to “${inertText(name, { max: 64 })}”`, 6000);
    this.log.info(`room ${id.slice(0, 8)}… is now called ${JSON.stringify(name)}${by ? ` (from ${by.name})` : ''}`);
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
      await this.leave(s);
      this.controller.closeRoom();
      await this.memory.left(s.roomIdHex);
      flashStatus(inert`P2P Chat: left ${s.label}`, 4000);
      // Another open conversation, the most recent, takes the screen.
      const next = this.conversations
        .all()
        .filter((c) => this.sessions.has(c.id))
        .sort((a, b) => b.lastAt - a.lastAt)[0];
      const nextSession = next && this.sessions.get(next.id);
      if (nextSession) this.activate(nextSession);
    });
  }

  // ---- direct messages (the contacts side: contacts/contactsUi.ts) ---------------------------------

  /** Finds the DM target of a conversation id (a contact's), so a DM row in Conversations reopens it. */
  private dmResolver: ((conversationId: string) => DmTarget | undefined) | undefined;

  setDmResolver(f: (conversationId: string) => DmTarget | undefined): void {
    this.dmResolver = f;
  }

  identityKeys(): Promise<KeyPair> {
    return this.getIdentity();
  }

  /** Opens the DM with a contact: on screen, or in the background (a contact knocked; the mailbox after a restart). */
  async openDm(target: DmTarget, opts: { background?: boolean } = {}): Promise<void> {
    const id = target.keys.roomId.toString('hex');
    if (opts.background) {
      if (this.sessions.has(id)) return;
      await this.serial(async () => {
        if (!this.sessions.has(id)) await this.enter(target, { background: true });
      });
      return;
    }
    await this.userChange(() => this.enter(target));
    this.showChat();
  }

  private ownPresence: 'online' | 'away' | 'offline' = 'online';

  /** Set Presence reaches the open DMs too (each registers the pair's topic on its own socket). */
  setOwnPresence(p: 'online' | 'away' | 'offline'): void {
    this.ownPresence = p;
    for (const s of this.sessions.values()) s.setOwnPresence(p);
  }

  /** Whether the DM with this conversation id runs in this window. */
  hasSession(id: string): boolean {
    return this.sessions.has(id);
  }

  /** The TOFU book shared with rooms: a contact's key verified in a DM or a room is verified everywhere. */
  isVerified(peerId: string): boolean {
    return this.contacts.get(peerId)?.verified === true;
  }

  async setVerified(peerId: string, name: string, verified: boolean): Promise<void> {
    await this.contacts.setVerified(peerId, name, verified);
    this.controller.refreshMembers();
  }

  // ---- conversations -------------------------------------------------------------------------------

  get activeConversationId(): string | undefined {
    return this.session?.roomIdHex;
  }

  /**
   * Puts a conversation on screen: a room open in this window is switched to; one this window was in
   * before is rejoined if it can be (its invite is saved); otherwise its history is shown.
   */
  async openConversation(id?: unknown): Promise<void> {
    if (typeof id !== 'string' || !this.conversations.get(id)) return;
    await this.userChange(async () => {
      const open = this.sessions.get(id);
      if (open) {
        this.activate(open);
        return;
      }
      const target = (await this.memory.savedTarget(id)) ?? this.dmResolver?.(id);
      if (target && roomKeys(target).roomId.toString('hex') === id) {
        await this.enter(target, { rehost: target.kind === 'invite' && target.hosted });
        return;
      }
      this.parkActive();
      this.controller.closeRoom();
      this.controller.showHistory(this.historyFor(id));
      this.conversations.setUnread(id, 0);
    });
    this.showChat();
  }

  /** A quick pick of the conversations, most recent first (keyboard users' switcher). */
  async switchConversation(): Promise<void> {
    const list = orderConversations(this.conversations.all());
    if (list.length === 0) {
      await this.connect();
      return;
    }
    const now = Date.now();
    const chosen = await pick(
      list.map((c) => {
        const row = conversationRow(c, c.id === this.session?.roomIdHex, now);
        return { id: c.id, label: row.label, description: row.description };
      }),
      { title: inert`P2P Chat: Switch Conversation`, placeHolder: inert`Pick a conversation` },
    );
    if (chosen) await this.openConversation(chosen.id);
  }

  /** "Rename Room": the active conversation, or the one whose row was clicked; only a room this window is in. */
  async renameRoom(id?: unknown): Promise<void> {
    const target = typeof id === 'string' ? id : this.session?.roomIdHex;
    const s = target !== undefined ? this.sessions.get(target) : undefined;
    if (!s) {
      void notifyInfo(inert`P2P Chat: only a room you are in can be renamed. Open it first.`);
      return;
    }
    const name = await askRename(s.label);
    if (name === undefined) return;
    try {
      s.rename(name);
    } catch (err) {
      void notifyError(inert`P2P Chat: could not rename the room: ${(err as Error).message}`);
    }
  }

  setMuted(id: unknown, muted: boolean): void {
    const target = typeof id === 'string' ? id : this.session?.roomIdHex;
    if (target) this.conversations.setMuted(target, muted);
  }

  /** Leaves a conversation (the active one, or the one whose row was clicked). */
  async leaveConversation(id?: unknown): Promise<void> {
    const target = typeof id === 'string' ? id : this.session?.roomIdHex;
    if (!target) return;
    if (target !== this.session?.roomIdHex) {
      const s = this.sessions.get(target);
      if (!s) return;
      await this.userChange(async () => {
        await this.leave(s);
        await this.memory.left(target);
        flashStatus(inert`P2P Chat: left ${s.label}`, 4000);
      });
      return;
    }
    await this.disconnect();
  }

  /** Leaves it if open, and takes it off the list (its history stays on disk until Clear History). */
  async removeConversation(id?: unknown): Promise<void> {
    if (typeof id !== 'string') return;
    await this.leaveConversation(id);
    this.conversations.remove(id);
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
      case 'draft': {
        // Typed in the conversation it names, which the user may have switched away from meanwhile.
        const room = m.room ?? this.session?.roomIdHex;
        if (!room) break;
        if (room === this.session?.roomIdHex) this.controller.setDraft(m.text);
        if (this.sessions.has(room) || this.conversations.get(room)) void this.memory.saveDraft(room, m.text || undefined);
        break;
      }
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
      case 'pickFiles':
        void this.files.send();
        break;
      case 'fileAction':
        this.files.action(m.id, m.action);
        break;
      case 'sendFiles':
        void this.files.sendDropped(m.files).catch((e: Error) => void notifyError(inert`P2P Chat: could not send the files: ${e.message}`));
        break;
      case 'sendUris':
        void this.files.sendUris(m.uris);
        break;
      case 'focused':
        refocusPicker();
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
      for (const s of this.sessions.values()) s.setName(this.settings.displayName);
      if (this.controller.room) this.controller.setRoomView({ ...this.controller.room, selfName: this.settings.displayName });
    }
    if (this.settings.rendezvousServerError && this.settings.rendezvousServerError !== before.rendezvousServerError) {
      void notifyWarning(inert`P2P Chat: ${this.settings.rendezvousServerError}.`, OPEN_SETTINGS).then((c) => c && openSettings('p2pChat.rendezvousServer'));
    }
  }

  // ---- teardown ------------------------------------------------------------------------------------

  /** Leaves the room politely (peers and rendezvous are told) and stops any hosted rendezvous. */
  async shutdown(): Promise<void> {
    await this.serial(() => Promise.all([...this.sessions.values()].map((s) => this.leave(s))));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.notifier.dispose();
    this.awayTracker.dispose();
    this.snippets.dispose();
    this.conversations.dispose();
    this.panel?.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
    void this.shutdown();
  }
}

function safeIds(store: HistoryStore): string[] {
  try {
    return store.load().map((e) => e.id);
  } catch {
    return [];
  }
}
