// Direct messages against a lying rendezvous or directory: the contact's pinned key is the only key a DM
// ever talks to. A server that points our pairwise topic at someone else (even someone who somehow has the
// pair's psk) gets no session and no message, and the user is warned; a key that is not the pinned one is
// refused before any link exists.
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import { generateKeyPair, type KeyPair } from '../../extension/core/noise';
import { PairKeys } from '../../extension/core/contacts/topics';
import { UdpRoomHost } from '../../extension/core/net/udpRoomHost';
import { MemoryRoomStore } from '../../extension/core/store/roomStore';
import type { ChatMessage } from '../../extension/core/types';

const now = () => performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function dmHost(self: KeyPair, expected: Buffer, psk: Buffer, conversationId: Buffer, logs: string[]) {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const host = new UdpRoomHost({
    socket: sock,
    identity: self,
    name: 'x',
    roomId: conversationId,
    psk,
    server: { address: '127.0.0.1', port: 9 }, // never used: discovery is external
    store: new MemoryRoomStore(),
    discovery: 'external',
    onlyPeer: expected,
    punchTimeoutMs: 3000,
    log: (level, m) => logs.push(`${level}: ${m}`),
  });
  const received: ChatMessage[] = [];
  host.room.events = { message: (m) => received.push(m) };
  await host.start();
  return { host, sock, received, port: sock.address().port };
}

describe('hostile: DMs prove the pinned contact key', function () {
  this.timeout(30000);
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0)) await c();
  });

  for (const malloryInitiates of [false, true]) {
    it(`a rendezvous pointing alice's topic at mallory (who even has the psk) gets no session (${malloryInitiates ? 'mallory' : 'alice'} initiates)`, async () => {
      // The lower static key initiates: pick keys so each side gets to start once.
      let alice: KeyPair, mallory: KeyPair;
      do {
        alice = generateKeyPair();
        mallory = generateKeyPair();
      } while ((Buffer.compare(mallory.publicKey, alice.publicKey) < 0) !== malloryInitiates);
      const bob = generateKeyPair();
      const pair = new PairKeys(alice, bob.publicKey);
      const aLogs: string[] = [];
      const a = await dmHost(alice, bob.publicKey, pair.psk, pair.conversationId, aLogs);
      // Mallory runs the same conversation parameters (worst case: psk and hints leaked) with her own key.
      const m = await dmHost(mallory, alice.publicKey, pair.psk, pair.conversationId, []);
      cleanup.push(async () => {
        await a.host.stop();
        await m.host.stop();
        a.sock.close();
        m.sock.close();
      });
      a.host.room.send({ kind: 'text', text: 'for bob only' }, now());
      // The lie: "bob is at mallory's address" (what a topicPeer from a dishonest server would say).
      a.host.room.meet({ peerId: bob.publicKey, name: 'bob', flags: 0, reflexive: { address: '127.0.0.1', port: m.port }, candidates: [] }, now());
      m.host.room.meet({ peerId: alice.publicKey, name: 'alice', flags: 0, reflexive: { address: '127.0.0.1', port: a.port }, candidates: [] }, now());
      a.host.pump();
      m.host.pump();
      await sleep(2500);
      const link = a.host.room.linkFor(bob.publicKey.toString('hex'))!;
      assert.ok(link, 'alice has a link for bob');
      assert.equal(link.established, false, 'no session with anyone but bob');
      // Mallory's packets name her own key (hints are H(conversation || key)), so they never even reach a
      // handshake; one that forged bob's hint would still have to prove bob's static key (PeerLink checks
      // the Noise remote static against the pinned one: test/hostile/forgery.test.ts covers that for rooms).
      const refused = link.stats.identityMismatches + link.stats.authFailures + a.host.room.stats.droppedUnknownPeer;
      assert.ok(refused > 0, `mallory's packets were refused (${JSON.stringify(link.stats)}, ${JSON.stringify(a.host.room.stats)})`);
      assert.equal(m.received.length, 0, 'mallory got nothing');
      assert.equal(a.host.room.pendingMessages().length, 1, 'the message waits for bob');
    });
  }

  it('a member announced with any key but the pinned one is refused loudly, before any link', async () => {
    const alice = generateKeyPair();
    const bob = generateKeyPair();
    const pair = new PairKeys(alice, bob.publicKey);
    const logs: string[] = [];
    const a = await dmHost(alice, bob.publicKey, pair.psk, pair.conversationId, logs);
    cleanup.push(async () => {
      await a.host.stop();
      a.sock.close();
    });
    const other = generateKeyPair();
    a.host.room.meet({ peerId: other.publicKey, name: 'bob', flags: 0, reflexive: { address: '127.0.0.1', port: 9 }, candidates: [] }, now());
    assert.equal(a.host.room.linkFor(other.publicKey.toString('hex')), undefined);
    assert.ok(logs.some((l) => l.startsWith('error: refused a member with key')), logs.join('\n'));
  });
});
