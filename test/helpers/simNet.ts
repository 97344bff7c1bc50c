// A deterministic simulated network for sans-I/O Rooms: an injected clock, per-packet delay and
// seeded loss, NATs with RFC 4787 mapping/filtering behaviour, and a minimal rendezvous speaking
// the real wire codec. No sockets, no timers: `run` jumps the clock from event to event.
import { Room, RoomOptions } from '../../extension/core/room/room';
import { MemoryRoomStore } from '../../extension/core/store/roomStore';
import { Endpoint, endpointKey } from '../../extension/core/wire/endpoint';
import { decodeRendezvous, encodeRendezvous, MemberRecord } from '../../extension/core/wire/rendezvous';
import { keyPairFromPrivate } from '../../extension/core/noise';
import { seededRandom } from '../../extension/core/link/random';

/**
 * cone: endpoint-independent mapping (port-preserving), address-and-port-dependent filtering; fullcone: the same
 * mapping, no filtering; symmetric: a random port per destination; open: Linux MASQUERADE with no filter, modelled
 * per flow like conntrack: an unsolicited packet is taken by the router itself and that flow is remembered (for
 * 30 s after its last packet), so the host's own flow to that address later clashes and gets another port.
 */
export type NatKind = 'none' | 'cone' | 'fullcone' | 'symmetric' | 'open';

/** Router hops between any two sites, beyond the sender's own NAT: a packet needs a TTL above this to arrive. */
export const INTERNET_HOPS = 2;
const CONNTRACK_UNREPLIED_MS = 30_000;

export interface SimNat {
  publicIp: string;
  kind: NatKind;
  /** private "ip:port" (+ destination for symmetric) -> public port */
  map: Map<string, number>;
  /** public port -> private endpoint */
  back: Map<number, Endpoint>;
  /** public port -> set of remote "ip:port" it has sent to (address-and-port-dependent filtering) */
  allowed: Map<number, Set<string>>;
  nextPort: number;
  /** open: "ip:port>dst" -> public port, and "dst|public port" -> private endpoint (the reply direction). */
  flows: Map<string, number>;
  replies: Map<string, Endpoint>;
  /** open: "remote|public port" of unsolicited flows the router took for itself -> when last refreshed. */
  poisoned: Map<string, number>;
}

interface Packet {
  at: number;
  from: Endpoint; // as seen on the wire (after NAT)
  to: Endpoint;
  data: Buffer;
}

export interface SimHost {
  name: string;
  room: Room;
  local: Endpoint; // private address of its main socket
  nat?: SimNat;
  down: boolean;
}

export class SimNet {
  now = 0;
  private queue: Packet[] = [];
  private seed: number;
  readonly hosts: SimHost[] = [];
  loss = 0;
  delayMs = 10;
  sent = 0;
  dropped = 0;
  /** Datagrams each host put on the wire, for rate assertions. */
  readonly sentBy = new Map<string, number[]>();
  readonly rendezvous: FakeRendezvous;

  private readonly seed0: number;

  constructor(seed = 1) {
    this.seed = seed;
    this.seed0 = seed;
    this.rendezvous = new FakeRendezvous({ address: '198.51.100.1', port: 7000 }, (from, to, data, extra) => this.inject(from, to, data, extra));
  }

  random(): number {
    this.seed = (Math.imul(this.seed, 1103515245) + 12345) >>> 0;
    return this.seed / 2 ** 32;
  }

  nat(publicIp: string, kind: NatKind): SimNat {
    return {
      publicIp,
      kind,
      map: new Map(),
      back: new Map(),
      allowed: new Map(),
      nextPort: 20000 + Math.floor(this.random() * 1000),
      flows: new Map(),
      replies: new Map(),
      poisoned: new Map(),
    };
  }

