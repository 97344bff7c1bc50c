// The topic table: which clients registered which 16-byte topics, and who must hear about whom. Pure:
// no sockets, no timers, the clock comes in as `now`. Topics are opaque hashes (a pair's DM topic, a
// user's contact-request inbox): this table pairs them and learns nothing else (PROTOCOL.md §10.3).
//
// Memory is bounded by three caps: topics per client, memberships in total, members per topic. A client
// is (client id, source endpoint): a partner who learned someone's client id cannot register under it
// from another address and steal its notifications.
import { owned } from '../extension/core/wire/bytes';
import { Endpoint, endpointKey } from '../extension/core/wire/endpoint';
import { encodeRendezvous, ErrorCode, type TurnCredentials } from '../extension/core/wire/rendezvous';
import { encodeTopic, TopicEntry, TopicErrorCode, TopicKind, TopicMessage, TopicOptions, topicSees } from '../extension/core/wire/topics';

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
}

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
  refused: { perClient: number; table: number; perTopic: number; perAddress: number };
}

interface Client {
  key: string;
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
    for (const entry of req.topics) {
      const tkey = entry.topic.toString('latin1');
      const existing = client.memberships.get(tkey);
      if (existing) {
        existing.lastSeen = now;
        this.byAge.delete(existing);
        this.byAge.add(existing);
        accepted++;
        if (existing.kind === entry.kind) {
          for (const other of existing.topic.members.values()) {
            if (other === existing || !topicSees(existing.kind, other.kind)) continue;
            partners++;
            if (replay) out.push(this.peerMessage(client.endpoint, existing.topic, other.client));
          }
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
      for (const other of topic.members.values()) {
        if (other === m) continue;
        if (topicSees(m.kind, other.kind)) {
          this.counters.paired++;
          partners++;
          out.push(this.peerMessage(client.endpoint, topic, other.client));
        }
        if (topicSees(other.kind, m.kind)) out.push(this.peerMessage(other.client.endpoint, topic, client));
      }
    }
    if (client.memberships.size === 0) this.forget(client);

    // New flags (away) or addresses reach every partner at once, not at their next refresh.
    if (changed) {
      for (const m of client.memberships.values()) {
        for (const other of m.topic.members.values()) {
          if (other !== m && topicSees(other.kind, m.kind)) out.push(this.peerMessage(other.client.endpoint, m.topic, client));
        }
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
    return out;
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
    this.byAge.delete(m);
    for (const other of topic.members.values()) {
      if (!topicSees(other.kind, m.kind)) continue;
      out.push({ to: { ...other.client.endpoint }, type: 'topicGone', bytes: encodeTopic({ type: 'topicGone', topic: topic.id, clientId: client.id }) });
    }
    if (topic.members.size === 0) this.topics.delete(topic.key);
    if (client.memberships.size === 0) this.forget(client);
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
