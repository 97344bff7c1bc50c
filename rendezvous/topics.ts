// The topic table: which clients registered which 16-byte topics, and who must hear about whom. Pure:
// no sockets, no timers, the clock comes in as `now`. Topics are opaque hashes (a pair's DM topic, a
// user's contact-request inbox): this table pairs them and learns nothing else (PROTOCOL.md §10.3).
//
// Memory is bounded by three caps: topics per client, memberships in total, members per topic. A client
// is (client id, source endpoint): a partner who learned someone's client id cannot register under it
// from another address and steal its notifications.
//
// Several instances (rendezvous/cluster/topicRegistry.ts): members registered at another instance are
// held here as *remote* members of the topics that have local members, fed by the registry from Redis.
// They pair with local members exactly like local ones (so acks count them and a replay repeats them),
// but nothing is ever sent to their endpoints: only the instance they registered with talks to them.
// They count against the per-topic cap; a topic with no local member left forgets its remote ones.
import { owned } from '../extension/core/wire/bytes';
import { Endpoint, endpointKey } from '../extension/core/wire/endpoint';
import { encodeRendezvous, ErrorCode, type TurnCredentials } from '../extension/core/wire/rendezvous';
import { encodeTopic, TopicEntry, TopicErrorCode, TopicKind, TopicMessage, TopicOptions, type TopicPartner, topicSees } from '../extension/core/wire/topics';

export interface TopicTableOptions {
  maxTopicsPerClient: number;
  /** Memberships (client × topic) over the whole server. */
  maxMemberships: number;
  /** Clients on one topic: 2 for a DM topic, more for a request inbox (its host plus visitors). */
  maxMembersPerTopic: number;
  /** Clients registered from one IP address. */
  maxClientsPerAddress: number;
  refreshSeconds: number;
  /** Default 2.5 refresh periods: a crashed client is gone within 3 periods, one lost refresh is survived. */
  expiryMs?: number;
  /** TURN credentials for a client's acks (a DM between two symmetric NATs needs the relay). */
  turn?: (clientId: Buffer, now: number) => TurnCredentials | undefined;
  /** Shared state across instances: told of every change of a local membership. */
  observer?: TopicObserver;
}

/** A membership of a client registered here, as the shared registry stores and announces it. */
export interface LocalTopicMember {
  topic: Buffer;
  /** Unique per (client id, endpoint): the registry's field name for this member. */
  field: string;
  kind: TopicKind;
  clientId: Buffer;
  /** The topicPeer datagram that announces this member to a partner (what other instances push). */
  encoded: Buffer;
}

export interface TopicObserver {
  /** A local membership is new, changed its kind, or its client's flags or addresses changed. */
  changed(m: LocalTopicMember): void;
  /** A local membership left or expired. */
  removed(m: LocalTopicMember): void;
  /** False while shared state cannot be reached: registrants are told (ErrorCode.SharedStateUnavailable). */
  available?(): boolean;
}

export const memberField = (clientId: Buffer, endpoint: Endpoint) => `${clientId.toString('hex')}@${endpointKey(endpoint)}`;

export const DEFAULT_TOPIC_OPTIONS: TopicTableOptions = {
  maxTopicsPerClient: 1024,
  maxMemberships: 500_000,
  maxMembersPerTopic: 16,
  maxClientsPerAddress: 256,
  refreshSeconds: 15,
};

export interface TopicOutgoing {
  to: Endpoint;
  type: TopicMessage['type'] | 'error';
  bytes: Buffer;
}

export interface TopicRegisterRequest {
  clientId: Buffer;
  seq: number;
  options?: number;
  flags: number;
  candidates: Endpoint[];
  topics: TopicEntry[];
}

export interface TopicTableStats {
  clients: number;
  topics: number;
  memberships: number;
  paired: number;
  expired: number;
  /** Members registered at other instances, held for the topics that have members here. */
  remote: number;
  refused: { perClient: number; table: number; perTopic: number; perAddress: number };
}