  /**
   * Each host's uplink as a FIFO of this many bytes per ms (Infinity: no serialisation delay): a datagram
   * leaves when those queued before it have, so a burst queues, as it does ahead of a real socket.
   */
  uplinkBytesPerMs = Infinity;
  /** Datagrams of file pieces a host hands to its uplink per flush (Room.takeOutgoing's bound, as the shell passes it). */
  bulkPerFlush = Infinity;
  private readonly uplinkFreeAt = new Map<SimHost, number>();

  /** Extra one-way delay for some packets (e.g. a rendezvous far from one host): added to delayMs. */
  extraDelay: (from: Endpoint, to: Endpoint) => number = () => 0;
  /** Datagrams sent with a TTL too small to arrive (they still opened their sender's NAT mapping). */
  ttlExpired = 0;

  private isPoisoned(n: SimNat, key: string): boolean {
    const at = n.poisoned.get(key);
    if (at === undefined) return false;
    if (this.now - at > CONNTRACK_UNREPLIED_MS) {
      n.poisoned.delete(key);
      return false;
    }
    return true;
  }

  /** Linux MASQUERADE without --random: keep the source port unless that flow's reply tuple is taken. */
  private openOutbound(n: SimNat, src: Endpoint, to: Endpoint): number {
    const key = `${endpointKey(src)}>${endpointKey(to)}`;
    const known = n.flows.get(key);
    if (known !== undefined) return known;
    const taken = (port: number) => this.isPoisoned(n, `${endpointKey(to)}|${port}`) || n.replies.has(`${endpointKey(to)}|${port}`);
    let port = src.port;
    while (taken(port)) port = 1024 + Math.floor(this.random() * 64000);
    n.flows.set(key, port);
    n.replies.set(`${endpointKey(to)}|${port}`, src);
    return port;
  }

  addHost(name: string, local: Endpoint, nat: SimNat | undefined, opts: Partial<RoomOptions> & { roomId: Buffer; psk: Buffer }): SimHost {
    // Each host its own stream, seeded from the network's seed and its place: spray ports, probe tokens and
    // session indices replay exactly, and one host's draws never shift another's (or the network's loss).
    // Identities too: who initiates a handshake follows from the order of the two keys.
    const random = seededRandom(Math.imul(this.seed0, 0x9e3779b1) + this.hosts.length + 1);
    const room = new Room({
      identity: keyPairFromPrivate(random.bytes(32)),
      name,
      server: this.rendezvous.main,
      store: new MemoryRoomStore(),
      wallClock: () => Math.floor(1_700_000_000_000 + this.now),
      random,
      ...opts,
    });
    const host: SimHost = { name, room, local, nat, down: false };
    this.hosts.push(host);
    return host;
  }

  start(h: SimHost): void {
    h.room.start(this.now);
    this.flush(h);
  }

  /** Put on the wire what a host queued outside a receive or a tick (after `room.meet`, say). */
  pump(h: SimHost): void {
    this.flush(h);
  }

  /** Outbound through the host's NAT (if any), then onto the wire. */
  private flush(h: SimHost): void {
    // Like UdpRoomHost: hold as many extra (birthday) sockets as the room wants.
    h.room.setExtraSockets(h.room.wantedSockets());
    for (const o of h.room.takeOutgoing(this.bulkPerFlush)) {
      if (h.down) continue;
      const stamps = this.sentBy.get(h.name) ?? [];
      stamps.push(this.now);
      this.sentBy.set(h.name, stamps);
      // Extra (birthday) sockets are modelled as extra private ports.
      const src: Endpoint = { address: h.local.address, port: h.local.port + (o.via ?? 0) };
      let from = src;
      if (h.nat?.kind === 'open') {
        from = { address: h.nat.publicIp, port: this.openOutbound(h.nat, src, o.to) };
      } else if (h.nat) {
        const n = h.nat;
        const key = n.kind === 'symmetric' ? `${endpointKey(src)}>${endpointKey(o.to)}` : endpointKey(src);
        let port = n.map.get(key);
        if (port === undefined) {
          port = n.kind === 'symmetric' ? 1024 + Math.floor(this.random() * 64000) : src.port;
          while (n.back.has(port)) port++;
          n.map.set(key, port);
          n.back.set(port, src);
        }
        const allowed = n.allowed.get(port) ?? new Set<string>();
        allowed.add(endpointKey(o.to));
        n.allowed.set(port, allowed);
        from = { address: n.publicIp, port };
      }
      // The mapping is made; whether the datagram gets further depends on its TTL.
      if (o.ttl !== undefined && o.ttl - (h.nat ? 1 : 0) <= INTERNET_HOPS) {
        this.ttlExpired++;
        continue;
      }
      let queued = 0;
      if (this.uplinkBytesPerMs !== Infinity) {
        const leaves = Math.max(this.now, this.uplinkFreeAt.get(h) ?? 0) + o.data.length / this.uplinkBytesPerMs;
        this.uplinkFreeAt.set(h, leaves);
        queued = leaves - this.now;
      }
      this.inject(from, o.to, o.data, queued);
    }
  }

