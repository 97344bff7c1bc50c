import assert from 'node:assert/strict';
import { ReliableChannel, ReliableChannelOptions } from '../../extension/core/reliable';
import { decodePacket } from '../../extension/core/wire/frames';
import { LossyLink, LossyLinkOptions } from '../helpers/lossyLink';

function hasData(p: Buffer): boolean {
  const r = decodePacket(p);
  return r.ok && r.value.some((f) => f.type === 'data');
}

function setup(opts: ReliableChannelOptions = {}, link: LossyLinkOptions = {}) {
  const a = new ReliableChannel(opts);
  const b = new ReliableChannel(opts);
  const atB: Buffer[] = [];
  const acked: number[] = [];
  b.onMessage = (m) => atB.push(m);
  a.onAcked = (h) => acked.push(h);
  return { a, b, atB, acked, link: new LossyLink(a, b, link) };
}

/** Lone messages spaced out, so every one yields an RTT sample. */
function warmUp(s: ReturnType<typeof setup>, n: number, gap = 500): void {
  for (let i = 0; i < n; i++) {
    const target = s.acked.length + 1;
    s.a.send(Buffer.from(`warm ${i}`), s.link.now);
    assert.ok(s.link.runUntil(() => s.acked.length === target));
    s.link.runUntilTime(s.link.now + gap);
  }
}

