// Recovery after a NAT mapping change mid-chat, on the simulated network with an injected clock: A's router
// gets a new public address and forgets every flow (a reboot, a DHCP renewal), while the link is up. Targets:
// both directions flow again within one keepalive interval of the change, and within 2 s once A sends.
import assert from 'node:assert/strict';
import { deriveRoomKeys } from '../../extension/core/noise';
import { NatKind, SimHost, SimNat, SimNet } from '../helpers/simNet';

const keys = deriveRoomKeys(Buffer.alloc(16, 44));
const KEEPALIVE_MS = 15_000;

function pair(net: SimNet, natB: NatKind) {
  const got = new Map<SimHost, string[]>();
  const mk = (name: string, ip: string, pub: string, kind: NatKind) => {
    const h = net.addHost(name, { address: ip, port: 5000 }, kind === 'none' ? undefined : net.nat(pub, kind), { roomId: keys.roomId, psk: keys.psk, keepaliveMs: KEEPALIVE_MS });
    h.room.events = { message: (m) => got.set(h, [...(got.get(h) ?? []), m.body.kind === 'text' ? m.body.text : '']) };
    return h;
  };
  return { a: mk('A', '10.0.1.2', '203.0.113.10', 'cone'), b: mk('B', '10.0.2.2', '203.0.113.20', natB), got };
}

/** A new public address and no flows: every mapping of A's changes, the NAT stays endpoint-independent. */
function renumber(nat: SimNat, ip: string): void {
  nat.publicIp = ip;
  nat.map.clear();
  nat.back.clear();
  nat.allowed.clear();
}

function setup(seed: number, natB: NatKind) {
  const net = new SimNet(seed);
  const { a, b, got } = pair(net, natB);
  net.start(a);
  net.start(b);
  assert.ok(net.run(10_000, () => a.room.state.kind === 'connected' && b.room.state.kind === 'connected'));
  a.room.send({ kind: 'text', text: 'before' }, net.now);
  assert.ok(net.run(net.now + 2000, () => (got.get(b) ?? []).includes('before')));
  // Some time into the keepalive cycle, so the change does not line up with a timer.
  net.run(net.now + 4321);
  renumber(a.nat!, '203.0.113.11');
  return { net, a, b, got, changedAt: net.now };
}

const has = (got: Map<SimHost, string[]>, h: SimHost, t: string) => () => (got.get(h) ?? []).includes(t);

for (const natB of ['cone', 'fullcone'] as const) {
  const label = natB === 'cone' ? 'a port-restricted peer' : 'a full-cone peer';
  describe(`recovery after A's NAT mapping changes, with ${label} (injected clock)`, () => {
    it('A writes right after the change: delivered, and answered, within 2 s', () => {
      for (let seed = 1; seed <= 5; seed++) {
        const { net, a, b, got, changedAt } = setup(seed, natB);
        a.room.send({ kind: 'text', text: 'after' }, net.now);
        assert.ok(net.run(changedAt + 2000, has(got, b, 'after')), `seed ${seed}: not delivered within 2 s`);
        b.room.send({ kind: 'text', text: 'reply' }, net.now);
        assert.ok(net.run(changedAt + 2000, has(got, a, 'reply')), `seed ${seed}: reply not within 2 s of the change`);
      }
    });

    it('B writes right after the change (to the old address): delivered within one keepalive interval', () => {
      for (let seed = 1; seed <= 5; seed++) {
        const { net, a, b, got, changedAt } = setup(seed, natB);
        b.room.send({ kind: 'text', text: 'after' }, net.now);
        assert.ok(net.run(changedAt + KEEPALIVE_MS, has(got, a, 'after')), `seed ${seed}: not delivered within ${KEEPALIVE_MS} ms`);
        a.room.send({ kind: 'text', text: 'reply' }, net.now);
        assert.ok(net.run(net.now + 2000, has(got, b, 'reply')), `seed ${seed}: reply`);
      }
    });

    it('nobody writes: both directions work again within one keepalive interval of the change', () => {
      for (let seed = 1; seed <= 5; seed++) {
        const { net, a, b, got, changedAt } = setup(seed, natB);
        // B's session follows A to its new address (authenticated packets only), without anyone writing.
        const linkB = b.room.linkFor(a.room.selfId)!;
        assert.ok(net.run(changedAt + KEEPALIVE_MS, () => linkB.endpoint?.address === '203.0.113.11'), `seed ${seed}: B still aims at ${JSON.stringify(linkB.endpoint)}`);
        const at = net.now;
        b.room.send({ kind: 'text', text: 'b→a' }, net.now);
        a.room.send({ kind: 'text', text: 'a→b' }, net.now);
        assert.ok(net.run(at + 500, () => has(got, a, 'b→a')() && has(got, b, 'a→b')()), `seed ${seed}: both directions`);
      }
    });
  });
}
