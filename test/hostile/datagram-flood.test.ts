// Item 1 of the hostile-input suite: a flood of > 100,000 hostile datagrams at the rendezvous and at
// both peers of a live chat, from another thread. The server and the peers must not crash, their memory
// and tables must stay bounded, a newcomer must still pair and chat while the flood runs, every message
// sent during and after it must arrive exactly once, and the drops must be counted.
import assert from 'node:assert/strict';
import { classify } from '../../extension/core/wire/header';
import { newRoomKeys } from '../helpers/peers';
import { hostilePool, type Aim } from './lib/corpus';
import { flood } from './lib/flooder';
import {
  Cleanup,
  connectedPair,
  counts,
  hintOf,
  link,
  linkCount,
  memory,
  mib,
  roomIndexCount,
  say,
  session,
  sleep,
  startPeer,
  startServer,
  until,
  verified,
} from './lib/rig';

const sum = (o: Record<string, number>) => Object.values(o).reduce((n, v) => n + v, 0);

describe('hostile: datagram flood of the rendezvous and of connected peers', function () {
  this.timeout(90_000);
  const cleanup = new Cleanup();
  afterEach(() => cleanup.run());

  it('110,000 hostile datagrams: no crash, bounded memory and tables, pairing and chat exactly once during and after, drops counted', async () => {
    const { server, port, probePort } = await startServer();
    cleanup.add(server);
    const srv = { port, probePort };
    const keys = newRoomKeys();
    const [a, b] = await connectedPair(srv, keys, { record: true });
    cleanup.add(a);
    cleanup.add(b);
    say(a, 'warm-a');
    say(b, 'warm-b');
    await until(() => a.received.length === 1 && b.received.length === 1, 5000, 'warm-up messages');

    const peerTypes = (d: Buffer) => classify(d) === 'p2p' && d[2] >= 0x10;
    const aim: Aim = {
      roomId: keys.roomId,
      peerIds: [a.identity.publicKey, b.identity.publicKey],
      hints: [hintOf(keys.roomId, a.identity), hintOf(keys.roomId, b.identity)],
      liveIndices: [session(a, b)!.localIndex, session(b, a)!.localIndex],
      captured: [...a.sent, ...b.sent].map((r) => r.data).filter(peerTypes),
    };
    const toServer = hostilePool({ seed: 11, size: 3000, aim, weights: { peer: 1, garbageData: 1, captured: 1, rendezvous: 6 } });
    const toPeers = hostilePool({ seed: 12, size: 3000, aim });

    const before = memory();
    const srvBefore = server.stats();
    const inBefore = { a: a.host.counters.datagramsIn, b: b.host.counters.datagramsIn };
    const TOTAL = { server: 50_000, b: 40_000, a: 20_000 };
    const f = flood(
      [
        { port, pool: toServer.pool, total: TOTAL.server },
        { port: b.port, pool: toPeers.pool, total: TOTAL.b },
        { port: a.port, pool: toPeers.pool, total: TOTAL.a },
      ],
      { perTick: 120, tickMs: 5, deadlineMs: 30_000 },
    );
    cleanup.fn(() => f.stop());
    await f.started;

    // During the flood: both sides keep talking, and a newcomer joins and must pair with both.
    const during: string[] = [];
    let c: Awaited<ReturnType<typeof startPeer>> | undefined;
    let cJoinedDuring = false;
    let cToA = '';
    let i = 0;
    for (; !f.finished() && i < 400; i++) {
      say(a, `a-during-${i}`);
      say(b, `b-during-${i}`);
      during.push(`a-during-${i}`, `b-during-${i}`);
      if (i === 2) {
        c = cleanup.add(await startPeer({ name: 'Carol', server: srv, keys }));
      }
      if (c && !cJoinedDuring && verified(c, a) && verified(c, b)) {
        cJoinedDuring = !f.finished();
        cToA = `c-during-${i}`;
        say(c, cToA);
      }
      await sleep(40);
    }
    const result = await f.done;
    const floodFinishedAt = performance.now();
    assert.ok(c, 'the newcomer started');
    assert.ok(i >= 5, `the flood lasted only ${i} chat rounds`);

    // After: every message sent during the flood arrives exactly once, and the chat still works.
    const after = Array.from({ length: 10 }, (_, k) => `after-${k}`);
    for (const t of after) {
      say(a, `a-${t}`);
      say(b, `b-${t}`);
    }
    const want = (p: 'a' | 'b') => [...during.filter((t) => !t.startsWith(p)), ...after.map((t) => `${p === 'a' ? 'b' : 'a'}-${t}`)];
    await until(
      () => want('a').every((t) => counts(a).get(t) === 1) && want('b').every((t) => counts(b).get(t) === 1),
      20_000,
      'every message sent during and after the flood',
    );
    await until(() => verified(c!, a) && verified(c!, b), 10_000, 'the newcomer to pair with both');
    if (cToA) await until(() => counts(a).get(cToA) === 1, 10_000, "the newcomer's message");
    await sleep(300); // room for a late duplicate to show up
    for (const [p, name] of [
      [a, 'a'],
      [b, 'b'],
    ] as const) {
      const dup = [...counts(p)].filter(([, n]) => n !== 1);
      assert.deepEqual(dup, [], `${name} got duplicates`);
      for (const t of want(name)) assert.equal(counts(p).get(t), 1, `${name} misses ${t}`);
    }

    const now = memory();
    const st = server.stats();
    const rx = { server: st.received.datagrams - srvBefore.received.datagrams, a: a.host.counters.datagramsIn - inBefore.a, b: b.host.counters.datagramsIn - inBefore.b };
    const srvDrops = sum(st.drops) - sum(srvBefore.drops);
    const roomDrops = (p: typeof a) => {
      const s = p.host.room.stats;
      return s.droppedForeign + s.droppedMalformed + s.droppedUnknownPeer;
    };
    const linkDrops = (p: typeof a, q: typeof a) => link(p, q).stats.dropped;
    console.log(
      [
        `      flood: ${result.sent} datagrams (${mib(result.sentBytes)}) in ${result.ms.toFixed(0)} ms; ${result.backDatagrams} answers (${result.backBytes} B) came back`,
        `      pools: ${JSON.stringify(toPeers.byKind)}`,
        `      received: rendezvous ${rx.server}, Alice ${rx.a}, Bob ${rx.b} (the rest fell to full socket buffers)`,
        `      rendezvous drops ${srvDrops}: ${JSON.stringify(st.drops)}; suppressed ${JSON.stringify(st.suppressed)}; sources ${st.sources}; rooms ${st.rooms}; members ${st.members}`,
        `      Alice room ${JSON.stringify(a.host.room.stats)} link drops ${linkDrops(a, b)}; Bob room ${JSON.stringify(b.host.room.stats)} link drops ${linkDrops(b, a)}`,
        `      Bob->Alice handshakes ${link(b, a).stats.handshakes}, auth failures ${link(b, a).stats.authFailures}; Alice->Bob ${link(a, b).stats.handshakes}/${link(a, b).stats.authFailures}`,
        `      newcomer paired ${cJoinedDuring ? 'during' : 'after'} the flood; ${during.length} messages sent during it, all delivered once`,
        `      memory: heapUsed ${mib(before.heapUsed)} -> ${mib(now.heapUsed)}, rss ${mib(before.rss)} -> ${mib(now.rss)}`,
      ].join('\n'),
    );
    assert.ok(result.sent >= 100_000, `only ${result.sent} datagrams sent`);
    assert.ok(cJoinedDuring, 'the newcomer paired with both while the flood still ran');
    assert.ok(during.length >= 10, 'messages were sent during the flood');
    // Bounded: the flood holds nothing once it is over.
    assert.ok(now.heapUsed - before.heapUsed < 24 * 1048576, `heap grew by ${mib(now.heapUsed - before.heapUsed)}`);
    assert.ok(now.rss - before.rss < 256 * 1048576, `rss grew by ${mib(now.rss - before.rss)}`);
    assert.equal(st.rooms, 1);
    assert.equal(st.members, 3);
    assert.ok(st.sources <= 16, `${st.sources} rate-limit sources`);
    for (const p of [a, b]) {
      assert.ok(linkCount(p) <= 2, 'no link for a forged peer');
      assert.ok(roomIndexCount(p) <= 8, `${roomIndexCount(p)} session indices held`);
      for (const l of [link(p, c!)]) assert.ok(l.candidateList().length <= 16, `${l.candidateList().length} candidates`);
    }
    // Counted: what reached the server was dropped and counted, apart from the few real requests.
    assert.ok(rx.server >= TOTAL.server * 0.2, `the server saw only ${rx.server} of ${TOTAL.server}`);
    assert.ok(srvDrops >= rx.server * 0.9, `server counted ${srvDrops} drops of ${rx.server}`);
    assert.ok(roomDrops(b) + linkDrops(b, a) >= rx.b * 0.5, `Bob counted ${roomDrops(b) + linkDrops(b, a)} drops of ${rx.b}`);
    // The rendezvous never answered the flood with more than it received.
    assert.ok(st.unverified.bytesOut <= st.unverified.bytesIn);
    assert.ok(result.backBytes <= result.sentBytes, 'the flood drew less than it sent');
    void floodFinishedAt;
  });
});
