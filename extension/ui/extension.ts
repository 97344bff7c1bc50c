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
import { CONTACT_COMMANDS, ContactsUi } from './contacts/contactsUi';
import { ContactsView } from './sidebar/contactsView';
import { RequestsView } from './sidebar/requestsView';

let app: P2pChatApp | undefined;
let contactsUi: ContactsUi | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const log = createLog('P2P Chat'); // every line made inert: core code logs peer names
  context.subscriptions.push(log);
  const chat = new P2pChatApp(context, log);
  app = chat;
  const contacts = new ContactsUi(context, chat, log);
  contactsUi = contacts;
  const reg = (id: string, fn: (arg?: unknown) => unknown) => vscode.commands.registerCommand(id, fn);
  context.subscriptions.push(
    contacts,
    new ContactsView({ contacts: () => contacts.contactViews(), onDidChange: (l) => contacts.onDidChange(l) }),
    new RequestsView({ requests: () => contacts.requestViews(), onDidChange: (l) => contacts.onDidChange(l) }),
    reg(CONTACT_COMMANDS.signUp, () => contacts.signUp()),
    reg(CONTACT_COMMANDS.addContact, (a) => contacts.addContact(a)),
    reg(CONTACT_COMMANDS.copyContactLink, () => contacts.copyContactLink()),
    reg(CONTACT_COMMANDS.showContacts, () => contacts.showContacts()),
    reg(CONTACT_COMMANDS.setPresence, (a) => contacts.setPresence(a)),
    reg(CONTACT_COMMANDS.message, (a) => contacts.message(a)),
    reg(CONTACT_COMMANDS.verify, (a) => contacts.verify(a)),
    reg(CONTACT_COMMANDS.rename, (a) => contacts.rename(a)),
    reg(CONTACT_COMMANDS.remove, (a) => contacts.remove(a)),
    reg(CONTACT_COMMANDS.block, (a) => contacts.block(a)),
    reg(CONTACT_COMMANDS.accept, (a) => contacts.accept(a)),
    reg(CONTACT_COMMANDS.ignore, (a) => contacts.ignore(a)),
    reg(CONTACT_COMMANDS.blockRequest, (a) => contacts.blockRequest(a)),
  );
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
    vscode.window.registerUriHandler({
      handleUri: (uri) => (uri.path.replace(/\/+$/, '') === '/contact' ? contacts.handleUri(uri) : chat.handleUri(uri)),
    }),
    vscode.window.registerWebviewPanelSerializer(CHAT_VIEW_TYPE, {
      deserializeWebviewPanel: async (panel) => chat.revivePanel(panel),
    }),
  );
  log.info(`P2P Chat ${context.extension.packageJSON.version ?? ''} activated (${vscode.env.appName}, ${vscode.env.uiKind === vscode.UIKind.Web ? 'web' : 'desktop'})`);
  chat.restore().catch((err: Error) => log.error(`restoring the previous room failed: ${err.message}`));
  // Contacts go online (presence, requests) and DMs reopen in the background for their mailboxes.
  contacts.start(false).catch((err: Error) => log.error(`starting contacts failed: ${err.message}`));
}

/** Leaves the room politely so peers see us go at once rather than after a keepalive timeout. */
export async function deactivate(): Promise<void> {
  const a = app;
  const c = contactsUi;
  app = undefined;
  contactsUi = undefined;
  await Promise.all([a?.shutdown(), c?.stop()]);
}
