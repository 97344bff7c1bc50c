import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { InstanceCursor, instanceWeight, rankInstances } from '../../extension/core/room/instances';

const roomId = (i: number) => createHash('sha256').update(`room ${i}`).digest().subarray(0, 16);
const servers = [
  { host: '127.0.0.2', port: 7000 },
  { host: '127.0.0.3', port: 7000 },
  { host: '127.0.0.4', port: 7000 },
];

describe('instance choice (rendezvous hashing)', () => {
  it('golden weight: first 8 bytes of SHA-256("p2p-chat/hrw\\0" host:port "\\0" roomId)', () => {
    const id = Buffer.alloc(16, 1);
    const expect = createHash('sha256').update(Buffer.concat([Buffer.from('p2p-chat/hrw\x00127.0.0.2:7000\x00'), id])).digest().readBigUInt64BE(0);
    assert.equal(instanceWeight(servers[0], id), expect);
    assert.deepEqual(
      rankInstances(servers, id).map((s) => s.host),
      [...servers].sort((a, b) => (instanceWeight(a, id) > instanceWeight(b, id) ? -1 : 1)).map((s) => s.host),
    );
  });
  it('every member ranks the same, whatever order its list is in', () => {
    for (let i = 0; i < 200; i++) {
      const a = rankInstances(servers, roomId(i));
      const b = rankInstances([...servers].reverse(), roomId(i));
      assert.deepEqual(a, b);
    }
  });
  it('spreads rooms evenly and moves only the rooms of a removed instance', () => {
    const counts = new Map<string, number>();
    let moved = 0;
    for (let i = 0; i < 3000; i++) {
      const full = rankInstances(servers, roomId(i));
      counts.set(full[0].host, (counts.get(full[0].host) ?? 0) + 1);
      const without = rankInstances(servers.filter((s) => s.host !== '127.0.0.3'), roomId(i));
      if (full[0].host !== '127.0.0.3') assert.equal(without[0].host, full[0].host);
      else {
        moved++;
        assert.equal(without[0].host, full[1].host, 'the next in the ranking takes over');
      }
    }
    for (const n of counts.values()) assert.ok(n > 850 && n < 1150, `uneven: ${[...counts.values()]}`);
    assert.equal(moved, counts.get('127.0.0.3'));
  });
  it('drops duplicates; the cursor walks the ranking and returns to the best', () => {
    assert.equal(rankInstances([...servers, servers[0]], roomId(1)).length, 3);
    const eps = rankInstances(servers, roomId(1)).map((s) => ({ address: s.host, port: s.port }));
    const c = new InstanceCursor(eps);
    assert.deepEqual(c.current, eps[0]);
    assert.deepEqual(c.next(), eps[1]);
    assert.deepEqual(c.next(), eps[2]);
    assert.deepEqual(c.next(), eps[0]);
    c.next();
    assert.equal(c.preferBest(), true);
    assert.equal(c.position, 0);
    assert.equal(c.preferBest(), false);
    assert.throws(() => new InstanceCursor([]));
  });
});
