// The editor side of accounts and contacts: the commands (Sign Up, Add Contact, Copy My Contact Link,
// Show Contacts, Set Presence, and the Contacts/Requests context menus), request notifications, the
// own-presence status bar item and the contact-link URI. The work is done by ContactsService (no
// `vscode` there); DMs open as conversations of the app (P2pChatApp.openDm). Every peer string
// (names, handles, notes) reaches VS Code through sinks.ts as InertText.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseServer } from '../../core/invite';
import { inert, inertText, type InertText } from '../../core/inertText';
import { fingerprint, safetyNumber } from '../../core/noise';
import type { IncomingRequest } from '../../core/contacts/requests';
import type { Contact } from '../../core/contacts/book';
import type { P2pChatApp } from '../app';
import { readSettings } from '../config';
import { askInput, askModal, flashStatus, notifyError, notifyInfo, notifyWarning, pick, setStatusItem } from '../sinks';
import { ownPresenceStatus, type ContactView, type RequestView } from '../sidebar/contactModel';
import { loadSigningKey } from './accountKey';
import { existsSync } from 'node:fs';
import type { ContactsService, OwnPresence } from './contactsService';
import { sessionCoreModule } from '../lazyBundles';

export const CONTACT_COMMANDS = {
  signUp: 'p2pChat.signUp',
  addContact: 'p2pChat.addContact',
  copyContactLink: 'p2pChat.copyContactLink',
  showContacts: 'p2pChat.showContacts',
  setPresence: 'p2pChat.setPresence',
  message: 'p2pChat.messageContact',
  verify: 'p2pChat.verifyContact',
  rename: 'p2pChat.renameContact',
  remove: 'p2pChat.removeContact',
  block: 'p2pChat.blockContact',
  accept: 'p2pChat.acceptRequest',
  ignore: 'p2pChat.ignoreRequest',
  blockRequest: 'p2pChat.blockRequest',
} as const;

const PRESENCE_KEY = 'p2pChat.ownPresence'; // globalState: what Set Presence chose
/** DMs opened in the background at start-up, so the mailbox brings what arrived while the editor was closed. */
export const MAX_BACKGROUND_DMS = 16;

const ACCEPT = inert`Accept`;
const IGNORE = inert`Ignore`;
const BLOCK = inert`Block`;
const ADD = inert`Send Request`;
const MESSAGE = inert`Message`;
const COPY_LINK = inert`Copy My Contact Link`;
const COPY_URI = inert`Copy as vscode:// Link`;
const REMOVE = inert`Remove`;
const MARK_VERIFIED = inert`Mark as Verified`;
const MARK_UNVERIFIED = inert`Mark as Not Verified`;

function name(s: string): InertText {
  return inertText(s || 'someone', { max: 64 });
}

/** A tree row's element (ContactView/RequestView), a key or id string from a command link, or nothing. */
function argKey(x: unknown, field: 'key' | 'id'): string | undefined {
  if (typeof x === 'string') return x;
  if (typeof x === 'object' && x !== null && typeof (x as Record<string, unknown>)[field] === 'string') return (x as Record<string, string>)[field];
  return undefined;
}

