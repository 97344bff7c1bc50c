// Contact pages' data: a handle looked up in the account directory (through its own lookup path, so
// its handle rules and rate limits apply to web visitors too), turned into what the page shows. The
// "Add in VS Code" link is the contact link of track d2 (extension/core/contacts/link.ts), naming this
// server's public address, so the page never invents a format of its own.
import { formatAccountAddress, parseHandle } from '../extension/core/account/handle';
import { decodeRecord } from '../extension/core/account/record';
import { contactUri } from '../extension/core/contacts/link';
import type { ServerAddress } from '../extension/core/invite';
import { fingerprint } from '../extension/core/noise/fingerprint';
import type { ContactCard } from './contactPage';
import type { Directory } from './directory';

/** What a visitor's lookup is rate-limited by: its IP address, on a lane apart from UDP sources. */
export type ContactLookupWithClient = (handle: string, client: string) => Promise<ContactCard | undefined>;

/**
 * Cards from the directory. `server` is this instance's public rendezvous address (`--public-name`):
 * the address contact requests go to, printed in the link. Without it the page shows no link.
 */
export function directoryContacts(directory: Directory, server: ServerAddress | undefined, now: () => number): ContactLookupWithClient {
  return async (raw, client) => {
    const h = parseHandle(raw);
    if (!h.ok) return undefined;
    const reply = await directory.handle({ type: 'accountLookup', cookie: Buffer.alloc(0), requestId: 0, handle: h.handle }, { address: `http ${client}`, key: `http ${client}` }, now());
    if (reply.type !== 'accountFound') return undefined;
    const rec = decodeRecord(reply.record);
    if (!rec.ok) return undefined;
    const r = rec.value;
    return {
      handle: r.handle,
      ...(server ? { address: formatAccountAddress({ handle: r.handle, host: server.host, port: server.port }) } : {}),
      displayName: r.displayName,
      // What peers pin and compare: the Noise static key's fingerprint.
      fingerprint: fingerprint(r.staticKey),
      addUri: server ? contactUri({ signingKey: r.signingKey, staticKey: r.staticKey, requestToken: r.requestToken, server, displayName: r.displayName }) : '',
    };
  };
}
