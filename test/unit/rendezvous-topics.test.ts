import assert from 'node:assert/strict';
import { decodeTopic, TopicKind, type TopicMessage } from '../../extension/core/wire/topics';
import { TopicTable, type TopicOutgoing } from '../../rendezvous/topics';

const A = { address: '198.51.100.1', port: 1000 };
const B = { address: '198.51.100.2', port: 2000 };
const C = { address: '198.51.100.3', port: 3000 };
const id = (n: number) => Buffer.alloc(16, n);
const topic = (n: number) => Buffer.alloc(16, 0x80 + n);

function reg(t: TopicTable, now: number, from: typeof A, client: number, topics: [number, TopicKind][], flags = 0): TopicOutgoing[] {
  return t.register(now, from, { clientId: id(client), seq: 1, flags, candidates: [], topics: topics.map(([n, kind]) => ({ topic: topic(n), kind })) });
}

function decoded(out: TopicOutgoing[]): { to: string; m: TopicMessage }[] {
  return out
    .filter((o) => o.type !== 'error')
    .map((o) => {
      const d = decodeTopic(o.bytes);
      assert.ok(d.ok);
      return { to: `${o.to.address}:${o.to.port}`, m: d.value };
    });
}

describe('rendezvous: topic table', () => {
  it('pairs two clients that registered the same topic, telling each the other with the topic id', () => {
    const t = new TopicTable({ refreshSeconds: 10 });
    const first = decoded(reg(t, 0, A, 1, [[1, TopicKind.Peer], [2, TopicKind.Peer]]));
    assert.deepEqual(first.map((x) => x.m.type), ['topicAck']);
    assert.equal((first[0].m as { accepted: number }).accepted, 2);
    const second = decoded(reg(t, 10, B, 2, [[2, TopicKind.Peer], [3, TopicKind.Peer]]));
    assert.deepEqual(second.map((x) => `${x.m.type}->${x.to}`), ['topicPeer->198.51.100.2:2000', 'topicPeer->198.51.100.1:1000', 'topicAck->198.51.100.2:2000']);
    const toA = second[1].m as Extract<TopicMessage, { type: 'topicPeer' }>;
    assert.deepEqual(toA.topic, topic(2));
    assert.deepEqual(toA.partner.clientId, id(2));
    assert.deepEqual(toA.partner.reflexive, B);
    // A refresh pairs nobody again.
    assert.deepEqual(decoded(reg(t, 20, B, 2, [[2, TopicKind.Peer]])).map((x) => x.m.type), ['topicAck']);
    assert.deepEqual(t.stats().memberships, 4);
  });

  it('inbox topics: the host sees visitors, visitors see only the host', () => {
    const t = new TopicTable();
    reg(t, 0, A, 1, [[9, TopicKind.Host]]);
    const v1 = decoded(reg(t, 1, B, 2, [[9, TopicKind.Visitor]]));
    assert.equal(v1.filter((x) => x.m.type === 'topicPeer').length, 2);
    const v2 = decoded(reg(t, 2, C, 3, [[9, TopicKind.Visitor]]));
    const peers = v2.filter((x) => x.m.type === 'topicPeer');
    assert.deepEqual(peers.map((x) => x.to).sort(), ['198.51.100.1:1000', '198.51.100.3:3000']);
    // Two visitors alone on a topic never meet either.
    const t2 = new TopicTable();
    reg(t2, 0, B, 2, [[9, TopicKind.Visitor]]);
    assert.equal(decoded(reg(t2, 0, C, 3, [[9, TopicKind.Visitor]])).filter((x) => x.m.type === 'topicPeer').length, 0);
  });

  it('graceful leave and expiry tell the partner topicGone; expiry is 2.5 refresh periods', () => {
    const t = new TopicTable({ refreshSeconds: 10 });
    reg(t, 0, A, 1, [[1, TopicKind.Peer]]);
    reg(t, 0, B, 2, [[1, TopicKind.Peer]]);
    const left = t.leave(5, A, id(1), []);
    assert.ok(left.known);
    assert.deepEqual(decoded(left.out).map((x) => `${x.m.type}->${x.to}`), ['topicGone->198.51.100.2:2000']);
    assert.equal(t.leave(5, C, id(1), []).known, false, 'only the registering endpoint may leave');

    reg(t, 1000, A, 1, [[1, TopicKind.Peer]]);
    assert.equal(t.expire(24_999).length, 0);
    // B registered at 0 and never refreshed: gone at 25 s; A (refreshed at 1 s) hears it.
    const gone = decoded(t.expire(25_000));
    assert.deepEqual(gone.map((x) => `${x.m.type}->${x.to}`), ['topicGone->198.51.100.1:1000']);
    assert.equal(t.stats().memberships, 1);
    assert.equal(t.expire(26_000).length, 0);
    assert.equal(t.stats().memberships, 0);
    assert.equal(t.stats().clients, 0);
  });

  it('a new away flag reaches partners at once', () => {
    const t = new TopicTable();
    reg(t, 0, A, 1, [[1, TopicKind.Peer]]);
    reg(t, 0, B, 2, [[1, TopicKind.Peer]]);
    const out = decoded(reg(t, 1, A, 1, [[1, TopicKind.Peer]], 0x08));
    const upd = out.find((x) => x.m.type === 'topicPeer' && x.to === '198.51.100.2:2000');
    assert.ok(upd);
    assert.equal((upd.m as Extract<TopicMessage, { type: 'topicPeer' }>).partner.flags, 0x08);
  });

  it('caps: per client, per topic, in total and per address, with an error and a refused count', () => {
    const t = new TopicTable({ maxTopicsPerClient: 3, maxMembersPerTopic: 2, maxMemberships: 5, maxClientsPerAddress: 2 });
    const out = reg(t, 0, A, 1, [[1, TopicKind.Peer], [2, TopicKind.Peer], [3, TopicKind.Peer], [4, TopicKind.Peer]]);
    const ack = decoded(out).find((x) => x.m.type === 'topicAck')!.m as Extract<TopicMessage, { type: 'topicAck' }>;
    assert.deepEqual([ack.accepted, ack.refused], [3, 1]);
    assert.ok(out.some((o) => o.type === 'error' && o.bytes[3] === 16));
    reg(t, 0, B, 2, [[1, TopicKind.Peer]]);
    const full = reg(t, 0, C, 3, [[1, TopicKind.Peer]]);
    assert.ok(full.some((o) => o.type === 'error' && o.bytes[3] === 17), 'topic full');
    reg(t, 0, C, 3, [[7, TopicKind.Peer]]);
    const tableFull = reg(t, 0, C, 4, [[8, TopicKind.Peer]]);
    assert.ok(tableFull.some((o) => o.type === 'error' && o.bytes[3] === 17), 'table full');
    assert.equal(t.stats().memberships, 5);
    const perAddress = new TopicTable({ maxClientsPerAddress: 2 });
    reg(perAddress, 0, A, 1, [[1, TopicKind.Peer]]);
    reg(perAddress, 0, { ...A, port: 2 }, 2, [[1, TopicKind.Peer]]);
    assert.ok(reg(perAddress, 0, { ...A, port: 3 }, 3, [[2, TopicKind.Peer]]).some((o) => o.type === 'error'));
    assert.equal(perAddress.stats().refused.perAddress, 1);
  });

  it('a client id registered from another address is another client: it cannot take over notifications', () => {
    const t = new TopicTable();
    reg(t, 0, A, 1, [[1, TopicKind.Peer]]);
    reg(t, 0, B, 2, [[1, TopicKind.Peer]]);
    // C replays A's client id: it is just a third member of the topic; A keeps its own record.
    const out = decoded(reg(t, 0, C, 1, [[1, TopicKind.Peer]]));
    assert.ok(out.every((x) => x.to !== '198.51.100.1:1000' || x.m.type === 'topicPeer'));
    assert.equal(t.stats().clients, 3);
  });
});

