// What the user does inside a room, from commands and the chat panel: copy the invite, verify a
// member's identity, clear the local history, share the editor selection, send a message. Apart from
// P2pChatApp because none of it changes which room we are in; the app lends only what these need
// (RoomActionsHost).
import * as vscode from 'vscode';
import { inert, inertText, type InertText } from '../core/inertText';
import { formatServer } from '../core/invite';
import { fingerprint } from '../core/noise/fingerprint';
import type { KeyPair } from '../core/noise/x25519';
import { MAX_TEXT_CHARS } from '../core/room/appMessages';
import type { ChatBody } from '../core/types';
import type { ChatController } from './chatController';
import { linkFor } from './connectFlow';
import type { ContactBook } from './contacts';
import type { RoomSession } from './roomSession';
import { askModal, flashStatus, notifyError, notifyInfo, pick } from './sinks';
import { selectionSnippet } from './snippets';

const CONNECT = inert`Connect…`;
const COPY_LINK = inert`Copy Link`;
const MARK_VERIFIED = inert`Mark as Verified`;
const MARK_UNVERIFIED = inert`Mark as Unverified`;
const CLEAR_HISTORY = inert`Clear History`;

/** A member's display name for a dialog: inert, one line, short. */
function nameOf(name: string): InertText {
  return inertText(name || 'unnamed', { max: 48 });
}

/** What the room actions need from the app. */
export interface RoomActionsHost {
  readonly controller: ChatController;
  readonly contacts: ContactBook;
  readonly log: vscode.LogOutputChannel;
  session(): RoomSession | undefined;
  identity(): Promise<KeyPair>;
  /** The label of the last room this window was in, whose history may be showing without a session. */
  lastRoomLabel(): string | undefined;
  panelOpen(): boolean;
  showChat(preserveFocus?: boolean): void;
  connect(): Promise<unknown>;
}

export class RoomActions {
  constructor(private readonly host: RoomActionsHost) {}

  async copyInvite(): Promise<void> {
    const s = this.host.session();
    if (!s) {
      const c = await notifyInfo(inert`P2P Chat: you are not in a room.`, CONNECT);
      if (c) await this.host.connect();
      return;
    }
    if (s.target.kind === 'dm') {
      void notifyInfo(inert`P2P Chat: "${s.label}" is a direct conversation with a contact; it has no invite. Use Copy My Contact Link to let someone add you.`);
      return;
    }
    if (!s.inviteText) {
      const server = formatServer(s.target.kind === 'named' ? s.target.server : s.target.invite.server);
      void notifyInfo(inert`P2P Chat: "${s.label}" is a named room; it has no invite. Others join it by its name on the rendezvous server ${server}.`);
      return;
    }
    const invite = s.inviteText;
    await vscode.env.clipboard.writeText(invite);
    this.host.log.info(`invite: ${invite}`);
    void notifyInfo(inert`Invite copied to the clipboard: ${invite}`, COPY_LINK).then(async (c) => {
      if (c) await vscode.env.clipboard.writeText(linkFor(invite));
    });
  }

