import assert from 'node:assert/strict';
import { CongestionWindow } from '../../extension/core/reliable/congestion';
import { RangeSet } from '../../extension/core/reliable/rangeSet';
import { RttEstimator } from '../../extension/core/reliable/rttEstimator';
import { expand, toWire } from '../../extension/core/reliable/sequence';
import { createPrng } from '../helpers/lossyLink';

describe('reliable parts: sequence numbers', () => {
  it('expands a wire value to the nearest internal number, across the wrap', () => {
    assert.equal(expand(5, 0), 5);
    assert.equal(expand(0xffffffff, 0), -1); // just behind: an old duplicate
    assert.equal(expand(3, 2 ** 32 - 2), 2 ** 32 + 3);
    assert.equal(expand(0xfffffffe, 2 ** 32 + 3), 2 ** 32 - 2);
    assert.equal(expand(0x7fffffff, 0), 0x7fffffff);
    assert.equal(expand(0x80000000, 0), -(2 ** 31));
    const big = 5 * 2 ** 32 + 17;
    assert.equal(expand(toWire(big + 1000), big), big + 1000);
    assert.equal(expand(toWire(big - 1000), big), big - 1000);
  });
});

describe('reliable parts: RangeSet', () => {
  it('merges adjacent numbers and matches a naive set', () => {
    const rnd = createPrng(5);
    const rs = new RangeSet();
    const naive = new Set<number>();
    for (let i = 0; i < 3000; i++) {
      const n = Math.floor(rnd() * 500);
      assert.equal(rs.add(n), !naive.has(n));
      naive.add(n);
      if (i % 100 === 0) {
        const list = rs.list();
        for (let k = 0; k < list.length; k++) {
          assert.ok(list[k].start < list[k].end);
          if (k > 0) assert.ok(list[k - 1].end < list[k].start, 'disjoint and non-adjacent');
        }
        for (let n2 = 0; n2 < 500; n2++) assert.equal(rs.has(n2), naive.has(n2));
      }
    }
    for (let n = 0; n < 500; n++) rs.add(n);
    assert.deepEqual(rs.list(), [{ start: 0, end: 500 }]);
    assert.deepEqual(rs.shift(), { start: 0, end: 500 });
    assert.equal(rs.count, 0);
  });

  it('joins a gap from both sides', () => {
    const rs = new RangeSet();
    rs.add(1);
    rs.add(3);
    assert.equal(rs.count, 2);
    rs.add(2);
    assert.deepEqual(rs.list(), [{ start: 1, end: 4 }]);
  });
});

describe('reliable parts: RTT estimator (RFC 6298)', () => {
  const opts = { initialRto: 1000, minRto: 200, maxRto: 60_000, peerMaxAckDelay: 0 };

  it('uses the initial RTO before any sample', () => {
    const r = new RttEstimator(opts);
    assert.equal(r.srtt, undefined);
    assert.equal(r.rto, 1000);
  });

  it('first sample: SRTT = R, RTTVAR = R/2; then the 1/8 and 1/4 gains', () => {
    const r = new RttEstimator({ ...opts, minRto: 1 });
    r.sample(400, 0);
    assert.equal(r.srtt, 400);
    assert.equal(r.rttvar, 200);
    assert.equal(r.rto, 400 + 4 * 200);
    r.sample(200, 0);
    assert.equal(r.rttvar, 0.75 * 200 + 0.25 * 200);
    assert.equal(r.srtt, 0.875 * 400 + 0.125 * 200);
  });

  it('minRtt keeps the ACK delay in; minPathRtt takes it out (never below 0)', () => {
    const r = new RttEstimator(opts);
    assert.equal(r.minPathRtt, Infinity);
    r.sample(27, 25); // a lone message's ACK, held 25 ms by the peer
    assert.equal(r.minRtt, 27);
    assert.equal(r.minPathRtt, 2);
    r.sample(30, 0);
    assert.equal(r.minPathRtt, 2);
    r.sample(5, 40); // a peer claiming more delay than the whole round trip
    assert.equal(r.minRtt, 5);
    assert.equal(r.minPathRtt, 0);
  });

  it('clamps to [minRto, maxRto] and doubles per backoff step', () => {
    const r = new RttEstimator({ ...opts, maxRto: 5000 });
    r.sample(10, 0);
    assert.equal(r.rto, 200);
    r.backoff = 3;
    assert.equal(r.rto, 1600);
    r.backoff = 10;
    assert.equal(r.rto, 5000);
    r.backoff = 1e6;
    assert.equal(r.rto, 5000);
  });

  it('subtracts the peer’s ACK delay but never below the smallest RTT seen', () => {
    const r = new RttEstimator(opts);
    r.sample(100, 0);
    r.sample(130, 30);
    assert.equal(r.srtt, 100);
    const before = r.srtt;
    r.sample(3000, 2990); // a lost-ACKs case: claimed delay exceeds the sample's excess
    assert.equal(r.latestRtt, 3000);
    assert.equal(r.srtt, before, 'clamped to min RTT, not inflated to 3000');
  });
});

describe('reliable parts: congestion window', () => {
  it('slow start doubles per window, then grows one packet per window', () => {
    const cc = new CongestionWindow(1000, 10, 1e9);
    assert.equal(cc.cwnd, 10_000);
    for (let i = 0; i < 10; i++) cc.onAcked(1000, 0);
    assert.equal(cc.cwnd, 20_000);
    cc.onLoss(0, 100);
    assert.equal(cc.cwnd, 10_000);
    assert.equal(cc.ssthresh, 10_000);
    cc.onAcked(1000, 50); // sent before the episode began: no growth
    assert.equal(cc.cwnd, 10_000);
    for (let i = 0; i < 10; i++) cc.onAcked(1000, 200);
    assert.ok(cc.cwnd > 10_900 && cc.cwnd < 11_000, `${cc.cwnd}`);
  });

  it('halves once per loss episode', () => {
    const cc = new CongestionWindow(1000, 16, 1e9);
    cc.onLoss(10, 100);
    cc.onLoss(20, 101); // sent before the episode: same episode
    assert.equal(cc.cwnd, 8000);
    cc.onLoss(150, 300); // sent after: a new episode
    assert.equal(cc.cwnd, 4000);
  });

  it('undoes an episode that proved to be reordering', () => {
    const cc = new CongestionWindow(1000, 16, 1e9);
    cc.onLoss(10, 100);
    assert.equal(cc.cwnd, 8000);
    cc.undo();
    assert.equal(cc.cwnd, 16_000);
    assert.equal(cc.ssthresh, Infinity);
    cc.onAcked(1000, 50); // growth resumes for everything, as before the episode
    assert.equal(cc.cwnd, 17_000);
    cc.undo(); // nothing left to undo
    assert.equal(cc.cwnd, 17_000);
  });

  it('collapses to one packet on persistent congestion, never below two after a loss, and is capped', () => {
    const cc = new CongestionWindow(1000, 3, 5000);
    cc.onLoss(0, 1);
    assert.equal(cc.cwnd, 2000);
    cc.onPersistentCongestion(2);
    assert.equal(cc.cwnd, 1000);
    for (let i = 0; i < 100; i++) cc.onAcked(1000, 10);
    assert.equal(cc.cwnd, 5000);
  });
});
