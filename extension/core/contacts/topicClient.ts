// The client half of topic registration, sans-I/O: the wanted set of topics goes to the rendezvous in
// batches of up to 56 per datagram, behind the anti-amplification cookie, refreshed once per refresh
// period, each batch retried until acknowledged. The server answers with `topicPeer`/`topicGone`, which
// this object hands on. Cost for N topics: ceil(N / 56) datagrams per refresh period (200 contacts at
// 15 s: 4 datagrams, 0.27/s), plus one leave on a graceful quit.
import { randomBytes } from 'node:crypto';
import { Endpoint, sameEndpoint } from '../wire/endpoint';
import { COOKIE_BYTES, ErrorCode, type RendezvousMessage, type TurnCredentials } from '../wire/rendezvous';
import { CLIENT_ID_BYTES, encodeTopic, MAX_TOPICS_PER_REGISTER, TopicOptions, type TopicEntry, type TopicMessage, type TopicPartner } from '../wire/topics';

export interface TopicClientOptions {
  server: Endpoint;
  send(to: Endpoint, data: Buffer): void;
  hostCandidates?: () => Endpoint[];
  /** NatFlags plus TopicFlags.Away; read on every register. */
  flags?: () => number;
  clientId?: Buffer;
  unreachableAfterMs?: number;
  /**
   * Several instances (topicRouter.ts): after this many unanswered sends of a batch, with nothing at all
   * heard from the server since, `silent` is told instead of sending again.
   */
  failoverAfter?: number;
}

export interface TopicClientEvents {
  partner?(topic: Buffer, partner: TopicPartner, now: number): void;
  gone?(topic: Buffer, clientId: Buffer, now: number): void;
  registered?(observed: Endpoint, now: number, turn?: TurnCredentials): void;
  error?(code: number, message: string, now: number): void;
  unreachable?(sinceMs: number, now: number): void;
  /** The server stopped answering (see `failoverAfter`). True: the client stops (its topics move); false: it keeps retrying. */
  silent?(now: number): boolean;
}

// Flat rather than exponential: presence must recover within seconds, and one datagram every 4 s
// during an outage is far inside the budget.
const RETRY_MS = [400, 800, 1000, 2000, 2000, 4000];
const DEFAULT_REFRESH_S = 15;
/** Unacknowledged batches kept for retry; more would only follow a server that stopped answering. */
const MAX_IN_FLIGHT = 64;

interface Batch {
  keys: string[];
  sentAt: number;
  attempt: number;
  nextAt: number;
  /** A replay request: partners not announced again before its ack are gone (their topicGone was lost). */
  replay?: Set<string>;
}

export class TopicClient {
  readonly clientId: Buffer;
  private cookie = Buffer.alloc(COOKIE_BYTES);
  private haveCookie = false;
  private readonly wanted = new Map<string, TopicEntry>();
  private readonly inFlight = new Map<number, Batch>();
  /** Partners we know of, per topic: compared with each ack's count to catch a lost push. */
  private readonly partners = new Map<string, Map<string, Buffer>>();
  /**
   * Topics whose partners were learned at another instance, with the time until which those partners
   * are kept though this server does not know them yet (they are failing over too, on their own
   * schedule): registered with Replay; after that time the next replay's ack drops the absent ones.
   */
  private readonly unconfirmed = new Map<string, number>();
  private lastHeardAt = -Infinity;
  private seq = 0;
  private refreshMs = DEFAULT_REFRESH_S * 1000;
  private nextRefreshAt = Infinity;
  private awaitingSince: number | undefined;
  private reportedUnreachable = false;
  private stopped = true;
  registered = false;
  observed?: Endpoint;
  /** Datagrams sent to the rendezvous (the presence budget is measured with it). */
  sent = 0;

  constructor(
    private readonly opts: TopicClientOptions,
    private readonly events: TopicClientEvents = {},
  ) {
    this.clientId = opts.clientId ? Buffer.from(opts.clientId) : randomBytes(CLIENT_ID_BYTES);
  }

  isServer(from: Endpoint): boolean {
    return sameEndpoint(from, this.opts.server);
  }

  /** The cookie proving our address, once the server gave one (the mailbox of a direct message reuses it). */
  get currentCookie(): Buffer | undefined {
    return this.haveCookie && !this.stopped ? this.cookie : undefined;
  }

  get topicCount(): number {
    return this.wanted.size;
  }

  get refreshSeconds(): number {
    return this.refreshMs / 1000;
  }

  start(now: number): void {
    this.stopped = false;
    this.registerAll(now);
  }

