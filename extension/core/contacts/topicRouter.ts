// Topics over several rendezvous instances, sans-I/O. Each topic ranks the instances by rendezvous
// hashing over its id (core/room/instances.ts, the same ranking rooms use), so both contacts of a pair
// topic, or an inbox's host and its visitors, normally register with the same instance. One TopicClient
// per instance in use carries that instance's topics (batched as before: ceil(n / 56) datagrams per
// refresh period per instance).
//
// Failover, as for rooms: after two unanswered sends with nothing heard from an instance, its topics move
// to the next instance in their own rankings (every partner walks the same one), with the partners known
// so far carried over until the new instance's answer to a replay says who is really there. A silent
// instance is asked again once per refresh period with an empty register (a few dozen bytes); the first
// answer brings its topics home. With a single instance this is exactly one TopicClient.
import { randomBytes } from 'node:crypto';
import { Endpoint, sameEndpoint } from '../wire/endpoint';
import { COOKIE_BYTES, type RendezvousMessage, type TurnCredentials } from '../wire/rendezvous';
import { CLIENT_ID_BYTES, encodeTopic, type TopicEntry, type TopicMessage } from '../wire/topics';
import type { ServerAddress } from '../invite';
import { instanceKey, rankInstances } from '../room/instances';
import { TopicClient, type TopicClientEvents } from './topicClient';

/** Unanswered sends before a topic's instance is given up for the next in its ranking (as for rooms). */
export const TOPIC_FAILOVER_AFTER_ATTEMPTS = 2;
const DEFAULT_REFRESH_MS = 15_000;
/**
 * Partners carried to a new instance are kept this long past one refresh period even if it does not
 * know them yet: they fail over on their own refresh schedule (up to a period later, plus the two
 * unanswered sends), and presence should not blink meanwhile.
 */
const ADOPT_GRACE_MS = 2000;

export interface TopicInstance {
  /** As written in the setting or invite: what the ranking hashes (never a resolved address). */
  name: ServerAddress;
  /** Where to send. */
  endpoint: Endpoint;
}

export interface TopicRouterOptions {
  instances: TopicInstance[];
  send(to: Endpoint, data: Buffer): void;
  hostCandidates?: () => Endpoint[];
  flags?: () => number;
  clientId?: Buffer;
  unreachableAfterMs?: number;
}

export interface TopicRouterEvents extends Omit<TopicClientEvents, 'silent'> {
  /** Topics moved: `server` is now used (or given up, `up` false) for some of them. */
  instance?(server: Endpoint, up: boolean, now: number): void;
}

interface Lane {
  index: number;
  client: TopicClient;
}

export class TopicRouter {
  readonly clientId: Buffer;
  private readonly instances: TopicInstance[];
  private readonly lanes = new Map<number, Lane>();
  /** Instances given up: index → when to ask again. */
  private readonly down = new Map<number, number>();
  private readonly wanted = new Map<string, TopicEntry>();
  private readonly rankings = new Map<string, number[]>();
  /** Which instance each wanted topic is registered with now. */
  private readonly placed = new Map<string, number>();
  private stopped = true;
  private refreshMs = DEFAULT_REFRESH_MS;
  private sentByGone = 0;
  private probeSeq = 0;
  /** An instance was given up during a tick: re-place the topics when the tick is done. */
  private replace = false;

  constructor(
    private readonly opts: TopicRouterOptions,
    private readonly events: TopicRouterEvents = {},
  ) {
    if (opts.instances.length === 0) throw new RangeError('no rendezvous instance');
    this.instances = opts.instances;
    this.clientId = opts.clientId ? Buffer.from(opts.clientId) : randomBytes(CLIENT_ID_BYTES);
  }

  /** Datagrams sent to the rendezvous instances (the presence budget is measured with it). */
  get sent(): number {
    let n = this.sentByGone;
    for (const l of this.lanes.values()) n += l.client.sent;
    return n;
  }

  get registered(): boolean {
    for (const l of this.lanes.values()) if (l.client.registered) return true;
    return false;
  }

  get observed(): Endpoint | undefined {
    for (const l of this.lanes.values()) if (l.client.observed) return l.client.observed;
    return undefined;
  }

