// Presence over the real topic table and cookie jar, on a simulated clock and network.
import assert from 'node:assert/strict';
import { generateKeyPair } from '../../extension/core/noise';
import { TopicSim, type SimPeer } from '../helpers/simTopics';

const hex = (p: SimPeer) => p.key.publicKey.toString('hex');

function befriend(sim: TopicSim, a: SimPeer, b: SimPeer): void {
  const add = (p: SimPeer, q: SimPeer) => {
    const known = [...(p.svc.tracker as unknown as { contacts: Map<string, { contact: { id: string; staticKey: Buffer } }> }).contacts.values()].map((t) => t.contact);
    p.svc.setContacts([...known, { id: hex(q), staticKey: q.key.publicKey }], sim.now);
  };
  add(a, b);
  add(b, a);
}

function when(p: SimPeer, contact: SimPeer, status: string, after = 0): number | undefined {
  return p.log.find((e) => e.contact === hex(contact) && e.status === status && e.at >= after)?.at;
}

describe('contacts: presence over topics (simulated)', () => {
  it('online within one round trip of both being registered; away; offline at once after a graceful quit', () => {
    const sim = new TopicSim();
    const alice = sim.addPeer('alice');
    const bob = sim.addPeer('bob');
    befriend(sim, alice, bob);
    alice.svc.start(0);
    sim.run(5000);
    assert.equal(alice.svc.status(hex(bob)), 'offline');
    bob.svc.start(sim.now);
    const bothAt = sim.now;
    sim.run(10_000);
    assert.equal(alice.svc.status(hex(bob)), 'online');
    assert.equal(bob.svc.status(hex(alice)), 'online');
    // cookie round trip + register round trip + push: 4 one-way delays of 10 ms
    assert.ok(when(alice, bob, 'online')! - bothAt <= 50, `alice saw bob after ${when(alice, bob, 'online')! - bothAt} ms`);

    bob.svc.setAway(true, sim.now);
    const awayAt = sim.now;
    sim.run(sim.now + 1000);
    assert.equal(alice.svc.status(hex(bob)), 'away');
    assert.ok(when(alice, bob, 'away', awayAt)! - awayAt <= 30);

    bob.svc.leave(sim.now);
    const quitAt = sim.now;
    sim.run(sim.now + 1000);
    assert.equal(alice.svc.status(hex(bob)), 'offline');
    assert.ok(when(alice, bob, 'offline', quitAt)! - quitAt <= 30);
  });

  it("our own second client on the pair's topic (a DM's) is not the contact, with isOwnClient", () => {
    for (const skip of [false, true]) {
      const sim = new TopicSim();
      const bob = sim.addPeer('bob');
      const own = new Set<string>();
      const isOwnClient = skip ? (id: Buffer) => own.has(id.toString('hex')) : undefined;
      const alice = sim.addPeer('alice', generateKeyPair(), undefined, { isOwnClient });
      // Alice's DM with Bob: the same key, its own client, registering only Bob's pair topic.
      const aliceDm = sim.addPeer('alice-dm', alice.key, undefined, { isOwnClient });
      own.add(alice.svc.client.clientId.toString('hex'));
      own.add(aliceDm.svc.client.clientId.toString('hex'));
      befriend(sim, alice, bob);
      aliceDm.svc.setContacts([{ id: hex(bob), staticKey: bob.key.publicKey }], 0);
      aliceDm.svc.setInUse(hex(bob), true, 0);
      alice.svc.start(0);
      aliceDm.svc.start(0);
      sim.run(5000);
      // Bob is not there: only a client of Alice's own is on the topic.
      assert.equal(alice.svc.status(hex(bob)), skip ? 'offline' : 'online', skip ? 'skipped' : 'without the hook the DM client looks like Bob');
      bob.svc.start(sim.now);
      sim.run(sim.now + 2000);
      assert.equal(alice.svc.status(hex(bob)), 'online');
      bob.svc.leave(sim.now);
      sim.run(sim.now + 1000);
      assert.equal(alice.svc.status(hex(bob)), skip ? 'offline' : 'online');
    }
  });

  it('a crash (no leave) is noticed within 3 refresh periods, whatever the phase of the refresh', () => {
    for (const crashOffset of [0, 1, 7000, 14_999]) {
      const sim = new TopicSim({ refreshSeconds: 15 });
      const alice = sim.addPeer('alice');
      const bob = sim.addPeer('bob');
      befriend(sim, alice, bob);
      alice.svc.start(0);
      bob.svc.start(0);
      sim.run(30_000 + crashOffset);
      assert.equal(alice.svc.status(hex(bob)), 'online');
      bob.down = true; // pulled cable
      const crashAt = sim.now;
      sim.run(crashAt + 3 * 15_000 + 1000);
      const off = when(alice, bob, 'offline', crashAt);
      assert.ok(off !== undefined, 'never went offline');
      assert.ok(off - crashAt <= 3 * 15_000, `offline ${off - crashAt} ms after the crash`);
      // …and not before its registration really lapsed (one lost refresh is survived).
      assert.ok(off - crashAt >= 15_000, `offline too early: ${off - crashAt} ms`);
    }
  });

  it('appear offline: contacts see nothing, except the one we are writing to', () => {
    const sim = new TopicSim();
    const alice = sim.addPeer('alice');
    const bob = sim.addPeer('bob');
    const carol = sim.addPeer('carol');
    befriend(sim, alice, bob);
    befriend(sim, alice, carol);
    alice.svc.setAppearOffline(true, 0);
    for (const p of [alice, bob, carol]) p.svc.start(0);
    sim.run(5000);
    assert.equal(bob.svc.status(hex(alice)), 'offline');
    assert.equal(carol.svc.status(hex(alice)), 'offline');
    alice.svc.setInUse(hex(bob), true, sim.now);
    sim.run(sim.now + 1000);
    assert.equal(bob.svc.status(hex(alice)), 'online', 'to send, alice meets bob');
    assert.equal(carol.svc.status(hex(alice)), 'offline', 'carol still sees nothing');
    assert.equal(alice.svc.status(hex(carol)), 'online', 'alice still sees carol');
    alice.svc.setInUse(hex(bob), false, sim.now);
    sim.run(sim.now + 1000);
    assert.equal(bob.svc.status(hex(alice)), 'offline');
  });

  it('survives 30 % loss in both directions (batches are retried until acknowledged)', () => {
    const sim = new TopicSim({ seed: 42 });
    sim.loss = 0.3;
    const alice = sim.addPeer('alice');
    const bob = sim.addPeer('bob');
    befriend(sim, alice, bob);
    alice.svc.start(0);
    bob.svc.start(0);
    // Each try needs four datagrams to survive (cookie and register, there and back): about 1 in 4 does.
    sim.run(15_000);
    assert.equal(alice.svc.status(hex(bob)), 'online');
    assert.equal(bob.svc.status(hex(alice)), 'online');
    sim.run(120_000);
    // Flapping would show as offline entries while both stayed up.
    assert.equal(alice.log.filter((e) => e.status === 'offline').length, 0, JSON.stringify(alice.log));
  });

  it('a lost topicPeer or topicGone is repaired by the next acknowledgement (partner counts differ: replay)', () => {
    const sim = new TopicSim({ refreshSeconds: 15 });
    const alice = sim.addPeer('alice');
    const bob = sim.addPeer('bob');
    befriend(sim, alice, bob);
    alice.svc.start(0);
    sim.run(1000);
    let dropped = 0;
    sim.dropIf = (_f, to, data) => to.address === alice.at.address && (data[2] === 0x33 || data[2] === 0x34) && dropped++ === 0;
    bob.svc.start(sim.now);
    sim.run(sim.now + 1000);
    assert.equal(dropped > 0, true);
    assert.equal(alice.svc.status(hex(bob)), 'offline', 'the push was lost');
    sim.run(sim.now + 15_000);
    assert.equal(alice.svc.status(hex(bob)), 'online', 'the next refresh ack carried 1 partner: alice asked again');
    // Now lose the gone of a graceful quit.
    dropped = 0;
    bob.svc.leave(sim.now);
    sim.run(sim.now + 1000);
    assert.equal(alice.svc.status(hex(bob)), 'online', 'the gone was lost');
    sim.run(sim.now + 15_000);
    assert.equal(alice.svc.status(hex(bob)), 'offline', 'the ack said 0 partners: the replay dropped bob');
  });

  it('a restarted rendezvous (empty table, new cookie key) is re-populated within one refresh period', () => {
    const sim = new TopicSim({ refreshSeconds: 15 });
    const alice = sim.addPeer('alice');
    const bob = sim.addPeer('bob');
    befriend(sim, alice, bob);
    alice.svc.start(0);
    bob.svc.start(0);
    sim.run(20_000);
    (sim as unknown as { table: unknown }).table = new (sim.table.constructor as new (o: object) => typeof sim.table)({ refreshSeconds: 15 });
    (sim as unknown as { jar: unknown }).jar = new (sim.jar.constructor as new (o: object) => typeof sim.jar)({ secret: Buffer.alloc(32, 9) });
    sim.run(20_000 + 2 * 15_000);
    assert.equal(sim.table.stats().memberships, 2);
  });

  it('200 contacts (50 online) cost at most 2 rendezvous datagrams per second on average', () => {
    const sim = new TopicSim({ refreshSeconds: 15 });
    const me = sim.addPeer('me');
    const contacts = Array.from({ length: 200 }, () => generateKeyPair());
    me.svc.setContacts(contacts.map((k) => ({ id: k.publicKey.toString('hex'), staticKey: k.publicKey })), 0);
    const online = contacts.slice(0, 50).map((k, i) => {
      const p = sim.addPeer(`c${i}`, k);
      p.svc.setContacts([{ id: hex(me), staticKey: me.key.publicKey }], 0);
      p.svc.start(0);
      return p;
    });
    me.svc.start(0);
    sim.run(600_000);
    assert.equal(online.filter((p) => p.svc.status(hex(me)) === 'online').length, 50);
    const perSecond = me.svc.client.sent / 600;
    assert.ok(perSecond <= 2, `${perSecond.toFixed(2)} datagrams/s`);
    assert.ok(perSecond < 0.5, `expected about 4 per 15 s, got ${perSecond.toFixed(2)}/s`);
  });
});