  /**
   * Replace the wanted set: new topics are registered at once, dropped ones left at once. `adopted`:
   * partners of topics that come from another instance's client (they stay until this server's
   * answer to a replay shows who is really there).
   */
  setTopics(entries: TopicEntry[], now: number, adopted?: Map<string, Map<string, Buffer>>, adoptedUntil = now): void {
    const next = new Map(entries.map((e) => [e.topic.toString('latin1'), e]));
    const added: string[] = [];
    const removed: Buffer[] = [];
    for (const [k, e] of next) {
      const old = this.wanted.get(k);
      if (!old || old.kind !== e.kind) added.push(k);
      const inherited = adopted?.get(k);
      if (inherited && !old) {
        this.partners.set(k, new Map(inherited));
        this.unconfirmed.set(k, adoptedUntil);
      }
    }
    for (const [k, e] of this.wanted) {
      if (next.has(k)) continue;
      removed.push(e.topic);
      this.partners.delete(k);
      this.unconfirmed.delete(k);
    }
    this.wanted.clear();
    for (const [k, e] of next) this.wanted.set(k, e);
    if (this.stopped) return;
    if (added.length) this.sendBatches(added, now);
    for (let i = 0; i < removed.length && this.haveCookie; i += MAX_TOPICS_PER_REGISTER) {
      this.transmit(encodeTopic({ type: 'topicLeave', cookie: this.cookie, clientId: this.clientId, topics: removed.slice(i, i + MAX_TOPICS_PER_REGISTER) }));
    }
  }

  /** The partners known on a topic, handed to the client of another instance (the topic moves there). */
  takePartners(topicKey: string): Map<string, Buffer> | undefined {
    const p = this.partners.get(topicKey);
    this.partners.delete(topicKey);
    return p;
  }

  /** Whether this server answered anything since `t`. */
  heardSince(t: number): boolean {
    return this.lastHeardAt >= t;
  }

  /** Stop without a word (the router moved our topics elsewhere, or the server is silent). */
  suspend(): void {
    this.stopped = true;
    this.registered = false;
    this.inFlight.clear();
    this.awaitingSince = undefined;
  }

  /** Flags changed (away, NAT class): partners should hear now, not at the next refresh. */
  refreshNow(now: number): void {
    if (!this.stopped) this.registerAll(now);
  }

  handle(m: TopicMessage | RendezvousMessage, from: Endpoint, now: number): void {
    if (this.stopped || !this.isServer(from)) return;
    this.lastHeardAt = now;
    switch (m.type) {
      case 'cookie':
        // First contact, an expired cookie or a restarted server; the same cookie again answers a retry.
        if (this.haveCookie && m.cookie.equals(this.cookie)) break;
        this.cookie = Buffer.from(m.cookie);
        this.haveCookie = true;
        this.inFlight.clear();
        this.registerAll(now);
        break;
      case 'topicAck': {
        const b = this.inFlight.get(m.seq);
        if (!b) break;
        this.inFlight.delete(m.seq);
        this.refreshMs = Math.max(1, m.refreshSeconds || DEFAULT_REFRESH_S) * 1000;
        this.observed = m.observed;
        if (this.inFlight.size === 0) {
          this.awaitingSince = undefined;
          this.reportedUnreachable = false;
        }
        if (!this.registered) {
          this.registered = true;
          this.nextRefreshAt = now + this.refreshMs;
        }
        this.events.registered?.(m.observed, now, m.turn);
        if (b.replay) {
          for (const k of b.keys) {
            const until = this.unconfirmed.get(k);
            if (until !== undefined && now < until) continue; // inherited partners: until then to show up here
            this.unconfirmed.delete(k);
            for (const [id, clientId] of [...(this.partners.get(k) ?? [])]) {
              if (!b.replay.has(`${k}/${id}`)) this.dropPartner(k, id, clientId, now);
            }
          }
        } else {
          let known = 0;
          for (const k of b.keys) known += this.partners.get(k)?.size ?? 0;
          // A topicPeer or topicGone was lost: ask for every partner of these topics again.
          if (known !== m.partners) this.sendBatch(b.keys, now, 0, true);
        }
        break;
      }
      case 'topicPeer': {
        const k = m.topic.toString('latin1');
        if (!this.wanted.has(k)) break;
        const id = m.partner.clientId.toString('hex');
        let set = this.partners.get(k);
        if (!set) this.partners.set(k, (set = new Map()));
        set.set(id, m.partner.clientId);
        for (const b of this.inFlight.values()) b.replay?.add(`${k}/${id}`);
        this.events.partner?.(m.topic, m.partner, now);
        break;
      }
      case 'topicGone': {
        const k = m.topic.toString('latin1');
        this.dropPartner(k, m.clientId.toString('hex'), m.clientId, now);
        break;
      }
      case 'error':
        if (m.code === ErrorCode.BadCookie) {
          this.haveCookie = false;
          this.registerAll(now);
        } else {
          this.events.error?.(m.code, m.message, now);
        }
        break;
      default:
        break;
    }
  }

