// Punching, handshake, loss, roaming and relay-less failure, end to end through Rooms on a simulated
// network with an injected clock: deterministic, no sockets, hours of protocol time in milliseconds.
import assert from 'node:assert/strict';
import { deriveRoomKeys } from '../../extension/core/noise';
import { BIRTHDAY } from '../../extension/core/link/natStrategy';
import { decodeRendezvous } from '../../extension/core/wire/rendezvous';
import { SimHost, SimNet } from '../helpers/simNet';

const keys = deriveRoomKeys(Buffer.alloc(16, 42));
const texts = (h: SimHost, got: Map<SimHost, string[]>) => got.get(h) ?? [];

function pair(net: SimNet, natA: 'none' | 'cone' | 'symmetric', natB: 'none' | 'cone' | 'symmetric', extra: Record<string, number> = {}) {
  const got = new Map<SimHost, string[]>();
  const mk = (name: string, ip: string, pub: string, kind: 'none' | 'cone' | 'symmetric') => {
    const h = net.addHost(name, { address: ip, port: 5000 }, kind === 'none' ? undefined : net.nat(pub, kind), { roomId: keys.roomId, psk: keys.psk, ...extra });
    h.room.events = { message: (m) => got.set(h, [...(got.get(h) ?? []), m.body.kind === 'text' ? m.body.text : '']) };
    return h;
  };
  const a = mk('A', '10.0.1.2', '203.0.113.10', natA);
  const b = mk('B', '10.0.2.2', '203.0.113.20', natB);
  return { a, b, got };
}

const connected = (...hs: SimHost[]) => () => hs.every((h) => h.room.state.kind === 'connected');

