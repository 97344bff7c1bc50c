// The contact book, pure: who we pinned (trust on first use), by static key. A contact's identity IS
// its X25519 static key: the pairwise topic, the DM psk and the handshake all derive from it, so a
// lying directory or a swapped link can only ever give us a *different* contact, never make an existing
// one talk with another key. Adding someone under an address we already know with another key is the
// one moment a swap shows: it is refused with `keyChanged` until the user removes the old contact.
import { fingerprint } from '../noise';

export type ContactState = 'requested' | 'accepted';

export interface Contact {
  /** X25519 static key, hex: the pinned identity. */
  staticKey: string;
  signingKey: string;
  displayName: string;
  /** "alice@host:port" when added by handle or known from a request, else ''. */
  address: string;
  /** Rendezvous "host:port" where we meet. */
  server: string;
  /** Needed to (re)send our request while `requested`; hex. */
  requestToken?: string;
  /** Our request, until it is delivered: a `contacts --watch` resends it whenever the contact is reachable. */
  pendingRequest?: { note: string; displayName: string; handle: string };
  state: ContactState;
  addedAt: number;
}

export type AddResult =
  | { ok: true; contact: Contact; existed: boolean }
  | { ok: false; reason: 'keyChanged'; previous: Contact; message: string }
  | { ok: false; reason: 'self'; message: string };

export class ContactBook {
  private readonly contacts = new Map<string, Contact>();

  constructor(
    private readonly selfKey: string,
    list: Contact[] = [],
  ) {
    for (const c of list) this.contacts.set(c.staticKey, c);
  }

  add(c: Contact): AddResult {
    if (c.staticKey === this.selfKey) return { ok: false, reason: 'self', message: 'that is your own key' };
    const existing = this.contacts.get(c.staticKey);
    if (existing) {
      // Accepting a request from someone we had asked ourselves: both sides now agree.
      if (c.state === 'accepted' && existing.state !== 'accepted') existing.state = 'accepted';
      if (!existing.address && c.address) existing.address = c.address;
      return { ok: true, contact: existing, existed: true };
    }
    if (c.address) {
      for (const other of this.contacts.values()) {
        if (other.address === c.address && other.staticKey !== c.staticKey) {
          return {
            ok: false,
            reason: 'keyChanged',
            previous: other,
            message: `${c.address} now has another key (fingerprint ${fingerprint(Buffer.from(c.staticKey, 'hex'))}, pinned ${fingerprint(Buffer.from(other.staticKey, 'hex'))}): not added. Verify the new fingerprint with its owner, then remove the old contact first.`,
          };
        }
      }
    }
    const contact = { ...c };
    this.contacts.set(c.staticKey, contact);
    return { ok: true, contact, existed: false };
  }

  /** The contact showed up on our pairwise topic: only the holder of its key can compute that topic. */
  markAccepted(staticKey: string): boolean {
    const c = this.contacts.get(staticKey);
    if (!c || c.state === 'accepted') return false;
    c.state = 'accepted';
    return true;
  }

  remove(staticKey: string): boolean {
    return this.contacts.delete(staticKey);
  }

  get(staticKey: string): Contact | undefined {
    return this.contacts.get(staticKey);
  }

  /** By static key (or a unique prefix of it), address or display name. */
  find(query: string): Contact | undefined {
    const q = query.toLowerCase();
    const all = this.list();
    return (
      this.contacts.get(q) ??
      all.find((c) => c.address === q) ??
      all.find((c) => c.address.startsWith(`${q}@`) || c.address.split(':')[0] === q) ??
      (q.length >= 8 ? all.filter((c) => c.staticKey.startsWith(q)).at(0) : undefined) ??
      all.find((c) => c.displayName.toLowerCase() === q)
    );
  }

  has(staticKey: string): boolean {
    return this.contacts.has(staticKey);
  }

  list(): Contact[] {
    return [...this.contacts.values()].sort((a, b) => a.addedAt - b.addedAt);
  }
}
