// The client half of the rendezvous protocol, sans-I/O: registration with the anti-amplification
// cookie, periodic refresh (which also re-registers after a server restart, since the server then
// answers with a fresh cookie), retries with backoff, and NAT mapping classification via two ports.
import { randomBytes } from 'node:crypto';
import { Endpoint, sameEndpoint } from '../wire/endpoint';
import { InstanceCursor } from './instances';
import {
  COOKIE_BYTES,
  encodeRendezvous,
  ErrorCode,
  MemberRecord,
  NatFlags,
  PROBE_TXID_BYTES,
  RendezvousMessage,
  TurnCredentials,
} from '../wire/rendezvous';

export type NatMapping = 'unknown' | 'endpoint-independent' | 'endpoint-dependent';

export interface RendezvousClientEvents {
  welcome(observed: Endpoint, members: number, turn: TurnCredentials | undefined, now: number): void;
  peer(member: MemberRecord, joined: boolean, now: number): void;
  left(peerId: Buffer, now: number): void;
  error(code: ErrorCode, message: string, now: number): void;
  unreachable(sinceMs: number, now: number): void;
  nat(mapping: NatMapping, observed: Endpoint[]): void;
  /** Now registering with another instance of a several-instance server (failover or return home). */
  instance?(server: Endpoint, position: number, now: number): void;
}

export interface RendezvousClientOptions {
  server: Endpoint;
  /**
   * Every instance, best first for this room (core/room/instances.ts: rankInstances). `server` is
   * used alone when absent. After two unanswered registrations the client moves to the next one.
   */
  servers?: Endpoint[];
  /** Only for a single server; each instance of a list uses its port + 1. */
  probePort?: number;
  roomId: Buffer;
  peerId: Buffer;
  name: () => string;
  hostCandidates: () => Endpoint[];
  /** Flags beyond the NAT class (e.g. NatFlags.RelayCandidate). */
  extraFlags?: () => number;
  send(to: Endpoint, data: Buffer): void;
  /** Reported unreachable after this long without an answer. */
  unreachableAfterMs?: number;
}

const RETRY_MS = [250, 500, 1000, 2000, 4000, 8000, 15000];
const DEFAULT_REFRESH_S = 15;
const MAX_PROBE_ATTEMPTS = 30;
/** Unanswered registrations before moving to the next instance (with the schedule above: 750 ms). */
export const FAILOVER_AFTER_ATTEMPTS = 2;

export class RendezvousClient {
  private cookie = Buffer.alloc(COOKIE_BYTES);
  private nextSendAt = Infinity;
  private attempt = 0;
  private awaitingSince: number | undefined;
  private reportedUnreachable = false;
  private refreshMs = DEFAULT_REFRESH_S * 1000;
  private stopped = true;
  registered = false;
  observed?: Endpoint;
  mapping: NatMapping = 'unknown';
  private probes = new Map<string, { to: Endpoint; observed?: Endpoint }>();
  private probeAttempt = 0;
  private nextProbeAt = Infinity;
  private readonly cursor: InstanceCursor;
  /** Where our last welcome came from, and the cookie it accepted: told when we move away. */
  private home?: { server: Endpoint; cookie: Buffer };

  constructor(
    private readonly opts: RendezvousClientOptions,
    private readonly events: RendezvousClientEvents,
  ) {
    this.cursor = new InstanceCursor(opts.servers && opts.servers.length > 0 ? opts.servers : [opts.server]);
  }

  /** The cookie that proves our address to the server (mailbox requests carry it); undefined until registered. */
  get currentCookie(): Buffer | undefined {
    return this.registered && !this.stopped ? this.cookie : undefined;
  }

  /** The instance we register with now. */
  get server(): Endpoint {
    return this.cursor.current;
  }

  get instances(): readonly Endpoint[] {
    return this.cursor.ranked;
  }

  private probeOf(server: Endpoint): Endpoint | undefined {
    const p = this.cursor.ranked.length === 1 && this.opts.probePort !== undefined ? this.opts.probePort : server.port + 1;
    return p > 0 && p < 65536 ? { address: server.address, port: p } : undefined;
  }

  get probeServer(): Endpoint | undefined {
    return this.probeOf(this.server);
  }

