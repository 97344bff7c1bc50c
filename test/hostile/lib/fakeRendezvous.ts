// A rendezvous that lies, written with the project's own codec: it welcomes every register at once
// (no cookie) and tells each member whatever `announce` says about the room, so tests can swap
// endpoints, substitute keys and invent members. It never sees the room secret, as a real one.
import * as dgram from 'node:dgram';
import { decodeRendezvous, encodeRendezvous, type MemberRecord, type RendezvousMessage } from '../../../extension/core/wire/rendezvous';
import type { Endpoint } from '../../../extension/core/wire/endpoint';
import { LOOPBACK } from './rig';

export interface Registered {
  peerId: Buffer;
  name: string;
  from: Endpoint;
}

export interface FakeRendezvous {
  port: number;
  probePort: number;
  members: Map<string, Registered>;
  /** Datagrams it sent, by message type. */
  sent: Record<string, number>;
  /** Push the current lies to every member again (after changing `announce`). */
  pushAll(): void;
  close(): Promise<void>;
}

/**
 * `announce(self, all)` returns what to tell `self` about the room: the records it will believe are
 * its fellow members. It is asked again at every register and whenever someone new registers.
 */
export async function fakeRendezvous(announce: (self: Registered, all: Registered[]) => MemberRecord[]): Promise<FakeRendezvous> {
  const open = () =>
    new Promise<dgram.Socket>((resolve) => {
      const s = dgram.createSocket('udp4');
      s.on('error', () => undefined);
      s.bind(0, LOOPBACK, () => resolve(s));
    });
  const main = await open();
  const probe = await open();
  const members = new Map<string, Registered>();
  const sent: Record<string, number> = {};
  const send = (sock: dgram.Socket, m: RendezvousMessage, to: Endpoint) => {
    sent[m.type] = (sent[m.type] ?? 0) + 1;
    sock.send(encodeRendezvous(m), to.port, to.address);
  };
  // Long lists go out in paced batches: a burst would only measure the client's socket buffer.
  let queue: { m: RendezvousMessage; to: Endpoint }[] = [];
  let flushing = false;
  const flush = () => {
    for (const { m, to } of queue.splice(0, 32)) send(main, m, to);
    if (queue.length) setTimeout(flush, 3);
    else flushing = false;
  };
  const tell = (self: Registered, joined: boolean) => {
    for (const member of announce(self, [...members.values()])) queue.push({ m: { type: 'peer', joined, member }, to: self.from });
    if (!flushing) {
      flushing = true;
      flush();
    }
  };
  const onMessage = (sock: dgram.Socket) => (buf: Buffer, rinfo: dgram.RemoteInfo) => {
    const d = decodeRendezvous(buf);
    if (!d.ok) return;
    const from = { address: rinfo.address, port: rinfo.port };
    const m = d.value;
    if (m.type === 'probe') return send(sock, { type: 'probeReply', txid: m.txid, observed: from }, from);
    if (m.type !== 'register' || sock !== main) return;
    const key = m.peerId.toString('hex');
    const isNew = !members.has(key);
    const self: Registered = { peerId: m.peerId, name: m.name, from };
    members.set(key, self);
    send(main, { type: 'welcome', observed: from, refreshSeconds: 15, members: Math.min(255, members.size), known: [] }, from);
    tell(self, false);
    if (isNew) for (const other of members.values()) if (other !== self) tell(other, true);
  };
  main.on('message', onMessage(main));
  probe.on('message', onMessage(probe));
  return {
    port: main.address().port,
    probePort: probe.address().port,
    members,
    sent,
    pushAll: () => {
      for (const m of members.values()) tell(m, true);
    },
    close: async () => {
      queue = [];
      await Promise.all([main, probe].map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}

export function record(peerId: Buffer, name: string, reflexive: Endpoint, o: { flags?: number; candidates?: Endpoint[] } = {}): MemberRecord {
  return { peerId, name, flags: o.flags ?? 0, reflexive, candidates: o.candidates ?? [] };
}
