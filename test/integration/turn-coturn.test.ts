// TurnClient against a real coturn on loopback, with credentials made the way our rendezvous
// makes them. A relays for itself; B is a plain UDP socket talking to A's relayed address.
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import { decodeStun, Method } from '../../extension/core/relay/stunCodec';
import { TurnClient, TurnClientOptions } from '../../extension/core/relay/turnClient';
import { Endpoint } from '../../extension/core/wire/endpoint';
import { turnCredentials } from '../../rendezvous/turn';
import { Coturn, ensureCoturn, startCoturn } from '../helpers/coturn';

// coturn's allocation, permission and channel lifetimes, short so refreshes happen within the test.
const LIFETIME_S = 3;

async function udpSocket(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return s;
}

const addr = (s: dgram.Socket): Endpoint => ({ address: '127.0.0.1', port: s.address().port });

function until(pred: () => boolean, ms: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + ms;
    const poll = () => {
      if (pred()) return resolve();
      if (Date.now() > deadline) return reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
      setTimeout(poll, 10);
    };
    poll();
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A TurnClient driven by a real socket and the wall clock, as the peer runtime will drive it. */
class Driven {
  readonly received: { peer: Endpoint; data: string }[] = [];
  readonly errors: { reason: string; fatal: boolean }[] = [];
  readonly methodsSent: number[] = [];
  readonly client: TurnClient;
  ticking = true;
  private timer?: NodeJS.Timeout;

  constructor(readonly sock: dgram.Socket, opts: Omit<TurnClientOptions, 'send'>) {
    this.client = new TurnClient({
      ...opts,
      send: (to, data) => {
        const d = decodeStun(data);
        if (d.ok) this.methodsSent.push(d.value.method);
        sock.send(data, to.port, to.address);
      },
    });
    this.client.onError = (reason, fatal) => this.errors.push({ reason, fatal });
    sock.on('message', (msg, rinfo) => {
      const from = { address: rinfo.address, port: rinfo.port };
      if (!this.client.isFromServer(from)) return;
      const got = this.client.handle(msg, from, Date.now());
      if (got) this.received.push({ peer: got.peer, data: got.data.toString() });
      this.schedule();
    });
  }

  start(): this {
    this.client.start(Date.now());
    this.schedule();
    return this;
  }

  permit(peer: Endpoint): void {
    this.client.permit(peer, Date.now());
    this.schedule();
  }

  schedule(): void {
    clearTimeout(this.timer);
    const at = this.client.nextWakeup();
    if (!this.ticking || !Number.isFinite(at)) return;
    this.timer = setTimeout(() => {
      this.client.tick(Date.now());
      this.schedule();
    }, Math.max(0, at - Date.now()));
  }

  stop(): void {
    this.ticking = false;
    clearTimeout(this.timer);
  }
}

describe('turn client against a real coturn (loopback)', function () {
  this.timeout(30_000);
  let coturn: Coturn | undefined;
  const cleanups: (() => void)[] = [];

  before(async function () {
    ensureCoturn(); // a missing coturn fails, naming the package; it never skips
    coturn = await startCoturn({
      args: [`--max-allocate-lifetime=${LIFETIME_S}`, `--permission-lifetime=${LIFETIME_S}`, `--channel-lifetime=${LIFETIME_S}`],
    });
  });

  after(async () => {
    await coturn?.stop();
  });

  afterEach(function () {
    for (const c of cleanups.splice(0)) c();
    if (this.currentTest?.state === 'failed' && coturn) console.log(coturn.log.slice(-15).join('\n'));
  });

  function creds(opts: { ttlSeconds?: number; wallNow?: number } = {}) {
    const c = coturn!;
    return turnCredentials({ server: c.server, secret: c.secret, ttlSeconds: opts.ttlSeconds ?? 600 }, Buffer.from('0123456789abcdef', 'hex'), opts.wallNow ?? Date.now());
  }

  async function relayPair(opts: Partial<TurnClientOptions> = {}) {
    const aSock = await udpSocket();
    const bSock = await udpSocket();
    const b = { sock: bSock, got: [] as { from: Endpoint; data: string }[] };
    bSock.on('message', (m, r) => b.got.push({ from: { address: r.address, port: r.port }, data: m.toString() }));
    const c = creds();
    const a = new Driven(aSock, { server: c.server, username: c.username, password: c.password, software: 'p2p-chat test', ...opts }).start();
    cleanups.push(() => {
      a.stop();
      aSock.close();
      bSock.close();
    });
    await until(() => a.client.state !== 'allocating', 5000, 'the allocation');
    assert.equal(a.client.state, 'allocated', JSON.stringify(a.errors));
    return { a, b };
  }

  it('allocates with rendezvous-style credentials and learns both addresses', async () => {
    const { a } = await relayPair();
    const relayed = a.client.relayedAddress!;
    assert.equal(relayed.address, '127.0.0.1');
    assert.ok(relayed.port >= 40000 && relayed.port < 60032, `relay port ${relayed.port} in the configured range`);
    assert.deepEqual(a.client.mappedAddress, addr(a.sock));
    assert.deepEqual(a.methodsSent.slice(0, 2), [Method.Allocate, Method.Allocate], 'unauthenticated then authenticated');
    assert.deepEqual(a.errors, []);
  });

  it('relays both ways with Send and Data indications (no channel)', async () => {
    const { a, b } = await relayPair({ useChannels: false });
    const relayed = a.client.relayedAddress!;
    a.permit(addr(b.sock));
    await until(() => a.client.isPermitted(addr(b.sock), Date.now()), 3000, 'the permission');

    b.sock.send('ping', relayed.port, relayed.address);
    await until(() => a.received.length > 0, 3000, 'A to receive through the relay');
    assert.deepEqual(a.received, [{ peer: addr(b.sock), data: 'ping' }]);
    assert.equal(a.client.stats.dataIndicationsIn, 1);

    assert.equal(a.client.sendTo(addr(b.sock), Buffer.from('pong'), Date.now()), true);
    await until(() => b.got.length > 0, 3000, 'B to receive from the relayed address');
    assert.deepEqual(b.got, [{ from: relayed, data: 'pong' }]);
    assert.equal(a.client.stats.sendIndicationsOut, 1);
    assert.equal(a.client.stats.channelDataOut, 0);
  });

  it('relays both ways with ChannelData once the channel is bound', async () => {
    const { a, b } = await relayPair();
    const relayed = a.client.relayedAddress!;
    a.permit(addr(b.sock));
    await until(() => a.client.hasChannel(addr(b.sock), Date.now()), 3000, 'the channel binding');

    for (let i = 0; i < 5; i++) b.sock.send(`ping ${i}`, relayed.port, relayed.address);
    await until(() => a.received.length === 5, 3000, 'five datagrams through the channel');
    assert.deepEqual(a.received.map((r) => r.data).sort(), [0, 1, 2, 3, 4].map((i) => `ping ${i}`));
    assert.equal(a.client.stats.channelDataIn, 5);

    assert.equal(a.client.sendTo(addr(b.sock), Buffer.from('pong'), Date.now()), true);
    await until(() => b.got.length > 0, 3000, 'B to receive ChannelData-relayed data');
    assert.deepEqual(b.got, [{ from: relayed, data: 'pong' }]);
    assert.equal(a.client.stats.channelDataOut, 1);
    assert.equal(a.client.stats.dropped, 0);
  });

  it('keeps allocation, permission and channel alive past their lifetimes by refreshing; unrefreshed ones die', async () => {
    const short = { permissionLifetimeSeconds: LIFETIME_S, channelLifetimeSeconds: LIFETIME_S };
    const live = await relayPair(short);
    const idle = await relayPair(short);
    const unaware = await relayPair(); // refreshes the allocation, but believes permissions last 300 s
    for (const { a, b } of [live, idle, unaware]) {
      a.permit(addr(b.sock));
      await until(() => a.client.hasChannel(addr(b.sock), Date.now()), 3000, 'the channel binding');
    }
    idle.a.stop(); // no more ticks: no Refresh
    await sleep(LIFETIME_S * 1000 + 1500);
    const count = (m: number) => live.a.methodsSent.filter((x) => x === m).length;
    assert.ok(count(Method.Refresh) >= 1, 'the live client sent a Refresh');
    assert.ok(count(Method.CreatePermission) >= 2, 'and refreshed its permission');
    assert.ok(count(Method.ChannelBind) >= 2, 'and its channel binding');
    assert.ok(!idle.a.methodsSent.includes(Method.Refresh));
    assert.ok(unaware.a.methodsSent.includes(Method.Refresh));
    for (const { a, b } of [live, idle, unaware]) b.sock.send('still there?', a.client.relayedAddress!.port, '127.0.0.1');
    await until(() => live.a.received.length > 0, 3000, 'data through the refreshed allocation');
    assert.equal(live.a.client.stats.channelDataIn, 1, 'still on the refreshed channel');
    await sleep(300);
    assert.deepEqual(idle.a.received, [], 'the expired allocation relays nothing');
    assert.deepEqual(unaware.a.received, [], 'the expired permission lets nothing in');
    assert.deepEqual(live.a.errors, []);
  });

  it('reports wrong credentials clearly (401 after the authenticated retry)', async () => {
    const sock = await udpSocket();
    cleanups.push(() => sock.close());
    const c = creds();
    const a = new Driven(sock, { server: c.server, username: c.username, password: 'not-the-password' }).start();
    cleanups.push(() => a.stop());
    await until(() => a.client.state !== 'allocating', 5000, 'the answer');
    assert.equal(a.client.state, 'failed');
    assert.equal(a.errors.length, 1);
    assert.equal(a.errors[0].fatal, true);
    assert.match(a.errors[0].reason, /refused the credentials .* \(401 Unauthorized\): wrong password, or the credential has expired/);
  });

  it('reports expired credentials the same way', async () => {
    const sock = await udpSocket();
    cleanups.push(() => sock.close());
    const c = creds({ wallNow: Date.now() - 700_000, ttlSeconds: 600 }); // expired 100 s ago
    const a = new Driven(sock, { server: c.server, username: c.username, password: c.password }).start();
    cleanups.push(() => a.stop());
    await until(() => a.client.state !== 'allocating', 5000, 'the answer');
    assert.equal(a.client.state, 'failed');
    assert.match(a.errors[0].reason, /401/);
  });

  it('gives up on a dead TURN server in bounded time', async () => {
    const blackhole = await udpSocket();
    let swallowed = 0;
    blackhole.on('message', () => swallowed++);
    const sock = await udpSocket();
    cleanups.push(() => {
      blackhole.close();
      sock.close();
    });
    const c = creds();
    const a = new Driven(sock, { server: addr(blackhole), username: c.username, password: c.password, rtoMs: 100, maxTransmissions: 4 });
    cleanups.push(() => a.stop());
    const t0 = Date.now();
    a.start();
    await until(() => a.client.state === 'failed', 5000, 'the failure');
    const took = Date.now() - t0;
    // 100 + 200 + 400 ms between the four transmissions, then 16 x 100 ms.
    assert.ok(took >= 2200 && took < 3500, `failed after ${took} ms`);
    assert.equal(swallowed, 4);
    assert.match(a.errors[0].reason, /did not answer Allocate \(4 transmissions over 2\.3 s\)/);
  });

  it('releases the allocation on close, so the same socket can allocate again', async () => {
    const { a } = await relayPair();
    const c = creds();
    const another = () => {
      const d = new Driven(a.sock, { server: c.server, username: c.username, password: c.password }).start();
      cleanups.push(() => d.stop());
      return d;
    };
    // Control: while the allocation lives, its 5-tuple cannot allocate again.
    const early = another();
    await until(() => early.client.state !== 'allocating', 5000, 'the refused allocation');
    assert.equal(early.client.state, 'failed');
    assert.match(early.errors[0].reason, /437/);

    a.client.close(Date.now());
    a.stop();
    assert.equal(a.client.state, 'closed');
    // coturn acknowledges LIFETIME 0 at once but tears the session down on its next timer pass (~1 s).
    await sleep(1500);
    const again = another();
    await until(() => again.client.state !== 'allocating', 5000, 'the second allocation');
    assert.equal(again.client.state, 'allocated', JSON.stringify(again.errors));
  });
});