  /** When a host holding back file pieces hands the next batch to its uplink: once what it handed last has left. */
  private bulkDue(h: SimHost): number {
    return h.room.bulkPending > 0 ? Math.max(this.now, this.uplinkFreeAt.get(h) ?? 0) : Infinity;
  }

  /** Drops chosen datagrams (a lost push, say), on top of the random loss. */
  dropIf: (from: Endpoint, to: Endpoint, data: Buffer) => boolean = () => false;

  inject(from: Endpoint, to: Endpoint, data: Buffer, extraDelayMs = 0): void {
    this.sent++;
    if (this.dropIf(from, to, data) || this.random() < this.loss) {
      this.dropped++;
      return;
    }
    this.queue.push({ at: this.now + this.delayMs + this.extraDelay(from, to) + extraDelayMs, from, to, data: Buffer.from(data) });
  }

  private deliver(p: Packet): void {
    if (p.to.address === this.rendezvous.main.address) {
      this.rendezvous.receive(p.data, p.from, p.to);
      return;
    }
    for (const h of this.hosts) {
      if (h.down) continue;
      let via: number | undefined;
      if (h.nat?.kind === 'open') {
        if (p.to.address !== h.nat.publicIp) continue;
        const priv = h.nat.replies.get(`${endpointKey(p.from)}|${p.to.port}`);
        if (!priv) {
          // No flow of ours answers this: the router's own stack takes it, and conntrack keeps the flow.
          h.nat.poisoned.set(`${endpointKey(p.from)}|${p.to.port}`, this.now);
          this.dropped++;
          return;
        }
        if (priv.address !== h.local.address) continue;
        via = priv.port - h.local.port;
      } else if (h.nat) {
        if (p.to.address !== h.nat.publicIp) continue;
        const priv = h.nat.back.get(p.to.port);
        if (!priv || priv.address !== h.local.address) continue;
        // Address-and-port-dependent filtering: only replies from where this mapping has sent.
        if (h.nat.kind !== 'fullcone' && !h.nat.allowed.get(p.to.port)?.has(endpointKey(p.from))) {
          this.dropped++;
          return;
        }
        via = priv.port - h.local.port;
      } else {
        if (p.to.address !== h.local.address) continue;
        via = p.to.port - h.local.port;
      }
      if (via < 0 || via > 200) continue;
      h.room.receive(p.data, { ...p.from, via }, this.now);
      this.flush(h);
      return;
    }
    this.dropped++; // nobody there
  }

