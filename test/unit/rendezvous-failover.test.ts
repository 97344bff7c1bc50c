// The client side of several instances: two unanswered registrations move to the next instance in
// the ranking, a refresh on a fallback tries home first, and a move tells the instance left behind.
import assert from 'node:assert/strict';
import { COOKIE_BYTES, decodeRendezvous, RendezvousMessage } from '../../extension/core/wire/rendezvous';
import { RendezvousClient } from '../../extension/core/room/rendezvousClient';
import { Endpoint } from '../../extension/core/wire/endpoint';

const A = { address: '127.0.0.2', port: 7000 };
const B = { address: '127.0.0.3', port: 7000 };
const C = { address: '127.0.0.4', port: 7000 };

function rig(servers: Endpoint[]) {
  const sent: { to: Endpoint; m: RendezvousMessage }[] = [];
  const instances: Endpoint[] = [];
  let welcomes = 0;
  const client = new RendezvousClient(
    {
      server: servers[0],
      servers,
      roomId: Buffer.alloc(32, 1),
      peerId: Buffer.alloc(32, 2),
      name: () => 'me',
      hostCandidates: () => [],
      send: (to, data) => {
        const d = decodeRendezvous(data);
        assert.ok(d.ok);
        sent.push({ to, m: d.value });
      },
    },
    {
      welcome: () => welcomes++,
      peer: () => undefined,
      left: () => undefined,
      error: () => undefined,
      unreachable: () => undefined,
      nat: () => undefined,
      instance: (s) => instances.push(s),
    },
  );
  const registers = (to: Endpoint) => sent.filter((s) => s.m.type === 'register' && s.to.address === to.address).length;
  /** Play the instance `at`: cookie, then welcome, as the real server does. */
  const answer = (at: Endpoint, now: number) => {
    client.handle({ type: 'cookie', cookie: Buffer.alloc(COOKIE_BYTES, 9) }, at, now);
    client.handle({ type: 'welcome', observed: { address: '198.51.100.1', port: 1 }, refreshSeconds: 15, members: 1, known: [] }, at, now);
  };
  return { client, sent, instances, registers, answer, welcomes: () => welcomes };
}

describe('rendezvous client with several instances', () => {
  it('moves to the next instance after two unanswered registrations (750 ms)', () => {
    const r = rig([A, B, C]);
    r.client.start(0);
    assert.equal(r.registers(A), 1);
    r.client.tick(250);
    assert.equal(r.registers(A), 2);
    r.client.tick(749);
    assert.equal(r.registers(B), 0);
    r.client.tick(750);
    assert.equal(r.registers(B), 1, 'the third attempt goes to the next instance');
    assert.deepEqual(r.instances, [B]);
    r.answer(B, 760);
    assert.equal(r.welcomes(), 1);
    assert.ok(r.client.registered);
    assert.deepEqual(r.client.server, B);
  });
  it('ignores a late welcome from an instance it left, and believes every listed instance', () => {
    const r = rig([A, B]);
    r.client.start(0);
    r.client.tick(250);
    r.client.tick(750);
    r.client.handle({ type: 'welcome', observed: A, refreshSeconds: 15, members: 1, known: [] }, A, 800);
    assert.equal(r.welcomes(), 0);
    assert.ok(r.client.isServer(A) && r.client.isServer(B) && r.client.isServer({ address: B.address, port: 7001 }));
    assert.ok(!r.client.isServer({ address: '127.0.0.9', port: 7000 }));
  });
  it('a refresh on a fallback tries home first; home answering gets a leave sent to the fallback', () => {
    const r = rig([A, B]);
    r.client.start(0);
    r.client.tick(250);
    r.client.tick(750);
    r.answer(B, 760);
    // Refresh 15 s later: home (A) first. Still dead: two attempts, then back to B.
    r.client.tick(15_760);
    assert.deepEqual(r.client.server, A);
    r.client.tick(16_010);
    r.client.tick(16_510);
    assert.deepEqual(r.client.server, B);
    r.answer(B, 16_520);
    assert.equal(r.welcomes(), 2);
    // Next refresh: A is back and answers; B hears a leave, with the cookie B had accepted.
    r.client.tick(31_520);
    assert.deepEqual(r.client.server, A);
    r.answer(A, 31_530);
    const leave = r.sent.find((s) => s.m.type === 'leave');
    assert.ok(leave);
    assert.deepEqual(leave.to, B);
    assert.deepEqual(r.client.server, A);
  });
  it('one server: nothing changes (no move, same retry schedule)', () => {
    const r = rig([A]);
    r.client.start(0);
    for (const t of [250, 750, 1750, 3750]) r.client.tick(t);
    assert.equal(r.registers(A), 5);
    assert.deepEqual(r.instances, []);
  });
});
