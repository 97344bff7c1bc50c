import assert from 'node:assert/strict';
import { RendezvousServer } from '../../rendezvous/server';
import { createLogger } from '../../rendezvous/log';
import { impairedSocket, ImpairedSocket } from '../helpers/impairedSocket';
import { newRoomKeys, startPeer, TestPeer, until } from '../helpers/peers';
import { BodyRejectedError, MAX_TEXT_CHARS } from '../../extension/core/room/appMessages';
import { freshRoomState, MemoryRoomStore } from '../../extension/core/store/roomStore';

const texts = (p: TestPeer, from?: string) =>
  p.received.filter((m) => !from || m.fromName === from).map((m) => (m.body.kind === 'text' ? m.body.text : `[snippet ${m.body.snippet.path}]`));
const now = () => performance.now();

describe('chat over loopback through a real rendezvous', function () {
  this.timeout(60000);
  let server: RendezvousServer;
  let port: number;
  let probePort: number;
  const peers: TestPeer[] = [];
  const sockets: ImpairedSocket[] = [];

  const quiet = () => createLogger({ level: 'error', sink: () => undefined });

  beforeEach(async () => {
    server = new RendezvousServer({ host: '127.0.0.1', port: 0, logger: quiet() });
    ({ port, probePort } = await server.start());
  });
  afterEach(async () => {
    for (const p of peers.splice(0)) await p.host.stop();
    for (const s of sockets.splice(0)) await s.close();
    await server.stop();
  });

  function send(p: TestPeer, text: string) {
    const m = p.host.room.send({ kind: 'text', text }, now());
    p.host.pump();
    return m;
  }

  it('two peers connect, verify each other and exchange messages exactly once, in order', async () => {
    const keys = newRoomKeys();
    const a = await startPeer({ name: 'Alice', port, probePort, keys });
    const b = await startPeer({ name: 'Bob', port, probePort, keys });
    peers.push(a, b);
    await until(() => a.host.room.state.kind === 'connected' && b.host.room.state.kind === 'connected', 10000, 'connected');
    for (let i = 0; i < 50; i++) send(a, `a${i}`);
    for (let i = 0; i < 50; i++) send(b, `b${i}`);
    await until(() => a.received.length === 50 && b.received.length === 50, 10000, 'messages');
    assert.deepEqual(texts(b), Array.from({ length: 50 }, (_, i) => `a${i}`));
    assert.deepEqual(texts(a), Array.from({ length: 50 }, (_, i) => `b${i}`));
    assert.equal(b.received[0].fromName, 'Alice');
    await until(() => [...a.delivery.values()].filter((s) => s === 'delivered').length === 50, 5000, 'delivered marks');
    // Safety numbers are computed just after connecting (they cost ~20 ms), then announced.
    await until(() => !!a.host.room.members()[0]?.safetyNumber && !!b.host.room.members()[0]?.safetyNumber, 5000, 'safety numbers');
    const am = a.host.room.members();
    const bm = b.host.room.members();
    assert.equal(am.length, 1);
    assert.match(am[0].safetyNumber!, /^(\d{5} ){11}\d{5}$/);
    assert.equal(am[0].safetyNumber, bm[0].safetyNumber);
    assert.equal(am[0].name, 'Bob');
    assert.equal(am[0].presence, 'online');
  });

  it('a five-peer room is a full mesh: every message reaches every member once, in order per sender', async () => {
    const keys = newRoomKeys();
    const names = ['Ann', 'Ben', 'Cat', 'Dan', 'Eve'];
    for (const name of names) peers.push(await startPeer({ name, port, probePort, keys }));
    await until(() => peers.every((p) => p.host.room.state.kind === 'connected' && p.host.room.state.peers === 4), 15000, 'full mesh');
    for (let i = 0; i < 20; i++) for (const p of peers) send(p, `${p.host.room.name}${i}`);
    await until(() => peers.every((p) => p.received.length === 80), 15000, 'all messages');
    for (const p of peers) {
      for (const other of names.filter((n) => n !== p.host.room.name)) {
        assert.deepEqual(texts(p, other), Array.from({ length: 20 }, (_, i) => `${other}${i}`), `${p.host.room.name} from ${other}`);
      }
    }
  });

  it('messages written before anyone joins wait in the outbox and reach the first peer', async () => {
    const keys = newRoomKeys();
    const a = await startPeer({ name: 'Alice', port, probePort, keys });
    peers.push(a);
    await until(() => a.host.room.state.kind === 'waiting', 5000, 'registered');
    const m = send(a, 'anyone there?');
    assert.equal(a.delivery.get(m.id), 'queued');
    const b = await startPeer({ name: 'Bob', port, probePort, keys });
    peers.push(b);
    await until(() => texts(b).length === 1, 10000, 'early message');
    assert.deepEqual(texts(b), ['anyone there?']);
    await until(() => a.delivery.get(m.id) === 'delivered', 5000, 'delivered');
  });

  it('a message the receivers refuse is reported rejected (with the reason), never delivered; the sender refuses up front', async () => {
    const keys = newRoomKeys();
    // An outbox written under looser limits (an older or buggy sender): the receivers' rule decides.
    const store = new MemoryRoomStore();
    const state = freshRoomState();
    state.outbox.push({ seq: 1, sentAt: Date.now(), body: { kind: 'text', text: 'z'.repeat(MAX_TEXT_CHARS + 1) }, pending: ['?'] });
    state.nextSeq = 2;
    store.record({ op: 'add', entry: state.outbox[0] }, state);
    const b = await startPeer({ name: 'Bob', port, probePort, keys });
    const c = await startPeer({ name: 'Cat', port, probePort, keys });
    peers.push(b, c);
    const reasons: string[] = [];
    const a = await startPeer({ name: 'Alice', port, probePort, keys, store });
    peers.push(a);
    const id = a.host.room.pendingMessages()[0].id;
    const track = a.host.room.events.delivery!;
    a.host.room.events.delivery = (i, s, reason) => {
      track(i, s, reason);
      if (reason) reasons.push(reason);
    };
    await until(() => a.host.room.pendingMessages().length === 0, 10000, 'the refused message settles');
    assert.equal(a.delivery.get(id), 'rejected');
    assert.match(reasons[0], /^(Bob|Cat) refused it: the text is longer than 65,536 characters$/);
    assert.equal(b.received.length + c.received.length, 0);
    assert.throws(() => a.host.room.send({ kind: 'text', text: 'z'.repeat(MAX_TEXT_CHARS + 1) }, now()), BodyRejectedError);
    const ok = send(a, 'fits');
    await until(() => a.delivery.get(ok.id) === 'delivered', 5000, 'the next one is delivered');
    assert.deepEqual([texts(b), texts(c)], [['fits'], ['fits']]);
  });

  it('survives 10 % loss, 20±10 ms delay and duplication both ways, including a 1 MiB snippet', async () => {
    const keys = newRoomKeys();
    const sa = await impairedSocket({ loss: 0.1, delayMs: 20, jitterMs: 10, duplicate: 0.02, seed: 7 });
    const sb = await impairedSocket({ loss: 0.1, delayMs: 20, jitterMs: 10, duplicate: 0.02, seed: 11 });
    sockets.push(sa, sb);
    const a = await startPeer({ name: 'Alice', port, probePort, keys, socket: sa.socket });
    const b = await startPeer({ name: 'Bob', port, probePort, keys, socket: sb.socket });
    peers.push(a, b);
    await until(() => a.host.room.state.kind === 'connected' && b.host.room.state.kind === 'connected', 15000, 'connected');
    for (let i = 0; i < 200; i++) send(a, `a${i}`);
    for (let i = 0; i < 200; i++) send(b, `b${i}`);
    const code = 'x'.repeat(1024 * 1024);
    a.host.room.send({ kind: 'snippet', snippet: { path: 'big.txt', language: 'plaintext', startLine: 1, endLine: 1, code } }, now());
    a.host.pump();
    await until(() => a.received.length === 200 && b.received.length === 201, 40000, 'messages through the lossy link');
    assert.deepEqual(texts(a), Array.from({ length: 200 }, (_, i) => `b${i}`));
    assert.deepEqual(texts(b).slice(0, 200), Array.from({ length: 200 }, (_, i) => `a${i}`));
    const big = b.received[200].body;
    assert.ok(big.kind === 'snippet' && big.snippet.code === code, '1 MiB snippet intact');
    assert.ok(sa.stats.dropped > 10 && sb.stats.dropped > 10, 'the link really lost packets');
  });

  it('a rendezvous restart mid-chat does not disturb the live chat, and peers re-register by themselves', async () => {
    await server.stop();
    server = new RendezvousServer({ host: '127.0.0.1', port, probePort, logger: quiet(), refreshSeconds: 1 });
    await server.start();
    const keys = newRoomKeys();
    const a = await startPeer({ name: 'Alice', port, probePort, keys });
    const b = await startPeer({ name: 'Bob', port, probePort, keys });
    peers.push(a, b);
    await until(() => a.host.room.state.kind === 'connected' && b.host.room.state.kind === 'connected', 10000, 'connected');
    await server.stop();
    for (let i = 0; i < 10; i++) send(a, `while down ${i}`);
    await until(() => b.received.length === 10, 5000, 'chat while the rendezvous is down');
    server = new RendezvousServer({ host: '127.0.0.1', port, probePort, logger: quiet(), refreshSeconds: 1 });
    await server.start();
    // The peers' next refresh meets a server that forgot them: it answers with a cookie and they register again.
    await until(() => server.stats().members >= 2, 20000, 're-registration');
    for (let i = 0; i < 10; i++) send(b, `after restart ${i}`);
    await until(() => a.received.length === 10, 5000, 'chat after the restart');
    assert.equal(a.host.room.state.kind, 'connected');
  });
});