  /** Messages are only believed from the servers' own addresses (any listed instance). */
  isServer(from: Endpoint): boolean {
    return this.cursor.ranked.some((s) => {
      const probe = this.probeOf(s);
      return sameEndpoint(from, s) || (probe !== undefined && sameEndpoint(from, probe));
    });
  }

  /** Another instance from now on: its own cookie, its own view of our NAT mapping. */
  private switchTo(position: number, now: number): void {
    this.cursor.moveTo(position);
    this.cookie = Buffer.alloc(COOKIE_BYTES);
    this.attempt = 0;
    this.events.instance?.(this.server, position, now);
    this.resetProbes(now); // not reclassify(): that ticks, and we are inside tick()
  }

  start(now: number): void {
    this.stopped = false;
    this.sendRegister(now);
    this.reclassify(now);
  }

  /**
   * Ask both ports again where we come from. Called at start and whenever a link is lost: a NAT that
   * rebooted or a new network can change the mapping behaviour, and peers pick their strategy from it.
   */
  reclassify(now: number): void {
    if (this.stopped) return;
    this.resetProbes(now);
    this.tick(now);
  }

  private resetProbes(now: number): void {
    const probe = this.probeServer;
    this.probes.clear();
    for (const to of probe ? [this.server, probe] : [this.server]) this.probes.set(randomBytes(PROBE_TXID_BYTES).toString('hex'), { to });
    this.probeAttempt = 0;
    this.nextProbeAt = now;
  }

  /** Register again now: after losing a peer we want fresh candidates at once. */
  refreshNow(now: number): void {
    if (!this.stopped) this.sendRegister(now);
  }

  private sendRegister(now: number): void {
    this.opts.send(
      this.server,
      encodeRendezvous({
        type: 'register',
        roomId: this.opts.roomId,
        peerId: this.opts.peerId,
        cookie: this.cookie,
        name: this.opts.name(),
        flags: (this.flagsSent = this.flags() | (this.opts.extraFlags?.() ?? 0)),
        candidates: this.opts.hostCandidates().slice(0, 8),
      }),
    );
    if (this.awaitingSince === undefined) this.awaitingSince = now;
    this.nextSendAt = now + RETRY_MS[Math.min(this.attempt, RETRY_MS.length - 1)];
    this.attempt++;
  }

  private lastNow = 0;
  private flagsSent = NatFlags.Unknown;

  private flags(): NatFlags {
    return this.mapping === 'endpoint-independent' ? NatFlags.EndpointIndependent : this.mapping === 'endpoint-dependent' ? NatFlags.EndpointDependent : NatFlags.Unknown;
  }

  handle(m: RendezvousMessage, from: Endpoint, now: number): void {
    this.lastNow = now;
    if (this.stopped) return;
    switch (m.type) {
      case 'cookie':
        if (!sameEndpoint(from, this.server)) return; // cookies are per instance
        // First contact, expired cookie, or a restarted server: register again right away. The same cookie
        // again only answers one of our retransmissions; resending on it would double traffic under load.
        if (m.cookie.equals(this.cookie)) break;
        this.cookie = Buffer.from(m.cookie);
        this.attempt = 0;
        this.sendRegister(now);
        break;
      case 'welcome':
        if (!sameEndpoint(from, this.server)) return; // a late answer from an instance we left
        // Moved (failover or home again): the instance we left would otherwise keep announcing us
        // until we expire there. A leave costs it nothing and tells its members at once.
        if (this.home && !sameEndpoint(this.home.server, this.server)) {
          this.opts.send(this.home.server, encodeRendezvous({ type: 'leave', roomId: this.opts.roomId, peerId: this.opts.peerId, cookie: this.home.cookie }));
        }
        this.home = { server: this.server, cookie: Buffer.from(this.cookie) };
        this.registered = true;
        this.observed = m.observed;
        this.refreshMs = Math.max(1, m.refreshSeconds || DEFAULT_REFRESH_S) * 1000;
        this.awaitingSince = undefined;
        this.reportedUnreachable = false;
        this.attempt = 0;
        this.nextSendAt = now + this.refreshMs;
        this.events.welcome(m.observed, m.members, m.turn, now);
        // Members the welcome carries are what `peer` (joined = false) would have said; any that did not fit follow as such.
        for (const member of m.known) {
          if (this.stopped) return;
          this.events.peer(member, false, now);
        }
        // The NAT class may have been learned while this registration was in flight: publish it now.
        if (this.flagsSent !== (this.flags() | (this.opts.extraFlags?.() ?? 0))) this.sendRegister(now);
        break;
      case 'peer':
        this.events.peer(m.member, m.joined, now);
        break;
      case 'left':
        this.events.left(m.peerId, now);
        break;
      case 'error':
        if (m.code === ErrorCode.BadCookie) {
          this.cookie = Buffer.alloc(COOKIE_BYTES);
          this.sendRegister(now);
        } else {
          // The server answered, if only to refuse: it is reachable, so no "has not answered" later.
          this.awaitingSince = undefined;
          this.reportedUnreachable = false;
          this.events.error(m.code, m.message, now);
        }
        break;
      case 'probeReply': {
        const p = this.probes.get(m.txid.toString('hex'));
        if (!p || !sameEndpoint(p.to, from) || p.observed) return;
        p.observed = m.observed;
        this.classify();
        break;
      }
      default:
        break; // requests are not for clients
    }
  }

