// Shared rig for the hostile-input suite: real Room hosts and a real rendezvous on loopback, raw
// sockets for the attacker, a recorder on a peer's socket, and read access to a link's live session.
// The session is private to PeerLink; tests read it (never write it) to aim forged packets at it.
import { prng } from '../../helpers/prng';
import * as dgram from 'node:dgram';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { generateKeyPair, type KeyPair } from '../../../extension/core/noise';
import { UdpRoomHost } from '../../../extension/core/net/udpRoomHost';
import type { PeerLink, Session } from '../../../extension/core/link/peerLink';
import { peerHint } from '../../../extension/core/link/hints';
import { MemoryRoomStore, type RoomStore } from '../../../extension/core/store/roomStore';
import type { ChatMessage, ConnectionState } from '../../../extension/core/types';
import type { Endpoint } from '../../../extension/core/wire/endpoint';
import { createLogger } from '../../../rendezvous/log';
import { RendezvousServer, type RendezvousServerOptions } from '../../../rendezvous/server';

export const LOOPBACK = '127.0.0.1';
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export const mono = () => performance.now();

/** Polls on the event loop; real sockets need real time, never a fixed sleep for a condition. */
export async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

let gcFn: (() => void) | undefined;
/** A real collection before a heap reading, without requiring --expose-gc on the command line. */
export function collect(): void {
  if (!gcFn) {
    setFlagsFromString('--expose-gc');
    gcFn = runInNewContext('gc') as () => void;
  }
  gcFn();
  gcFn();
}

/** After a collection: `heapUsed` counts the V8 heap plus Buffer memory (which lives outside it). */
export function memory(): { heapUsed: number; rss: number } {
  collect();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed + m.arrayBuffers, rss: m.rss };
}

export const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

export async function startServer(opts: RendezvousServerOptions = {}): Promise<{ server: RendezvousServer; port: number; probePort: number }> {
  const server = new RendezvousServer({ host: LOOPBACK, port: 0, logger: createLogger({ level: 'error', sink: () => undefined }), ...opts });
  const { port, probePort } = await server.start();
  return { server, port, probePort };
}

export interface Recorded {
  data: Buffer;
  to: Endpoint;
  at: number;
}

export interface Peer {
  host: UdpRoomHost;
  identity: KeyPair;
  id: string;
  store: RoomStore;
  received: ChatMessage[];
  states: ConnectionState[];
  logs: string[];
  /** Every datagram this peer sent, when started with `record`. */
  sent: Recorded[];
  /** The real send of the peer's socket: replays leave from the peer's own address through it. */
  rawSend(data: Buffer, to: Endpoint): void;
  port: number;
  close(): Promise<void>;
}

export interface PeerOptions {
  name: string;
  server: { port: number; probePort: number };
  keys: { roomId: Buffer; psk: Buffer };
  identity?: KeyPair;
  record?: boolean;
  punchTimeoutMs?: number;
  keepaliveMs?: number;
  lostAfterMs?: number;
}

export async function startPeer(o: PeerOptions): Promise<Peer> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, LOOPBACK, () => r()));
  try {
    socket.setRecvBufferSize(4 * 1024 * 1024);
  } catch {
    // capped by rmem_max: the default still works, with more kernel drops under a flood
  }
  const sent: Recorded[] = [];
  const realSend = socket.send.bind(socket) as (msg: Buffer, port: number, address: string, cb?: (e: Error | null) => void) => void;
  if (o.record) {
    (socket as unknown as { send: unknown }).send = (msg: Buffer, port: number, address: string, cb?: (e: Error | null) => void) => {
      sent.push({ data: Buffer.from(msg), to: { address, port }, at: mono() });
      realSend(msg, port, address, cb);
    };
  }
  const identity = o.identity ?? generateKeyPair();
  const store = new MemoryRoomStore();
  const logs: string[] = [];
  const host = new UdpRoomHost({
    identity,
    name: o.name,
    roomId: o.keys.roomId,
    psk: o.keys.psk,
    server: { address: LOOPBACK, port: o.server.port },
    probePort: o.server.probePort,
    store,
    socket,
    punchTimeoutMs: o.punchTimeoutMs,
    keepaliveMs: o.keepaliveMs,
    lostAfterMs: o.lostAfterMs,
    log: (level, message) => void logs.push(`${level}: ${message}`),
  });
  const peer: Peer = {
    host,
    identity,
    id: identity.publicKey.toString('hex'),
    store,
    received: [],
    states: [],
    logs,
    sent,
    rawSend: (data, to) => realSend(data, to.port, to.address),
    port: socket.address().port,
    close: async () => {
      await host.stop();
      await new Promise<void>((r) => socket.close(() => r()));
    },
  };
  host.room.events = {
    message: (m) => void peer.received.push(m),
    state: (s) => void peer.states.push(s),
  };
  await host.start();
  return peer;
}

