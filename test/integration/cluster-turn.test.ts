// Per-instance TURN credentials with several instances: two rendezvous instances sharing a Redis
// and configured with the same coturn secret each hand out their own time-limited credentials, and a
// real coturn accepts both (a member that failed over to the second instance can still relay).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as dgram from 'node:dgram';
import { TurnClient } from '../../extension/core/relay/turnClient';
import { RedisRoomRegistry } from '../../rendezvous/cluster/registry';
import { silentLogger } from '../../rendezvous/log';
import { RendezvousServer } from '../../rendezvous/server';
import { Coturn, ensureCoturn, startCoturn } from '../helpers/coturn';
import { RedisProcess } from '../helpers/redis';
import { RendezvousTestClient } from '../helpers/rendezvousClient';

async function allocates(creds: { server: { address: string; port: number }; username: string; password: string }): Promise<boolean> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const client = new TurnClient({ server: creds.server, username: creds.username, password: creds.password, send: (to, d) => sock.send(d, to.port, to.address) });
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    const at = client.nextWakeup();
    if (Number.isFinite(at)) timer = setTimeout(() => (client.tick(Date.now()), arm()), Math.max(0, at - Date.now()));
  };
  sock.on('message', (m, r) => {
    const from = { address: r.address, port: r.port };
    if (client.isFromServer(from)) client.handle(m, from, Date.now());
    arm();
  });
  client.start(Date.now());
  arm();
  const end = Date.now() + 5000;
  while (client.state === 'allocating' && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  const ok = client.state === 'allocated';
  clearTimeout(timer);
  sock.close();
  return ok;
}

describe('TURN credentials from two instances sharing Redis', function () {
  this.timeout(60_000);
  let coturn: Coturn;
  let redis: RedisProcess;
  const servers: RendezvousServer[] = [];
  const registries: RedisRoomRegistry[] = [];

  before(async function () {
    ensureCoturn(); // a missing coturn fails, naming the package; it never skips
    coturn = await startCoturn();
    redis = await RedisProcess.start();
  });

  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await Promise.all(registries.map((r) => r.stop()));
    await coturn?.stop();
    await redis?.destroy();
  });

  it('each instance signs its own credentials with the shared secret; coturn accepts both; the room still meets across them', async () => {
    const ports: number[] = [];
    for (const host of ['127.0.0.2', '127.0.0.3']) {
      const registry = new RedisRoomRegistry({ url: redis.url, expiryMs: 6000, renewEveryMs: 2000 });
      const server = new RendezvousServer({ port: 0, host, refreshSeconds: 2, logger: silentLogger, cluster: registry, turn: { server: coturn.server, secret: coturn.secret, ttlSeconds: 600 } });
      const bound = await server.start();
      await registry.start(server);
      servers.push(server);
      registries.push(registry);
      ports.push(bound.port);
    }
    const roomId = randomBytes(32);
    const a = await RendezvousTestClient.open({ address: '127.0.0.2', port: ports[0] });
    const b = await RendezvousTestClient.open({ address: '127.0.0.3', port: ports[1] });
    try {
      a.join({ roomId, peerId: randomBytes(32), name: 'a', candidates: [] });
      b.join({ roomId, peerId: randomBytes(32), name: 'b', candidates: [] });
      await a.waitFor(() => a.peers.size === 1, 5000, 'a meets b across instances');
      await b.waitFor(() => b.peers.size === 1, 5000, 'b meets a across instances');
      const ca = a.welcome!.turn!;
      const cb = b.welcome!.turn!;
      assert.ok(ca && cb, 'both welcomes carry credentials');
      assert.notEqual(ca.username, cb.username, 'per member, per instance');
      assert.ok(await allocates(ca), 'coturn accepts the first instance’s credentials');
      assert.ok(await allocates(cb), 'coturn accepts the second instance’s credentials');
      assert.ok(!(await allocates({ ...cb, password: Buffer.alloc(20, 1).toString('base64') })), 'and refuses a wrong password');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
