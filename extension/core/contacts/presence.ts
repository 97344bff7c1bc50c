// Presence of contacts, sans-I/O. Each accepted contact has a pairwise topic (topics.ts); both sides
// register it, and the rendezvous tells each side when the other is there (`topicPeer`) and when it is
// gone (`topicGone`: a graceful leave at once, a crash when its registration expires). So presence costs
// no peer-to-peer traffic at all: no keepalives, no links until a conversation is used.
//
//   online   the contact's client is registered on our pair topic, without the away flag
//   away     registered, with TopicFlags.Away
//   offline  nobody on the topic (or only clients we have not heard from since their gone)
//
// "Appear offline" registers contact topics as a watcher (we see them, they do not see us), except the
// topics of conversations in use (to send, we must meet): those contacts can tell we are there; nobody
// else can. The rendezvous still sees us register, as it must.
import type { KeyPair } from '../noise';
import { TopicFlags, TopicKind, type TopicEntry, type TopicPartner } from '../wire/topics';
import { PairKeys } from './topics';

export type PresenceStatus = 'online' | 'away' | 'offline';

export interface PresenceContact {
  /** The contact's X25519 static key, hex: the id everything else keys contacts by. */
  id: string;
  staticKey: Buffer;
}

export interface PresenceEvents {
  change?(contactId: string, status: PresenceStatus, partner: TopicPartner | undefined, now: number): void;
}

interface Tracked {
  contact: PresenceContact;
  pair: PairKeys;
  /** Clients present on this contact's topics, by client id (several when the contact has two devices). */
  partners: Map<string, { partner: TopicPartner; topics: Set<string> }>;
  status: PresenceStatus;
}

export class PresenceTracker {
  private readonly contacts = new Map<string, Tracked>();
  private readonly byTopic = new Map<string, Tracked>();
  private readonly inUse = new Set<string>();
  private appearOffline = false;
  /** Topics that are not contacts' (our request inbox): registered alongside. */
  private extra: TopicEntry[] = [];
  private day = NaN;

  constructor(
    private readonly self: KeyPair,
    private readonly wallClock: () => number,
    public events: PresenceEvents = {},
  ) {}

  setContacts(list: PresenceContact[], now: number): void {
    const keep = new Set(list.map((c) => c.id));
    for (const [id, t] of this.contacts) {
      if (keep.has(id)) continue;
      this.contacts.delete(id);
      if (t.status !== 'offline') this.events.change?.(id, 'offline', undefined, now);
    }
    for (const c of list) {
      if (this.contacts.has(c.id)) continue;
      let pair: PairKeys;
      try {
        pair = new PairKeys(this.self, c.staticKey);
      } catch {
        continue; // a low-order key is no contact; refused when added, skipped here
      }
      this.contacts.set(c.id, { contact: c, pair, partners: new Map(), status: 'offline' });
    }
    this.day = NaN; // rebuild the topic index
  }

  setExtraTopics(entries: TopicEntry[]): void {
    this.extra = entries;
  }

  setAppearOffline(on: boolean): void {
    this.appearOffline = on;
  }

  /** A conversation with this contact is open (we may send): its topic is registered even when appearing offline. */
  setInUse(contactId: string, used: boolean): void {
    if (used) this.inUse.add(contactId);
    else this.inUse.delete(contactId);
  }

  /** The topics to register now. Near a UTC midnight both days' topics of every contact. */
  wantedTopics(): TopicEntry[] {
    const wall = this.wallClock();
    this.byTopic.clear();
    const out: TopicEntry[] = [...this.extra];
    for (const t of this.contacts.values()) {
      const topics = t.pair.topicsAt(wall);
      const kind = this.appearOffline && !this.inUse.has(t.contact.id) ? TopicKind.Watcher : TopicKind.Peer;
      for (const topic of topics) {
        this.byTopic.set(topic.toString('latin1'), t);
        out.push({ topic, kind });
      }
    }
    this.day = Math.floor(wall / 3_600_000); // checked hourly: catches the midnight margins
    return out;
  }

  /** True when the topic set must be recomputed (the hour changed, so a midnight margin may have begun). */
  topicsStale(): boolean {
    return Math.floor(this.wallClock() / 3_600_000) !== this.day;
  }

  contactForTopic(topic: Buffer): PresenceContact | undefined {
    return this.byTopic.get(topic.toString('latin1'))?.contact;
  }

  pairKeys(contactId: string): PairKeys | undefined {
    return this.contacts.get(contactId)?.pair;
  }

  onPartner(topic: Buffer, partner: TopicPartner, now: number): PresenceContact | undefined {
    const t = this.byTopic.get(topic.toString('latin1'));
    if (!t) return undefined;
    const key = partner.clientId.toString('hex');
    const entry = t.partners.get(key) ?? { partner, topics: new Set<string>() };
    entry.partner = partner;
    entry.topics.add(topic.toString('latin1'));
    t.partners.set(key, entry);
    this.update(t, now);
    return t.contact;
  }

  onGone(topic: Buffer, clientId: Buffer, now: number): void {
    const t = this.byTopic.get(topic.toString('latin1'));
    if (!t) return;
    const key = clientId.toString('hex');
    const entry = t.partners.get(key);
    if (!entry) return;
    entry.topics.delete(topic.toString('latin1'));
    if (entry.topics.size === 0) t.partners.delete(key);
    this.update(t, now);
  }

  /** The rendezvous was lost (or we left): nobody is known to be there any more. */
  clear(now: number): void {
    for (const t of this.contacts.values()) {
      t.partners.clear();
      this.update(t, now);
    }
  }

  status(contactId: string): PresenceStatus {
    return this.contacts.get(contactId)?.status ?? 'offline';
  }

  /** Where the contact's client was last announced (for opening a DM link). */
  partner(contactId: string): TopicPartner | undefined {
    const t = this.contacts.get(contactId);
    if (!t) return undefined;
    let last: TopicPartner | undefined;
    for (const e of t.partners.values()) last = e.partner;
    return last;
  }

  private update(t: Tracked, now: number): void {
    let status: PresenceStatus = 'offline';
    let shown: TopicPartner | undefined;
    for (const e of t.partners.values()) {
      const s: PresenceStatus = e.partner.flags & TopicFlags.Away ? 'away' : 'online';
      if (status === 'offline' || (status === 'away' && s === 'online')) {
        status = s;
        shown = e.partner;
      }
    }
    if (status === t.status) return;
    t.status = status;
    this.events.change?.(t.contact.id, status, shown, now);
  }
}