  tick(now: number): void {
    if (this.stopped) return;
    if (now >= this.nextRefreshAt) this.registerAll(now);
    for (const [seq, b] of [...this.inFlight]) {
      if (now < b.nextAt) continue;
      const limit = this.opts.failoverAfter;
      if (limit !== undefined && this.events.silent && b.attempt + 1 >= limit && this.awaitingSince !== undefined && this.lastHeardAt < this.awaitingSince) {
        // Nothing at all from this server since we started waiting: the router may move our topics.
        if (this.events.silent(now)) {
          this.suspend();
          return;
        }
      }
      this.inFlight.delete(seq);
      this.sendBatch(b.keys, now, b.attempt + 1, b.replay !== undefined);
    }
    if (this.awaitingSince !== undefined && !this.reportedUnreachable && now - this.awaitingSince >= (this.opts.unreachableAfterMs ?? 5000)) {
      this.reportedUnreachable = true;
      this.events.unreachable?.(now - this.awaitingSince, now);
    }
  }

  nextWakeup(): number {
    if (this.stopped) return Infinity;
    let t = this.nextRefreshAt;
    for (const b of this.inFlight.values()) t = Math.min(t, b.nextAt);
    if (this.awaitingSince !== undefined && !this.reportedUnreachable) t = Math.min(t, this.awaitingSince + (this.opts.unreachableAfterMs ?? 5000));
    return t;
  }

  /** Graceful quit: one datagram drops every topic, so partners see us offline at once. */
  leave(): void {
    if (!this.stopped && this.haveCookie) this.transmit(encodeTopic({ type: 'topicLeave', cookie: this.cookie, clientId: this.clientId, topics: [] }));
    this.stopped = true;
    this.registered = false;
    this.inFlight.clear();
  }

  private dropPartner(k: string, id: string, clientId: Buffer, now: number): void {
    const set = this.partners.get(k);
    if (!set?.delete(id)) return;
    if (set.size === 0) this.partners.delete(k);
    this.events.gone?.(Buffer.from(k, 'latin1'), clientId, now);
  }

  private registerAll(now: number): void {
    this.nextRefreshAt = now + this.refreshMs;
    this.inFlight.clear();
    // Without a cookie every datagram would only earn one: send a single (possibly empty) batch first.
    const keys = [...this.wanted.keys()];
    if (!this.haveCookie) this.sendBatch(keys.slice(0, MAX_TOPICS_PER_REGISTER), now, 0);
    else if (keys.length === 0) this.sendBatch([], now, 0);
    else this.sendBatches(keys, now);
  }

  private sendBatches(keys: string[], now: number): void {
    if (!this.haveCookie) {
      if (this.inFlight.size === 0) this.sendBatch(keys.slice(0, MAX_TOPICS_PER_REGISTER), now, 0);
      return;
    }
    // Adopted topics go in replay batches: their ack drops inherited partners this server does not know.
    const replay = keys.filter((k) => this.unconfirmed.has(k));
    const plain = replay.length ? keys.filter((k) => !this.unconfirmed.has(k)) : keys;
    for (let i = 0; i < replay.length; i += MAX_TOPICS_PER_REGISTER) this.sendBatch(replay.slice(i, i + MAX_TOPICS_PER_REGISTER), now, 0, true);
    for (let i = 0; i < plain.length; i += MAX_TOPICS_PER_REGISTER) this.sendBatch(plain.slice(i, i + MAX_TOPICS_PER_REGISTER), now, 0);
  }

  private sendBatch(keys: string[], now: number, attempt: number, replay = false): void {
    // Topics dropped since the batch was first sent are not registered again.
    const entries = keys.map((k) => this.wanted.get(k)).filter((e): e is TopicEntry => e !== undefined);
    const seq = (this.seq = (this.seq + 1) & 0xffff);
    this.transmit(
      encodeTopic({
        type: 'topicRegister',
        cookie: this.cookie,
        clientId: this.clientId,
        seq,
        options: replay ? TopicOptions.Replay : 0,
        flags: this.opts.flags?.() ?? 0,
        candidates: (this.opts.hostCandidates?.() ?? []).slice(0, 8),
        topics: entries,
      }),
    );
    if (this.awaitingSince === undefined) this.awaitingSince = now;
    if (this.inFlight.size < MAX_IN_FLIGHT) {
      this.inFlight.set(seq, {
        keys: entries.map((e) => e.topic.toString('latin1')),
        sentAt: now,
        attempt,
        nextAt: now + RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)],
        ...(replay ? { replay: new Set<string>() } : {}),
      });
    }
  }

  private transmit(data: Buffer): void {
    this.sent++;
    this.opts.send(this.opts.server, data);
  }
}
