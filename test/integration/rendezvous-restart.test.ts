// A server restart while clients are registered: the new process has a new cookie key and an empty
// table, so the clients' next refresh draws a `cookie`; they register again and meet again.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { silentLogger } from '../../rendezvous/log';
import { RendezvousServer } from '../../rendezvous/server';
import { RendezvousTestClient } from '../helpers/rendezvousClient';

describe('rendezvous restart', function () {
  this.timeout(15_000);

  for (const how of ['the same instance', 'a new instance'] as const) {
    it(`clients re-register and are re-introduced after stop + start on the same ports (${how})`, async () => {
      const first = new RendezvousServer({ port: 0, host: '127.0.0.1', refreshSeconds: 1, logger: silentLogger });
      const ports = await first.start();
      const a = await RendezvousTestClient.open({ address: '127.0.0.1', port: ports.port });
      const b = await RendezvousTestClient.open({ address: '127.0.0.1', port: ports.port });
      let second: RendezvousServer | undefined;
      try {
        const roomId = randomBytes(32);
        a.join({ roomId, peerId: randomBytes(32), name: 'a', candidates: [] });
        b.join({ roomId, peerId: randomBytes(32), name: 'b', candidates: [] });
        await a.waitFor(() => a.peers.size === 1, 2000);
        await b.waitFor(() => b.peers.size === 1, 2000);
        const cookiesBefore = [a.cookies, b.cookies];
        const oldCookie = a.cookie;

        await first.stop();
        a.peers.clear();
        b.peers.clear();
        const welcomes = [a.welcomes, b.welcomes];
        await new Promise((r) => setTimeout(r, 300)); // refreshes fall into the gap and are lost

        second = how === 'the same instance' ? first : new RendezvousServer({ port: ports.port, probePort: ports.probePort, host: '127.0.0.1', refreshSeconds: 1, logger: silentLogger });
        const again = await second.start();
        assert.deepEqual(again, ports);
        const t0 = Date.now();
        await a.waitFor(() => a.peers.size === 1 && a.welcomes > welcomes[0], 5000, 'a re-introduced');
        await b.waitFor(() => b.peers.size === 1 && b.welcomes > welcomes[1], 5000, 'b re-introduced');
        const took = Date.now() - t0;
        assert.ok(a.cookies > cookiesBefore[0] && b.cookies > cookiesBefore[1], 'both saw a fresh cookie');
        assert.ok(!a.cookie.equals(oldCookie), 'the new process uses a new cookie key');
        assert.equal(second.stats().members, 2);
        assert.equal(second.stats().cookiesIssued >= 2, true);
        assert.ok(took < 4000, `re-introduced after ${took} ms`);
      } finally {
        await Promise.all([a.close(), b.close()]);
        await first.stop();
        await second?.stop();
      }
    });
  }
});