interface Client {
  key: string;
  /** Registered at another instance (known through the registry): never sent anything from here. */
  remote?: true;
  id: Buffer;
  endpoint: Endpoint;
  flags: number;
  candidates: Endpoint[];
  memberships: Map<string, Membership>;
}

interface Topic {
  key: string;
  id: Buffer;
  members: Map<string, Membership>;
}

interface Membership {
  client: Client;
  topic: Topic;
  kind: TopicKind;
  lastSeen: number;
  /** What the shared registry stores for it (built once; the client's flags or addresses changing rebuild it). */
  described?: LocalTopicMember;
}

function sameCandidates(a: Endpoint[], b: Endpoint[]): boolean {
  return a.length === b.length && a.every((e, i) => e.port === b[i].port && e.address === b[i].address);
}

export class TopicTable {
  private readonly opts: TopicTableOptions;
  readonly expiryMs: number;
  private readonly clients = new Map<string, Client>();
  private readonly topics = new Map<string, Topic>();
  /** Least recently refreshed first: expiry reads from the front and stops at the first fresh one. */
  private readonly byAge = new Set<Membership>();
  private readonly perAddress = new Map<string, number>();
  private remoteCount = 0;
  private readonly counters = { paired: 0, expired: 0, perClient: 0, table: 0, perTopic: 0, perAddress: 0 };

  constructor(opts: Partial<TopicTableOptions> = {}) {
    this.opts = { ...DEFAULT_TOPIC_OPTIONS, ...opts };
    if (!(this.opts.refreshSeconds >= 1 && this.opts.refreshSeconds <= 65535)) throw new RangeError('refreshSeconds must be 1..65535');
    if (!(this.opts.maxMembersPerTopic >= 2)) throw new RangeError('maxMembersPerTopic must be at least 2');
    this.expiryMs = this.opts.expiryMs ?? 2.5 * this.opts.refreshSeconds * 1000;
  }

  stats(): TopicTableStats {
    const c = this.counters;
    return {
      clients: this.clients.size,
      topics: this.topics.size,
      memberships: this.byAge.size,
      paired: c.paired,
      expired: c.expired,
      remote: this.remoteCount,
      refused: { perClient: c.perClient, table: c.table, perTopic: c.perTopic, perAddress: c.perAddress },
    };
  }

