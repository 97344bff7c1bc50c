import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createInvite, formatInvite } from '../../extension/core/invite';
import { generateKeyPair } from '../../extension/core/noise';
import type { ChatMessage, ConnectionState, DeliveryState } from '../../extension/core/types';
import {
  createHostedTarget,
  loadRoom,
  RoomSession,
  roomLabel,
  roomServers,
  saveRoom,
  startEmbeddedRendezvous,
  type RoomTarget,
} from '../../extension/ui/roomSession';
import { until } from '../helpers/peers';

function bindUdp(port: number, host = '127.0.0.1'): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.once('error', reject);
    s.bind({ port, address: host, exclusive: true }, () => resolve(s));
  });
}

const close = (s: dgram.Socket) => new Promise<void>((r) => s.close(() => r()));

describe('room targets with several rendezvous instances', () => {
  it('a configured list makes an invite carrying it; the room ranks the list by its id; saved and loaded intact', async () => {
    const list = [
      { host: 'a.example.org', port: 7000 },
      { host: 'b.example.org', port: 7100 },
      { host: 'c.example.org', port: 7200 },
    ];
    const { target, embedded } = await createHostedTarget({ configuredServer: list, hostPort: 0 });
    assert.equal(embedded, undefined);
    assert.ok(target.kind === 'invite');
    assert.match(formatInvite(target.invite), /@a\.example\.org:7000,b\.example\.org:7100,c\.example\.org:7200$/);
    const ranked = roomServers(target);
    assert.equal(ranked.length, 3);
    assert.deepEqual([...ranked].sort((x, y) => x.port - y.port), list);
    const again = loadRoom(saveRoom(target));
    assert.ok(again && again.kind === 'invite');
    assert.deepEqual(roomServers(again), ranked, 'every member (and a reload) ranks the same');
  });
});

describe('room targets (saved for rejoining after a reload)', () => {
  it('round-trip invite and named rooms', () => {
    const invite = createInvite({ host: '192.168.1.20', port: 7000 });
    const a: RoomTarget = { kind: 'invite', invite, hosted: true };
    const back = loadRoom(JSON.parse(JSON.stringify(saveRoom(a))));
    assert.ok(back && back.kind === 'invite');
    assert.equal(formatInvite(back.invite), formatInvite(invite));
    assert.equal(back.hosted, true);
    const n: RoomTarget = { kind: 'named', name: 'Team Sync', server: { host: 'r.example.org', port: 7100 } };
    assert.deepEqual(loadRoom(saveRoom(n)), n);
    assert.equal(roomLabel(n, 'ff'), 'team sync');
    assert.equal(roomLabel(a, 'abcdef0123'), 'Room abcdef01');
  });

  it('rejects damaged saved rooms', () => {
    for (const x of [null, 5, {}, { kind: 'invite', invite: 'nope' }, { kind: 'named', name: '  ', server: 'h:1' }, { kind: 'named', name: 'x', server: 'bad host' }]) {
      assert.equal(loadRoom(x), undefined, JSON.stringify(x));
    }
  });
});

describe('startEmbeddedRendezvous', function () {
  this.timeout(10000);

  it('falls back to another port pair when the preferred one is taken; exact refuses', async () => {
    const blocker = await bindUdp(0);
    const taken = blocker.address().port;
    try {
      const r = await startEmbeddedRendezvous({ preferredPort: taken, bindHost: '127.0.0.1' });
      try {
        assert.notEqual(r.port, taken);
        assert.equal(r.probePort, r.port + 1, 'clients look for the probe on port+1');
      } finally {
        await r.server.stop();
      }
      await assert.rejects(startEmbeddedRendezvous({ preferredPort: taken, bindHost: '127.0.0.1', exact: true }), /could not host/);
    } finally {
      await close(blocker);
    }
  });
});

