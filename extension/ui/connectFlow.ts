// How the user gets into a room: the Connect quick pick and its three flows (start a room, join with
// an invite, join a named room), invite links opened from outside the editor, and an invite already
// on the clipboard. Apart from P2pChatApp so the dialogs read as one story; the app keeps the session
// and lends this file only what the flows need (ConnectFlowHost).
import * as vscode from 'vscode';
import { inert } from '../core/inertText';
import { formatServer, inviteLink, parseInvite, parseServer, type Invite } from '../core/invite';
import { normalizeRoomName } from '../core/noise/room-keys';
import { openSettings } from './config';
import { askInput, notifyError, notifyInfo, notifyWarning, pick, type PickItem } from './sinks';
import { createHostedTarget, defaultRoomName, roomKeys, type EmbeddedRendezvous, type LogFn, type RoomTarget } from './roomTarget';
import type { RoomSession } from './roomSession';
import { askNewRoomName } from './roomNaming';
import { cleanRoomName } from '../core/room/roomName';
import type { ChatSettings } from './settings';

const LAST_NAMED_SERVER_KEY = 'p2pChat.lastNamedServer'; // globalState

const OPEN_SETTINGS = inert`Open Settings`;
const COPY_INVITE = inert`Copy Invite`;
const COPY_LINK = inert`Copy Link`;
const VERIFY_PEER = inert`Verify Peer…`;

/** Arguments the Connect command accepts from scripts, tests and links (none: ask with a quick pick). */
export type ConnectArgs =
  /** `name`: the new room's name (none: asked, with a suggestion). */
  | { action: 'start'; name?: string }
  | { action: 'join'; invite: string }
  | { action: 'named'; name: string; server?: string };

/** What the connect flows need from the app. */
export interface ConnectFlowHost {
  readonly log: vscode.LogOutputChannel;
  /** A logger that never throws (see P2pChatApp.safeLog). */
  readonly safeLog: LogFn;
  readonly globalState: vscode.Memento;
  settings(): ChatSettings;
  session(): RoomSession | undefined;
  /** Runs a room change the user asked for, one at a time with every other connection change. */
  userChange<T>(op: () => Promise<T>): Promise<T>;
  /** Only inside userChange(). */
  enter(target: RoomTarget, opts?: { embedded?: EmbeddedRendezvous; roomName?: string }): Promise<RoomSession>;
  showChat(preserveFocus?: boolean): void;
  verifyPeer(): Promise<void>;
}

/** The invite as a link that opens this editor (vscode://…), or the text itself if it does not parse. */
export function linkFor(invite: string): string {
  const p = parseInvite(invite);
  return p.ok ? inviteLink(p.invite, vscode.env.uriScheme) : invite;
}

export class ConnectFlow {
  constructor(private readonly host: ConnectFlowHost) {}

  async connect(args?: ConnectArgs | string): Promise<string | undefined> {
    if (typeof args === 'string') return this.joinInvite(args);
    if (args && typeof args === 'object') {
      if (args.action === 'start') return this.startRoom(typeof args.name === 'string' ? args.name : undefined);
      if (args.action === 'join') return this.joinInvite(args.invite);
      if (args.action === 'named') return this.joinNamed(args.name, args.server);
    }
    const settings = this.host.settings();
    const current = this.host.session();
    type Item = PickItem & { action: 'start' | 'join' | 'named' };
    const items: Item[] = [
      {
        action: 'start',
        label: inert`$(add) Start a new room`,
        detail: settings.rendezvousServer
          ? inert`Creates an invite on ${formatServer(settings.rendezvousServer)} and copies it to the clipboard`
          : inert`Hosts the rendezvous on this computer (for people on your network) and copies the invite to the clipboard`,
      },
      { action: 'join', label: inert`$(link) Join with an invite`, detail: inert`Paste an invite (p2pchat:…) or an invite link you were given` },
      { action: 'named', label: inert`$(symbol-key) Join a named room`, detail: inert`Everyone types the same room name — convenient, but unverified until you compare safety numbers` },
    ];
    const chosen = await pick(items, {
      title: inert`P2P Chat: Connect`,
      placeHolder: current ? inert`You are in ${current.label}; it stays open in Conversations` : inert`Start a room or join one`,
    });
    if (!chosen) return undefined;
    if (chosen.action === 'start') return this.startRoom();
    if (chosen.action === 'join') return this.joinInvite();
    return this.joinNamed();
  }

  /**
   * Creates a room under a name (asked for, with a suggestion, unless given), copies its invite, and
   * tells the user (never modal: the invite must stay visible).
   */
  async startRoom(name?: string): Promise<string | undefined> {
    const error = this.host.settings().rendezvousServerError;
    if (error) {
      const c = await notifyError(inert`P2P Chat: ${error}.`, OPEN_SETTINGS);
      if (c) await openSettings('p2pChat.rendezvousServer');
      return undefined;
    }
    const suggestion = defaultRoomName(this.host.settings().displayName);
    const roomName = name !== undefined ? cleanRoomName(name) || suggestion : await askNewRoomName(suggestion);
    let session: RoomSession;
    try {
      session = await this.host.userChange(async () => {
        const settings = this.host.settings(); // read now: the queue may have waited for a settings change
        const { target, embedded } = await createHostedTarget({
          configuredServer: settings.rendezvousServers.length ? settings.rendezvousServers : undefined,
          hostPort: settings.hostRendezvousPort,
          log: this.host.safeLog,
          roomName,
        });
        if (embedded) this.host.log.info(`hosting a rendezvous on UDP ${embedded.port} (probe ${embedded.probePort})`);
        return this.host.enter(target, { ...(embedded ? { embedded } : {}), roomName });
      });
    } catch (err) {
      void notifyError(inert`P2P Chat: could not start a room: ${(err as Error).message}`);
      return undefined;
    }
    const invite = session.inviteText!;
    const link = linkFor(invite);
    this.host.log.info(`invite: ${invite}`);
    this.host.log.info(`invite link: ${link}`);
    try {
      await vscode.env.clipboard.writeText(invite);
    } catch (err) {
      this.host.log.warn(`could not write the clipboard: ${(err as Error).message}`);
    }
    const where = session.embedded ? ' (hosted on this computer: people on your network can join)' : '';
    void notifyInfo(inert`Room "${session.label}" created${where}. Invite copied to the clipboard: ${invite}`, COPY_INVITE, COPY_LINK).then(async (c) => {
      if (c === COPY_INVITE) await vscode.env.clipboard.writeText(invite);
      if (c === COPY_LINK) await vscode.env.clipboard.writeText(link);
    });
    this.host.showChat(true);
    return invite;
  }

