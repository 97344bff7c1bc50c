// Presence for a whole contact list, sans-I/O: the topic client (registration with the rendezvous)
// plus the presence tracker (who is there), glued together. `receive`, `tick` and the actions queue
// datagrams in `outgoing`; a shell (net/udpPresenceHost.ts, or a socket shared with rooms) sends them.
import type { KeyPair } from '../noise';
import { classify } from '../wire/header';
import { Endpoint } from '../wire/endpoint';
import { decodeRendezvous, type TurnCredentials } from '../wire/rendezvous';
import { decodeTopic, isTopicType, TopicFlags, type TopicEntry, type TopicPartner } from '../wire/topics';
import { PresenceTracker, type PresenceContact, type PresenceStatus } from './presence';
import { TopicRouter, type TopicInstance } from './topicRouter';

export interface PresenceServiceOptions {
  identity: KeyPair;
  /** The rendezvous; with `instances`, the first of them (kept for callers that need one address). */
  server: Endpoint;
  /** Several instances of one server: each topic ranks them by HRW over its id (contacts/topicRouter.ts). */
  instances?: TopicInstance[];
  wallClock?: () => number;
  hostCandidates?: () => Endpoint[];
  natFlags?: () => number;
  clientId?: Buffer;
  /**
   * Our own other clients on the same topics (a DM's socket registers the pair's topic too, beside the
   * contact list's): the rendezvous pairs them with us like anyone, but they are not the contact.
   */
  isOwnClient?: (clientId: Buffer) => boolean;
}

export interface PresenceServiceEvents {
  presence?(contactId: string, status: PresenceStatus, partner: TopicPartner | undefined, now: number): void;
  /** Every announcement of a contact's client on our pairwise topic (where to open a direct link). */
  contactPartner?(contactId: string, partner: TopicPartner, now: number): void;
  /** A topic that is not a contact's (an inbox) has a partner: the contact-request layer takes it from here. */
  topicPartner?(topic: Buffer, partner: TopicPartner, now: number): void;
  topicGone?(topic: Buffer, clientId: Buffer, now: number): void;
  registered?(observed: Endpoint, now: number, turn?: TurnCredentials): void;
  error?(code: number, message: string): void;
  unreachable?(sinceMs: number): void;
}

export class PresenceService {
  readonly outgoing: { to: Endpoint; data: Buffer }[] = [];
  readonly tracker: PresenceTracker;
  readonly client: TopicRouter;
  private away = false;
  private started = false;

  constructor(
    opts: PresenceServiceOptions,
    public events: PresenceServiceEvents = {},
  ) {
    this.tracker = new PresenceTracker(opts.identity, opts.wallClock ?? Date.now, {
      change: (id, status, partner, now) => this.events.presence?.(id, status, partner, now),
    });
    this.client = new TopicRouter(
      {
        instances: opts.instances?.length ? opts.instances : [{ name: { host: opts.server.address, port: opts.server.port }, endpoint: opts.server }],
        send: (to, data) => this.outgoing.push({ to, data }),
        ...(opts.hostCandidates ? { hostCandidates: opts.hostCandidates } : {}),
        flags: () => (opts.natFlags?.() ?? 0) | (this.away ? TopicFlags.Away : 0),
        ...(opts.clientId ? { clientId: opts.clientId } : {}),
      },
      {
        partner: (topic, partner, now) => {
          if (opts.isOwnClient?.(partner.clientId)) return;
          const contact = this.tracker.onPartner(topic, partner, now);
          if (contact) this.events.contactPartner?.(contact.id, partner, now);
          else this.events.topicPartner?.(topic, partner, now);
        },
        gone: (topic, clientId, now) => {
          if (this.tracker.contactForTopic(topic)) this.tracker.onGone(topic, clientId, now);
          else this.events.topicGone?.(topic, clientId, now);
        },
        registered: (observed, now, turn) => this.events.registered?.(observed, now, turn),
        error: (code, message) => this.events.error?.(code, message),
        unreachable: (since) => this.events.unreachable?.(since),
      },
    );
  }

  start(now: number): void {
    this.started = true;
    this.client.setTopics(this.tracker.wantedTopics(), now);
    this.client.start(now);
  }

  setContacts(list: PresenceContact[], now: number): void {
    this.tracker.setContacts(list, now);
    this.resync(now);
  }

  /** Topics of our own beyond contacts' (our request inbox as host, a request we are sending as visitor). */
  setExtraTopics(entries: TopicEntry[], now: number): void {
    this.tracker.setExtraTopics(entries);
    this.resync(now);
  }

  setAway(away: boolean, now: number): void {
    if (away === this.away) return;
    this.away = away;
    this.client.refreshNow(now);
  }

  setAppearOffline(on: boolean, now: number): void {
    this.tracker.setAppearOffline(on);
    this.resync(now);
  }

  setInUse(contactId: string, used: boolean, now: number): void {
    this.tracker.setInUse(contactId, used);
    this.resync(now);
  }

  status(contactId: string): PresenceStatus {
    return this.tracker.status(contactId);
  }

  /** Returns false for datagrams that are not the rendezvous's (peer packets: someone else's job). */
  receive(data: Buffer, from: Endpoint, now: number): boolean {
    if (!this.client.isServer(from) || classify(data) !== 'p2p') return false;
    if (isTopicType(data[2])) {
      const d = decodeTopic(data);
      if (d.ok) this.client.handle(d.value, from, now);
    } else {
      const d = decodeRendezvous(data);
      if (d.ok) this.client.handle(d.value, from, now);
    }
    return true;
  }

  tick(now: number): void {
    if (this.started && this.tracker.topicsStale()) this.resync(now);
    this.client.tick(now);
  }

  nextWakeup(): number {
    // Hourly re-check of the topic set (midnight margins) rides on the refresh, which is far more frequent.
    return this.client.nextWakeup();
  }

  takeOutgoing(): { to: Endpoint; data: Buffer }[] {
    return this.outgoing.splice(0);
  }

  leave(now: number): void {
    this.client.leave();
    this.tracker.clear(now);
  }

  private resync(now: number): void {
    if (this.started) this.client.setTopics(this.tracker.wantedTopics(), now);
  }
}
