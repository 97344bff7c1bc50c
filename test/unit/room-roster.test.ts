// Who a message is owed to: a line written right after joining, before the rendezvous has named the
// members already in the room, must reach every one of them exactly once, and the sender must not see
// `delivered` until all have acknowledged it. Rooms on the simulated network, injected clock.
import assert from 'node:assert/strict';
import { deriveRoomKeys } from '../../extension/core/noise';
import type { DeliveryState } from '../../extension/core/types';
import { SimHost, SimNet } from '../helpers/simNet';

const keys = deriveRoomKeys(Buffer.alloc(16, 7));

interface Watched {
  host: SimHost;
  got: { text: string; at: number }[];
  delivery: { id: string; state: DeliveryState; at: number }[];
}

function room(net: SimNet, names: string[]): Watched[] {
  return names.map((name, i) => {
    const host = net.addHost(name, { address: `10.0.0.${i + 2}`, port: 5000 }, undefined, { roomId: keys.roomId, psk: keys.psk, keepaliveMs: 1000, lostAfterMs: 4000 });
    const w: Watched = { host, got: [], delivery: [] };
    host.room.events = {
      message: (m) => void w.got.push({ text: m.body.kind === 'text' ? m.body.text : '', at: net.now }),
      delivery: (id, state) => void w.delivery.push({ id, state, at: net.now }),
    };
    return w;
  });
}

const meshUp = (ws: Watched[], peers: number) => () => ws.every((w) => w.host.room.state.kind === 'connected' && w.host.room.state.peers === peers);
const copies = (w: Watched, text: string) => w.got.filter((g) => g.text === text).length;
const deliveredAt = (w: Watched, id: string) => w.delivery.find((d) => d.id === id && d.state === 'delivered')?.at;

/** Members already chatting; then a joiner that writes a line the instant it starts, before any welcome. */
function joinAndWriteAtOnce(size: number, seed: number) {
  const net = new SimNet(seed);
  const names = ['Ann', 'Ben', 'Cat', 'Dan', 'Eve', 'Fay'].slice(0, size);
  const all = room(net, names);
  const members = all.slice(0, -1);
  const joiner = all[all.length - 1];
  for (const w of members) net.start(w.host);
  assert.ok(net.run(20000, meshUp(members, size - 2)), 'the members form a mesh first');
  net.start(joiner.host);
  const m = joiner.host.room.send({ kind: 'text', text: 'hello everyone' }, net.now);
  return { net, members, joiner, id: m.id };
}

