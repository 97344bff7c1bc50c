import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { MIB, ReliableChannel } from '../../extension/core/reliable';
import { LossyLink, LossyLinkOptions, createPrng } from '../helpers/lossyLink';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A message that names its index, so order and identity are checked from the bytes alone. */
function numbered(i: number, size: number): Buffer {
  const m = Buffer.alloc(Math.max(8, size), i & 0xff);
  m.writeUInt32BE(i, 0);
  m.writeUInt32BE(size, 4);
  return m;
}

function checkOrdered(got: Buffer[], n: number): void {
  assert.equal(got.length, n, `${got.length} of ${n} delivered`);
  for (let i = 0; i < n; i++) assert.equal(got[i].readUInt32BE(0), i, `message ${i} out of order or duplicated`);
}

interface Run {
  a: ReliableChannel;
  b: ReliableChannel;
  link: LossyLink;
  atA: Buffer[];
  atB: Buffer[];
  ackedA: number[];
  ackedB: number[];
}

function setup(link: LossyLinkOptions): Run {
  const a = new ReliableChannel();
  const b = new ReliableChannel();
  const r: Run = { a, b, link: new LossyLink(a, b, link), atA: [], atB: [], ackedA: [], ackedB: [] };
  a.onMessage = (m) => r.atA.push(m);
  b.onMessage = (m) => r.atB.push(m);
  a.onAcked = (h) => r.ackedA.push(h);
  b.onAcked = (h) => r.ackedB.push(h);
  return r;
}

