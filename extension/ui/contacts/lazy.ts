// The contacts code that only signed-up users (or those with contacts) need: the service with the
// directory client, the request exchange and the presence client, and the DM host. Its own bundle,
// dist/contacts.js, loaded by load.ts on first use, so the extension bundle stays small for everyone else.
export { ContactsService } from './contactsService';
export { startDmHost } from './dmHost';