  /** Register or refresh a batch of topics for one client seen at `from` (cookie already checked). */
  register(now: number, from: Endpoint, req: TopicRegisterRequest): TopicOutgoing[] {
    const key = req.clientId.toString('latin1') + endpointKey(from);
    const out: TopicOutgoing[] = [];
    let client = this.clients.get(key);
    let changed = false;
    if (!client) {
      if ((this.perAddress.get(from.address) ?? 0) >= this.opts.maxClientsPerAddress) {
        this.counters.perAddress++;
        out.push(this.error(from, TopicErrorCode.TopicTableFull, 'too many topic clients from this address'));
        return out;
      }
      client = { key, id: owned(req.clientId), endpoint: { ...from }, flags: req.flags, candidates: req.candidates, memberships: new Map() };
      this.clients.set(key, client);
      this.perAddress.set(from.address, (this.perAddress.get(from.address) ?? 0) + 1);
    } else if (client.flags !== req.flags || !sameCandidates(client.candidates, req.candidates)) {
      client.flags = req.flags;
      client.candidates = req.candidates;
      changed = true;
    }

    let accepted = 0;
    let refused = 0;
    let partners = 0;
    const replay = ((req.options ?? 0) & TopicOptions.Replay) !== 0;
    let refusal: { code: TopicErrorCode; text: string } | undefined;
    let created = 0;
    for (const entry of req.topics) {
      const tkey = entry.topic.toString('latin1');
      const existing = client.memberships.get(tkey);
      if (existing) {
        existing.lastSeen = now;
        this.byAge.delete(existing);
        this.byAge.add(existing);
        accepted++;
        if (existing.kind === entry.kind) {
          // Partners are counted by client id, as the client keys them (one client may be held twice: moved
          // address, or registered here and at another instance).
          const seen = new Set<string>();
          for (const other of existing.topic.members.values()) {
            if (other === existing || !topicSees(existing.kind, other.kind) || other.client.id.equals(client.id)) continue;
            seen.add(other.client.id.toString('latin1'));
            if (replay) out.push(this.peerMessage(client.endpoint, existing.topic, other.client));
          }
          partners += seen.size;
          continue;
        }
        // A changed role is a new membership: forget the old pairing first.
        this.removeMembership(existing, out);
      }
      const why = this.admit(client, tkey);
      if (why) {
        refused++;
        this.counters[why]++;
        refusal ??= why === 'perClient'
          ? { code: TopicErrorCode.TooManyTopics, text: `at most ${this.opts.maxTopicsPerClient} topics per client` }
          : { code: TopicErrorCode.TopicTableFull, text: why === 'perTopic' ? 'topic is full' : 'server topic table is full' };
        continue;
      }
      let topic = this.topics.get(tkey);
      if (!topic) {
        topic = { key: tkey, id: owned(entry.topic), members: new Map() };
        this.topics.set(tkey, topic);
      }
      const m: Membership = { client, topic, kind: entry.kind, lastSeen: now };
      topic.members.set(key, m);
      client.memberships.set(tkey, m);
      this.byAge.add(m);
      if (!existing) accepted++;
      const seen = new Set<string>();
      for (const other of topic.members.values()) {
        // Never about itself (the same client at another address, or its record from another instance).
        if (other === m || other.client.id.equals(client.id)) continue;
        if (topicSees(m.kind, other.kind)) {
          this.counters.paired++;
          seen.add(other.client.id.toString('latin1'));
          out.push(this.peerMessage(client.endpoint, topic, other.client));
        }
        if (topicSees(other.kind, m.kind) && !other.client.remote) out.push(this.peerMessage(other.client.endpoint, topic, client));
      }
      partners += seen.size;
      created++;
      this.opts.observer?.changed(this.describe(m));
    }
    if (client.memberships.size === 0) this.forget(client);

    // New flags (away) or addresses reach every partner at once, not at their next refresh.
    if (changed) {
      for (const m of client.memberships.values()) m.described = undefined;
      for (const m of client.memberships.values()) {
        for (const other of m.topic.members.values()) {
          if (other !== m && topicSees(other.kind, m.kind) && !other.client.remote && !other.client.id.equals(client.id)) out.push(this.peerMessage(other.client.endpoint, m.topic, client));
        }
        this.opts.observer?.changed(this.describe(m));
      }
    }
    // The ack goes last: it carries the partner count, which the client checks against the pushes before it.
    const turn = this.opts.turn?.(client.id, now);
    out.push({
      to: { ...from },
      type: 'topicAck',
      bytes: encodeTopic({ type: 'topicAck', seq: req.seq, observed: { ...from }, refreshSeconds: this.opts.refreshSeconds, accepted: Math.min(accepted, 255), refused: Math.min(refused, 255), partners: Math.min(partners, 65535), ...(turn ? { turn } : {}) }),
    });
    if (refusal) out.push(this.error(from, refusal.code, refusal.text));
    // New topics while the instances cannot share them: said after the ack (a notice, not a refusal).
    if (created > 0 && !this.sharedAvailable()) {
      out.push(this.error(from, ErrorCode.SharedStateUnavailable as number as TopicErrorCode, 'instances cannot share topics now: contacts on other instances are out of reach'));
    }
    return out;
  }

  /** Whether the shared state is reachable (always, for a single instance). */
  sharedAvailable(): boolean {
    return this.opts.observer?.available?.() ?? true;
  }