  private classify(): void {
    const seen = [...this.probes.values()].map((p) => p.observed);
    if (seen.some((o) => !o)) return;
    const observed = seen as Endpoint[];
    this.nextProbeAt = Infinity;
    this.mapping = observed.every((o) => o.port === observed[0].port && o.address === observed[0].address) ? 'endpoint-independent' : 'endpoint-dependent';
    this.events.nat(this.mapping, observed);
    // Tell the room what we learned: peers choose their punching strategy from it.
    if (this.registered) this.sendRegister(this.lastNow);
  }

  tick(now: number): void {
    if (this.stopped) return;
    if (now >= this.nextSendAt) {
      if (this.cursor.ranked.length > 1) {
        if (this.attempt >= FAILOVER_AFTER_ATTEMPTS) {
          // Two unanswered: the next instance in the ranking (every member of the room walks the same one).
          this.switchTo((this.cursor.position + 1) % this.cursor.ranked.length, now);
        } else if (this.attempt === 0 && this.registered && this.cursor.position !== 0) {
          // A refresh while on a fallback: try home first, so the room re-forms there once it is back.
          this.switchTo(0, now);
        }
      }
      this.sendRegister(now);
    }
    if (this.awaitingSince !== undefined && !this.reportedUnreachable && now - this.awaitingSince >= (this.opts.unreachableAfterMs ?? 5000)) {
      this.reportedUnreachable = true;
      this.events.unreachable(now - this.awaitingSince, now);
    }
    if (now >= this.nextProbeAt) {
      for (const [txid, p] of this.probes) {
        if (!p.observed) this.opts.send(p.to, encodeRendezvous({ type: 'probe', txid: Buffer.from(txid, 'hex') }));
      }
      this.probeAttempt++;
      // Both answers are needed, and until both are in, the class is unknown and peers pick the wrong strategy (no
      // relay for two symmetric NATs until a punch times out). The old schedule (0.5, 1, 2, 4 s, then give up) turned
      // a few lost datagrams into 7.5 s of that, or 20. So: every second after the first retries, for half a minute
      // (a server whose probe port is blocked costs two small datagrams a second, then nothing).
      this.nextProbeAt = this.probeAttempt >= MAX_PROBE_ATTEMPTS ? Infinity : now + RETRY_MS[Math.min(this.probeAttempt, 2)];
    }
  }

  nextWakeup(): number {
    if (this.stopped) return Infinity;
    let t = Math.min(this.nextSendAt, this.nextProbeAt);
    if (this.awaitingSince !== undefined && !this.reportedUnreachable) t = Math.min(t, this.awaitingSince + (this.opts.unreachableAfterMs ?? 5000));
    return t;
  }

  leave(): void {
    if (this.registered) {
      this.opts.send(this.server, encodeRendezvous({ type: 'leave', roomId: this.opts.roomId, peerId: this.opts.peerId, cookie: this.cookie }));
    }
    this.stopped = true;
    this.registered = false;
  }
}
