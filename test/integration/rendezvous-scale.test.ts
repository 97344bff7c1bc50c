// 1,000 rooms of 2–8 members register at once over real loopback sockets; every member must learn
// every other member of its room. Reports the time and the datagrams it took against the ideal.
import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { ServerStats } from '../../rendezvous/server';
import { RendezvousTestClient } from '../helpers/rendezvousClient';

/**
 * The server runs as its own process (the CLI, from source), as in production: in this process it
 * would share one event loop with 5,000 clients and measure mostly that.
 */
async function spawnServer(args: string[]): Promise<{ port: number; probePort: number; stop: () => Promise<ServerStats & { cpuMs: { user: number; system: number } }> }> {
  const child: ChildProcess = spawn(process.execPath, ['--require', 'tsx/cjs', 'rendezvous/cli.ts', '--port', '0', '--host', '127.0.0.1', ...args], {
    cwd: `${__dirname}/../..`,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const events: Record<string, unknown>[] = [];
  let notify = () => {};
  lines.on('line', (l) => {
    try {
      events.push(JSON.parse(l));
      notify();
    } catch {
      // not a log line
    }
  });
  const next = (event: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const look = () => {
        const e = events.find((x) => x.event === event);
        if (e) resolve(e);
      };
      notify = look;
      child.once('exit', (code) => reject(new Error(`server exited with ${code} before "${event}"`)));
      look();
    });
  const listening = await next('listening');
  return {
    port: listening.port as number,
    probePort: listening.probePort as number,
    stop: async () => {
      const stopped = next('stopped');
      child.kill('SIGTERM');
      const e = await stopped;
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
      assert.equal(child.exitCode, 0);
      return { ...(e.stats as ServerStats), cpuMs: e.cpuMs as { user: number; system: number } };
    },
  };
}

describe('rendezvous at scale', function () {
  // Generous: on a shared 2-core machine the server process can be starved for seconds, and what
  // its socket cannot hold meanwhile is lost and retransmitted. Unloaded it takes a few seconds.
  this.timeout(120_000);

  it('1,000 rooms of 2–8 members pair up completely', async () => {
    const server = await spawnServer(['--max-per-address', '100000']); // every test client shares 127.0.0.1
    const ports = { port: server.port };
    let stats: (ServerStats & { cpuMs: { user: number; system: number } }) | undefined;
    let seed = 2024;
    const rnd = (n: number) => Math.floor(((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * n);
    const rooms = Array.from({ length: 1000 }, () => ({ roomId: randomBytes(32), size: 2 + rnd(7) }));
    const total = rooms.reduce((n, r) => n + r.size, 0);
    const clients: RendezvousTestClient[] = [];
    try {
      const members: { client: RendezvousTestClient; expected: Set<string> }[] = [];
      for (const room of rooms) {
        const ids = Array.from({ length: room.size }, () => randomBytes(32));
        for (const peerId of ids) {
          const client = await RendezvousTestClient.open({ address: '127.0.0.1', port: ports.port });
          client.keepLog = false;
          clients.push(client);
          const expected = new Set(ids.filter((p) => p !== peerId).map((p) => p.toString('hex')));
          members.push({ client, expected });
          (client as unknown as { pending: { roomId: Buffer; peerId: Buffer } }).pending = { roomId: room.roomId, peerId };
        }
      }
      let complete = 0;
      const done = new Promise<void>((resolve) => {
        for (const m of members) {
          let finished = false;
          const check = () => {
            if (finished || m.client.peers.size !== m.expected.size) return;
            for (const k of m.expected) if (!m.client.peers.has(k)) return;
            finished = true;
            m.client.off('message', check);
            if (++complete === members.length) resolve();
          };
          m.client.on('message', check);
        }
      });
      const t0 = performance.now();
      for (const m of members) {
        const p = (m.client as unknown as { pending: { roomId: Buffer; peerId: Buffer } }).pending;
        m.client.join({ roomId: p.roomId, peerId: p.peerId, name: `m${p.peerId[0]}`, candidates: [{ address: '10.0.0.1', port: 1 }] });
      }
      const timeout = new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`only ${complete} of ${total} members complete`)), 90_000).unref(),
      );
      await Promise.race([done, timeout]);
      const ms = performance.now() - t0;

      const sent = clients.reduce((n, c) => n + c.counters.sentDatagrams, 0);
      const received = clients.reduce((n, c) => n + c.counters.receivedDatagrams, 0);
      // Ideal, without loss: register, cookie, register, welcome per member, plus k(k-1) peer messages per room.
      const idealPeers = rooms.reduce((n, r) => n + r.size * (r.size - 1), 0);
      const ideal = 4 * total + idealPeers;
      stats = await server.stop();
      const st = stats;
      console.log(
        `      ${rooms.length} rooms, ${total} members: all paired in ${ms.toFixed(0)} ms; ` +
          `datagrams ${sent + received} (clients sent ${sent}, received ${received}; ideal ${ideal}); ` +
          `server received ${st.received.datagrams}, sent ${st.sent.datagrams}, cookies ${st.cookiesIssued}, rate-limited ${st.drops.rateLimited}, ` +
          `CPU user ${st.cpuMs.user} ms + system ${st.cpuMs.system} ms`,
      );
      assert.equal(complete, total);
      assert.equal(st.members, total);
      assert.equal(st.rooms, rooms.length);
      assert.ok(ms < 60_000, `took ${ms} ms`);
      assert.ok(sent + received < ideal * 6, 'no retransmission storm');
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      if (!stats) await server.stop();
    }
  });
});
