// A deterministic simulated network for sans-I/O presence: PresenceServices on an injected clock, the
// real topic table and cookie jar as the rendezvous (the same code paths as rendezvous/server.ts's
// onTopic), per-packet delay and seeded loss. No sockets, no timers.
import { PresenceService } from '../../extension/core/contacts/presenceService';
import { generateKeyPair, type KeyPair } from '../../extension/core/noise';
import { Endpoint, endpointKey } from '../../extension/core/wire/endpoint';
import { encodeRendezvous } from '../../extension/core/wire/rendezvous';
import { decodeTopic } from '../../extension/core/wire/topics';
import { CookieJar } from '../../rendezvous/cookie';
import { TopicTable } from '../../rendezvous/topics';
import { prng, type Prng } from './prng';

interface Packet {
  at: number;
  from: Endpoint;
  to: Endpoint;
  data: Buffer;
}

export interface SimPeer {
  name: string;
  key: KeyPair;
  at: Endpoint;
  svc: PresenceService;
  down: boolean;
  log: { at: number; contact: string; status: string }[];
}

export const SERVER: Endpoint = { address: '192.0.2.1', port: 7000 };

/** One simulated rendezvous instance (its own table and cookie key). */
export interface SimInstance {
  at: Endpoint;
  table: TopicTable;
  jar: CookieJar;
  down: boolean;
  rx: number;
}

export class TopicSim {
  now = 0;
  loss = 0;
  delayMs = 10;
  readonly instances: SimInstance[] = [];
  readonly peers: SimPeer[] = [];
  /** Drop chosen datagrams (a lost push, a lost gone). */
  dropIf?: (from: Endpoint, to: Endpoint, data: Buffer) => boolean;
  serverRx = 0;
  private queue: Packet[] = [];
  private readonly rng: Prng;

  /** The first instance's table (single-instance tests). */
  get table(): TopicTable {
    return this.instances[0].table;
  }
  set table(t: TopicTable) {
    this.instances[0].table = t;
  }
  get jar(): CookieJar {
    return this.instances[0].jar;
  }
  set jar(j: CookieJar) {
    this.instances[0].jar = j;
  }
  get serverDown(): boolean {
    return this.instances[0].down;
  }
  set serverDown(v: boolean) {
    this.instances[0].down = v;
  }

  /** `instances`: how many rendezvous instances (192.0.2.1, .2, …: port 7000). */
  constructor(opts: { refreshSeconds?: number; seed?: number; wallStart?: number; instances?: number } = {}) {
    for (let i = 0; i < (opts.instances ?? 1); i++) {
      this.instances.push({ at: { address: `192.0.2.${i + 1}`, port: 7000 }, table: new TopicTable({ refreshSeconds: opts.refreshSeconds ?? 15 }), jar: new CookieJar({ secret: Buffer.alloc(32, 7 + i) }), down: false, rx: 0 });
    }
    this.rng = prng(opts.seed ?? 1);
    this.wallStart = opts.wallStart ?? 1_765_000_000_000 + 12 * 3600_000;
  }
  private readonly wallStart: number;

  /** `instances`: which instances this peer's setting lists (default: all of them); `extra`: more service options. */
  addPeer(name: string, key: KeyPair = generateKeyPair(), instances?: number[], extra: { isOwnClient?: (clientId: Buffer) => boolean } = {}): SimPeer {
    const at = { address: `198.51.100.${this.peers.length + 1}`, port: 40000 + this.peers.length };
    const peer: SimPeer = { name, key, at, down: false, log: [], svc: undefined as unknown as PresenceService };
    const list = (instances ?? this.instances.map((_, i) => i)).map((i) => this.instances[i].at);
    peer.svc = new PresenceService(
      {
        identity: key,
        server: list[0],
        ...(this.instances.length > 1 ? { instances: list.map((e) => ({ name: { host: e.address, port: e.port }, endpoint: e })) } : {}),
        wallClock: () => this.wallStart + this.now,
        ...extra,
      },
      { presence: (contact, status, _p, now) => peer.log.push({ at: now, contact, status }) },
    );
    this.peers.push(peer);
    return peer;
  }

  /** Move queued datagrams out of every service onto the wire. */
  flush(): void {
    for (const p of this.peers) {
      for (const o of p.svc.takeOutgoing()) {
        if (p.down) continue;
        this.enqueue(p.at, o.to, o.data);
      }
    }
  }

  private enqueue(from: Endpoint, to: Endpoint, data: Buffer): void {
    if (this.loss > 0 && this.rng.next() < this.loss) return;
    if (this.dropIf?.(from, to, data)) return;
    this.queue.push({ at: this.now + this.delayMs, from, to, data });
  }

  private deliver(pk: Packet): void {
    const inst = this.instances.find((i) => endpointKey(i.at) === endpointKey(pk.to));
    if (inst) {
      if (inst.down) return;
      this.serverRx++;
      inst.rx++;
      const d = decodeTopic(pk.data);
      if (!d.ok) return;
      const m = d.value;
      if (m.type !== 'topicRegister' && m.type !== 'topicLeave') return;
      if (!inst.jar.verify(this.now, pk.from, m.cookie)) {
        this.enqueue(inst.at, pk.from, encodeRendezvous({ type: 'cookie', cookie: inst.jar.issue(this.now, pk.from) }));
        return;
      }
      const out = m.type === 'topicRegister' ? inst.table.register(this.now, pk.from, m) : inst.table.leave(this.now, pk.from, m.clientId, m.topics).out;
      for (const o of out) this.enqueue(inst.at, o.to, o.bytes);
      return;
    }
    const peer = this.peers.find((p) => endpointKey(p.at) === endpointKey(pk.to));
    if (!peer || peer.down) return;
    peer.svc.receive(pk.data, pk.from, this.now);
  }

  /** Run until `until` (ms), jumping from event to event; the server expires every second. */
  run(until: number): void {
    let nextExpiry = Math.ceil((this.now + 1) / 1000) * 1000;
    for (;;) {
      this.flush();
      const nextPacket = this.queue.reduce((t, p) => Math.min(t, p.at), Infinity);
      const nextTick = this.peers.reduce((t, p) => (p.down ? t : Math.min(t, p.svc.nextWakeup())), Infinity);
      const t = Math.min(nextPacket, nextTick, nextExpiry);
      if (t > until) break;
      this.now = Math.max(this.now, t);
      if (t === nextExpiry) {
        for (const inst of this.instances) if (!inst.down) for (const o of inst.table.expire(this.now)) this.enqueue(inst.at, o.to, o.bytes);
        nextExpiry += 1000;
      }
      const due = this.queue.filter((p) => p.at <= this.now);
      this.queue = this.queue.filter((p) => p.at > this.now);
      for (const pk of due) this.deliver(pk);
      for (const p of this.peers) if (!p.down && p.svc.nextWakeup() <= this.now) p.svc.tick(this.now);
    }
    this.now = until;
  }
}