describe('links on a simulated network (injected clock)', () => {
  it('cone ↔ cone behind filtering NATs: connects within a few round trips of both learning each other', () => {
    const net = new SimNet(1);
    const { a, b, got } = pair(net, 'cone', 'cone');
    net.start(a);
    net.run(1000);
    net.start(b);
    const t0 = net.now;
    assert.ok(net.run(t0 + 5000, connected(a, b)), 'connected');
    // 10 ms one-way: register (2 RTT with the cookie) + punch + handshake; well under a second.
    assert.ok(net.now - t0 < 400, `took ${net.now - t0} ms`);
    a.room.send({ kind: 'text', text: 'hi' }, net.now);
    assert.ok(net.run(net.now + 2000, () => texts(b, got).length === 1));
  });

  it('symmetric ↔ cone: the birthday method connects within bounds on sockets, rate and packets', () => {
    const net = new SimNet(3);
    const { a, b } = pair(net, 'symmetric', 'cone');
    net.start(a);
    net.run(1000);
    net.start(b);
    const t0 = net.now;
    assert.ok(net.run(t0 + 30000, connected(a, b)), `connected (A ${JSON.stringify(a.room.state)}, B ${JSON.stringify(b.room.state)})`);
    const link = b.room.linkFor(a.room.selfId)!;
    assert.equal(link.strategy, 'spray');
    assert.equal(a.room.linkFor(b.room.selfId)!.strategy, 'sockets');
    assert.ok(a.room.wantedSockets() <= BIRTHDAY.sockets);
    // Politeness: B's probe rate never exceeds the cap (measured over any 1 s window, + one tick of slack).
    const stamps = net.sentBy.get('B')!;
    let worst = 0;
    for (let i = 0, j = 0; i < stamps.length; i++) {
      while (stamps[i] - stamps[j] >= 1000) j++;
      worst = Math.max(worst, i - j + 1);
    }
    assert.ok(worst <= BIRTHDAY.sprayPerSecond + 60, `peak ${worst} packets/s`);
    // Everything B sent: one attempt's spray cap (enforced per attempt in PeerLink) plus the rest of its traffic
    // over those seconds (registrations every 3 s while punching, NAT-class probes every second, primed and
    // candidate Hellos, keepalives): up to ~330 seen once an unlucky spray needed nearly its whole cap.
    assert.ok(stamps.length < BIRTHDAY.sprayMaxPackets + 500, `${stamps.length} packets`);
  });

  it('replays exactly: the same seed gives the same packets at the same times (spray ports, tokens, keys are seeded)', () => {
    const run = () => {
      const net = new SimNet(3);
      const { a, b } = pair(net, 'symmetric', 'cone');
      net.start(a);
      net.run(1000);
      net.start(b);
      assert.ok(net.run(net.now + 30000, connected(a, b)), 'connected');
      return { at: net.now, a: net.sentBy.get('A')!.slice(), b: net.sentBy.get('B')!.slice(), sent: net.sent };
    };
    const first = run();
    assert.deepEqual(run(), first);
  });

  it('the spray rate is a room-wide budget: three symmetric members do not triple it, and all connect', () => {
    const net = new SimNet(4);
    const hosts = ['S1', 'S2', 'S3'].map((name, i) =>
      net.addHost(name, { address: `10.0.${i + 1}.2`, port: 5000 }, net.nat(`203.0.113.${10 + i}`, 'symmetric'), { roomId: keys.roomId, psk: keys.psk }),
    );
    const c = net.addHost('C', { address: '10.0.9.2', port: 5000 }, net.nat('203.0.113.99', 'cone'), { roomId: keys.roomId, psk: keys.psk });
    for (const h of hosts) net.start(h);
    net.run(1000);
    net.start(c);
    const t0 = net.now;
    assert.ok(net.run(t0 + 60000, () => c.room.state.kind === 'connected' && c.room.state.peers === 3), `C: ${JSON.stringify(c.room.state)}`);
    const stamps = net.sentBy.get('C')!.filter((t) => t >= t0);
    let worst = 0;
    for (let i = 0, j = 0; i < stamps.length; i++) {
      while (stamps[i] - stamps[j] >= 1000) j++;
      worst = Math.max(worst, i - j + 1);
    }
    // One budget (400/s) plus the ordinary punches and handshakes of three links.
    assert.ok(worst <= BIRTHDAY.sprayPerSecond + 100, `peak ${worst} packets/s from C`);
  });

  it('symmetric ↔ symmetric without a relay: fails as soon as both NAT classes are known, saying what is missing', () => {
    const net = new SimNet(5);
    const { a, b } = pair(net, 'symmetric', 'symmetric'); // the default 15 s punch timeout
    net.start(a);
    net.run(1000);
    net.start(b);
    const t0 = net.now;
    assert.ok(net.run(t0 + 60000, () => a.room.state.kind === 'failed' && b.room.state.kind === 'failed'));
    // Registration (cookie + register), the two classification probes and B's updated record: a few round trips.
    assert.ok(net.now - t0 < 300, `failed after ${net.now - t0} ms, not after a punch timeout`);
    for (const h of [a, b]) {
      const s = h.room.state;
      assert.ok(s.kind === 'failed');
      assert.match(s.reason, /no direct path to [AB] is possible and the rendezvous server offers no relay/);
      assert.match(s.reason, /symmetric NATs/);
      assert.match(s.reason, /TURN relay/);
      assert.doesNotMatch(s.reason, /strategy/);
      assert.match(s.hint, /enable a TURN relay/);
    }
    // At most the first priming punch left before both classes were known; no 15 s of punching in vain.
    assert.ok(a.room.linkFor(b.room.selfId)!.stats.helloSent <= 2, `${a.room.linkFor(b.room.selfId)!.stats.helloSent} punches`);
  });

  it('a link that fails without a relay being involved does not blame a relay', () => {
    const net = new SimNet(8);
    const { a, b } = pair(net, 'cone', 'cone', { punchTimeoutMs: 2000 });
    net.start(a);
    net.run(1000);
    net.start(b);
    assert.ok(net.run(net.now + 5000, () => a.room.linkFor(b.room.selfId) !== undefined));
    b.down = true; // B vanishes right after registering
    assert.ok(net.run(net.now + 10000, () => a.room.state.kind === 'failed'));
    const s = a.room.state;
    assert.ok(s.kind === 'failed');
    assert.match(s.reason, /no answer from B within 2 s/);
    assert.doesNotMatch(s.hint, /relay/i);
  });

  it('a failed link tries again on its own, backing off (5 s, then 10 s)', () => {
    const net = new SimNet(6);
    const { a, b } = pair(net, 'cone', 'cone', { punchTimeoutMs: 2000 });
    net.start(a);
    net.run(1000);
    net.start(b);
    const link = () => a.room.linkFor(b.room.selfId);
    assert.ok(net.run(net.now + 5000, () => link() !== undefined));
    b.down = true;
    const gaps: number[] = [];
    for (let i = 0; i < 2; i++) {
      assert.ok(net.run(net.now + 60000, () => link()?.phase === 'failed'), 'failed');
      const failedAt = net.now;
      assert.ok(net.run(net.now + 60000, () => link()?.phase === 'punching'), 'retrying');
      gaps.push(net.now - failedAt);
    }
    assert.deepEqual(gaps, [5000, 10000]);
  });

  it('presence: away and back reach the peer, and a peer that connects later learns we are away', () => {
    const net = new SimNet(3);
    const { a, b } = pair(net, 'cone', 'cone');
    const presenceOf = (h: SimHost, other: SimHost) => h.room.members().find((m) => m.peerId === other.room.selfId)?.presence;
    net.start(a);
    a.room.setAway(true, net.now); // before anyone is there to tell
    net.run(500);
    net.start(b);
    assert.ok(net.run(net.now + 5000, connected(a, b)));
    assert.ok(net.run(net.now + 1000, () => presenceOf(b, a) === 'away'), `B sees A as ${presenceOf(b, a)}`);
    assert.equal(presenceOf(a, b), 'online');
    a.room.setAway(false, net.now);
    assert.ok(net.run(net.now + 1000, () => presenceOf(b, a) === 'online'), `B sees A as ${presenceOf(b, a)}`);
  });

  it('connects and delivers everything at 20 % loss', () => {
    const net = new SimNet(7);
    net.loss = 0.2;
    const { a, b, got } = pair(net, 'cone', 'cone');
    net.start(a);
    net.start(b);
    assert.ok(net.run(60000, connected(a, b)));
    for (let i = 0; i < 100; i++) a.room.send({ kind: 'text', text: `m${i}` }, net.now);
    assert.ok(net.run(net.now + 120000, () => texts(b, got).length === 100));
    assert.deepEqual(texts(b, got), Array.from({ length: 100 }, (_, i) => `m${i}`));
  });

  it('a NAT rebinding mid-chat moves the session by authenticated packets only, and the chat goes on', () => {
    const net = new SimNet(9);
    const { a, b, got } = pair(net, 'cone', 'none', { keepaliveMs: 2000 });
    net.start(a);
    net.start(b);
    assert.ok(net.run(10000, connected(a, b)));
    const before = b.room.linkFor(a.room.selfId)!.endpoint!;
    // The NAT forgets A's mapping and gives it a new public port.
    a.nat!.map.clear();
    a.nat!.back.clear();
    a.nat!.allowed.clear();
    a.nat!.nextPort = 40000;
    (a.nat as { kind: string }).kind = 'symmetric';
    a.room.send({ kind: 'text', text: 'after rebinding' }, net.now);
    assert.ok(net.run(net.now + 20000, () => texts(b, got).includes('after rebinding')));
    const after = b.room.linkFor(a.room.selfId)!.endpoint!;
    assert.notEqual(after.port, before.port, 'B follows A to its new address');
    assert.equal(b.room.linkFor(a.room.selfId)!.stats.moved, 1);
  });

  it('a peer that vanishes is reported lost, and the outbox reaches it when it returns', () => {
    const net = new SimNet(11);
    const { a, b, got } = pair(net, 'cone', 'cone', { keepaliveMs: 1000, lostAfterMs: 4000 });
    net.start(a);
    net.start(b);
    assert.ok(net.run(10000, connected(a, b)));
    b.down = true;
    const m = a.room.send({ kind: 'text', text: 'while you were away' }, net.now);
    assert.ok(net.run(net.now + 10000, () => a.room.state.kind !== 'connected'), 'A notices');
    assert.ok(['reconnecting', 'failed', 'punching'].includes(a.room.state.kind));
    b.down = false;
    b.room.tick(net.now);
    assert.ok(net.run(net.now + 60000, () => texts(b, got).includes('while you were away')), 'delivered after return');
    void m;
  });
});