  async verifyPeer(peerId?: string): Promise<void> {
    if (!this.host.session()) {
      void notifyInfo(inert`P2P Chat: you are not in a room.`);
      return;
    }
    const controller = this.host.controller;
    const members = controller.members;
    let member = peerId ? controller.member(peerId) : undefined;
    if (!member) {
      if (members.length === 0) {
        void notifyInfo(inert`P2P Chat: no one else is in the room yet.`);
        return;
      }
      // The icon is ours; the name is the peer's and cannot forge one (`$(` is defused).
      const chosen = await pick(
        members.map((m) => ({
          label: m.verified ? inert`$(verified-filled) ${nameOf(m.name)}` : inert`$(unverified) ${nameOf(m.name)}`,
          description: inert`${m.fingerprint ?? ''}`,
          detail: inert`${m.verified ? 'Verified' : 'Not verified'} · ${m.presence}`,
          peerId: m.peerId,
        })),
        { title: inert`P2P Chat: Verify Peer`, placeHolder: inert`Whose identity do you want to check?` },
      );
      if (!chosen) return;
      member = controller.member(chosen.peerId);
      if (!member) return;
    }
    const identity = await this.host.identity();
    const mine = fingerprint(identity.publicKey);
    const safety = member.safetyNumber ?? '(not known yet: wait until you are connected)';
    const rows = member.safetyNumber ? groupRows(member.safetyNumber, 4) : safety;
    const conflict = this.host.contacts.isConflicted(member.peerId) ? inert`\n\nWarning: this name was seen before with a different key.` : inert``;
    const name = nameOf(member.name);
    const detail = inert`Safety number (must be identical on both screens):\n${inertText(rows, { multiLine: true })}\n\n${name}'s fingerprint: ${member.fingerprint ?? '?'}\nYour fingerprint: ${mine}\n\nCompare it with ${name} in person or over a channel you already trust (a call, not this chat). Mark as verified only if every digit matches.${conflict}`;
    const action = member.verified ? MARK_UNVERIFIED : MARK_VERIFIED;
    const c = await askModal('info', inert`Verify ${name}`, detail, action);
    if (!c) return;
    await this.host.contacts.setVerified(member.peerId, member.name, c === MARK_VERIFIED);
    controller.refreshMembers();
    this.host.log.info(`${member.name} (${member.fingerprint}) marked as ${c === MARK_VERIFIED ? 'verified' : 'unverified'}`);
  }

  async clearHistory(args?: { confirm?: boolean }): Promise<void> {
    const controller = this.host.controller;
    const label = controller.room?.roomLabel ?? this.host.lastRoomLabel();
    if (controller.transcript.length === 0 && !this.host.session()) {
      void notifyInfo(inert`P2P Chat: there is no chat history to clear.`);
      return;
    }
    if (args?.confirm !== false) {
      const c = await askModal('warning', label ? inert`Clear the chat history of ${label} on this computer?` : inert`Clear the chat history on this computer?`, inert`Other members keep their copies.`, CLEAR_HISTORY);
      if (!c) return;
    }
    controller.clearHistory();
    this.host.log.info(`cleared the history${label ? ` of ${label}` : ''}`);
  }

  async shareSelection(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      void notifyInfo(inert`P2P Chat: open a file and select the code to share.`);
      return;
    }
    if (!this.host.session()) {
      const c = await notifyInfo(inert`P2P Chat: join a room before sharing code.`, CONNECT);
      if (c) await this.host.connect();
      return;
    }
    const r = selectionSnippet(editor);
    if (!r.ok) {
      void notifyInfo(inert`P2P Chat: ${r.error}`);
      return;
    }
    if (this.sendBody({ kind: 'snippet', snippet: r.snippet })) {
      const s = r.snippet;
      flashStatus(inert`P2P Chat: shared ${s.path}:${s.startLine}${s.endLine !== s.startLine ? '-' + s.endLine : ''}`, 4000);
      // A new panel opens beside the editor; an existing one is left where it is rather than
      // revealed over the editor the user is working in.
      if (!this.host.panelOpen()) this.host.showChat(true);
    }
  }

  /** A message typed in the chat panel. */
  sendText(text: string): void {
    if (text.trim() === '') return;
    if (text.length > MAX_TEXT_CHARS) {
      void notifyError(inert`P2P Chat: the message is too long (${text.length} characters; the limit is ${MAX_TEXT_CHARS}).`);
      return;
    }
    this.sendBody({ kind: 'text', text });
  }

  private sendBody(body: ChatBody): boolean {
    const s = this.host.session();
    if (!s) {
      void notifyError(inert`P2P Chat: you are not in a room.`);
      return false;
    }
    try {
      this.host.controller.addOwn(s.send(body));
      return true;
    } catch (err) {
      void notifyError(inert`P2P Chat: not sent: ${(err as Error).message}`);
      return false;
    }
  }
}

/** "a b c d e f g h i j k l" → rows of `per` groups, for a monospace-free dialog. */
function groupRows(safety: string, per: number): string {
  const groups = safety.split(' ');
  const rows: string[] = [];
  for (let i = 0; i < groups.length; i += per) rows.push(groups.slice(i, i + per).join(' '));
  return rows.join('\n');
}