describe('room: messages written before the member list is known', () => {
  for (const size of [3, 5]) {
    it(`room of ${size}: a line written at once after joining reaches all ${size - 1} members exactly once; delivered only after the last ack`, () => {
      const { net, members, joiner, id } = joinAndWriteAtOnce(size, 100 + size);
      assert.ok(net.run(net.now + 20000, () => deliveredAt(joiner, id) !== undefined && members.every((w) => copies(w, 'hello everyone') > 0)), 'delivered to all');
      // Run on: retransmissions and keepalives must not bring a second copy anywhere.
      net.run(net.now + 10000);
      for (const w of members) assert.equal(copies(w, 'hello everyone'), 1, `${w.host.name} got it once`);
      const lastArrival = Math.max(...members.map((w) => w.got.find((g) => g.text === 'hello everyone')!.at));
      assert.ok(deliveredAt(joiner, id)! >= lastArrival, 'delivered no earlier than the last member received it');
      assert.equal(joiner.delivery.filter((d) => d.id === id && d.state === 'delivered').length, 1, 'one delivered mark');
      assert.equal(joiner.host.room.pendingMessages().length, 0);
    });
  }

  it('room of 5 with one member unreachable: never marked delivered until that member, too, has it', () => {
    const net = new SimNet(21);
    const all = room(net, ['Ann', 'Ben', 'Cat', 'Dan', 'Eve']);
    const [ann, ben, cat, dan, eve] = all;
    for (const w of [ann, ben, cat, dan]) net.start(w.host);
    assert.ok(net.run(20000, meshUp([ann, ben, cat, dan], 3)));
    dan.host.down = true; // still registered at the rendezvous, so still a member of the room
    net.start(eve.host);
    const m = eve.host.room.send({ kind: 'text', text: 'written at once' }, net.now);
    assert.ok(net.run(net.now + 10000, () => [ann, ben, cat].every((w) => copies(w, 'written at once') === 1)), 'the reachable members have it');
    net.run(net.now + 10000);
    assert.equal(deliveredAt(eve, m.id), undefined, 'not delivered while Dan has not acknowledged it');
    assert.deepEqual(eve.host.room.pendingMessages().map((p) => p.id), [m.id]);
    dan.host.down = false;
    dan.host.room.tick(net.now);
    assert.ok(net.run(net.now + 60000, () => deliveredAt(eve, m.id) !== undefined), 'delivered once Dan is back');
    for (const w of [ann, ben, cat, dan]) assert.equal(copies(w, 'written at once'), 1, `${w.host.name} got it once`);
  });

  it('room of 5 whose welcome names one member and the rest follow late: a line written in between still owes all four', () => {
    const net = new SimNet(31);
    net.rendezvous.maxKnown = 1;
    net.rendezvous.overflowDelayMs = 300;
    const all = room(net, ['Ann', 'Ben', 'Cat', 'Dan', 'Eve']);
    const members = all.slice(0, 4);
    const eve = all[4];
    for (const w of members) net.start(w.host);
    assert.ok(net.run(20000, meshUp(members, 3)));
    let registered = false;
    eve.host.room.events.registered = () => void (registered = true);
    net.start(eve.host);
    assert.ok(net.run(net.now + 1000, () => registered), 'welcome arrived');
    assert.equal(eve.host.room.members().length, 1, 'only the member the welcome carried is known');
    const m = eve.host.room.send({ kind: 'text', text: 'between' }, net.now);
    assert.ok(net.run(net.now + 20000, () => deliveredAt(eve, m.id) !== undefined), 'delivered');
    net.run(net.now + 5000);
    for (const w of members) assert.equal(copies(w, 'between'), 1, `${w.host.name} got it once`);
    const lastArrival = Math.max(...members.map((w) => w.got.find((g) => g.text === 'between')!.at));
    assert.ok(deliveredAt(eve, m.id)! >= lastArrival);
  });

  it('written before the welcome of an empty room: alone by the rendezvous’s word, it goes to whoever joins first', () => {
    const net = new SimNet(41);
    const [ann, ben, cat] = room(net, ['Ann', 'Ben', 'Cat']);
    net.start(ann.host);
    const m = ann.host.room.send({ kind: 'text', text: 'anyone?' }, net.now);
    assert.ok(net.run(2000, () => ann.host.room.state.kind === 'waiting'));
    net.start(ben.host);
    assert.ok(net.run(net.now + 10000, () => deliveredAt(ann, m.id) !== undefined), 'delivered to the first joiner');
    assert.equal(copies(ben, 'anyone?'), 1);
    net.start(cat.host);
    net.run(net.now + 10000);
    assert.equal(copies(cat, 'anyone?'), 0, 'a later joiner was not in the room when it was written');
  });

  it('a message written after the roster is known owes exactly the members then present, not later joiners', () => {
    const net = new SimNet(51);
    const [ann, ben, cat] = room(net, ['Ann', 'Ben', 'Cat']);
    net.start(ann.host);
    net.start(ben.host);
    assert.ok(net.run(10000, meshUp([ann, ben], 1)));
    const m = ann.host.room.send({ kind: 'text', text: 'just us' }, net.now);
    net.start(cat.host);
    assert.ok(net.run(net.now + 10000, () => deliveredAt(ann, m.id) !== undefined && cat.host.room.state.kind === 'connected'));
    assert.equal(copies(ben, 'just us'), 1);
    assert.equal(copies(cat, 'just us'), 0);
  });
});
