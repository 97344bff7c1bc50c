// A small rendezvous client for tests: registers with retries, follows cookies, refreshes on the
// interval the welcome announces, keeps the peer list, and counts every byte both ways.
import * as dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import { Endpoint, normaliseAddress } from '../../extension/core/wire/endpoint';
import { classify } from '../../extension/core/wire/header';
import {
  COOKIE_BYTES,
  decodeRendezvous,
  encodeRendezvous,
  MemberRecord,
  RendezvousMessage,
} from '../../extension/core/wire/rendezvous';

type Welcome = Extract<RendezvousMessage, { type: 'welcome' }>;

export interface Membership {
  roomId: Buffer;
  peerId: Buffer;
  name: string;
  flags?: number;
  candidates: Endpoint[];
}

export interface ClientCounters {
  sentDatagrams: number;
  sentBytes: number;
  receivedDatagrams: number;
  receivedBytes: number;
}

export class RendezvousTestClient extends EventEmitter {
  readonly socket: dgram.Socket;
  readonly server: Endpoint;
  local!: Endpoint;
  cookie: Buffer = Buffer.alloc(COOKIE_BYTES);
  membership?: Membership;
  welcome?: Welcome;
  welcomes = 0;
  cookies = 0;
  readonly peers = new Map<string, MemberRecord>();
  readonly errors: { code: number; message: string }[] = [];
  readonly log: RendezvousMessage[] = [];
  readonly counters: ClientCounters = { sentDatagrams: 0, sentBytes: 0, receivedDatagrams: 0, receivedBytes: 0 };
  /** Initial retransmission timeout for an unanswered register (doubles up to maxRtoMs). */
  rtoMs = 200;
  maxRtoMs = 2000;
  keepLog = true;
  private rto = 0;
  private retry?: NodeJS.Timeout;
  private refresh?: NodeJS.Timeout;
  private closed = false;

  private constructor(socket: dgram.Socket, server: Endpoint) {
    super();
    this.setMaxListeners(0);
    this.socket = socket;
    this.server = server;
    socket.on('message', (buf, rinfo) => this.onMessage(buf, rinfo));
    socket.on('error', () => {}); // ICMP errors while the server restarts are expected
  }

  static async open(server: Endpoint, bind?: string): Promise<RendezvousTestClient> {
    const v6 = server.address.includes(':');
    const socket = dgram.createSocket(v6 ? 'udp6' : 'udp4');
    const address = bind ?? (v6 ? '::1' : '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, address, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    const c = new RendezvousTestClient(socket, server);
    const a = socket.address();
    c.local = { address: normaliseAddress(a.address), port: a.port };
    return c;
  }

  sendRaw(buf: Uint8Array, port = this.server.port, address = this.server.address): void {
    if (this.closed) return;
    this.counters.sentDatagrams++;
    this.counters.sentBytes += buf.length;
    this.socket.send(buf, port, address);
  }

  send(m: RendezvousMessage, port?: number): void {
    this.sendRaw(encodeRendezvous(m), port);
  }

  /** Start (or change) membership; retried until a welcome arrives, then refreshed. */
  join(m: Membership): void {
    this.membership = m;
    this.rto = this.rtoMs;
    this.sendRegister();
  }

  leave(): void {
    const m = this.membership;
    if (!m) return;
    this.membership = undefined;
    this.clearTimers();
    this.send({ type: 'leave', roomId: m.roomId, peerId: m.peerId, cookie: this.cookie });
  }

  private sendRegister(): void {
    const m = this.membership;
    if (!m || this.closed) return;
    this.send({ type: 'register', roomId: m.roomId, peerId: m.peerId, cookie: this.cookie, name: m.name, flags: m.flags ?? 0, candidates: m.candidates });
    clearTimeout(this.retry);
    const jitter = 0.75 + Math.random() * 0.5;
    this.retry = setTimeout(() => {
      this.rto = Math.min(this.maxRtoMs, this.rto * 2);
      this.sendRegister();
    }, this.rto * jitter);
  }

  private onMessage(buf: Buffer, rinfo: dgram.RemoteInfo): void {
    this.counters.receivedDatagrams++;
    this.counters.receivedBytes += buf.length;
    if (classify(buf) !== 'p2p') {
      this.emit('raw', buf, rinfo);
      return;
    }
    const d = decodeRendezvous(buf);
    if (!d.ok) {
      this.emit('raw', buf, rinfo);
      return;
    }
    const m = d.value;
    if (this.keepLog) this.log.push(m);
    switch (m.type) {
      case 'cookie':
        this.cookies++;
        // A cookie answers a request the server refused to act on: repeat it with the new cookie.
        // The same cookie again only answers a retransmission; the retry timer already covers that,
        // and answering it too would double the traffic at every round under load.
        if (m.cookie.equals(this.cookie)) break;
        this.cookie = m.cookie;
        if (this.membership) this.sendRegister();
        break;
      case 'welcome':
        this.welcomes++;
        this.welcome = m;
        for (const member of m.known) this.peers.set(member.peerId.toString('hex'), member);
        clearTimeout(this.retry);
        this.rto = this.rtoMs;
        clearTimeout(this.refresh);
        this.refresh = setTimeout(() => this.sendRegister(), m.refreshSeconds * 1000);
        break;
      case 'peer':
        this.peers.set(m.member.peerId.toString('hex'), m.member);
        break;
      case 'left':
        this.peers.delete(m.peerId.toString('hex'));
        break;
      case 'error':
        this.errors.push({ code: m.code, message: m.message });
        break;
      default:
        break;
    }
    this.emit('message', m, rinfo);
  }

  /** Resolves once `pred()` holds, checked after every datagram; rejects after `timeoutMs`. */
  waitFor(pred: () => boolean, timeoutMs: number, what = 'condition'): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!pred()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.off('message', check);
        this.off('raw', check);
      };
      this.on('message', check);
      this.on('raw', check);
    });
  }

  /** Ask `port` (main or probe) where it sees us from. */
  async probe(port: number, timeoutMs = 1000): Promise<Endpoint> {
    const txid = Buffer.from(Array.from({ length: 8 }, () => Math.floor(Math.random() * 256)));
    let observed: Endpoint | undefined;
    const onMsg = (m: RendezvousMessage) => {
      if (m.type === 'probeReply' && m.txid.equals(txid)) observed = m.observed;
    };
    this.on('message', onMsg);
    try {
      this.send({ type: 'probe', txid }, port);
      await this.waitFor(() => observed !== undefined, timeoutMs, 'probeReply');
      return observed!;
    } finally {
      this.off('message', onMsg);
    }
  }

  private clearTimers(): void {
    clearTimeout(this.retry);
    clearTimeout(this.refresh);
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.clearTimers();
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

/** The parts of the untyped `stun` npm package the tests use as an independent STUN implementation. */
export interface StunLib {
  constants: Record<string, number>;
  createMessage(type: number, transactionId?: Buffer): StunMessage;
  encode(m: StunMessage): Buffer;
  decode(b: Buffer): StunMessage;
  validateFingerprint(m: StunMessage): boolean;
  request(url: string, options?: { socket?: dgram.Socket; timeout?: number; retries?: number }): Promise<StunMessage>;
}

export interface StunMessage {
  type: number;
  transactionId: Buffer;
  getXorAddress(): { address: string; port: number; family: string } | undefined;
  getAddress(): { address: string; port: number } | undefined;
  addFingerprint(): void;
  addSoftware(s: string): void;
  getAttribute(type: number): unknown;
  count: number;
}

export function stunLib(): StunLib {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('stun') as StunLib;
}