  get topicCount(): number {
    return this.wanted.size;
  }

  get refreshSeconds(): number {
    return this.refreshMs / 1000;
  }

  /** The cookie of the first instance that gave one (single-instance callers: the only one). */
  get currentCookie(): Buffer | undefined {
    for (const l of this.lanes.values()) if (l.client.currentCookie) return l.client.currentCookie;
    return undefined;
  }

  /** The cookie proving our address to this instance, if we have one (a DM's mailbox reuses it). */
  cookieFor(server: Endpoint): Buffer | undefined {
    const i = this.indexOf(server);
    return i < 0 ? undefined : this.lanes.get(i)?.client.currentCookie;
  }

  /** The instance a topic is registered with now. */
  serverFor(topic: Buffer): Endpoint | undefined {
    const i = this.placed.get(topic.toString('latin1'));
    return i === undefined ? undefined : this.instances[i].endpoint;
  }

  isServer(from: Endpoint): boolean {
    return this.indexOf(from) >= 0;
  }

  start(now: number): void {
    this.stopped = false;
    this.place(now, true);
  }

  setTopics(entries: TopicEntry[], now: number): void {
    this.wanted.clear();
    for (const e of entries) this.wanted.set(e.topic.toString('latin1'), e);
    for (const k of [...this.rankings.keys()]) if (!this.wanted.has(k)) this.rankings.delete(k);
    if (!this.stopped) this.place(now, false);
  }

  refreshNow(now: number): void {
    if (this.stopped) return;
    for (const l of this.lanes.values()) l.client.refreshNow(now);
  }

  handle(m: TopicMessage | RendezvousMessage, from: Endpoint, now: number): void {
    if (this.stopped) return;
    const i = this.indexOf(from);
    if (i < 0) return;
    if (this.down.has(i)) {
      // A silent instance answered our probe: it is back, and topics ranked first there go home.
      this.down.delete(i);
      this.events.instance?.(this.instances[i].endpoint, true, now);
      this.place(now, false);
      return;
    }
    this.lanes.get(i)?.client.handle(m, from, now);
  }

  tick(now: number): void {
    if (this.stopped) return;
    for (const lane of [...this.lanes.values()]) {
      if (this.lanes.get(lane.index) === lane) lane.client.tick(now);
    }
    if (this.replace) {
      this.replace = false;
      this.place(now, false);
    }
    for (const [i, at] of this.down) {
      if (now < at) continue;
      this.down.set(i, now + this.refreshMs);
      this.probe(i);
    }
  }

  nextWakeup(): number {
    if (this.stopped) return Infinity;
    let t = Infinity;
    for (const l of this.lanes.values()) t = Math.min(t, l.client.nextWakeup());
    for (const at of this.down.values()) t = Math.min(t, at);
    return t;
  }

  /** Graceful quit: one leave per instance in use. */
  leave(): void {
    for (const l of this.lanes.values()) l.client.leave();
    this.stopped = true;
  }

  private indexOf(e: Endpoint): number {
    return this.instances.findIndex((x) => sameEndpoint(x.endpoint, e));
  }

  private ranking(k: string, topic: Buffer): number[] {
    let r = this.rankings.get(k);
    if (!r) {
      const byKey = new Map(this.instances.map((x, i) => [instanceKey(x.name), i]));
      r = rankInstances(this.instances.map((x) => x.name), topic).map((x) => byKey.get(instanceKey(x))!);
      this.rankings.set(k, r);
    }
    return r;
  }

  /** Where a topic should be registered: the first instance of its ranking not given up (else where it is). */
  private target(k: string, topic: Buffer): number {
    const r = this.ranking(k, topic);
    for (const i of r) if (!this.down.has(i)) return i;
    return this.placed.get(k) ?? r[0];
  }

