// Routers with no inbound filter (Linux MASQUERADE, policy ACCEPT: Docker hosts, VM gateways), on the simulated
// network: an unsolicited punch is taken by the far router itself and blocks the mapping its host needs. The first
// punches of an attempt therefore prime our own NAT with a low TTL. Deterministic: injected clock, no sockets.
import assert from 'node:assert/strict';
import { deriveRoomKeys } from '../../extension/core/noise';
import { PRIME_ATTEMPTS, PRIME_TTL } from '../../extension/core/link/peerLink';
import { Endpoint } from '../../extension/core/wire/endpoint';
import { INTERNET_HOPS, NatKind, SimHost, SimNet } from '../helpers/simNet';

const keys = deriveRoomKeys(Buffer.alloc(16, 43));

function pair(net: SimNet, natA: NatKind, natB: NatKind) {
  const got = new Map<SimHost, string[]>();
  const mk = (name: string, ip: string, pub: string, kind: NatKind) => {
    const h = net.addHost(name, { address: ip, port: 5000 }, kind === 'none' ? undefined : net.nat(pub, kind), { roomId: keys.roomId, psk: keys.psk });
    h.room.events = { message: (m) => got.set(h, [...(got.get(h) ?? []), m.body.kind === 'text' ? m.body.text : '']) };
    return h;
  };
  return { a: mk('A', '10.0.1.2', '203.0.113.10', natA), b: mk('B', '10.0.2.2', '203.0.113.20', natB), got };
}

const connected = (...hs: SimHost[]) => () => hs.every((h) => h.room.state.kind === 'connected');

/**
 * The case that defeats crossing punches: B hears of A well after A hears of B (the rendezvous is far from B, or
 * B's first welcome was lost), so A's punches reach B's router before B has sent anything to A.
 */
function lateB(net: SimNet, b: SimHost) {
  net.delayMs = 2;
  net.extraDelay = (from: Endpoint, to: Endpoint) => (from.address === net.rendezvous.main.address && to.address === b.nat!.publicIp ? 100 : 0);
}

describe('links through routers with no inbound filter (simulated conntrack)', () => {
  it('the model reproduces the trap: an unsolicited packet blocks the port the host would have kept', () => {
    const net = new SimNet(21);
    const { b } = pair(net, 'open', 'open');
    const nat = b.nat!;
    const a: Endpoint = { address: '203.0.113.10', port: 5000 };
    // A's packet arrives first: taken by B's router.
    net.inject(a, { address: nat.publicIp, port: 5000 }, Buffer.from('x'));
    net.run(100);
    assert.equal(nat.poisoned.size, 1);
    // B's own flow to A now cannot keep its port.
    b.room.outgoing.push({ to: a, data: Buffer.from('y'), via: 0 });
    (net as unknown as { flush(h: SimHost): void }).flush(b);
    const port = nat.flows.get(`10.0.2.2:5000>${a.address}:${a.port}`);
    assert.ok(port !== undefined && port !== 5000, `B's flow got port ${port}`);
  });

  it('open ↔ open with B late: connects directly, every time, the first punches primed with a low TTL', () => {
    let worst = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const net = new SimNet(seed);
      const { a, b, got } = pair(net, 'open', 'open');
      lateB(net, b);
      net.start(a);
      net.run(1000);
      net.start(b);
      const t0 = net.now;
      assert.ok(net.run(t0 + 10_000, connected(a, b)), `seed ${seed}: A ${JSON.stringify(a.room.state)}, B ${JSON.stringify(b.room.state)}`);
      worst = Math.max(worst, net.now - t0);
      assert.equal(a.room.linkFor(b.room.selfId)!.path, 'direct');
      // Primed, so neither router took a punch for itself on the port that matters.
      assert.ok(net.ttlExpired > 0, 'priming punches were sent and expired before the far router');
      a.room.send({ kind: 'text', text: 'through' }, net.now);
      assert.ok(net.run(net.now + 2000, () => (got.get(b) ?? []).includes('through')), `seed ${seed}: message`);
    }
    // Both registrations (B's is 100 ms slow each way) plus the 120 ms of priming and a round trip.
    assert.ok(worst < 1000, `slowest connect ${worst} ms`);
  });

  it('priming is what makes it work: without the low TTL the same network never connects', () => {
    assert.ok(PRIME_TTL - 1 <= INTERNET_HOPS, 'the priming TTL dies before the far router');
    assert.ok(PRIME_ATTEMPTS >= 1);
    const net = new SimNet(3);
    const { a, b } = pair(net, 'open', 'open');
    lateB(net, b);
    // The same network, but every datagram leaves with the default TTL (what the code did before priming).
    for (const h of [a, b]) {
      const take = h.room.takeOutgoing.bind(h.room);
      h.room.takeOutgoing = () => take().map((o) => ({ ...o, ttl: undefined }));
    }
    net.start(a);
    net.run(1000);
    net.start(b);
    assert.equal(net.run(net.now + 10_000, connected(a, b)), false, 'a full-TTL first punch blocks the far router');
    assert.ok(b.nat!.poisoned.size > 0 || a.nat!.poisoned.size > 0);
  });

  it('open ↔ cone and cone ↔ open connect too, and cone ↔ cone is not slowed beyond the priming', () => {
    for (const [ka, kb] of [['open', 'cone'], ['cone', 'open'], ['cone', 'cone']] as const) {
      const net = new SimNet(7);
      const { a, b } = pair(net, ka, kb);
      lateB(net, b);
      net.start(a);
      net.run(1000);
      net.start(b);
      const t0 = net.now;
      assert.ok(net.run(t0 + 10_000, connected(a, b)), `${ka} ↔ ${kb}`);
      assert.ok(net.now - t0 < 1000, `${ka} ↔ ${kb}: ${net.now - t0} ms`);
    }
  });
});
