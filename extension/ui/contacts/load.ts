// Loads lazy.ts: from dist/contacts.js in the extension bundle (scripts/build.mjs defines
// P2P_SPLIT_CONTACTS for that bundle only), an ordinary module from source (tests, tsx). The same
// pattern as the embedded rendezvous (roomSession.ts hostModule): a computed path, so the bundler
// does not pull the file back in.
import * as path from 'node:path';

export function contactsModule(): typeof import('./lazy') {
  const load = require; // not `require(…)` itself: the bundler would inline a literal path
  const file = process.env.P2P_SPLIT_CONTACTS === '1' ? path.join(__dirname, 'contacts.js') : './lazy';
  return load(file) as typeof import('./lazy');
}