export function say(p: Peer, text: string): void {
  p.host.room.send({ kind: 'text', text }, mono());
  p.host.pump();
}

export const texts = (p: Peer) => p.received.map((m) => (m.body.kind === 'text' ? m.body.text : '[snippet]'));

/** Messages counted by text: exactly-once means every expected text maps to 1. */
export function counts(p: Peer): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of texts(p)) m.set(t, (m.get(t) ?? 0) + 1);
  return m;
}

/** What the tests read of a link's private session: PeerLink's own type, not a copy that could drift. */
export type SessionView = Readonly<Session>;

export function link(p: Peer, other: Peer | string): PeerLink {
  const hex = typeof other === 'string' ? other : other.id;
  const l = p.host.room.linkFor(hex);
  if (!l) throw new Error(`${p.id.slice(0, 8)} has no link to ${hex.slice(0, 8)}`);
  return l;
}

/** Verified link to `other`, false while the rendezvous has not introduced it yet. */
export function verified(p: Peer, other: Peer): boolean {
  return p.host.room.linkFor(other.id)?.verified ?? false;
}

export function session(p: Peer, other: Peer | string): SessionView | undefined {
  return (link(p, other) as unknown as { session?: SessionView }).session;
}

export function roomIndexCount(p: Peer): number {
  return (p.host.room as unknown as { byIndex: Map<number, unknown> }).byIndex.size;
}

export function linkCount(p: Peer): number {
  return (p.host.room as unknown as { links: Map<string, unknown> }).links.size;
}

export const hintOf = (roomId: Buffer, id: KeyPair | Buffer) => peerHint(roomId, Buffer.isBuffer(id) ? id : id.publicKey);

export async function connectedPair(
  server: { port: number; probePort: number },
  keys: { roomId: Buffer; psk: Buffer },
  o: Partial<PeerOptions> = {},
): Promise<[Peer, Peer]> {
  const a = await startPeer({ ...o, name: 'Alice', server, keys });
  const b = await startPeer({ ...o, name: 'Bob', server, keys });
  await until(() => a.host.room.state.kind === 'connected' && b.host.room.state.kind === 'connected', 10_000, 'the pair to connect');
  return [a, b];
}

/** The lower static key initiates (PeerLink.initiator): tests need to know who plays which role. */
export function roles(a: Peer, b: Peer): { initiator: Peer; responder: Peer } {
  return Buffer.compare(a.identity.publicKey, b.identity.publicKey) < 0 ? { initiator: a, responder: b } : { initiator: b, responder: a };
}

/** An attacker's socket: counts every byte it sends and every byte that comes back. */
export interface RawSocket {
  socket: dgram.Socket;
  local: Endpoint;
  bytesOut: number;
  bytesIn: number;
  replies: { data: Buffer; from: Endpoint; at: number }[];
  send(data: Buffer, to: Endpoint | number): void;
  close(): Promise<void>;
}

export async function rawSocket(): Promise<RawSocket> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, LOOPBACK, () => r()));
  socket.on('error', () => undefined);
  const s: RawSocket = {
    socket,
    local: { address: LOOPBACK, port: socket.address().port },
    bytesOut: 0,
    bytesIn: 0,
    replies: [],
    send(data, to) {
      const ep = typeof to === 'number' ? { address: LOOPBACK, port: to } : to;
      s.bytesOut += data.length;
      socket.send(data, ep.port, ep.address);
    },
    close: () => new Promise<void>((r) => socket.close(() => r())),
  };
  socket.on('message', (data, rinfo) => {
    s.bytesIn += data.length;
    s.replies.push({ data, from: { address: rinfo.address, port: rinfo.port }, at: mono() });
  });
  return s;
}

/** Closes everything a test opened, whatever state it ended in. */
export class Cleanup {
  private readonly items: (() => Promise<unknown> | unknown)[] = [];
  add<T extends { close(): Promise<unknown> } | { stop(): Promise<unknown> }>(x: T): T {
    this.items.push(() => ('close' in x ? x.close() : x.stop()));
    return x;
  }
  fn(f: () => Promise<unknown> | unknown): void {
    this.items.push(f);
  }
  async run(): Promise<void> {
    for (const f of this.items.splice(0).reverse()) {
      try {
        await f();
      } catch {
        // already closed
      }
    }
  }
}

export { prng };
