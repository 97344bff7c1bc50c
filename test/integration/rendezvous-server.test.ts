// Real sockets on loopback: pairing, probes, IPv6 and dual stack, leave/expiry, caps, TURN.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as dgram from 'node:dgram';
import { ErrorCode } from '../../extension/core/wire/rendezvous';
import { silentLogger } from '../../rendezvous/log';
import { RendezvousServer, RendezvousServerOptions } from '../../rendezvous/server';
import { RendezvousTestClient } from '../helpers/rendezvousClient';

const servers: RendezvousServer[] = [];
const clients: RendezvousTestClient[] = [];

async function server(opts: RendezvousServerOptions = {}) {
  const s = new RendezvousServer({ port: 0, host: '127.0.0.1', logger: silentLogger, ...opts });
  servers.push(s);
  return { s, ports: await s.start() };
}

async function client(port: number, address = '127.0.0.1') {
  const c = await RendezvousTestClient.open({ address, port });
  clients.push(c);
  return c;
}

const member = (roomId: Buffer, name: string, candidates: { address: string; port: number }[] = []) => ({
  roomId,
  peerId: randomBytes(32),
  name,
  candidates,
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

describe('rendezvous server over loopback', () => {
  for (const family of ['127.0.0.1', '::1']) {
    it(`pairs two clients and answers probes on both ports (${family})`, async () => {
      const { s, ports } = await server({ host: family });
      const a = await client(ports.port, family);
      const b = await client(ports.port, family);
      const roomId = randomBytes(32);
      const ma = { ...member(roomId, 'alice', [{ address: '10.0.1.2', port: 4000 }]), flags: 1 };
      const mb = { ...member(roomId, 'bob', [{ address: 'fd00::2', port: 4001 }]), flags: 2 };
      a.join(ma);
      b.join(mb);
      await a.waitFor(() => a.peers.size === 1, 2000, 'a learns b');
      await b.waitFor(() => b.peers.size === 1, 2000, 'b learns a');
      assert.deepEqual(a.peers.get(mb.peerId.toString('hex')), { peerId: mb.peerId, name: 'bob', flags: 2, reflexive: b.local, candidates: mb.candidates });
      assert.deepEqual(b.peers.get(ma.peerId.toString('hex')), { peerId: ma.peerId, name: 'alice', flags: 1, reflexive: a.local, candidates: ma.candidates });
      assert.deepEqual(a.welcome?.observed, a.local);
      assert.equal(b.welcome?.members, 2);
      assert.equal(a.cookies, 1, 'one cookie round trip, then registered');
      assert.deepEqual(await a.probe(ports.port), a.local);
      assert.deepEqual(await a.probe(ports.probePort), a.local);
      const st = s.stats();
      assert.ok(st.unverified.bytesOut <= st.unverified.bytesIn, JSON.stringify(st.unverified));
      assert.equal(st.rooms, 1);
      assert.equal(st.members, 2);
    });
  }

  it('a dual-stack server introduces an IPv4 client to an IPv6 client and reports plain IPv4 addresses', async function () {
    const { ports } = await server({ host: '::' });
    const v4 = await client(ports.port, '127.0.0.1');
    const v6 = await client(ports.port, '::1');
    const roomId = randomBytes(32);
    v4.join(member(roomId, 'four'));
    v6.join(member(roomId, 'six'));
    await v4.waitFor(() => v4.peers.size === 1, 2000);
    await v6.waitFor(() => v6.peers.size === 1, 2000);
    assert.deepEqual([...v4.peers.values()][0].reflexive, v6.local);
    assert.deepEqual([...v6.peers.values()][0].reflexive, v4.local);
    assert.equal(v4.local.address, '127.0.0.1');
    assert.deepEqual(await v4.probe(ports.probePort), v4.local);
  });

  it('leave tells the others at once; silence expires a member', async () => {
    const { s, ports } = await server({ expiryMs: 300, expiryIntervalMs: 50, refreshSeconds: 60 });
    const a = await client(ports.port);
    const b = await client(ports.port);
    const c = await client(ports.port);
    const roomId = randomBytes(32);
    for (const [x, n] of [[a, 'a'], [b, 'b'], [c, 'c']] as const) x.join(member(roomId, n));
    await a.waitFor(() => a.peers.size === 2, 2000);
    await b.waitFor(() => b.peers.size === 2, 2000);
    await c.waitFor(() => c.peers.size === 2, 2000);
    c.leave();
    await a.waitFor(() => a.peers.size === 1, 1000, 'a hears c left');
    await b.waitFor(() => b.peers.size === 1, 1000, 'b hears c left');
    const t0 = Date.now();
    // a keeps refreshing; b goes silent (its refresh interval is 60 s).
    const keep = setInterval(() => a.join(a.membership!), 100);
    try {
      await a.waitFor(() => a.peers.size === 0, 2000, 'b expires');
    } finally {
      clearInterval(keep);
    }
    const waited = Date.now() - t0;
    assert.ok(waited >= 150 && waited < 1500, `expired after ${waited} ms`);
    assert.equal(s.stats().table.expired, 1);
    assert.equal(s.stats().table.left, 1);
  });

  it('a full room refuses the next member with RoomFull', async () => {
    const { s, ports } = await server({ maxMembersPerRoom: 2 });
    const roomId = randomBytes(32);
    const cs = await Promise.all([0, 1, 2].map(() => client(ports.port)));
    cs[0].join(member(roomId, 'a'));
    cs[1].join(member(roomId, 'b'));
    await cs[1].waitFor(() => cs[1].peers.size === 1, 2000);
    cs[2].join(member(roomId, 'c'));
    await cs[2].waitFor(() => cs[2].errors.length > 0, 2000, 'RoomFull');
    assert.equal(cs[2].errors[0].code, ErrorCode.RoomFull);
    assert.match(cs[2].errors[0].message, /full/);
    assert.equal(s.stats().members, 2);
    assert.equal(s.stats().table.refused.roomFull >= 1, true);
  });

  it('the same peer id from a new socket replaces the old entry and is pushed to the others', async () => {
    const { ports } = await server();
    const a = await client(ports.port);
    const b1 = await client(ports.port);
    const roomId = randomBytes(32);
    const mb = member(roomId, 'b');
    a.join(member(roomId, 'a'));
    b1.join(mb);
    await a.waitFor(() => a.peers.size === 1, 2000);
    const b2 = await client(ports.port);
    b2.join(mb);
    const key = mb.peerId.toString('hex');
    await a.waitFor(() => a.peers.get(key)?.reflexive.port === b2.local.port, 2000, 'a learns the new endpoint');
    assert.equal(a.peers.size, 1);
    await b2.waitFor(() => b2.peers.size === 1, 2000);
  });

  it('welcome carries TURN credentials only when configured', async () => {
    const turn = { server: { address: '127.0.0.1', port: 3478 }, secret: 'shh', ttlSeconds: 600 };
    const { ports } = await server({ turn, wallClock: () => 1_700_000_000_000 });
    const a = await client(ports.port);
    const ma = member(randomBytes(32), 'a');
    a.join(ma);
    await a.waitFor(() => a.welcome !== undefined, 2000);
    assert.equal(a.welcome?.turn?.username, `1700000600:${ma.peerId.subarray(0, 8).toString('hex')}`);
    assert.equal(a.welcome?.turn?.ttlSeconds, 600);
    assert.deepEqual(a.welcome?.turn?.server, turn.server);

    const plain = await server();
    const b = await client(plain.ports.port);
    b.join(member(randomBytes(32), 'b'));
    await b.waitFor(() => b.welcome !== undefined, 2000);
    assert.equal(b.welcome?.turn, undefined);
  });

  it('the probe port answers probes only', async () => {
    const { s, ports } = await server();
    const a = await client(ports.port);
    a.rtoMs = 50;
    a.join(member(randomBytes(32), 'a'));
    await a.waitFor(() => a.welcome !== undefined, 2000);
    a.send({ type: 'register', roomId: randomBytes(32), peerId: randomBytes(32), cookie: a.cookie, name: 'x', candidates: [] }, ports.probePort);
    await a.probe(ports.probePort);
    assert.equal(s.stats().drops.wrongPort, 1);
    assert.equal(s.stats().members, 1);
  });

  it('works over injected sockets and takes ownership of them', async () => {
    const main = dgram.createSocket('udp4');
    const probe = dgram.createSocket('udp4');
    await new Promise<void>((r) => main.bind(0, '127.0.0.1', r));
    const { s, ports } = await server({ sockets: { main, probe } });
    assert.equal(ports.port, main.address().port);
    const a = await client(ports.port);
    assert.deepEqual(await a.probe(ports.probePort), a.local);
    await s.stop();
    assert.throws(() => main.address(), 'closed by stop()');
  });
});