describe('RoomSession over loopback', function () {
  this.timeout(20000);
  let dir: string;
  const sessions: RoomSession[] = [];

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'session-'));
  });
  afterEach(async () => {
    for (const s of sessions.splice(0)) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function watch(s: RoomSession) {
    const got = { states: [] as ConnectionState[], messages: [] as ChatMessage[], delivery: new Map<string, DeliveryState>() };
    s.setEvents({
      state: (st) => got.states.push(st),
      message: (m) => got.messages.push(m),
      delivery: (id, d) => void got.delivery.set(id, d),
    });
    return got;
  }

  it('hosts a rendezvous, a guest joins with the invite, and they chat; stop frees the hosted ports', async () => {
    const { target, embedded } = await createHostedTarget({
      configuredServer: undefined,
      hostPort: 0,
      bindHost: '127.0.0.1',
      advertiseAddress: '127.0.0.1',
    });
    assert.ok(embedded && target.kind === 'invite' && target.hosted);
    assert.equal(target.invite.server.host, '127.0.0.1');
    assert.equal(target.invite.server.port, embedded.port);

    const hostSession = new RoomSession({ target, identity: generateKeyPair(), name: 'Alice', storageDir: path.join(dir, 'a'), bindAddress: '127.0.0.1', embedded });
    sessions.push(hostSession);
    const a = watch(hostSession);
    await hostSession.start();
    assert.equal(a.states[0].kind, 'registering');

    // The guest only has the invite text.
    const parsed = loadRoom({ kind: 'invite', invite: hostSession.inviteText });
    assert.ok(parsed);
    const guest = new RoomSession({ target: parsed, identity: generateKeyPair(), name: 'Bob', storageDir: path.join(dir, 'b'), bindAddress: '127.0.0.1' });
    sessions.push(guest);
    const b = watch(guest);
    await guest.start();
    assert.equal(guest.roomIdHex, hostSession.roomIdHex);

    await until(() => hostSession.state.kind === 'connected' && guest.state.kind === 'connected', 10000, 'connected');
    const sent = hostSession.send({ kind: 'text', text: 'hello Bob' });
    await until(() => b.messages.length === 1, 5000, 'message');
    assert.equal(b.messages[0].id, sent.id);
    assert.equal(b.messages[0].fromName, 'Alice');
    await until(() => a.delivery.get(sent.id) === 'delivered', 5000, 'delivered');
    assert.equal(guest.members()[0].name, 'Alice');

    const port = embedded.port;
    const hostIndex = sessions.indexOf(hostSession);
    sessions.splice(hostIndex, 1);
    await hostSession.stop();
    assert.equal(hostSession.state.kind, 'idle');
    const reuse = await bindUdp(port);
    await close(reuse);
    assert.throws(() => hostSession.send({ kind: 'text', text: 'x' }), /left this room/);
  });

  it('queues messages while alone, survives a restart (Retry), and reports what it still owes', async () => {
    const r = await startEmbeddedRendezvous({ preferredPort: 0, bindHost: '127.0.0.1' });
    const target: RoomTarget = { kind: 'named', name: 'Lonely Room', server: { host: '127.0.0.1', port: r.port } };
    const identity = generateKeyPair();
    const s = new RoomSession({ target, identity, name: 'Alice', storageDir: dir, bindAddress: '127.0.0.1', embedded: r });
    sessions.push(s);
    assert.equal(s.named, true);
    assert.equal(s.inviteText, undefined);
    assert.throws(() => s.send({ kind: 'text', text: 'too early' }), /not connected/);
    await s.start();
    await until(() => s.state.kind === 'waiting', 5000, 'registered');
    const m = s.send({ kind: 'text', text: 'anyone?' });
    assert.deepEqual(s.pendingMessages().map((p) => p.id), [m.id]);
    await s.restart();
    await until(() => s.state.kind === 'waiting', 5000, 'registered again');
    assert.deepEqual(s.pendingMessages().map((p) => p.id), [m.id], 'the outbox survives the restart');

    // A new session for the same room (a window reload) sees the outbox before it even starts.
    await s.stop();
    sessions.splice(sessions.indexOf(s), 1);
    const again = new RoomSession({ target, identity, name: 'Alice', storageDir: dir });
    assert.deepEqual(again.pendingMessages().map((p) => [p.id, (p.body as { text: string }).text]), [[m.id, 'anyone?']]);
  });

  it('reports an unresolvable server as a failed state, not a crash', async () => {
    const target: RoomTarget = { kind: 'named', name: 'x', server: { host: 'nowhere.invalid', port: 7000 } };
    const s = new RoomSession({
      target,
      identity: generateKeyPair(),
      name: 'A',
      storageDir: dir,
      resolve: () => Promise.reject(new Error('ENOTFOUND')),
    });
    sessions.push(s);
    const got = watch(s);
    await assert.rejects(s.start(), /cannot resolve/);
    assert.equal(got.states[got.states.length - 1].kind, 'failed');
    assert.equal(s.started, false);
  });

  it('falls back to any port when the configured local port is taken', async () => {
    const r = await startEmbeddedRendezvous({ preferredPort: 0, bindHost: '127.0.0.1' });
    const blocker = await bindUdp(0);
    try {
      const target: RoomTarget = { kind: 'named', name: 'ports', server: { host: '127.0.0.1', port: r.port } };
      const s = new RoomSession({ target, identity: generateKeyPair(), name: 'A', storageDir: dir, bindAddress: '127.0.0.1', localPort: blocker.address().port, embedded: r });
      sessions.push(s);
      await s.start();
      assert.notEqual(s.roomHost?.port, blocker.address().port);
      await until(() => s.state.kind === 'waiting', 5000, 'registered');
    } finally {
      await close(blocker);
    }
  });
});
