// Contacts, trust on first use: the first key seen under a name is pinned; the same name arriving later
// with another key is reported loudly and stays unverified; "Mark as Verified" records that the user
// compared safety numbers. No `vscode` import: the store is any Memento-like key/value store.
import type { MemberInfo, PeerId } from '../core/types';

export interface StateStore {
  get<T>(key: string): T | undefined;
  update(key: string, value: unknown): PromiseLike<void>;
}

export interface Contact {
  peerId: PeerId;
  name: string;
  firstSeen: number;
  lastSeen: number;
  verified: boolean;
}

export interface KeyChangeWarning {
  peerId: PeerId;
  name: string;
  /** Keys already pinned under that name. */
  knownPeerIds: PeerId[];
}

export const CONTACTS_KEY = 'p2pChat.contacts';
export const MAX_CONTACTS = 1000;
/** lastSeen is only for eviction: refreshing it hourly keeps members events from writing state each time. */
const LAST_SEEN_GRANULARITY_MS = 60 * 60 * 1000;

export function normalizeName(name: string): string {
  return name.normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase();
}

function isContact(v: unknown): v is Contact {
  if (typeof v !== 'object' || v === null) return false;
  const c = v as Record<string, unknown>;
  return (
    typeof c.peerId === 'string' &&
    typeof c.name === 'string' &&
    typeof c.firstSeen === 'number' &&
    typeof c.lastSeen === 'number' &&
    typeof c.verified === 'boolean'
  );
}

export class ContactBook {
  private readonly contacts = new Map<PeerId, Contact>();
  /** Keys that arrived under a pinned name this session: warned about once, shown unverified. */
  private readonly conflicts = new Map<PeerId, KeyChangeWarning>();
  private writes: PromiseLike<void> = Promise.resolve();

  constructor(
    private readonly store: StateStore,
    private readonly now: () => number = Date.now,
    private readonly max = MAX_CONTACTS,
  ) {
    const raw = store.get<unknown>(CONTACTS_KEY);
    if (raw && typeof raw === 'object') {
      for (const v of Object.values(raw as Record<string, unknown>)) if (isContact(v)) this.contacts.set(v.peerId, { ...v });
    }
  }

  get(peerId: PeerId): Contact | undefined {
    const c = this.contacts.get(peerId);
    return c ? { ...c } : undefined;
  }

  all(): Contact[] {
    return [...this.contacts.values()].map((c) => ({ ...c }));
  }

  isConflicted(peerId: PeerId): boolean {
    return this.conflicts.has(peerId);
  }

  /**
   * Looks at members whose link is authenticated (presence not offline: the key is proven by the
   * handshake) and pins the new ones. Returns the warnings not reported before in this session.
   */
  observe(members: readonly MemberInfo[]): KeyChangeWarning[] {
    const warnings: KeyChangeWarning[] = [];
    const now = this.now();
    let dirty = false;
    for (const m of members) {
      if (m.presence === 'offline' || !m.name) continue;
      const known = this.contacts.get(m.peerId);
      if (known) {
        if (known.name !== m.name || now - known.lastSeen >= LAST_SEEN_GRANULARITY_MS) {
          known.name = m.name;
          known.lastSeen = now;
          dirty = true;
        }
        continue;
      }
      if (this.conflicts.has(m.peerId)) continue;
      const key = normalizeName(m.name);
      const sameName = [...this.contacts.values()].filter((c) => normalizeName(c.name) === key).map((c) => c.peerId);
      if (sameName.length > 0) {
        const w: KeyChangeWarning = { peerId: m.peerId, name: m.name, knownPeerIds: sameName };
        this.conflicts.set(m.peerId, w);
        warnings.push(w);
        continue;
      }
      this.contacts.set(m.peerId, { peerId: m.peerId, name: m.name, firstSeen: now, lastSeen: now, verified: false });
      dirty = true;
    }
    if (dirty) this.persist();
    return warnings;
  }

  /** MemberInfo.verified from the book: only an explicit verification counts, and never for a conflicting key. */
  decorate(members: readonly MemberInfo[]): MemberInfo[] {
    return members.map((m) => ({ ...m, verified: !this.conflicts.has(m.peerId) && this.contacts.get(m.peerId)?.verified === true }));
  }

  /** The user compared safety numbers: pin this key under this name as verified (or take it back). */
  setVerified(peerId: PeerId, name: string, verified: boolean): PromiseLike<void> {
    const now = this.now();
    const c = this.contacts.get(peerId) ?? { peerId, name, firstSeen: now, lastSeen: now, verified };
    c.verified = verified;
    c.name = name || c.name;
    c.lastSeen = now;
    this.contacts.set(peerId, c);
    if (verified) this.conflicts.delete(peerId);
    return this.persist();
  }

  forget(peerId: PeerId): PromiseLike<void> {
    this.contacts.delete(peerId);
    return this.persist();
  }

  private persist(): PromiseLike<void> {
    if (this.contacts.size > this.max) {
      // Evict the least recently seen unverified contacts first; verified ones only when nothing else is left.
      const order = [...this.contacts.values()].sort((a, b) => Number(a.verified) - Number(b.verified) || a.lastSeen - b.lastSeen);
      for (const c of order.slice(0, this.contacts.size - this.max)) this.contacts.delete(c.peerId);
    }
    const snapshot: Record<string, Contact> = {};
    for (const c of this.contacts.values()) snapshot[c.peerId] = { ...c };
    // Serialised so an older snapshot never lands after a newer one.
    const next = Promise.resolve(this.writes).then(() => this.store.update(CONTACTS_KEY, snapshot));
    this.writes = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  }
}