describe('lost rendezvous pushes (injected clock)', () => {
  it('a member update lost on its way (the NAT class) is fetched again while punching, not at the next 15 s refresh', () => {
    const net = new SimNet(12);
    const { a, b } = pair(net, 'cone', 'symmetric');
    net.start(a);
    net.run(1000);
    // Every push to A after the first (B's joined record, sent before B knew its NAT class) is lost.
    let pushes = 0;
    net.dropIf = (from, to, data) => {
      if (from.address !== net.rendezvous.main.address || to.address !== '203.0.113.10') return false;
      const m = decodeRendezvous(data);
      return m.ok && m.value.type === 'peer' && ++pushes > 1;
    };
    net.start(b);
    const t0 = net.now;
    assert.ok(net.run(t0 + 30_000, connected(a, b)), `A ${JSON.stringify(a.room.state)}, B ${JSON.stringify(b.room.state)}`);
    assert.ok(pushes >= 2, 'the update push was sent and dropped');
    assert.equal(a.room.linkFor(b.room.selfId)!.strategy, 'spray', 'A learned that B is symmetric');
    // A re-registers every 3 s while punching: it learns B's class at its first such refresh, then sprays.
    assert.ok(net.now - t0 < 8000, `connected after ${net.now - t0} ms (the next ordinary refresh would be at 15 s)`);
  });
});

describe('NAT classification under loss (injected clock)', () => {
  it('keeps probing past the first backoff: probe answers lost for 10 s still end in a class', () => {
    const net = new SimNet(13);
    const { a } = pair(net, 'symmetric', 'cone');
    net.dropIf = (from, _to, data) => {
      const m = from.address === net.rendezvous.main.address ? decodeRendezvous(data) : undefined;
      return net.now < 10_000 && m !== undefined && m.ok && m.value.type === 'probeReply';
    };
    net.start(a);
    net.run(9_999);
    assert.equal(a.room.natMapping, 'unknown');
    // The old schedule gave up after five tries (7.5 s); the class decides the strategy (and whether a relay is needed).
    // Now a probe goes out every second, so the first answers let through are at most a second away.
    assert.ok(net.run(11_100, () => a.room.natMapping === 'endpoint-dependent'), a.room.natMapping);
  });
});
