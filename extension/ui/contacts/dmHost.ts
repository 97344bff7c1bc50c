// The I/O of one direct conversation with a contact, as the terminal peer's `dm` does it: one UDP
// socket shared by a Room (discovery 'external', only the pinned key may answer, KKpsk0) and a
// presence client that registers only this pair's topic, so the contact's announcements on it
// introduce the two ends. No `vscode` import: RoomSession drives it for a target of kind 'dm'.
import * as dgram from 'node:dgram';
import type { TopicInstance } from '../../core/contacts/topicRouter';
import { PairKeys, utcDay } from '../../core/contacts/topics';
import type { KeyPair } from '../../core/noise';
import { UdpPresenceHost } from '../../core/net/udpPresenceHost';
import { monotonicNow, UdpRoomHost } from '../../core/net/udpRoomHost';
import type { RoomEvents } from '../../core/room/room';
import type { FileRoomStore } from '../../core/store/roomStore';
import type { Endpoint } from '../../core/wire/endpoint';
import { NatFlags } from '../../core/wire/rendezvous';
import { addOwnClient, ownClientTest, removeOwnClient } from './ownClients';

export interface DmHostOptions {
  identity: KeyPair;
  /** The contact's X25519 static key (the pinned identity). */
  peerKey: Buffer;
  peerName: string;
  name: string;
  server: Endpoint;
  /** Several instances of one server: the pair's topic ranks them by HRW, and the mailbox follows it. */
  instances?: TopicInstance[];
  store: FileRoomStore;
  port?: number;
  bindAddress?: string;
  keepaliveMs?: number;
  log?: (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;
  /** The room's events, set before it starts so the first state change is seen. */
  events?: RoomEvents;
}

export interface DmHost {
  room: UdpRoomHost;
  presence: UdpPresenceHost;
  /**
   * Our presence as this DM's registration shows it. Appearing offline registers the pair's topic as a
   * watcher only: the contact's side stops seeing us, while we still see them and can open the link
   * (so we can still send).
   */
  setOwnPresence(p: 'online' | 'away' | 'offline'): void;
  stop(): Promise<void>;
}

export async function startDmHost(opts: DmHostOptions): Promise<DmHost> {
  const pair = new PairKeys(opts.identity, opts.peerKey);
  const family = opts.server.address.includes(':') ? 'udp6' : 'udp4';
  const sock = dgram.createSocket(family);
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(opts.port ?? 0, opts.bindAddress, () => {
      sock.off('error', reject);
      resolve();
    });
  });
  const id = opts.peerKey.toString('hex');
  // eslint-disable-next-line prefer-const
  let presence: UdpPresenceHost;
  const room = new UdpRoomHost({
    socket: sock,
    identity: opts.identity,
    name: opts.name,
    roomId: pair.conversationId,
    psk: pair.psk,
    server: opts.server,
    store: opts.store,
    discovery: 'external',
    onlyPeer: opts.peerKey,
    ...(opts.keepaliveMs ? { keepaliveMs: opts.keepaliveMs } : {}),
    // The DM's mailbox goes to the instance the pair's topic is registered with, and proves our
    // address with the presence client's cookie for it: the same socket.
    ...(opts.instances && opts.instances.length > 1
      ? {
          servers: opts.instances.map((i) => i.endpoint),
          mailboxServer: () => presence.service.client.serverFor(pair.topic(utcDay(Date.now()))),
          mailboxCookie: () => {
            const at = presence.service.client.serverFor(pair.topic(utcDay(Date.now())));
            return at ? presence.service.client.cookieFor(at) : presence.service.client.currentCookie;
          },
        }
      : { mailboxCookie: () => presence.service.client.currentCookie }),
    log: opts.log,
  });
  presence = new UdpPresenceHost(
    {
      identity: opts.identity,
      server: opts.server,
      ...(opts.instances && opts.instances.length > 1 ? { instances: opts.instances } : {}),
      socket: sock,
      extraCandidates: () => (room.room.relayedAddress ? [room.room.relayedAddress] : []),
      natFlags: () => (room.room.relayedAddress ? NatFlags.RelayCandidate : 0),
      isOwnClient: ownClientTest(opts.identity.publicKey),
    },
    {
      registered: (_observed, _now, turn) => {
        if (turn) room.room.setTurnCredentials(turn);
      },
      contactPartner: (_id, partner, now) => {
        room.room.meet({ peerId: opts.peerKey, name: opts.peerName, flags: partner.flags & 0x07, reflexive: partner.reflexive, candidates: partner.candidates }, now);
        room.pump();
      },
    },
  );
  addOwnClient(opts.identity.publicKey, presence.service.client.clientId);
  if (opts.events) room.room.events = opts.events;
  presence.service.setContacts([{ id, staticKey: opts.peerKey }], 0);
  presence.service.setInUse(id, true, 0);
  await room.start();
  await presence.start();
  // A relay address learnt later (a punch failed) is announced on the pair's topic at once.
  let relayed = '';
  const watch = setInterval(() => {
    const r = room.room.relayedAddress;
    const key = r ? `${r.address}:${r.port}` : '';
    if (key === relayed) return;
    relayed = key;
    presence.service.client.refreshNow(monotonicNow());
    presence.pump();
  }, 500);
  let stopped = false;
  return {
    room,
    presence,
    setOwnPresence(p) {
      const now = monotonicNow();
      presence.service.setInUse(id, p !== 'offline', now);
      presence.service.setAppearOffline(p === 'offline', now);
      presence.service.setAway(p === 'away', now);
      presence.pump();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(watch);
      await presence.stop();
      removeOwnClient(opts.identity.publicKey, presence.service.client.clientId);
      await room.stop();
      try {
        sock.close();
      } catch {
        // closed already
      }
    },
  };
}