describe('reliable channel: RTT and retransmission timer', () => {
  it('measures the path RTT, taking the peer’s ACK delay out', () => {
    const s = setup({}, { delay: 40 });
    // Two full packets per burst: the peer ACKs at once, so raw samples are the bare 80 ms path.
    for (let i = 0; i < 10; i++) {
      s.a.send(Buffer.alloc(1000, 1), s.link.now);
      s.a.send(Buffer.alloc(1000, 2), s.link.now);
      const target = s.acked.length + 2;
      assert.ok(s.link.runUntil(() => s.acked.length === target));
      s.link.runUntilTime(s.link.now + 300);
    }
    assert.ok(Math.abs(s.a.stats.srtt! - 80) < 1, `srtt ${s.a.stats.srtt}`);
    // Lone messages get delayed ACKs (105 ms raw); the reported 25 ms delay is subtracted.
    warmUp(s, 10);
    assert.ok(Math.abs(s.a.stats.srtt! - 80) < 1, `srtt ${s.a.stats.srtt}`);
    assert.equal(s.a.stats.rto, 200, 'clamped to minRto');
  });

  it('backs off exponentially up to maxRto while the path is dead, then recovers', () => {
    const s = setup({ minRto: 200, maxRto: 5000 }, { delay: 50 });
    warmUp(s, 5);
    const baseRto = s.a.stats.rto;
    const srtt = s.a.stats.srtt;
    assert.ok(baseRto > 200 && baseRto < 300, `base RTO ${baseRto}`); // 125 ms RTT + 4 RTTVAR + ACK delay

    s.link.aToB.blackhole = true;
    s.link.bToA.blackhole = true;
    const start = s.link.now;
    const dataTimes: number[] = [];
    const rtoAtSend: number[] = [];
    s.link.onTransmit = (d, p, now) => {
      if (d === 'aToB' && hasData(p)) {
        dataTimes.push(now - start);
        rtoAtSend.push(s.a.stats.rto);
      }
    };
    s.a.send(Buffer.from('into the void'), start);
    s.link.runUntilTime(start + 30_000);
    const gaps = dataTimes.slice(1).map((t, i) => t - dataTimes[i]);
    const expected = [1, 2, 4, 8, 16].map((k) => baseRto * k);
    expected.forEach((g, i) => assert.ok(Math.abs(gaps[i] - g) < 1e-6, `gap ${i}: ${gaps[i]}, expected ${g}`));
    assert.ok(gaps.length >= 8 && gaps.slice(5).every((g) => g === 5000), `capped at maxRto: ${gaps}`);
    assert.equal(s.a.stats.timeouts, gaps.length);
    assert.equal(s.a.stats.rto, 5000);
    assert.equal(s.atB.length, 5, 'nothing new delivered');
    assert.equal(s.a.stats.srtt, srtt, 'no samples taken while only retransmissions flew');

    s.link.aToB.blackhole = false;
    s.link.bToA.blackhole = false;
    const healedAt = s.link.now;
    assert.ok(s.link.runUntil(() => s.acked.length === 6, { maxTime: healedAt + 10_000 }));
    assert.equal(s.atB[s.atB.length - 1].toString(), 'into the void');
    assert.ok(s.link.now - healedAt <= 5000 + 200, 'delivered by the next retransmission');
    assert.equal(s.a.stats.rto, baseRto, 'backoff cleared once data is acknowledged');
    assert.equal(s.a.stats.srtt, srtt, 'Karn: the retransmitted message gave no sample');
    warmUp(s, 3);
    assert.ok(s.a.stats.rto <= baseRto);
    assert.ok(Math.abs(s.a.stats.srtt! - 125) < 1);
  });

  it('takes no RTT sample from a retransmitted fragment (Karn)', () => {
    const s = setup({ initialRto: 1000 }, { delay: 10 });
    let dropped = false;
    s.link.shouldDrop = (d, p) => {
      if (dropped || d !== 'aToB' || !hasData(p)) return false;
      dropped = true;
      return true;
    };
    s.a.send(Buffer.from('first'), 0);
    assert.ok(s.link.runUntil(() => s.acked.length === 1));
    assert.equal(s.a.stats.timeouts, 1);
    assert.equal(s.a.stats.retransmitted, 1);
    // The ACK came ~1045 ms after the first transmission; a naive sample would say so.
    assert.equal(s.a.stats.srtt, undefined);
    s.a.send(Buffer.from('second'), s.link.now);
    assert.ok(s.link.runUntil(() => s.acked.length === 2));
    assert.equal(s.a.stats.srtt, 45); // 2 x 10 ms + a 25 ms delayed ACK (the first sample keeps it)
  });

  it('repairs a single loss by fast retransmit, without a timeout, and halves the window', () => {
    const s = setup({}, { delay: 20 });
    warmUp(s, 2);
    let seen = 0;
    s.link.shouldDrop = (d, p) => d === 'aToB' && hasData(p) && ++seen === 3;
    let cwndBefore = 0;
    s.a.send(Buffer.alloc(200_000, 7), s.link.now);
    assert.ok(
      s.link.runUntil(() => {
        if (seen < 3) cwndBefore = s.a.stats.cwnd;
        return s.acked.length === 3;
      }),
    );
    assert.equal(s.atB[2].length, 200_000);
    assert.equal(s.a.stats.timeouts, 0);
    assert.ok(s.a.stats.lossesDetected >= 1);
    assert.equal(s.a.stats.retransmitted, 1);
    assert.ok(Number.isFinite(s.a.stats.ssthresh) && s.a.stats.ssthresh < cwndBefore * 2);
  });

  it('detects a loss near the tail by time before the RTO fires', () => {
    const s = setup({ minRto: 1000 }, { delay: 20 });
    warmUp(s, 3);
    const start = s.link.now;
    let seen = 0;
    let retransmittedAt = -1;
    s.link.shouldDrop = (d, p) => d === 'aToB' && hasData(p) && ++seen === 2;
    s.link.onTransmit = (d, p, now) => {
      if (d === 'aToB' && hasData(p) && seen >= 3 && retransmittedAt < 0 && s.a.stats.retransmitted > 0) retransmittedAt = now;
    };
    // Three full packets: only one packet after the lost one, below the 3-packet threshold.
    for (let i = 0; i < 3; i++) s.a.send(Buffer.alloc(1000, i), start);
    assert.ok(s.link.runUntil(() => s.acked.length === 6));
    assert.equal(s.a.stats.timeouts, 0);
    assert.equal(s.a.stats.retransmitted, 1);
    assert.ok(retransmittedAt - start < 200, `retransmitted after ${retransmittedAt - start} ms (RTO is 1000)`);
  });

  it('adapts to a reordering path instead of retransmitting forever', () => {
    const s = setup({}, { delay: 20, jitter: 30, seed: 5 });
    for (let i = 0; i < 400; i++) s.a.send(Buffer.alloc(1000, i), 0);
    assert.ok(s.link.runUntil(() => s.acked.length === 400, { maxTime: 600_000 }));
    const st = s.a.stats;
    assert.ok(st.spuriousLosses > 0, 'the path did reorder');
    assert.ok(st.retransmitted < 0.1 * st.sent, `${st.retransmitted} spurious retransmissions of ${st.sent}`);
    assert.equal(s.b.stats.messagesDelivered, 400);
  });
});