  /** Put every wanted topic on its instance; topics that move take their known partners along. */
  private place(now: number, starting: boolean): void {
    const per = new Map<number, TopicEntry[]>();
    const adopted = new Map<number, Map<string, Map<string, Buffer>>>();
    const next = new Map<string, number>();
    for (const [k, e] of this.wanted) {
      const i = this.target(k, e.topic);
      next.set(k, i);
      let list = per.get(i);
      if (!list) per.set(i, (list = []));
      list.push(e);
      const was = this.placed.get(k);
      if (was !== undefined && was !== i) {
        const partners = this.lanes.get(was)?.client.takePartners(k);
        if (partners?.size) {
          let a = adopted.get(i);
          if (!a) adopted.set(i, (a = new Map()));
          a.set(k, partners);
        }
      }
    }
    this.placed.clear();
    for (const [k, i] of next) this.placed.set(k, i);
    // Instances that keep or lose topics first (their leaves go out), then the ones that gain some.
    for (const [i, lane] of [...this.lanes]) {
      const list = per.get(i);
      if (list) continue;
      // No topic here any more: a leave for what it held, then quiet (a lane with nothing is not kept).
      lane.client.setTopics([], now);
      this.sentByGone += lane.client.sent;
      lane.client.suspend();
      this.lanes.delete(i);
    }
    // With nothing wanted at all, one instance still keeps our address and cookie fresh (as a single
    // TopicClient does with an empty set): the best one for an empty id.
    if (per.size === 0) {
      const i = this.ranking('', Buffer.alloc(0))[0];
      if (!this.down.has(i) || this.down.size === this.instances.length) per.set(i, []);
    }
    for (const [i, list] of per) {
      let lane = this.lanes.get(i);
      if (!lane) {
        lane = this.makeLane(i);
        this.lanes.set(i, lane);
        lane.client.setTopics(list, now, adopted.get(i), now + this.refreshMs + ADOPT_GRACE_MS);
        lane.client.start(now);
      } else {
        lane.client.setTopics(list, now, adopted.get(i), now + this.refreshMs + ADOPT_GRACE_MS);
        if (starting) lane.client.start(now);
      }
    }
  }

  private makeLane(i: number): Lane {
    const inst = this.instances[i];
    const lane: Lane = {
      index: i,
      client: new TopicClient(
        {
          server: inst.endpoint,
          send: (to, data) => this.opts.send(to, data),
          ...(this.opts.hostCandidates ? { hostCandidates: this.opts.hostCandidates } : {}),
          ...(this.opts.flags ? { flags: this.opts.flags } : {}),
          clientId: this.clientId,
          ...(this.opts.unreachableAfterMs !== undefined ? { unreachableAfterMs: this.opts.unreachableAfterMs } : {}),
          // One instance: nowhere to move, so no failover (the client keeps retrying, as before).
          ...(this.instances.length > 1 ? { failoverAfter: TOPIC_FAILOVER_AFTER_ATTEMPTS } : {}),
        },
        {
          partner: (t, p, now) => this.events.partner?.(t, p, now),
          gone: (t, c, now) => this.events.gone?.(t, c, now),
          registered: (observed, now, turn?: TurnCredentials) => {
            this.refreshMs = lane.client.refreshSeconds * 1000;
            this.events.registered?.(observed, now, turn);
          },
          error: (code, message, now) => this.events.error?.(code, message, now),
          unreachable: (ms, now) => this.events.unreachable?.(ms, now),
          silent: (now) => this.giveUp(i, now),
        },
      ),
    };
    return lane;
  }

  /**
   * Two unanswered sends: this instance's topics go to the next in their rankings (true: the client
   * stops). When every other instance is silent too, the client keeps retrying where it is (false).
   */
  private giveUp(i: number, now: number): boolean {
    if (this.down.size >= this.instances.length - 1) return false;
    this.down.set(i, now + this.refreshMs);
    this.events.instance?.(this.instances[i].endpoint, false, now);
    // Called from inside the client's tick: the topics move once it has returned (tick() below).
    this.replace = true;
    return true;
  }

  /** An empty register: any answer (a cookie, at first) proves the instance is back. Smaller than what it earns. */
  private probe(i: number): void {
    this.probeSeq = (this.probeSeq + 1) & 0xffff;
    this.sentByGone++;
    this.opts.send(
      this.instances[i].endpoint,
      encodeTopic({ type: 'topicRegister', cookie: Buffer.alloc(COOKIE_BYTES), clientId: this.clientId, seq: this.probeSeq, options: 0, flags: this.opts.flags?.() ?? 0, candidates: [], topics: [] }),
    );
  }
}