  /** Drop the listed topics of a client (all of them when the list is empty); partners hear `topicGone`. */
  leave(_now: number, from: Endpoint, clientId: Buffer, topics: Buffer[]): { known: boolean; out: TopicOutgoing[] } {
    const client = this.clients.get(clientId.toString('latin1') + endpointKey(from));
    if (!client) return { known: false, out: [] };
    const out: TopicOutgoing[] = [];
    const which = topics.length === 0 ? [...client.memberships.values()] : topics.map((t) => client.memberships.get(t.toString('latin1'))).filter((m): m is Membership => m !== undefined);
    for (const m of which) this.removeMembership(m, out);
    return { known: true, out };
  }

  expire(now: number): TopicOutgoing[] {
    const out: TopicOutgoing[] = [];
    for (const m of this.byAge) {
      if (now - m.lastSeen < this.expiryMs) break;
      this.counters.expired++;
      this.removeMembership(m, out);
    }
    return out;
  }

  private admit(client: Client, tkey: string): 'perClient' | 'table' | 'perTopic' | undefined {
    if (client.memberships.size >= this.opts.maxTopicsPerClient) return 'perClient';
    if (this.byAge.size >= this.opts.maxMemberships) return 'table';
    if ((this.topics.get(tkey)?.members.size ?? 0) >= this.opts.maxMembersPerTopic) return 'perTopic';
    return undefined;
  }

  private removeMembership(m: Membership, out: TopicOutgoing[]): void {
    const { client, topic } = m;
    topic.members.delete(client.key);
    client.memberships.delete(topic.key);
    if (client.remote) this.remoteCount--;
    else {
      this.byAge.delete(m);
      this.opts.observer?.removed(this.describe(m));
    }
    const cid = client.id.toString('latin1');
    let locals = 0;
    for (const other of topic.members.values()) {
      if (other.client.remote) continue;
      locals++;
      if (!topicSees(other.kind, m.kind) || other.client.id.equals(client.id)) continue;
      // The same client still there under another address (or at another instance): it is not gone.
      let twin: Membership | undefined;
      for (const t of topic.members.values()) if (t !== other && t.client.id.toString('latin1') === cid && topicSees(other.kind, t.kind)) twin = t;
      out.push(
        twin
          ? this.peerMessage(other.client.endpoint, topic, twin.client)
          : { to: { ...other.client.endpoint }, type: 'topicGone', bytes: encodeTopic({ type: 'topicGone', topic: topic.id, clientId: client.id }) },
      );
    }
    if (locals === 0) {
      // Remote members are held only for the local ones' sake.
      this.remoteCount -= topic.members.size;
      topic.members.clear();
    }
    if (topic.members.size === 0) this.topics.delete(topic.key);
    if (!client.remote && client.memberships.size === 0) this.forget(client);
  }

  private describe(m: Membership): LocalTopicMember {
    return (m.described ??= { topic: m.topic.id, field: memberField(m.client.id, m.client.endpoint), kind: m.kind, clientId: m.client.id, encoded: this.peerMessage(m.client.endpoint, m.topic, m.client).bytes });
  }

  // ---- members registered at other instances (rendezvous/cluster/topicRegistry.ts)

  /** Topics with members here, and those members (the registry renews and republishes them). */
  localTopics(): Buffer[] {
    return [...this.topics.values()].map((t) => t.id);
  }

  localMembers(topic: Buffer): LocalTopicMember[] {
    const t = this.topics.get(topic.toString('latin1'));
    return t ? [...t.members.values()].filter((m) => !m.client.remote).map((m) => this.describe(m)) : [];
  }

  hasLocalMembers(topic: Buffer): boolean {
    const t = this.topics.get(topic.toString('latin1'));
    if (!t) return false;
    for (const m of t.members.values()) if (!m.client.remote) return true;
    return false;
  }

