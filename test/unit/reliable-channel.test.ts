import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { MIB, ReliableChannel, ReliableChannelOptions } from '../../extension/core/reliable';
import { AckFrame, DataFrame, Frame, decodePacket } from '../../extension/core/wire/frames';
import { LossyLink, LossyLinkOptions } from '../helpers/lossyLink';

function framesOf(packet: Buffer): Frame[] {
  const r = decodePacket(packet);
  assert.ok(r.ok, r.ok ? '' : r.error);
  return r.value;
}

function pair(opts: ReliableChannelOptions = {}, link: LossyLinkOptions = {}) {
  const a = new ReliableChannel(opts);
  const b = new ReliableChannel(opts);
  const atB: Buffer[] = [];
  const atA: Buffer[] = [];
  const ackedAtA: number[] = [];
  b.onMessage = (m) => atB.push(m);
  a.onMessage = (m) => atA.push(m);
  a.onAcked = (h) => ackedAtA.push(h);
  return { a, b, atA, atB, ackedAtA, link: new LossyLink(a, b, { delay: 10, ...link }) };
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('reliable channel: basics', () => {
  it('delivers one message and reports it acknowledged', () => {
    const { a, b, atB, ackedAtA, link } = pair();
    const h = a.send(Buffer.from('hello'), 0);
    assert.ok(link.runUntil(() => ackedAtA.length === 1 && a.idle && b.idle));
    assert.deepEqual(atB.map(String), ['hello']);
    assert.deepEqual(ackedAtA, [h]);
    assert.equal(a.stats.messagesAcked, 1);
    assert.equal(b.stats.messagesDelivered, 1);
    assert.equal(a.nextWakeup(), undefined);
    assert.equal(b.nextWakeup(), undefined);
  });

  it('a lone message costs one data packet and one delayed ACK', () => {
    const { a, b, ackedAtA, link } = pair();
    a.send(Buffer.from('hi'), 0);
    assert.ok(link.runUntil(() => ackedAtA.length === 1));
    assert.equal(link.counts.aToB.sent, 1);
    assert.equal(link.counts.bToA.sent, 1);
    // The ACK waited for the delayed-ACK timer (25 ms by default) after arrival at t=10.
    assert.equal(link.now, 10 + 25 + 10);
    assert.equal(b.stats.acksSent, 1);
  });

  it('acknowledges at once every second data packet', () => {
    const a = new ReliableChannel({ mtu: 200 });
    const b = new ReliableChannel({ mtu: 200 });
    a.send(Buffer.alloc(150, 1), 0);
    a.send(Buffer.alloc(150, 2), 0);
    const out = a.poll(0);
    assert.equal(out.length, 2);
    b.receivePacket(out[0], 5);
    assert.equal(b.nextWakeup(), 5 + 25, 'one packet: ACK is delayed');
    assert.deepEqual(b.poll(5), []);
    b.receivePacket(out[1], 6);
    assert.equal(b.nextWakeup(), 6, 'second packet: ACK is due now');
    const acks = b.poll(6);
    assert.equal(acks.length, 1);
    const [ack] = framesOf(acks[0]) as AckFrame[];
    assert.equal(ack.type, 'ack');
    assert.equal(ack.cumulative, 2);
    assert.deepEqual(ack.ranges, []);
  });

  it('calls onMessage before any ACK covering that message exists', () => {
    const a = new ReliableChannel();
    const b = new ReliableChannel();
    a.send(Buffer.from('persist me'), 0);
    const [packet] = a.poll(0);
    const seen: number[] = [];
    b.onMessage = () => {
      // Even if the application polls from inside its handler, no ACK for this message may appear.
      for (const p of b.poll(1)) {
        for (const f of framesOf(p)) if (f.type === 'ack') seen.push(f.cumulative);
      }
      seen.push(-1); // marks "handler returned"
    };
    b.receivePacket(packet, 1);
    assert.deepEqual(seen, [-1]);
    const after = b.poll(100);
    const ack = framesOf(after[0]).find((f): f is AckFrame => f.type === 'ack');
    assert.equal(ack?.cumulative, 1);
  });

  it('fragments a 1 MiB message into packets that all fit the mtu, and reassembles it', () => {
    const mtu = 1100;
    const { a, atB, ackedAtA, link } = pair({ mtu });
    const msg = Buffer.alloc(MIB);
    for (let i = 0; i < msg.length; i += 4) msg.writeUInt32BE(i, i);
    let biggest = 0;
    link.onTransmit = (_d, p) => (biggest = Math.max(biggest, p.length));
    a.send(msg, 0);
    assert.ok(link.runUntil(() => ackedAtA.length === 1));
    assert.equal(atB.length, 1);
    assert.equal(sha(atB[0]), sha(msg));
    assert.ok(biggest <= mtu, `a ${biggest}-byte packet exceeded the mtu`);
    assert.equal(biggest, mtu, 'full fragments fill the mtu exactly');
    // First fragment: 1100 - 12 bytes of payload; the others 1100 - 8.
    assert.equal(a.stats.sent, 1 + Math.ceil((MIB - (mtu - 12)) / (mtu - 8)));
    assert.equal(a.stats.retransmitted, 0);
  });

  it('works with the smallest mtu (64 bytes)', () => {
    const { a, atB, ackedAtA, link } = pair({ mtu: 64 }, { loss: 0.1, seed: 3 });
    let biggest = 0;
    link.onTransmit = (_d, p) => (biggest = Math.max(biggest, p.length));
    const msg = Buffer.from(Array.from({ length: 20_000 }, (_, i) => i % 251));
    a.send(msg, 0);
    a.send(Buffer.from('after'), 0);
    assert.ok(link.runUntil(() => ackedAtA.length === 2, { maxTime: 600_000 }));
    assert.ok(biggest <= 64);
    assert.equal(sha(atB[0]), sha(msg));
    assert.equal(atB[1].toString(), 'after');
  });

  it('coalesces small messages into shared packets', () => {
    const { a, atB, ackedAtA, link } = pair();
    for (let i = 0; i < 100; i++) a.send(Buffer.from(`message ${i}`), 0);
    assert.ok(link.runUntil(() => ackedAtA.length === 100));
    assert.deepEqual(atB.map(String), Array.from({ length: 100 }, (_, i) => `message ${i}`));
    assert.ok(link.counts.aToB.sent <= 3, `${link.counts.aToB.sent} packets for 100 tiny messages`);
  });

  it('delivers empty messages', () => {
    const { a, atB, ackedAtA, link } = pair();
    a.send(Buffer.alloc(0), 0);
    a.send(Buffer.from('x'), 0);
    a.send(Buffer.alloc(0), 0);
    assert.ok(link.runUntil(() => ackedAtA.length === 3));
    assert.deepEqual(atB.map((m) => m.length), [0, 1, 0]);
  });

  it('piggybacks an owed ACK on outgoing data', () => {
    const a = new ReliableChannel();
    const b = new ReliableChannel();
    a.send(Buffer.from('ping?'), 0);
    b.receivePacket(a.poll(0)[0], 5);
    b.send(Buffer.from('pong!'), 6);
    const out = b.poll(6);
    assert.equal(out.length, 1);
    assert.deepEqual(framesOf(out[0]).map((f) => f.type), ['ack', 'data']);
    assert.equal(b.stats.acksSent, 1);
  });

  it('copies the message on send, so the caller may reuse its buffer', () => {
    const { a, atB, ackedAtA, link } = pair();
    const buf = Buffer.from('original');
    a.send(buf, 0);
    buf.write('mutated!');
    assert.ok(link.runUntil(() => ackedAtA.length === 1));
    assert.equal(atB[0].toString(), 'original');
  });

  it('lets handlers send from inside callbacks (echo)', () => {
    const { a, b, atA, ackedAtA, link } = pair({}, { loss: 0.1, seed: 9 });
    b.onMessage = (m) => b.send(Buffer.concat([Buffer.from('echo:'), m]), link.now);
    for (let i = 0; i < 50; i++) a.send(Buffer.from(String(i)), 0);
    assert.ok(link.runUntil(() => atA.length === 50 && ackedAtA.length === 50 && a.idle && b.idle, { maxTime: 120_000 }));
    assert.deepEqual(atA.map(String), Array.from({ length: 50 }, (_, i) => `echo:${i}`));
  });

  it('reports handles in send order, each exactly once, and only after delivery', () => {
    const { a, atB, ackedAtA, link } = pair({}, { loss: 0.2, jitter: 30, duplicate: 0.1, seed: 11 });
    const handles: number[] = [];
    a.onAcked = (h) => {
      assert.ok(atB.length >= handles.indexOf(h) + 1, 'acked before the peer delivered it');
      ackedAtA.push(h);
    };
    for (let i = 0; i < 200; i++) handles.push(a.send(Buffer.alloc(1 + (i % 7) * 500, i), 0));
    assert.ok(link.runUntil(() => ackedAtA.length === 200, { maxTime: 600_000 }));
    assert.deepEqual(ackedAtA, handles);
    assert.equal(new Set(handles).size, 200);
  });

  it('crosses the 2^32 sequence wrap without a hitch', () => {
    const initialSeq = 2 ** 32 - 40;
    const { a, b, atB, ackedAtA, link } = pair({ initialSeq, mtu: 200 }, { loss: 0.15, jitter: 20, duplicate: 0.05, seed: 5 });
    const seqs = new Set<number>();
    link.onTransmit = (d, p) => {
      if (d === 'aToB') for (const f of framesOf(p)) if (f.type === 'data') seqs.add(f.seq);
    };
    const sent: string[] = [];
    for (let i = 0; i < 150; i++) {
      sent.push(`${i}:` + 'w'.repeat(i * 3));
      a.send(Buffer.from(sent[i]), 0);
    }
    assert.ok(link.runUntil(() => ackedAtA.length === 150 && b.idle, { maxTime: 600_000 }));
    assert.deepEqual(atB.map(String), sent);
    assert.ok(seqs.has(0xffffffff) && seqs.has(0), 'the run did cross the wrap');
  });

  it('sends link-layer frames given to poll, and hands received ones to onLinkFrame', () => {
    const a = new ReliableChannel();
    const b = new ReliableChannel();
    a.send(Buffer.from('m'), 0);
    const out = a.poll(0, [{ type: 'ping', token: 77 }]);
    assert.equal(out.length, 1);
    assert.deepEqual(framesOf(out[0]).map((f) => f.type).sort(), ['data', 'ping']);
    const linkFrames: Frame[] = [];
    b.onLinkFrame = (f) => linkFrames.push(f);
    const got: string[] = [];
    b.onMessage = (m) => got.push(m.toString());
    b.receivePacket(out[0], 1);
    assert.deepEqual(linkFrames, [{ type: 'ping', token: 77 }]);
    assert.deepEqual(got, ['m']);
    assert.throws(() => a.poll(1, [{ type: 'ephemeral', payload: Buffer.alloc(2000) }]), RangeError);
  });

  it('counts link frames it was given but has no handler for', () => {
    const b = new ReliableChannel();
    b.receiveFrames([{ type: 'pong', token: 1 }], 0);
    assert.equal(b.stats.dropped.linkFramesIgnored, 1);
  });
});

describe('reliable channel: limits and options', () => {
  it('refuses a message above maxMessageBytes with a clear RangeError', () => {
    const a = new ReliableChannel();
    assert.throws(() => a.send(Buffer.alloc(4 * MIB + 1), 0), /4194305 bytes exceeds the 4194304-byte limit/);
    const small = new ReliableChannel({ maxMessageBytes: MIB });
    assert.throws(() => small.send(Buffer.alloc(MIB + 1), 0), RangeError);
    assert.equal(small.stats.messagesSent, 0);
  });

  it('carries a message of exactly the default 4 MiB limit', () => {
    const { a, atB, ackedAtA, link } = pair();
    const msg = Buffer.alloc(4 * MIB, 0x5a);
    msg.writeUInt32BE(0xdeadbeef, msg.length - 4);
    a.send(msg, 0);
    assert.ok(link.runUntil(() => ackedAtA.length === 1));
    assert.equal(sha(atB[0]), sha(msg));
    assert.equal(atB[0].length, 4 * MIB);
  });

  it('rejects invalid options', () => {
    assert.throws(() => new ReliableChannel({ maxMessageBytes: MIB - 1 }), RangeError);
    assert.throws(() => new ReliableChannel({ mtu: 63 }), RangeError);
    assert.throws(() => new ReliableChannel({ mtu: 70_000 }), RangeError);
    assert.throws(() => new ReliableChannel({ sendWindow: 0 }), RangeError);
    assert.throws(() => new ReliableChannel({ minRto: 500, maxRto: 100 }), RangeError);
    assert.throws(() => new ReliableChannel({ initialRto: 50, minRto: 100 }), RangeError);
    assert.throws(() => new ReliableChannel({ mtu: 1000.5 }), RangeError);
  });

  it('bounds the send window in fragments', () => {
    const a = new ReliableChannel({ sendWindow: 8, initialWindow: 100 });
    a.send(Buffer.alloc(100_000), 0);
    const out = a.poll(0);
    const data = out.flatMap(framesOf).filter((f): f is DataFrame => f.type === 'data');
    assert.equal(data.length, 8);
    assert.equal(a.stats.inFlight, 8);
    assert.equal(a.nextWakeup(), 1000, 'nothing more until the RTO (initial 1 s)');
  });

  it('starts with a 10-packet congestion window', () => {
    const a = new ReliableChannel();
    a.send(Buffer.alloc(100_000), 0);
    assert.equal(a.poll(0).length, 10);
  });
});

describe('reliable channel: DATA payloads as views of the packet (decodePacket(buf, true), the link layer)', () => {
  it('keeps copies of what it holds (out of order, or part of a longer message): the packets may be wiped after each call', () => {
    const a = new ReliableChannel({ mtu: 200 });
    const b = new ReliableChannel({ mtu: 200 });
    const got: string[] = [];
    // An application takes what it is handed at once (the room decodes it before returning).
    b.onMessage = (m) => void got.push(sha(m));
    const long = Buffer.alloc(500, 7); // three fragments
    const msgs = [Buffer.from('first'), long, Buffer.from('last one')];
    for (const m of msgs) a.send(Buffer.from(m), 0);
    const packets = a.poll(0);
    assert.ok(packets.length >= 4, `${packets.length} packets`);
    // Reverse order: everything but the last packet to arrive is held out of order at first.
    for (const p of [...packets].reverse()) {
      const frames = decodePacket(p, true);
      assert.ok(frames.ok);
      assert.ok(frames.value.every((f) => f.type !== 'data' || f.payload.buffer === p.buffer), 'payloads are views');
      b.receiveFrames(frames.value, 1);
      p.fill(0xee); // the caller's packet is gone; only the receiver's own copies may remain
    }
    assert.deepEqual(got, msgs.map(sha));
    // In order, a message inside one fragment is handed over without a copy, a longer one reassembled from copies.
    const c = new ReliableChannel({ mtu: 200 });
    const d = new ReliableChannel({ mtu: 200 });
    const seen: Buffer[] = [];
    d.onMessage = (m) => void seen.push(m);
    c.send(Buffer.from('short'), 0);
    c.send(long, 0);
    const more = c.poll(0);
    const firsts: Buffer[] = [];
    for (const p of more) {
      const frames = decodePacket(p, true);
      assert.ok(frames.ok);
      d.receiveFrames(frames.value, 1);
      firsts.push(p);
    }
    assert.equal(seen.length, 2);
    assert.equal(seen[0].buffer, firsts[0].buffer, 'the one-fragment message is a view of its packet');
    for (const p of firsts) p.fill(0);
    assert.deepEqual(seen[1], long, 'the reassembled message owns its bytes');
  });
});