  async joinInvite(text?: string): Promise<string | undefined> {
    let value = text;
    if (value === undefined) {
      value = await askInput({
        title: inert`P2P Chat: Join with an invite`,
        prompt: inert`Paste the invite (p2pchat:…@host:port) or an invite link`,
        placeHolder: inert`p2pchat:…@host:port`,
        ignoreFocusOut: true,
        value: await this.clipboardInvite(),
        validate: (t) => {
          if (t.trim() === '') return undefined;
          const p = parseInvite(t);
          // The reason may quote what was pasted, and a validation message renders links: inert.
          return p.ok ? undefined : inert`Not a valid invite: ${p.error}.`;
        },
      });
      if (value === undefined || value.trim() === '') return undefined;
    }
    const p = parseInvite(value);
    if (!p.ok) {
      void notifyError(inert`P2P Chat: not a valid invite: ${p.error}.`);
      return undefined;
    }
    return this.joinParsed(p.invite);
  }

  private async joinParsed(invite: Invite): Promise<string | undefined> {
    const target: RoomTarget = { kind: 'invite', invite, hosted: false };
    const roomIdHex = roomKeys(target).roomId.toString('hex');
    const current = this.host.session();
    if (current?.roomIdHex === roomIdHex) {
      this.host.showChat();
      return current.inviteText;
    }
    try {
      const session = await this.host.userChange(() => this.host.enter(target));
      this.host.showChat();
      return session.inviteText;
    } catch (err) {
      void notifyError(inert`P2P Chat: could not join: ${(err as Error).message}`);
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
      roomName = await askInput({
        title: inert`P2P Chat: Join a named room`,
        prompt: inert`Everyone who types this name joins the same room. Anyone who guesses it can join too: compare safety numbers (Verify Peer).`,
        placeHolder: inert`room name`,
        ignoreFocusOut: true,
        validate: (t) =>
          t.trim() !== '' && normalizeRoomName(t) === '' ? inert`The name needs at least one visible character.` : t.length > 200 ? inert`Keep the name under 200 characters.` : undefined,
      });
      if (roomName === undefined || normalizeRoomName(roomName) === '') return undefined;
    }
    if (normalizeRoomName(roomName) === '') {
      void notifyError(inert`P2P Chat: the room name is empty.`);
      return undefined;
    }
    const settings = this.host.settings();
    let address = server !== undefined ? parseServer(server) : settings.rendezvousServer;
    if (server !== undefined && !address) {
      void notifyError(inert`P2P Chat: "${server}" is not host:port.`);
      return undefined;
    }
    if (!address) {
      if (settings.rendezvousServerError) {
        void notifyError(inert`P2P Chat: ${settings.rendezvousServerError}.`);
        return undefined;
      }
      const typed = await askInput({
        title: inert`P2P Chat: Join a named room`,
        prompt: inert`The rendezvous server everyone in this room uses (host:port). Set p2pChat.rendezvousServer to skip this question.`,
        placeHolder: inert`rendezvous.example.org:7000`,
        value: this.host.globalState.get<string>(LAST_NAMED_SERVER_KEY),
        ignoreFocusOut: true,
        validate: (t) => (t.trim() === '' || parseServer(t) ? undefined : inert`Enter host:port, for example 192.168.1.20:7000.`),
      });
      if (!typed || !parseServer(typed)) return undefined;
      address = parseServer(typed)!;
      await this.host.globalState.update(LAST_NAMED_SERVER_KEY, formatServer(address));
    }
    const target: RoomTarget = { kind: 'named', name: roomName.trim(), server: address };
    try {
      const session = await this.host.userChange(() => this.host.enter(target));
      this.host.showChat();
      void notifyWarning(
        inert`P2P Chat: "${session.label}" is a named room. Anyone who knows or guesses the name can join; members stay unverified until you compare safety numbers.`,
        VERIFY_PEER,
      ).then((c) => c && this.host.verifyPeer());
      return session.label;
    } catch (err) {
      void notifyError(inert`P2P Chat: could not join: ${(err as Error).message}`);
      return undefined;
    }
  }

  /** vscode://…/join?invite=… links, e.g. the one "Copy Link" puts on the clipboard. */
  async handleUri(uri: vscode.Uri): Promise<void> {
    if (uri.path.replace(/\/+$/, '') !== '/join') {
      // The link came from outside the editor (a web page, a chat): its path is anyone's text.
      void notifyError(inert`P2P Chat: unknown link ${uri.path}.`);
      return;
    }
    const invite = new URLSearchParams(uri.query).get('invite');
    if (!invite) {
      void notifyError(inert`P2P Chat: the link carries no invite.`);
      return;
    }
    await this.joinInvite(invite);
  }
}