  /** The fields of the remote members held for this topic (reconciliation drops those Redis no longer has). */
  remoteFields(topic: Buffer): string[] {
    const t = this.topics.get(topic.toString('latin1'));
    return t ? [...t.members.values()].filter((m) => m.client.remote).map((m) => m.client.key.slice(2)) : [];
  }

  /**
   * A member registered at another instance (new, or its kind, flags or addresses changed): local
   * members that see it hear `topicPeer`. Ignored for a topic without local members, for a field that
   * is one of ours (a late word about a client that moved here), and when the topic is full.
   */
  remoteUpsert(topicId: Buffer, field: string, kind: TopicKind, partner: TopicPartner): TopicOutgoing[] {
    const out: TopicOutgoing[] = [];
    const topic = this.topics.get(topicId.toString('latin1'));
    if (!topic || !this.hasLocalMembers(topicId)) return out;
    const key = `\0r${field}`;
    for (const m of topic.members.values()) if (!m.client.remote && memberField(m.client.id, m.client.endpoint) === field) return out;
    const existing = topic.members.get(key);
    if (existing) {
      const c = existing.client;
      const same = existing.kind === kind && c.flags === partner.flags && c.id.equals(partner.clientId) && c.endpoint.port === partner.reflexive.port && c.endpoint.address === partner.reflexive.address && sameCandidates(c.candidates, partner.candidates);
      if (same) return out;
      this.removeMembership(existing, kind === existing.kind ? [] : out);
    } else if (topic.members.size >= this.opts.maxMembersPerTopic) {
      this.counters.perTopic++;
      return out;
    }
    const client: Client = { key, remote: true, id: owned(partner.clientId), endpoint: { ...partner.reflexive }, flags: partner.flags, candidates: partner.candidates, memberships: new Map() };
    const m: Membership = { client, topic, kind, lastSeen: 0 };
    topic.members.set(key, m);
    client.memberships.set(topic.key, m);
    this.remoteCount++;
    for (const other of topic.members.values()) {
      if (other === m || other.client.remote || !topicSees(other.kind, kind) || other.client.id.equals(partner.clientId)) continue;
      this.counters.paired++;
      out.push(this.peerMessage(other.client.endpoint, topic, client));
    }
    return out;
  }

  /** A remote member left, expired there, or vanished from Redis: local members that saw it hear `topicGone`. */
  remoteRemove(topicId: Buffer, field: string): TopicOutgoing[] {
    const out: TopicOutgoing[] = [];
    const m = this.topics.get(topicId.toString('latin1'))?.members.get(`\0r${field}`);
    if (m) this.removeMembership(m, out);
    return out;
  }

  /** Shared state lost: nothing said about other instances' members can be vouched for any more. */
  dropRemote(): TopicOutgoing[] {
    const out: TopicOutgoing[] = [];
    for (const t of [...this.topics.values()]) {
      for (const m of [...t.members.values()]) if (m.client.remote) this.removeMembership(m, out);
    }
    return out;
  }

  private forget(client: Client): void {
    if (!this.clients.delete(client.key)) return;
    const n = (this.perAddress.get(client.endpoint.address) ?? 1) - 1;
    if (n > 0) this.perAddress.set(client.endpoint.address, n);
    else this.perAddress.delete(client.endpoint.address);
  }

  private peerMessage(to: Endpoint, topic: Topic, about: Client): TopicOutgoing {
    return {
      to: { ...to },
      type: 'topicPeer',
      bytes: encodeTopic({ type: 'topicPeer', topic: topic.id, partner: { clientId: about.id, flags: about.flags, reflexive: about.endpoint, candidates: about.candidates } }),
    };
  }

  private error(to: Endpoint, code: TopicErrorCode, message: string): TopicOutgoing {
    // The room protocol's error message; codes 16..23 are this part's.
    return { to: { ...to }, type: 'error', bytes: encodeRendezvous({ type: 'error', code: code as number as ErrorCode, message }) };
  }
}
