// STUN interop: independent clients (the `stun` npm package, coturn's turnutils_stunclient) must get
// the right XOR-MAPPED-ADDRESS from both the main and the probe port, over IPv4 and IPv6.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as dgram from 'node:dgram';
import { promisify } from 'node:util';
import { normaliseAddress } from '../../extension/core/wire/endpoint';
import { silentLogger } from '../../rendezvous/log';
import { BoundPorts, RendezvousServer } from '../../rendezvous/server';
import { stunLib } from '../helpers/rendezvousClient';
import { requireTools } from '../helpers/tools';

const stun = stunLib();
const run = promisify(execFile);
const STUNCLIENT = 'turnutils_stunclient';

function bound(type: 'udp4' | 'udp6', address: string): Promise<dgram.Socket> {
  const s = dgram.createSocket(type);
  return new Promise((resolve) => s.bind(0, address, () => resolve(s)));
}

describe('rendezvous STUN interop', () => {
  let server: RendezvousServer;
  let ports: BoundPorts;
  /** Every STUN datagram's source as the server's sockets saw it, recorded beside the server. */
  const sources: { role: string; address: string; port: number }[] = [];

  before(async () => {
    const main = dgram.createSocket({ type: 'udp6', ipv6Only: false });
    const probe = dgram.createSocket({ type: 'udp6', ipv6Only: false });
    for (const [s, role] of [
      [main, 'main'],
      [probe, 'probe'],
    ] as const) {
      s.on('message', (buf, rinfo) => {
        if (buf.length >= 20 && buf.readUInt32BE(4) === 0x2112a442) sources.push({ role, address: normaliseAddress(rinfo.address), port: rinfo.port });
      });
    }
    server = new RendezvousServer({ port: 0, host: '::', sockets: { main, probe }, logger: silentLogger });
    ports = await server.start();
  });
  after(() => server.stop());

  for (const role of ['port', 'probePort'] as const) {
    it(`the stun package's client gets its own address from the ${role} (IPv4)`, async () => {
      const sock = await bound('udp4', '127.0.0.1');
      try {
        const res = await stun.request(`127.0.0.1:${ports[role]}`, { socket: sock, timeout: 200, retries: 3 });
        assert.deepEqual(res.getXorAddress(), { address: '127.0.0.1', port: sock.address().port, family: 'IPv4' });
      } finally {
        sock.close();
      }
    });

    it(`a stun-package-encoded request over IPv6 gets the right answer from the ${role}`, async () => {
      const sock = await bound('udp6', '::1');
      try {
        const req = stun.createMessage(stun.constants.STUN_BINDING_REQUEST);
        req.addSoftware('p2p-chat interop test');
        req.addFingerprint();
        const answer = new Promise<Buffer>((resolve) => sock.once('message', (b) => resolve(b)));
        sock.send(stun.encode(req), ports[role], '::1');
        const res = stun.decode(await answer);
        assert.deepEqual(res.transactionId, req.transactionId);
        assert.equal(stun.validateFingerprint(res), true);
        assert.deepEqual(res.getXorAddress(), { address: '::1', port: sock.address().port, family: 'IPv6' });
      } finally {
        sock.close();
      }
    });
  }

  for (const [family, target] of [
    ['IPv4', '127.0.0.1'],
    ['IPv6', '::1'],
  ] as const) {
    it(`coturn's turnutils_stunclient reads the right reflexive address from both ports (${family})`, async function () {
      requireTools('turnutils_stunclient interop', [{ bin: 'turnutils_stunclient', pkg: 'coturn' }]);
      for (const role of ['port', 'probePort'] as const) {
        sources.length = 0;
        // It sends once and never retransmits; loopback does not lose datagrams at this rate.
        const { stdout } = await run(STUNCLIENT, ['-p', String(ports[role]), target], { timeout: 5000 });
        const m = /UDP reflexive addr: (.+):(\d+)/.exec(stdout);
        assert.ok(m, stdout);
        assert.equal(sources.length >= 1, true);
        const seen = sources[sources.length - 1];
        assert.equal(seen.role, role === 'port' ? 'main' : 'probe');
        assert.equal(m[1], seen.address);
        assert.equal(Number(m[2]), seen.port);
        assert.equal(m[1], target);
      }
    });
  }

  it('STUN answers are counted apart from the project protocol', async () => {
    // Self-contained: its own Binding requests, counted against the stats before them (no other test's traffic).
    const before = server.stats();
    const sock = await bound('udp4', '127.0.0.1');
    try {
      for (const role of ['port', 'probePort', 'port'] as const) {
        await stun.request(`127.0.0.1:${ports[role]}`, { socket: sock, timeout: 500, retries: 3 });
      }
    } finally {
      sock.close();
    }
    const st = server.stats();
    assert.ok(st.stun.answers - before.stun.answers >= 3, `${JSON.stringify(before.stun)} → ${JSON.stringify(st.stun)}`);
    assert.equal(st.unverified.requests - before.unverified.requests, 0, 'STUN is not counted as the project protocol');
    assert.equal(st.unverified.bytesOut - before.unverified.bytesOut, 0);
  });
});
