// The entry of dist/sessionCore.js (lazyBundles.ts): what runs a room. Loaded the first time a room is
// started, joined or rejoined; everything under it (the Room, links, Noise, the reliable channel, TURN,
// the mailbox, file transfer) stays out of dist/extension.js. No `vscode` import, no InertText: nothing
// in here shows text, so no class crosses between the two bundles' copies of a shared module.
export { RoomSession } from './roomSession';
export { TransferHost } from '../core/transfer/transferHost';
// Accounts, contacts and presence (only once the user has used them): in this bundle with the DM host, so
// the two share one copy of contacts/ownClients.ts.
export { ContactsService } from './contacts/contactsService';
