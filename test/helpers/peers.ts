// Helpers for tests that run real Room hosts on loopback sockets.
import { generateKeyPair, deriveRoomKeys, generateRoomSecret, type KeyPair } from '../../extension/core/noise';
import { UdpRoomHost } from '../../extension/core/net/udpRoomHost';
import { MemoryRoomStore, RoomStore } from '../../extension/core/store/roomStore';
import type { ChatMessage, ConnectionState, DeliveryState } from '../../extension/core/types';

export interface TestPeer {
  host: UdpRoomHost;
  identity: KeyPair;
  store: RoomStore;
  received: ChatMessage[];
  delivery: Map<string, DeliveryState>;
  states: ConnectionState[];
}

export function newRoomKeys() {
  return deriveRoomKeys(generateRoomSecret());
}

export async function startPeer(opts: {
  name: string;
  port: number;
  probePort?: number;
  keys: { roomId: Buffer; psk: Buffer };
  identity?: KeyPair;
  store?: RoomStore;
  keepaliveMs?: number;
  lostAfterMs?: number;
  punchTimeoutMs?: number;
  serverAddress?: string;
  socket?: import('node:dgram').Socket;
}): Promise<TestPeer> {
  const identity = opts.identity ?? generateKeyPair();
  const store = opts.store ?? new MemoryRoomStore();
  const host = new UdpRoomHost({
    identity,
    name: opts.name,
    roomId: opts.keys.roomId,
    psk: opts.keys.psk,
    server: { address: opts.serverAddress ?? '127.0.0.1', port: opts.port },
    probePort: opts.probePort,
    store,
    bindAddress: opts.serverAddress ?? '127.0.0.1',
    socket: opts.socket,
    keepaliveMs: opts.keepaliveMs,
    lostAfterMs: opts.lostAfterMs,
    punchTimeoutMs: opts.punchTimeoutMs,
  });
  const peer: TestPeer = { host, identity, store, received: [], delivery: new Map(), states: [] };
  host.room.events = {
    message: (m) => peer.received.push(m),
    delivery: (id, s) => void peer.delivery.set(id, s),
    state: (s) => void peer.states.push(s),
  };
  await host.start();
  return peer;
}

/** Polls a condition on the event loop; real sockets need real time, but never a fixed sleep. */
export async function until(cond: () => boolean, timeoutMs = 10000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
