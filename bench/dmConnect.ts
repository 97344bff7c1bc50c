// DM connect time: from the moment the rendezvous pairs two contacts on their DM topic to the first
// direct message decrypted, in round trips of the same delayed sockets the room's connect benchmark uses
// (10 ms per outgoing datagram: 20 ms RTT nominal). A DM is a room met through the topic, on the room's
// XXpsk3 path, so its floor is the room's 2.0 RTT (0.5 RTT of pushes, 1.5 RTT of Noise XX); the issue's
// 1.2 RTT needs KKpsk0 data in handshake message 1, which the link does not do yet.
import { generateKeyPair, type KeyPair } from '../extension/core/noise';
import { PairKeys } from '../extension/core/contacts/topics';
import { UdpPresenceHost } from '../extension/core/net/udpPresenceHost';
import { UdpRoomHost } from '../extension/core/net/udpRoomHost';
import { MemoryRoomStore } from '../extension/core/store/roomStore';
import { delaySocket, type DelaySocket } from './lib/delaySocket';
import { startRendezvous, until } from './lib/hosts';
import { median } from './lib/stats';

const DELAY_MS = 10;

async function dmEnd(self: KeyPair, peer: KeyPair, port: number, sock: DelaySocket, onMessage: (at: number) => void) {
  const pair = new PairKeys(self, peer.publicKey);
  const server = { address: '127.0.0.1', port };
  const room = new UdpRoomHost({
    socket: sock.socket,
    identity: self,
    name: 'x',
    roomId: pair.conversationId,
    psk: pair.psk,
    server,
    store: new MemoryRoomStore(),
    discovery: 'external',
    onlyPeer: peer.publicKey,
  });
  room.room.events = { message: () => onMessage(performance.now()) };
  const presence = new UdpPresenceHost(
    { identity: self, server, socket: sock.socket },
    {
      contactPartner: (_id, p, now) => {
        room.room.meet({ peerId: peer.publicKey, name: 'peer', flags: p.flags & 7, reflexive: p.reflexive, candidates: p.candidates }, now);
        room.pump();
      },
    },
  );
  const id = peer.publicKey.toString('hex');
  presence.service.setContacts([{ id, staticKey: peer.publicKey }], 0);
  presence.service.setInUse(id, true, 0);
  await room.start();
  return { room, presence };
}

/** One run: ms from the server pairing the two on their topic to the first decrypted DM. */
export async function dmConnectOnce(): Promise<number> {
  const main = await delaySocket(DELAY_MS);
  const probe = await delaySocket(DELAY_MS);
  const { server, ports } = await startRendezvous({ sockets: { main: main.socket, probe: probe.socket } });
  // The moment the table pairs them: wrap its register (the bench's only window into the server's hot path).
  const table = (server as unknown as { topicTable: { register: (...a: unknown[]) => unknown; stats(): { paired: number } } }).topicTable;
  let pairedAt: number | undefined;
  const orig = table.register.bind(table);
  table.register = (...a: unknown[]) => {
    const out = orig(...a);
    if (pairedAt === undefined && table.stats().paired > 0) pairedAt = performance.now();
    return out;
  };
  const a = generateKeyPair();
  const b = generateKeyPair();
  const sa = await delaySocket(DELAY_MS);
  const sb = await delaySocket(DELAY_MS);
  let firstAt: number | undefined;
  const first = (t: number) => {
    firstAt ??= t;
  };
  const A = await dmEnd(a, b, ports.port, sa, first);
  const B = await dmEnd(b, a, ports.port, sb, first);
  try {
    A.room.room.send({ kind: 'text', text: 'from a' }, performance.now());
    await A.presence.start();
    await until(() => A.presence.service.client.registered, 5000, 'A registered');
    B.room.room.send({ kind: 'text', text: 'from b' }, performance.now());
    await B.presence.start();
    await until(() => firstAt !== undefined, 10000, 'first DM');
    return firstAt! - pairedAt!;
  } finally {
    for (const e of [A, B]) {
      await e.presence.stop();
      await e.room.stop();
    }
    for (const s of [sa, sb, main, probe]) await s.close();
    await server.stop();
  }
}

export async function dmConnect(runs: number): Promise<{ medianMs: number; samples: number[] }> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) samples.push(await dmConnectOnce());
  return { medianMs: median(samples), samples };
}