describe('reliable channel over a lossy link', () => {
  for (const seed of [1, 2, 3]) {
    it(`1,000 messages each way at 20 % loss, reordering and duplication: exactly once, in order (seed ${seed})`, () => {
      const r = setup({ delay: 30, jitter: 40, loss: 0.2, duplicate: 0.1, seed });
      const rnd = createPrng(seed * 101);
      const sizes = Array.from({ length: 1000 }, () => (rnd() < 0.05 ? 1000 + Math.floor(rnd() * 5000) : Math.floor(rnd() * 200)));
      // Bursts at different times, so fresh data, retransmissions and ACKs interleave.
      for (let i = 0; i < 1000; i++) {
        const at = Math.floor(i / 50) * 300;
        r.link.runUntilTime(at);
        r.a.send(numbered(i, sizes[i]), at);
        r.b.send(numbered(i, sizes[999 - i]), at);
      }
      const done = () => r.ackedA.length === 1000 && r.ackedB.length === 1000 && r.a.idle && r.b.idle;
      assert.ok(r.link.runUntil(done, { maxTime: 3_600_000 }), 'did not finish');
      checkOrdered(r.atB, 1000);
      checkOrdered(r.atA, 1000);
      for (let i = 0; i < 1000; i++) {
        assert.equal(r.atB[i].length, Math.max(8, sizes[i]));
        assert.equal(r.atA[i].length, Math.max(8, sizes[999 - i]));
      }
      assert.deepEqual(r.ackedA, Array.from({ length: 1000 }, (_, i) => i + 1));
      // The link really was hostile, and the channel really saw it.
      for (const d of ['aToB', 'bToA'] as const) {
        assert.ok(r.link.counts[d].lost > 0.15 * r.link.counts[d].sent);
        assert.ok(r.link.counts[d].duplicated > 0);
      }
      assert.ok(r.b.stats.duplicates > 0 && r.a.stats.duplicates > 0);
      assert.ok(r.a.stats.retransmitted > 0 && r.b.stats.retransmitted > 0);
      assert.equal(r.a.stats.messagesDelivered, 1000);
      assert.equal(r.b.stats.reassemblyBytes, 0);
      assert.equal(r.a.stats.inFlight, 0);
    });
  }

  it('a 1 MiB message over 5 % loss arrives intact', () => {
    const r = setup({ delay: 20, jitter: 10, loss: 0.05, duplicate: 0.02, seed: 4 });
    const msg = Buffer.alloc(MIB);
    const rnd = createPrng(99);
    for (let i = 0; i < msg.length; i++) msg[i] = (rnd() * 256) | 0;
    r.a.send(msg, 0);
    r.a.send(Buffer.from('after the big one'), 0);
    assert.ok(r.link.runUntil(() => r.ackedA.length === 2, { maxTime: 600_000 }));
    assert.equal(r.atB.length, 2);
    assert.equal(sha(r.atB[0]), sha(msg));
    assert.equal(r.atB[1].toString(), 'after the big one');
    assert.ok(r.a.stats.retransmitted > 0);
    // Congestion control backed off from the initial window and is not melting the link:
    // retransmissions stay near the loss rate.
    assert.ok(r.a.stats.retransmitted < 0.15 * r.a.stats.sent, `${r.a.stats.retransmitted} retransmissions`);
  });

  it('a 1 MiB message over 20 % loss both ways arrives intact', () => {
    const r = setup({ delay: 20, jitter: 10, loss: 0.2, duplicate: 0.05, seed: 8 });
    const msg = Buffer.alloc(MIB);
    for (let i = 0; i < msg.length; i += 2) msg.writeUInt16BE(i & 0xffff, i);
    r.a.send(msg, 0);
    assert.ok(r.link.runUntil(() => r.ackedA.length === 1, { maxTime: 3_600_000 }));
    assert.equal(sha(r.atB[0]), sha(msg));
  });

  it('randomized configurations and links: always exactly once, in order, and clean at the end', () => {
    // Each seed draws channel options and link impairments; a failure message names the seed.
    for (let seed = 1; seed <= 20; seed++) {
      const rnd = createPrng(seed * 7919);
      const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)];
      const opts = {
        mtu: pick([64, 200, 1100, 1400]),
        sendWindow: pick([4, 16, 256]),
        receiveWindow: pick([4, 64, 1024]),
        maxReassemblyBytes: pick([0, 5000, MIB]),
        initialSeq: pick([0, 2 ** 32 - 30]),
        minRto: pick([50, 200]),
        maxRto: pick([2000, 10_000]),
      };
      const link = { delay: pick([1, 20, 100]), jitter: pick([0, 10, 200]), loss: pick([0, 0.1, 0.2]), duplicate: pick([0, 0.3]), seed };
      const a = new ReliableChannel(opts);
      const b = new ReliableChannel(opts);
      const atA: Buffer[] = [];
      const atB: Buffer[] = [];
      let ackedA = 0;
      let ackedB = 0;
      a.onMessage = (m) => atA.push(m);
      b.onMessage = (m) => atB.push(m);
      a.onAcked = () => ackedA++;
      b.onAcked = () => ackedB++;
      const l = new LossyLink(a, b, link);
      const n = 30;
      const sizes = Array.from({ length: n }, () => pick([0, 1, 50, 1000, 3000]));
      for (let i = 0; i < n; i++) {
        l.runUntilTime(Math.max(l.now, Math.floor(rnd() * 3000)));
        a.send(numbered(i, sizes[i]), l.now);
        b.send(numbered(i, sizes[n - 1 - i]), l.now);
      }
      const what = `seed ${seed}: ${JSON.stringify({ opts, link })}`;
      assert.ok(l.runUntil(() => ackedA === n && ackedB === n && a.idle && b.idle, { maxTime: l.now + 20 * 3_600_000 }), what);
      checkOrdered(atB, n);
      checkOrdered(atA, n);
      atB.forEach((m, i) => assert.equal(m.length, Math.max(8, sizes[i]), what));
      assert.ok(!a.error && !b.error, what);
      assert.equal(a.stats.reassemblyBytes + b.stats.reassemblyBytes, 0, what);
    }
  });

  it('is deterministic: the same seed gives the same run', () => {
    const once = () => {
      const r = setup({ delay: 15, jitter: 25, loss: 0.2, duplicate: 0.1, seed: 77 });
      for (let i = 0; i < 200; i++) r.a.send(numbered(i, 300), 0);
      r.link.runUntil(() => r.ackedA.length === 200, { maxTime: 600_000 });
      return JSON.stringify({ now: r.link.now, counts: r.link.counts, a: r.a.stats, b: r.b.stats });
    };
    assert.equal(once(), once());
  });

  it('measures packets sent per message delivered', () => {
    const rows: string[] = [];
    const measure = (name: string, loss: number, spacing: number, n: number, size: number) => {
      const r = setup({ delay: 25, jitter: loss > 0 ? 10 : 0, loss, seed: 12 });
      for (let i = 0; i < n; i++) {
        const at = i * spacing;
        if (spacing > 0) r.link.runUntilTime(at);
        r.a.send(numbered(i, size), at);
      }
      assert.ok(r.link.runUntil(() => r.ackedA.length === n && r.a.idle && r.b.idle, { maxTime: 3_600_000 }));
      checkOrdered(r.atB, n);
      const c = r.link.counts;
      const perMsg = (c.aToB.sent + c.bToA.sent) / n;
      rows.push(
        `${name.padEnd(34)} loss ${String(loss * 100).padStart(2)} %: ${(c.aToB.sent / n).toFixed(2)} data-side + ` +
          `${(c.bToA.sent / n).toFixed(2)} ACK-side = ${perMsg.toFixed(2)} packets/message ` +
          `(retransmitted ${r.a.stats.retransmitted}, timeouts ${r.a.stats.timeouts})`,
      );
      return perMsg;
    };
    const chat0 = measure('chat: 1000 x 100 B, 1 per second', 0, 1000, 1000, 100);
    const chat20 = measure('chat: 1000 x 100 B, 1 per second', 0.2, 1000, 1000, 100);
    const burst0 = measure('burst: 1000 x 100 B at once', 0, 0, 1000, 100);
    const burst20 = measure('burst: 1000 x 100 B at once', 0.2, 0, 1000, 100);
    const bulk0 = measure('bulk: 20 x 64 KiB at once', 0, 0, 20, 65536);
    const bulk20 = measure('bulk: 20 x 64 KiB at once', 0.2, 0, 20, 65536);
    console.log('      ' + rows.join('\n      '));
    // A lone chat message is one data packet and one delayed ACK.
    assert.equal(chat0, 2);
    // At 20 % loss each way: data needs 1/0.8 tries, and lost ACKs cost retransmissions too.
    assert.ok(chat20 < 3.2, `chat at 20 %: ${chat20}`);
    // Small messages share packets: 9 of these fit one 1100-byte packet (0.11 packets each).
    assert.ok(burst0 < 0.2 && burst20 < 0.35, `burst: ${burst0}, ${burst20}`);
    // 64 KiB is 61 full packets; ACKs add one per two data packets when nothing is lost.
    assert.ok(bulk0 <= 61 * 1.5 + 1 && bulk20 < 61 * 2.6, `bulk: ${bulk0}, ${bulk20}`);
  });
});
