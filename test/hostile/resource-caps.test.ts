// Item 5 of the hostile-input suite: resource caps. Rooms per server and members per room (with the
// error a refused client shows), a connected peer that sends never-completing fragment streams and
// absurd announced sizes through a raw transport with the real session keys, and a rendezvous that
// announces hundreds of members.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ErrorCode } from '../../extension/core/wire/rendezvous';
import { encodePacket, type Frame } from '../../extension/core/wire/frames';
import { encodePeer } from '../../extension/core/wire/peer';
import { newRoomKeys } from '../helpers/peers';
import { RendezvousTestClient } from '../helpers/rendezvousClient';
import { fakeRendezvous, record } from './lib/fakeRendezvous';
import {
  Cleanup,
  link,
  linkCount,
  memory,
  mib,
  rawSocket,
  say,
  session,
  sleep,
  startPeer,
  startServer,
  texts,
  until,
  verified,
  type Peer,
} from './lib/rig';

describe('hostile: resource caps', function () {
  this.timeout(60_000);
  const cleanup = new Cleanup();
  afterEach(() => cleanup.run());

  it('rooms per server: past the cap a register is refused with ServerFull ("server is full") and the table stays at the cap', async () => {
    const { server, port } = await startServer({ maxRooms: 40 });
    cleanup.add(server);
    const clients: RendezvousTestClient[] = [];
    for (let i = 0; i < 55; i++) {
      const c = await RendezvousTestClient.open({ address: '127.0.0.1', port });
      cleanup.add(c);
      clients.push(c);
      c.join({ roomId: randomBytes(32), peerId: randomBytes(32), name: `c${i}`, candidates: [] });
      if (i % 10 === 9) await sleep(20);
    }
    await until(() => clients.every((c) => c.welcome || c.errors.length), 10_000, 'every client to be answered');
    const welcomed = clients.filter((c) => c.welcome).length;
    const refused = clients.filter((c) => !c.welcome);
    const st = server.stats();
    console.log(`      55 rooms asked for, cap 40: ${welcomed} welcomed, ${refused.length} refused (${JSON.stringify(refused[0]?.errors[0])}); table ${st.rooms} rooms, refused ${JSON.stringify(st.table.refused)}`);
    assert.equal(welcomed, 40);
    assert.equal(st.rooms, 40);
    for (const c of refused) assert.deepEqual(c.errors[0], { code: ErrorCode.ServerFull, message: 'server is full' });
  });

  it('members per room: the member past the cap sees a clear "room is full" failure; the others are not disturbed', async () => {
    const { server, port, probePort } = await startServer({ maxMembersPerRoom: 3 });
    cleanup.add(server);
    const srv = { port, probePort };
    const keys = newRoomKeys();
    const names = ['Ann', 'Ben', 'Cat'];
    const peers: Peer[] = [];
    for (const name of names) peers.push(cleanup.add(await startPeer({ name, server: srv, keys })));
    await until(() => peers.every((p) => peers.every((q) => p === q || verified(p, q))), 10_000, 'the three to mesh');
    const late = cleanup.add(await startPeer({ name: 'Dan', server: srv, keys }));
    await until(() => late.host.room.state.kind === 'failed', 5000, 'the fourth member to be refused');
    const state = late.host.room.state;
    console.log(`      fourth member: ${JSON.stringify(state)}`);
    // Its own reason and hint (issue #10 §5), not the "check the setting and UDP" of a silent server.
    assert.ok(state.kind === 'failed' && /room is full/.test(state.reason) && /Ask someone to leave/.test(state.hint) && !/UDP/.test(state.hint), JSON.stringify(state));
    assert.equal(server.stats().members, 3);
    for (const p of peers) assert.equal(linkCount(p), 2);
    say(peers[0], 'still here');
    await until(() => texts(peers[1]).includes('still here') && texts(peers[2]).includes('still here'), 5000, 'the room to go on');
  });

  it('a connected peer sending never-completing fragment streams and absurd message sizes: bounded memory, a clear error, no crash, others unaffected', async () => {
    const { server, port, probePort } = await startServer();
    cleanup.add(server);
    const srv = { port, probePort };
    const keys = newRoomKeys();
    const v = cleanup.add(await startPeer({ name: 'Victim', server: srv, keys }));
    const a = cleanup.add(await startPeer({ name: 'Honest', server: srv, keys }));
    const m = cleanup.add(await startPeer({ name: 'Mallory', server: srv, keys }));
    await until(() => verified(v, m) && verified(m, v) && verified(v, a) && verified(a, v), 10_000, 'the room to mesh');

    // Mallory's raw transport: her real session keys and indices, frames of her choosing. Paced by what the
    // victim has taken in, so the kernel's socket buffer (not the victim) does not decide what arrives.
    let rawSent = 0;
    const dataInBase = link(v, m).stats.dataIn;
    const raw = async (frames: Frame[]) => {
      const t0 = Date.now();
      while (rawSent - (link(v, m).stats.dataIn - dataInBase) > 64 && Date.now() - t0 < 100) await sleep(1);
      const s = session(m, v)!;
      const sealed = s.transport.seal(encodePacket(frames));
      m.rawSend(encodePeer({ type: 'data', receiver: s.remoteIndex, counter: sealed.counter, ciphertext: sealed.ciphertext }), s.endpoint);
      rawSent++;
    };
    const victimChannel = () => session(v, m)!.channel;
    const rcvNext = () => (victimChannel() as unknown as { receiver: { rcvNext: number } }).receiver.rcvNext;
    const MAX = victimChannel().maxMessageBytes;
    const before = memory();
    const vIndex = session(v, m)!.localIndex;

    // 1. In order: a first fragment announcing the largest allowed message, then continuations that never end it.
    let seq = rcvNext();
    const chunk = 1000;
    await raw([{ type: 'data', seq: seq++, first: true, last: false, messageLength: MAX, payload: randomBytes(chunk) }]);
    let sentBytes = chunk;
    for (; sentBytes + chunk < MAX; sentBytes += chunk) await raw([{ type: 'data', seq: seq++, first: false, last: false, payload: randomBytes(chunk) }]);
    // 2. Out of order, with gaps: fragments the victim may only hold up to its reassembly budget.
    for (let k = 0; k < 1500; k++) await raw([{ type: 'data', seq: seq + 2 + 2 * k, first: false, last: false, payload: randomBytes(chunk) }]);
    // 3. Far outside the receive window.
    for (let k = 0; k < 200; k++) await raw([{ type: 'data', seq: (seq + 100_000 + k) >>> 0, first: false, last: false, payload: randomBytes(chunk) }]);
    await sleep(500);
    const st = victimChannel().stats;
    const held = memory();
    console.log(
      `      Mallory sent ${mib(sentBytes)} of a never-ending ${mib(MAX)} message + 1500 gapped + 200 out-of-window fragments; victim holds ${mib(st.reassemblyBytes)} (${st.heldFragments} fragments held), ` +
        `dropped ${JSON.stringify(st.dropped)}; heap ${mib(before.heapUsed)} -> ${mib(held.heapUsed)}`,
    );
    assert.ok(st.reassemblyBytes <= MAX + 1024 * 1024, `${st.reassemblyBytes} bytes held`);
    assert.ok(st.dropped.overBudget > 0 || st.heldFragments < 1500, 'the out-of-order budget was applied');
    assert.ok(st.dropped.outOfWindow > 0, 'out-of-window fragments were refused');
    assert.ok(held.heapUsed - before.heapUsed < MAX + 8 * 1048576, `heap grew by ${mib(held.heapUsed - before.heapUsed)}`);
    assert.equal(texts(v).length, 0, 'nothing was delivered');

    // Meanwhile the honest member is unaffected.
    say(a, 'hello victim');
    await until(() => texts(v).includes('hello victim'), 5000, 'the honest message');

    // 4. A message announced far larger than the limit: the session fails with a clear reason, nothing crashes.
    await raw([{ type: 'data', seq: 0xfffffff0, first: true, last: true, messageLength: 0xffffffff, payload: Buffer.alloc(0) }]);
    await raw([{ type: 'data', seq: rcvNext(), first: true, last: false, messageLength: 0xffffffff, payload: randomBytes(10) }]);
    await until(() => v.logs.some((l) => /protocol error from peer/.test(l)), 5000, 'the protocol error');
    const why = v.logs.find((l) => /protocol error from peer/.test(l))!;
    console.log(`      victim log: ${why}`);
    assert.match(why, /first fragment inside an unfinished message|announced a 4294967295-byte message/);
    // The failed session and what it held are gone; the link recovers with a fresh handshake.
    await until(() => verified(v, m) && session(v, m)!.localIndex !== vIndex, 10_000, 'a fresh session with Mallory');
    await sleep(200);
    const released = memory();
    console.log(`      after the session was dropped: heap ${mib(released.heapUsed)} (was ${mib(held.heapUsed)} while held)`);
    assert.ok(released.heapUsed - before.heapUsed < 8 * 1048576, `heap still ${mib(released.heapUsed - before.heapUsed)} above the start`);
    say(a, 'still fine');
    say(m, 'sorry');
    await until(() => texts(v).includes('still fine') && texts(v).includes('sorry'), 5000, 'chat after the fight');
    assert.equal(link(v, m).phase, 'established');
  });

  it('a lying rendezvous announcing 600 members cannot make a client hold more links than a room can have (255); the fan-out is reported', async () => {
    const victims = await Promise.all([0, 1, 2, 3].map(() => rawSocket()));
    for (const s of victims) cleanup.add(s);
    const [reflexive, ...cands] = victims.map((s) => s.local);
    const ghosts = Array.from({ length: 600 }, () => record(randomBytes(32), 'ghost', reflexive, { candidates: cands }));
    const rdv = cleanup.add(await fakeRendezvous(() => ghosts));
    const keys = newRoomKeys();
    const p = cleanup.add(await startPeer({ name: 'Target', server: { port: rdv.port, probePort: rdv.probePort }, keys, punchTimeoutMs: 15_000 }));
    await until(() => rdv.sent.peer >= 600, 5000, 'the lies to be sent');
    await sleep(2000);
    const datagrams = victims.reduce((n, s) => n + s.replies.length, 0);
    const bytes = victims.reduce((n, s) => n + s.bytesIn, 0);
    console.log(`      ${linkCount(p)} links from 600 announced members; in 2 s the client sent ${datagrams} datagrams (${mib(bytes)}) to the 4 addresses the rendezvous chose`);
    assert.ok(linkCount(p) <= 255, `${linkCount(p)} links`);
  });
});
