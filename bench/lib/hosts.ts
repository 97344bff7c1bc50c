// Room hosts and a rendezvous for the benchmarks, the way the extension runs them, minus the UI.
import type * as dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, deriveRoomKeys, generateRoomSecret } from '../../extension/core/noise';
import { UdpRoomHost } from '../../extension/core/net/udpRoomHost';
import { FileRoomStore, MemoryRoomStore, RoomStore } from '../../extension/core/store/roomStore';
import type { ChatMessage } from '../../extension/core/types';
import { createLogger } from '../../rendezvous/log';
import { RendezvousServer } from '../../rendezvous/server';

export type StoreKind = 'memory' | 'file';

export interface BenchPeer {
  host: UdpRoomHost;
  /** Called for every delivered message, with performance.now() at delivery. */
  onMessage?: (m: ChatMessage, at: number) => void;
}

export function roomKeys() {
  return deriveRoomKeys(generateRoomSecret());
}

export function quietLogger() {
  return createLogger({ level: 'error', sink: () => undefined });
}

export async function startRendezvous(opts: { sockets?: { main: dgram.Socket; probe: dgram.Socket } } = {}) {
  const server = new RendezvousServer({ host: '127.0.0.1', port: 0, logger: quietLogger(), ...(opts.sockets ? { sockets: opts.sockets } : {}) });
  const ports = await server.start();
  return { server, ports };
}

const storeDirs: string[] = [];
process.on('exit', () => {
  for (const d of storeDirs) rmSync(d, { recursive: true, force: true });
});

export function newStore(kind: StoreKind): RoomStore {
  if (kind === 'memory') return new MemoryRoomStore();
  // The store the extension and the terminal peer ship with, in a directory removed at exit.
  const dir = mkdtempSync(join(tmpdir(), 'p2p-bench-store-'));
  storeDirs.push(dir);
  return new FileRoomStore(join(dir, 'room.json'));
}

export async function startBenchPeer(opts: {
  name: string;
  keys: { roomId: Buffer; psk: Buffer };
  server: { port: number; probePort: number };
  socket?: dgram.Socket;
  store?: StoreKind;
  /** Listen for member updates as the extension and the terminal peer do (default true). */
  listenMembers?: boolean;
}): Promise<BenchPeer> {
  const host = new UdpRoomHost({
    identity: generateKeyPair(),
    name: opts.name,
    roomId: opts.keys.roomId,
    psk: opts.keys.psk,
    server: { address: '127.0.0.1', port: opts.server.port },
    probePort: opts.server.probePort,
    store: newStore(opts.store ?? 'memory'),
    bindAddress: '127.0.0.1',
    ...(opts.socket ? { socket: opts.socket } : {}),
  });
  const peer: BenchPeer = { host };
  host.room.events = {
    message: (m) => peer.onMessage?.(m, performance.now()),
    // The extension's panel and the terminal peer both listen for member changes; so do we, because
    // listening is what makes the room compute member details (safety numbers) on its hot path.
    ...(opts.listenMembers === false ? {} : { members: () => undefined }),
  };
  await host.start();
  return peer;
}

/** Polls on the event loop (never a fixed sleep); rejects after `timeoutMs`. */
export async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Two peers in one room, connected (both links verified). */
export async function connectedPair(store: StoreKind = 'memory') {
  const { server, ports } = await startRendezvous();
  const keys = roomKeys();
  const a = await startBenchPeer({ name: 'A', keys, server: ports, store });
  const b = await startBenchPeer({ name: 'B', keys, server: ports, store });
  await until(() => a.host.room.state.kind === 'connected' && b.host.room.state.kind === 'connected', 10_000, 'both peers connected');
  return {
    a,
    b,
    server,
    async close() {
      await a.host.stop();
      await b.host.stop();
      await server.stop();
    },
  };
}