export class ContactsUi implements vscode.Disposable {
  private service: ContactsService | undefined;
  private ready: Promise<ContactsService | undefined> | undefined;
  private readonly emitter = new vscode.EventEmitter<void>();
  private readonly statusItem: vscode.StatusBarItem;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly app: P2pChatApp,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.statusItem = vscode.window.createStatusBarItem('p2pChat.presence', vscode.StatusBarAlignment.Right, 99);
    this.statusItem.name = 'P2P Chat Presence';
    this.statusItem.command = CONTACT_COMMANDS.setPresence;
    this.disposables.push(
      this.statusItem,
      this.emitter,
      app.conversations.onDidChange(() => this.emitter.fire()),
      this.emitter.event(() => this.updateStatus()),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('p2pChat.presence.share')) void this.applyPresence();
        // Contacts kept offline for want of a server go online once one is configured.
        if (e.affectsConfiguration('p2pChat.rendezvousServer')) void this.service?.start();
      }),
    );
    app.setDmResolver((id) => {
      const s = this.service;
      if (!s) return undefined;
      const c = s.contacts().find((x) => s.conversationId(x.staticKey) === id);
      return c ? s.dmTarget(c.staticKey) : undefined;
    });
    app.controller.onChange((c) => {
      if (c === 'members') this.emitter.fire(); // a key verified from the chat panel
    });
  }

  onDidChange(listener: () => void): vscode.Disposable {
    return this.emitter.event(listener);
  }

  // ---- start-up ----------------------------------------------------------------------------------------

  private get dataDir(): string {
    return path.join(this.context.globalStorageUri.fsPath, 'contacts');
  }

  /**
   * Loads the keys and the contacts code, goes online if there is an account or a contact, and reopens DMs
   * in the background. At start-up (`force` false) nothing is loaded for a user who never used contacts:
   * the first command that needs them does it.
   */
  start(force = true): Promise<ContactsService | undefined> {
    if (!this.ready && !force && !['accounts.json', 'contacts.json', 'requests.json', 'inbox.json'].some((f) => existsSync(path.join(this.dataDir, f)))) {
      return Promise.resolve(undefined);
    }
    this.ready ??= this.init();
    return this.ready;
  }

  private async init(): Promise<ContactsService | undefined> {
    let signing;
    try {
      signing = await loadSigningKey(this.context.secrets);
    } catch (err) {
      this.log.error(`contacts are off: the account key needs the secret storage (${(err as Error).message})`);
      return undefined;
    }
    const identity = await this.app.identityKeys();
    const { ContactsService: Service } = sessionCoreModule();
    const s = new Service({
      dataDir: this.dataDir,
      identity,
      signing,
      configuredServer: () => readSettings().rendezvousServer,
      configuredServers: () => readSettings().rendezvousServers,
    });
    s.events = {
      changed: () => this.emitter.fire(),
      request: (r) => void this.notifyRequest(r),
      accepted: (c) => void this.notifyAccepted(c),
      delivered: (c) => this.log.info(`contact request delivered to ${c.displayName}`),
      knock: (c) => {
        const t = s.dmTarget(c.staticKey);
        if (t) void this.app.openDm(t, { background: true }).catch((err: Error) => this.log.warn(`opening the DM with ${c.displayName}: ${err.message}`));
      },
      log: (level, message) => this.log[level](message),
    };
    this.service = s;
    s.setOwnPresence(this.chosenPresence());
    this.app.setOwnPresence(this.chosenPresence());
    await s.start();
    this.emitter.fire();
    // What arrived while this editor was closed waits in the DMs' mailboxes: open them quietly.
    for (const c of s.contacts().filter((x) => x.state === 'accepted').slice(0, MAX_BACKGROUND_DMS)) {
      const t = s.dmTarget(c.staticKey);
      if (t) await this.app.openDm(t, { background: true }).catch((err: Error) => this.log.warn(`opening the DM with ${c.displayName}: ${err.message}`));
    }
    return s;
  }

  private chosenPresence(): OwnPresence {
    if (vscode.workspace.getConfiguration('p2pChat').get<boolean>('presence.share') === false) return 'offline';
    const p = this.context.globalState.get<string>(PRESENCE_KEY);
    return p === 'away' || p === 'offline' ? p : 'online';
  }

  private async applyPresence(): Promise<void> {
    const p = this.chosenPresence();
    this.service?.setOwnPresence(p);
    this.app.setOwnPresence(p);
    this.updateStatus();
  }

  private updateStatus(): void {
    const s = this.service;
    if (!s || (!s.account() && s.contacts().length === 0)) {
      this.statusItem.hide();
      return;
    }
    setStatusItem(this.statusItem, ownPresenceStatus(s.ownPresence, s.account()?.address));
    this.statusItem.show();
  }

  // ---- what the views show ----------------------------------------------------------------------------

  contactViews(): ContactView[] {
    const s = this.service;
    if (!s) return [];
    return s.contacts().map((c) => ({
      key: c.staticKey,
      displayName: c.displayName,
      address: c.address,
      fingerprint: fingerprint(Buffer.from(c.staticKey, 'hex')),
      state: c.state,
      undelivered: c.pendingRequest !== undefined,
      presence: s.status(c.staticKey),
      verified: this.app.isVerified(c.staticKey),
      unread: this.app.conversations.get(s.conversationId(c.staticKey))?.unread ?? 0,
    }));
  }

  requestViews(): RequestView[] {
    return (this.service?.requests() ?? []).map((r) => ({
      id: r.id,
      displayName: r.displayName,
      handle: r.handle,
      note: r.note,
      fingerprint: fingerprint(Buffer.from(r.staticKey, 'hex')),
      receivedAt: r.receivedAt,
    }));
  }

  // ---- commands ---------------------------------------------------------------------------------------

  private async need(): Promise<ContactsService | undefined> {
    const s = await this.start();
    if (!s) void notifyError(inert`P2P Chat: contacts need the secret storage for your account key; see the log.`);
    return s;
  }

  async signUp(): Promise<string | undefined> {
    const s = await this.need();
    if (!s) return undefined;
    const existing = s.account();
    if (existing) {
      const c = await notifyInfo(inert`P2P Chat: you are signed up as ${existing.address}. Your fingerprint: ${s.fingerprint}`, COPY_LINK);
      if (c === COPY_LINK) await this.copyContactLink();
      return existing.address;
    }
    const settings = readSettings();
    let server = settings.rendezvousServer;
    if (!server) {
      const text = await askInput({
        title: inert`P2P Chat: Sign Up (1/3)`,
        prompt: inert`The rendezvous server whose directory will hold your handle (host:port). Set p2pChat.rendezvousServer to skip this step.`,
        placeHolder: inert`chat.example.org:7000`,
        ignoreFocusOut: true,
        validate: (t) => (parseServer(t.trim()) ? undefined : inert`Type host:port, for example chat.example.org:7000`),
      });
      if (text === undefined) return undefined;
      server = parseServer(text.trim());
      if (!server) return undefined;
    }
    const handle = await askInput({
      title: inert`P2P Chat: Sign Up`,
      prompt: inert`Choose your handle on ${server.host}: 3–32 characters of a–z, 0–9, ".", "_" or "-".`,
      placeHolder: inert`alice`,
      ignoreFocusOut: true,
      validate: (t) => {
        if (!t.trim()) return inert`A handle is needed`;
        const r = /^[A-Za-z0-9._-]{3,32}$/.test(t.trim());
        return r ? undefined : inert`3–32 characters of a–z, 0–9, ".", "_" or "-"`;
      },
    });
    if (handle === undefined) return undefined;
    const displayName = await askInput({
      title: inert`P2P Chat: Sign Up`,
      prompt: inert`Your display name (what your contacts see).`,
      placeHolder: inert`Alice Liddell`,
      value: settings.displayName,
      ignoreFocusOut: true,
      validate: (t) => (t.trim() ? undefined : inert`A display name is needed`),
    });
    if (displayName === undefined) return undefined;
    const flash = flashStatus(inert`$(sync~spin) P2P Chat: signing up…`, 15000);
    const r = await s.signUp(handle.trim(), displayName.trim(), server);
    flash.dispose();
    if (!r.ok) {
      void notifyError(inert`P2P Chat: ${r.message}`);
      return undefined;
    }
    this.emitter.fire();
    void notifyInfo(inert`P2P Chat: signed up as ${r.account.address}. Others can add you by that handle. Your fingerprint: ${s.fingerprint}`, COPY_LINK).then((c) => {
      if (c === COPY_LINK) void this.copyContactLink();
    });
    return r.account.address;
  }

  /** By handle or contact link; the fingerprint is shown and confirmed before anything is sent. */
  async addContact(arg?: unknown): Promise<boolean> {
    const s = await this.need();
    if (!s) return false;
    let text = typeof arg === 'string' ? arg : undefined;
    if (text === undefined) {
      text = await askInput({
        title: inert`P2P Chat: Add Contact`,
        prompt: inert`A handle (alice@chat.example.org) or a contact link (p2pchat:contact:…).`,
        placeHolder: inert`alice@chat.example.org`,
        ignoreFocusOut: true,
        validate: (t) => (t.trim() ? undefined : inert`Type a handle or paste a contact link`),
      });
      if (text === undefined) return false;
    }
    const flash = flashStatus(inert`$(sync~spin) P2P Chat: looking up…`, 10000);
    const found = await s.resolveTarget(text);
    flash.dispose();
    if (!found.ok) {
      void notifyError(inert`P2P Chat: ${found.message}`);
      return false;
    }
    const t = found.target;
    const who = name(t.displayName);
    const where = t.address ? inertText(t.address, { max: 80 }) : inert`(from a contact link, server ${t.server.host}:${t.server.port})`;
    const go = await askModal(
      'info',
      inert`Add ${who} as a contact?`,
      inert`${who} ${where}\n\nFingerprint: ${t.fingerprint}\n\nCompare this fingerprint with ${who} over a channel you already trust before you rely on it: a directory could hand out another key for a new contact. A contact request is sent; ${who} appears online once they accept.`,
      ADD,
    );
    if (go !== ADD) return false;
    const note = await askInput({
      title: inert`P2P Chat: Add Contact`,
      prompt: inert`A short note for ${who} (optional), e.g. who you are.`,
      placeHolder: inert`Hi, it's me from the team`,
      ignoreFocusOut: true,
    });
    if (note === undefined) return false;
    const r = await s.addContact(t, note);
    if (!r.ok) {
      void notifyError(inert`P2P Chat: ${r.message}`);
      return false;
    }
    if (r.already) void notifyInfo(inert`P2P Chat: ${who} is already a contact.`, MESSAGE).then((c) => {
        if (c === MESSAGE) void this.message(r.contact.staticKey);
      });
    else flashStatus(inert`P2P Chat: contact request for ${who} sent; they appear online once they accept.`, 6000);
    return true;
  }

  async copyContactLink(): Promise<string | undefined> {
    const s = await this.need();
    if (!s) return undefined;
    const uriScheme = vscode.env.uriScheme || 'vscode';
    const r = s.contactLink(uriScheme);
    if (!r.ok) {
      void notifyInfo(inert`P2P Chat: ${r.message}`);
      return undefined;
    }
    await vscode.env.clipboard.writeText(r.link);
    void notifyInfo(inert`P2P Chat: your contact link is on the clipboard. Anyone with it can send you a contact request. Your fingerprint: ${s.fingerprint}`, COPY_URI).then(async (c) => {
      if (c === COPY_URI) await vscode.env.clipboard.writeText(r.uri);
    });
    return r.link;
  }

  async showContacts(): Promise<void> {
    await vscode.commands.executeCommand('p2pChat.contacts.focus');
  }

  async setPresence(arg?: unknown): Promise<void> {
    const s = await this.need();
    if (!s) return;
    let chosen: OwnPresence | undefined = arg === 'online' || arg === 'away' || arg === 'offline' ? arg : undefined;
    if (!chosen) {
      const item = await pick(
        [
          { label: inert`$(circle-filled) Online`, description: inert`contacts see you`, value: 'online' as const },
          { label: inert`$(clock) Away`, description: inert`contacts see you as away`, value: 'away' as const },
          { label: inert`$(circle-slash) Appear Offline`, description: inert`hidden; you can still send`, value: 'offline' as const },
        ],
        { title: inert`P2P Chat: Set Presence`, placeHolder: inert`Currently ${s.ownPresence === 'offline' ? 'appearing offline' : s.ownPresence}` },
      );
      chosen = item?.value;
    }
    if (!chosen) return;
    await this.context.globalState.update(PRESENCE_KEY, chosen);
    if (chosen !== 'offline' && vscode.workspace.getConfiguration('p2pChat').get<boolean>('presence.share') === false) {
      void notifyWarning(inert`P2P Chat: p2pChat.presence.share is off, so you still appear offline.`);
    }
    await this.applyPresence();
  }

  async message(arg?: unknown): Promise<void> {
    const s = await this.need();
    const key = argKey(arg, 'key') ?? (s ? await this.pickContact(s, inert`Message which contact?`) : undefined);
    if (!s || !key) return;
    const t = s.dmTarget(key);
    if (!t) {
      void notifyInfo(inert`P2P Chat: ${name(s.contact(key)?.displayName ?? '')} has not accepted your request yet.`);
      return;
    }
    await this.app.openDm(t);
  }

  private async pickContact(s: ContactsService, placeHolder: InertText): Promise<string | undefined> {
    const list = s.contacts().filter((c) => c.state === 'accepted');
    if (list.length === 0) {
      void notifyInfo(inert`P2P Chat: no contacts yet.`);
      return undefined;
    }
    const item = await pick(
      list.map((c) => ({ label: name(c.displayName), description: inertText(c.address, { max: 80 }), detail: inert`${s.status(c.staticKey)} · fingerprint ${fingerprint(Buffer.from(c.staticKey, 'hex'))}`, key: c.staticKey })),
      { title: inert`P2P Chat: Contacts`, placeHolder },
    );
    return item?.key;
  }

  async verify(arg?: unknown): Promise<void> {
    const s = await this.need();
    const key = argKey(arg, 'key');
    const c = key ? s?.contact(key) : undefined;
    if (!s || !c) return;
    const identity = await this.app.identityKeys();
    const them = Buffer.from(c.staticKey, 'hex');
    const who = name(c.displayName);
    const digits = safetyNumber(identity.publicKey, them);
    const verified = this.app.isVerified(c.staticKey);
    const choice = await askModal(
      'info',
      inert`Verify ${who}`,
      inert`Safety number (must be identical on both screens):\n${digits}\n\n${who}'s fingerprint: ${fingerprint(them)}\nYour fingerprint: ${fingerprint(identity.publicKey)}\n\nCompare it with ${who} in person or over a channel you already trust (a call, not this chat).`,
      verified ? MARK_UNVERIFIED : MARK_VERIFIED,
    );
    if (!choice) return;
    await this.app.setVerified(c.staticKey, c.displayName, choice === MARK_VERIFIED);
    this.emitter.fire();
  }

  async rename(arg?: unknown): Promise<void> {
    const s = await this.need();
    const key = argKey(arg, 'key');
    const c = key ? s?.contact(key) : undefined;
    if (!s || !c) return;
    const text = await askInput({
      title: inert`P2P Chat: Rename Contact`,
      prompt: inert`The name you see for this contact (only on this computer).`,
      placeHolder: inert`Name`,
      value: c.displayName,
      validate: (t) => (t.trim() ? undefined : inert`A name is needed`),
    });
    if (text === undefined) return;
    const r = s.rename(c.staticKey, text);
    if (!r.ok) void notifyError(inert`P2P Chat: ${r.message}`);
  }

  async remove(arg?: unknown): Promise<void> {
    const s = await this.need();
    const key = argKey(arg, 'key');
    const c = key ? s?.contact(key) : undefined;
    if (!s || !c) return;
    const go = await askModal('warning', inert`Remove ${name(c.displayName)} from your contacts?`, inert`You stop seeing each other's presence. The conversation history stays until you clear it. They can send you a new request.`, REMOVE);
    if (go !== REMOVE) return;
    s.remove(c.staticKey);
    await this.closeDm(s, c.staticKey);
  }

  /** A removed or blocked contact's DM stops (its history stays, listed in Conversations). */
  private async closeDm(s: ContactsService, key: string): Promise<void> {
    const id = s.conversationId(key);
    if (this.app.hasSession(id)) await this.app.leaveConversation(id);
  }

  async block(arg?: unknown): Promise<void> {
    const s = await this.need();
    const key = argKey(arg, 'key');
    const c = key ? s?.contact(key) : undefined;
    if (!s || !key) return;
    const go = await askModal('warning', inert`Block ${name(c?.displayName ?? '')}?`, inert`They are removed from your contacts and their contact requests are dropped silently from now on (they cannot tell).`, BLOCK);
    if (go !== BLOCK) return;
    s.block(key);
    await this.closeDm(s, key);
  }

  async accept(arg?: unknown): Promise<void> {
    const s = await this.need();
    const id = argKey(arg, 'id');
    if (!s || !id) return;
    const r = s.accept(id);
    if (!r.ok) {
      void notifyInfo(inert`P2P Chat: ${r.message}`);
      return;
    }
    flashStatus(inert`P2P Chat: ${name(r.contact.displayName)} is now a contact.`, 5000);
  }

  async ignore(arg?: unknown): Promise<void> {
    const s = await this.need();
    const id = argKey(arg, 'id');
    if (s && id) s.ignore(id);
  }

  async blockRequest(arg?: unknown): Promise<void> {
    const s = await this.need();
    const id = argKey(arg, 'id');
    if (s && id) s.block(id);
  }

  /** vscode://…/contact?link=…: the same confirmation as Add Contact (a link alone never adds anyone). */
  async handleUri(uri: vscode.Uri): Promise<void> {
    const link = new URLSearchParams(uri.query).get('link');
    if (!link) {
      void notifyError(inert`P2P Chat: this contact link is incomplete.`);
      return;
    }
    await this.addContact(link);
  }

  private async notifyRequest(r: IncomingRequest): Promise<void> {
    if (vscode.workspace.getConfiguration('p2pChat').get<boolean>('contactRequestNotifications') === false) return;
    const who = name(r.displayName);
    const handle = r.handle ? inert` (${inertText(r.handle, { max: 80 })})` : inert``;
    const note = r.note ? inert`: “${inertText(r.note, { max: 200 })}”` : inert``;
    const c = await notifyInfo(inert`P2P Chat: ${who}${handle} wants to add you as a contact${note}. Fingerprint ${fingerprint(Buffer.from(r.staticKey, 'hex'))}`, ACCEPT, IGNORE);
    if (c === ACCEPT) await this.accept(r.id);
    else if (c === IGNORE) await this.ignore(r.id);
  }

  private async notifyAccepted(c: Contact): Promise<void> {
    const choice = await notifyInfo(inert`P2P Chat: ${name(c.displayName)} accepted your contact request.`, MESSAGE);
    if (choice === MESSAGE) await this.message(c.staticKey);
  }

  async stop(): Promise<void> {
    await this.service?.stop();
  }

  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
    void this.stop();
  }
}
