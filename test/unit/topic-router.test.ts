// Topics over several rendezvous instances (contacts/topicRouter.ts), on the simulated clock and network
// of simTopics.ts with three real topic tables: HRW placement, failover after two unanswered sends, the
// return home once the instance answers again, and the datagram budget.
import assert from 'node:assert/strict';
import { rankInstances } from '../../extension/core/room/instances';
import { endpointKey } from '../../extension/core/wire/endpoint';
import { TopicSim, type SimPeer } from '../helpers/simTopics';

const hex = (p: SimPeer) => p.key.publicKey.toString('hex');

function befriend(sim: TopicSim, a: SimPeer, b: SimPeer): void {
  a.svc.setContacts([{ id: hex(b), staticKey: b.key.publicKey }], sim.now);
  b.svc.setContacts([{ id: hex(a), staticKey: a.key.publicKey }], sim.now);
}

/** The pair's topic today, and the instances ranked for it as a client ranks them. */
function pairTopic(sim: TopicSim, a: SimPeer, b: SimPeer): { topic: Buffer; ranked: number[] } {
  const topics = a.svc.tracker.wantedTopics();
  const topic = topics.find((t) => a.svc.tracker.contactForTopic(t.topic)?.id === hex(b))!.topic;
  const names = sim.instances.map((i) => ({ host: i.at.address, port: i.at.port }));
  const ranked = rankInstances(names, topic).map((n) => names.findIndex((x) => x.host === n.host));
  return { topic, ranked };
}

const holders = (sim: TopicSim) => sim.instances.map((i) => i.table.stats().memberships);

describe('contacts: topics over several rendezvous instances (simulated)', () => {
  it('a pair topic lives on the instance its HRW ranking puts first, for both contacts', () => {
    const sim = new TopicSim({ instances: 3 });
    for (let n = 0; n < 30; n++) {
      const a = sim.addPeer(`a${n}`);
      const b = sim.addPeer(`b${n}`);
      befriend(sim, a, b);
      a.svc.start(sim.now);
      b.svc.start(sim.now);
      sim.run(sim.now + 1000);
      const { topic, ranked } = pairTopic(sim, a, b);
      assert.equal(a.svc.status(hex(b)), 'online');
      assert.equal(endpointKey(a.svc.client.serverFor(topic)!), endpointKey(sim.instances[ranked[0]].at));
      assert.equal(endpointKey(b.svc.client.serverFor(topic)!), endpointKey(sim.instances[ranked[0]].at));
      a.svc.leave(sim.now);
      b.svc.leave(sim.now);
      sim.run(sim.now + 100);
    }
    // Every instance served some pairs (30 pairs over 3 missing one: p ≈ 3 × (2/3)^30 ≈ 2e-5).
    assert.ok(sim.instances.every((i) => i.rx > 0), `datagrams per instance: ${sim.instances.map((i) => i.rx)}`);
  });

  it('the instance dies: after two unanswered sends both contacts move to the next in the ranking and meet there within refresh + 2 s; back home once it answers', () => {
    const sim = new TopicSim({ instances: 3, refreshSeconds: 4 });
    const alice = sim.addPeer('alice');
    const bob = sim.addPeer('bob');
    befriend(sim, alice, bob);
    alice.svc.start(0);
    bob.svc.start(0);
    sim.run(5000);
    const { topic, ranked } = pairTopic(sim, alice, bob);
    assert.equal(alice.svc.status(hex(bob)), 'online');
    const home = sim.instances[ranked[0]];
    assert.ok(home.table.stats().memberships >= 2);

    // kill -9: silent from now on, its table forgotten.
    home.down = true;
    const killedAt = sim.now;
    sim.run(killedAt + 4000 + 2000);
    const next = sim.instances[ranked[1]];
    assert.equal(endpointKey(alice.svc.client.serverFor(topic)!), endpointKey(next.at));
    assert.equal(endpointKey(bob.svc.client.serverFor(topic)!), endpointKey(next.at));
    assert.ok(next.table.stats().memberships >= 2, `memberships per instance ${holders(sim)}`);
    assert.equal(alice.svc.status(hex(bob)), 'online');
    assert.equal(bob.svc.status(hex(alice)), 'online');
    // Presence never dropped: the partners known before the move were carried over and confirmed.
    assert.equal(alice.log.filter((e) => e.status === 'offline' && e.at > killedAt).length, 0, JSON.stringify(alice.log));

    // Silent meanwhile: one probe per refresh period, not a retry storm.
    const rxBefore = home.rx;
    home.down = false;
    home.table = new (home.table.constructor as new (o: object) => typeof home.table)({ refreshSeconds: 4 });
    const backAt = sim.now;
    sim.run(backAt + 4000 + 1000);
    assert.equal(endpointKey(alice.svc.client.serverFor(topic)!), endpointKey(home.at), 'home again');
    assert.equal(endpointKey(bob.svc.client.serverFor(topic)!), endpointKey(home.at));
    assert.ok(home.table.stats().memberships >= 2);
    assert.equal(alice.svc.status(hex(bob)), 'online');
    assert.ok(home.rx - rxBefore < 20, `datagrams to the instance once back: ${home.rx - rxBefore}`);
    // The fallback was told (leave), not left to expire.
    sim.run(sim.now + 1000);
    assert.equal(next.table.stats().memberships, 0, `memberships per instance ${holders(sim)}`);
  });

  it('every instance silent: retries where it is and reports unreachable; the first to answer takes the topics', () => {
    const sim = new TopicSim({ instances: 2, refreshSeconds: 4 });
    const alice = sim.addPeer('alice');
    const bob = sim.addPeer('bob');
    befriend(sim, alice, bob);
    let unreachable = 0;
    alice.svc.events.unreachable = () => unreachable++;
    for (const i of sim.instances) i.down = true;
    alice.svc.start(0);
    sim.run(10_000);
    assert.equal(unreachable, 1);
    const sent = alice.svc.client.sent;
    assert.ok(sent < 20, `sent ${sent} datagrams in 10 s of silence`);
    for (const i of sim.instances) i.down = false;
    bob.svc.start(sim.now);
    sim.run(sim.now + 8000);
    assert.equal(alice.svc.status(hex(bob)), 'online');
    assert.equal(bob.svc.status(hex(alice)), 'online');
  });

  it('200 contacts over 3 instances still cost at most 2 rendezvous datagrams per second', () => {
    const sim = new TopicSim({ instances: 3, refreshSeconds: 15 });
    const me = sim.addPeer('me');
    const others = Array.from({ length: 200 }, (_, n) => sim.addPeer(`c${n}`));
    me.svc.setContacts(others.map((o) => ({ id: hex(o), staticKey: o.key.publicKey })), 0);
    for (const o of others.slice(0, 50)) {
      o.svc.setContacts([{ id: hex(me), staticKey: me.key.publicKey }], 0);
      o.svc.start(0);
    }
    me.svc.start(0);
    sim.run(600_000);
    const online = others.filter((o) => me.svc.status(hex(o)) === 'online').length;
    assert.equal(online, 50);
    const perSecond = me.svc.client.sent / 600;
    assert.ok(perSecond <= 2, `${perSecond.toFixed(2)} datagrams/s`);
  });
});