  /** Advance simulated time to `until` (or until `done`), delivering packets and firing timers in order. */
  run(until: number, done?: () => boolean): boolean {
    while (this.now <= until) {
      if (done?.()) return true;
      let next = Infinity;
      for (const p of this.queue) next = Math.min(next, p.at);
      for (const h of this.hosts) if (!h.down) next = Math.min(next, h.room.nextWakeup(), this.bulkDue(h));
      if (next === Infinity || next > until) {
        this.now = until;
        return done?.() ?? false;
      }
      this.now = Math.max(this.now, next);
      const due = this.queue.filter((p) => p.at <= this.now);
      this.queue = this.queue.filter((p) => p.at > this.now);
      for (const p of due) this.deliver(p);
      for (const h of this.hosts) {
        if (h.down) continue;
        if (h.room.nextWakeup() <= this.now) h.room.tick(this.now);
        else if (this.bulkDue(h) > this.now) continue;
        this.flush(h);
      }
    }
    return done?.() ?? false;
  }
}

/**
 * The rendezvous protocol reduced to what links need: cookie, register → welcome + members, joined pushes,
 * probes on two ports. (The real server, with its caps and rate limits, is tested on real sockets.)
 */
export class FakeRendezvous {
  readonly probe: Endpoint;
  private members = new Map<string, { from: Endpoint; record: MemberRecord }>();
  turn?: { server: Endpoint; username: string; password: string; ttlSeconds: number };
  /** Mailbox requests (types 0x40-0x4F) go here when set; `reply` answers the requester. */
  mailbox?: (data: Buffer, from: Endpoint, reply: (data: Buffer) => void) => void;
  /** The one cookie this rendezvous hands out. */
  static readonly COOKIE = Buffer.alloc(16, 7);

  /** Members the welcome carries; the rest follow as `peer` (joined = 0) messages, `overflowDelayMs` later. */
  maxKnown = Infinity;
  overflowDelayMs = 0;

  constructor(
    readonly main: Endpoint,
    private readonly send: (from: Endpoint, to: Endpoint, data: Buffer, extraDelayMs?: number) => void,
  ) {
    this.probe = { address: main.address, port: main.port + 1 };
  }

  receive(data: Buffer, from: Endpoint, to: Endpoint): void {
    if (this.mailbox && data.length >= 3 && data[2] >= 0x40 && data[2] <= 0x4f) {
      this.mailbox(data, from, (bytes) => this.sendFrom(to, from, bytes));
      return;
    }
    const m = decodeRendezvous(data);
    if (!m.ok) return;
    const reply = (msg: Parameters<typeof encodeRendezvous>[0]) => this.sendFrom(to, from, encodeRendezvous(msg));
    if (m.value.type === 'probe') {
      reply({ type: 'probeReply', txid: m.value.txid, observed: from });
      return;
    }
    if (m.value.type !== 'register') return;
    const r = m.value;
    if (r.cookie.every((b) => b === 0)) {
      reply({ type: 'cookie', cookie: FakeRendezvous.COOKIE });
      return;
    }
    const key = `${r.roomId.toString('hex')}/${r.peerId.toString('hex')}`;
    const record: MemberRecord = { peerId: r.peerId, name: r.name, flags: r.flags ?? 0, reflexive: from, candidates: r.candidates };
    const prev = this.members.get(key);
    const changed = !prev || JSON.stringify(prev.record) !== JSON.stringify(record);
    this.members.set(key, { from, record });
    const others = [...this.members.entries()].filter(([k]) => k.startsWith(r.roomId.toString('hex')) && k !== key);
    const known = others.slice(0, this.maxKnown).map(([, o]) => o.record);
    reply({ type: 'welcome', observed: from, refreshSeconds: 15, members: others.length + 1, ...(this.turn ? { turn: this.turn } : {}), known });
    for (const [, o] of others.slice(known.length)) this.send(to, from, encodeRendezvous({ type: 'peer', joined: false, member: o.record }), this.overflowDelayMs);
    if (changed) for (const [, o] of others) this.sendFrom(this.main, o.from, encodeRendezvous({ type: 'peer', joined: true, member: record }));
  }

  private sendFrom(from: Endpoint, to: Endpoint, data: Buffer): void {
    this.send(from, to, data);
  }
}