describe('rendezvous: topic table, members of other instances', () => {
  const partnerOf = (client: number, at: typeof A, flags = 0) => ({ clientId: id(client), flags, reflexive: at, candidates: [] });
  const R = { address: '203.0.113.9', port: 9000 }; // registered at another instance

  it('a remote member pairs with local ones (and is counted in acks), but nothing is ever sent to it', () => {
    const t = new TopicTable({ refreshSeconds: 10 });
    assert.deepEqual(t.remoteUpsert(topic(1), 'f9', TopicKind.Peer, partnerOf(9, R)), [], 'no local member: not held');
    reg(t, 0, A, 1, [[1, TopicKind.Peer]]);
    const told = decoded(t.remoteUpsert(topic(1), 'f9', TopicKind.Peer, partnerOf(9, R)));
    assert.deepEqual(told.map((x) => `${x.m.type}->${x.to}`), ['topicPeer->198.51.100.1:1000']);
    assert.equal(t.stats().remote, 1);
    // The same again: nothing new to say.
    assert.deepEqual(t.remoteUpsert(topic(1), 'f9', TopicKind.Peer, partnerOf(9, R)), []);
    // A new local member hears about it at once; the remote one is never a destination.
    const b = decoded(reg(t, 1, B, 2, [[1, TopicKind.Peer]]));
    assert.ok(b.every((x) => x.to !== '203.0.113.9:9000'));
    assert.equal(b.filter((x) => x.m.type === 'topicPeer' && x.to === '198.51.100.2:2000').length, 2);
    const ack = b.find((x) => x.m.type === 'topicAck')!.m as { partners: number };
    assert.equal(ack.partners, 2);
    // A replay repeats it.
    const replay = decoded(t.register(2, B, { clientId: id(2), seq: 2, options: 1, flags: 0, candidates: [], topics: [{ topic: topic(1), kind: TopicKind.Peer }] }));
    assert.equal(replay.filter((x) => x.m.type === 'topicPeer').length, 2);
    // Away at the other instance: local partners hear it.
    assert.equal(decoded(t.remoteUpsert(topic(1), 'f9', TopicKind.Peer, partnerOf(9, R, 0x08))).length, 2);
    // Gone there: topicGone to both local members, never to R.
    const gone = decoded(t.remoteRemove(topic(1), 'f9'));
    assert.deepEqual(gone.map((x) => `${x.m.type}->${x.to}`).sort(), ['topicGone->198.51.100.1:1000', 'topicGone->198.51.100.2:2000']);
    assert.equal(t.stats().remote, 0);
  });

  it('the same client at two places is not gone while one remains; the last local member takes the remote ones with it', () => {
    const t = new TopicTable({ refreshSeconds: 10 });
    reg(t, 0, A, 1, [[1, TopicKind.Peer]]);
    t.remoteUpsert(topic(1), 'old', TopicKind.Peer, partnerOf(9, R));
    reg(t, 1, C, 9, [[1, TopicKind.Peer]]); // client 9 moved here
    const ack = decoded(reg(t, 2, A, 1, [[1, TopicKind.Peer]])).find((x) => x.m.type === 'topicAck')!.m as { partners: number };
    assert.equal(ack.partners, 1, 'partners are counted by client id');
    // Its old instance's record goes: A hears client 9 announced again (here), not gone.
    const after = decoded(t.remoteRemove(topic(1), 'old'));
    assert.deepEqual(after.map((x) => x.m.type), ['topicPeer']);
    t.remoteUpsert(topic(1), 'r7', TopicKind.Peer, partnerOf(7, R));
    assert.equal(t.stats().remote, 1);
    t.leave(3, A, id(1), []);
    t.leave(3, C, id(9), []);
    assert.equal(t.stats().remote, 0);
    assert.equal(t.stats().topics, 0);
  });

  it('remote members count against the per-topic cap; losing shared state drops them with topicGone', () => {
    const t = new TopicTable({ refreshSeconds: 10, maxMembersPerTopic: 3 });
    reg(t, 0, A, 1, [[1, TopicKind.Host]]);
    for (let n = 0; n < 5; n++) t.remoteUpsert(topic(1), `v${n}`, TopicKind.Visitor, partnerOf(20 + n, R));
    assert.equal(t.stats().remote, 2);
    const full = decoded(reg(t, 1, B, 2, [[1, TopicKind.Visitor]]));
    assert.ok(full.some((x) => x.m.type === 'topicAck' && (x.m as { refused: number }).refused === 1));
    const dropped = decoded(t.dropRemote());
    assert.deepEqual(dropped.map((x) => `${x.m.type}->${x.to}`), ['topicGone->198.51.100.1:1000', 'topicGone->198.51.100.1:1000']);
    assert.equal(t.stats().remote, 0);
  });

  it('the observer hears local changes only; an unavailable one earns registrants a notice after the ack', () => {
    const seen: string[] = [];
    const flags: number[] = [];
    let up = true;
    const t = new TopicTable({
      refreshSeconds: 10,
      observer: {
        changed: (m) => {
          seen.push(`+${m.field}:${m.kind}`);
          const d = decodeTopic(m.encoded);
          assert.ok(d.ok && d.value.type === 'topicPeer' && d.value.topic.equals(m.topic));
          flags.push(d.value.partner.flags);
        },
        removed: (m) => seen.push(`-${m.field}`),
        available: () => up,
      },
    });
    reg(t, 0, A, 1, [[1, TopicKind.Peer]]);
    reg(t, 1, A, 1, [[1, TopicKind.Peer]]); // a refresh: nothing
    t.remoteUpsert(topic(1), 'r', TopicKind.Peer, partnerOf(9, R));
    reg(t, 2, A, 1, [[1, TopicKind.Peer]], 0x08); // away: a change
    up = false;
    const out = reg(t, 3, B, 2, [[1, TopicKind.Peer]]);
    assert.equal(out[out.length - 1].type, 'error');
    assert.equal(out[out.length - 2].type, 'topicAck');
    t.leave(4, A, id(1), []);
    const f1 = `${id(1).toString('hex')}@198.51.100.1:1000`;
    assert.deepEqual(seen, [`+${f1}:0`, `+${f1}:0`, `+${id(2).toString('hex')}@198.51.100.2:2000:0`, `-${f1}`]);
    assert.deepEqual(flags, [0, 0x08, 0], 'what the registry stores follows the away flag');
  });
});
