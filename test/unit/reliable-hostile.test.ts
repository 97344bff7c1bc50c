import assert from 'node:assert/strict';
import { MIB, ReliableChannel, ReliableChannelOptions } from '../../extension/core/reliable';
import { AckFrame, DataFrame, decodePacket, encodePacket } from '../../extension/core/wire/frames';
import { createPrng } from '../helpers/lossyLink';

/** The victim, and a record of everything it tells the application. */
function victim(opts: ReliableChannelOptions = {}) {
  const ch = new ReliableChannel(opts);
  const delivered: Buffer[] = [];
  const errors: string[] = [];
  ch.onMessage = (m) => delivered.push(m);
  ch.onError = (e) => errors.push(e.code);
  return { ch, delivered, errors };
}

function data(seq: number, payload: Buffer, first: boolean, last: boolean, messageLength?: number): DataFrame {
  const f: DataFrame = { type: 'data', seq: seq >>> 0, first, last, payload };
  if (first) f.messageLength = messageLength ?? payload.length;
  return f;
}

function acksIn(packets: Buffer[]): AckFrame[] {
  const out: AckFrame[] = [];
  for (const p of packets) {
    const r = decodePacket(p);
    assert.ok(r.ok);
    for (const f of r.value) if (f.type === 'ack') out.push(f);
  }
  return out;
}

describe('reliable channel: hostile or broken peers', () => {
  it('drops and counts malformed packets, and keeps working', () => {
    const { ch, delivered } = victim();
    const rnd = createPrng(3);
    let n = 0;
    for (let i = 0; i < 2000; i++) {
      const junk = Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 40) }, () => Math.floor(rnd() * 256)));
      if (decodePacket(junk).ok) continue; // only the malformed ones here
      ch.receivePacket(junk, i);
      n++;
    }
    ch.receivePacket(Buffer.alloc(0), 2000);
    assert.equal(ch.stats.dropped.malformed, n + 1);
    assert.equal(ch.stats.received, 0);
    assert.equal(ch.nextWakeup(), undefined, 'malformed packets are not acknowledged');
    ch.receivePacket(encodePacket([data(0, Buffer.from('still fine'), true, true)]), 3000);
    assert.deepEqual(delivered.map(String), ['still fine']);
    assert.equal(ch.error, undefined);
  });

  it('drops a packet whole when any frame in it is malformed', () => {
    const { ch, delivered } = victim();
    const good = encodePacket([data(0, Buffer.from('a'), true, true)]);
    ch.receivePacket(Buffer.concat([good, Buffer.from([0x7f])]), 0);
    assert.equal(delivered.length, 0);
    assert.equal(ch.stats.dropped.malformed, 1);
  });

  it('drops and counts fragments far outside the receive window, holding nothing', () => {
    const { ch } = victim({ receiveWindow: 64 });
    for (const seq of [64, 65, 1000, 2 ** 31 - 1, 2 ** 31 + 5]) {
      ch.receivePacket(encodePacket([data(seq, Buffer.alloc(500), true, true)]), 0);
    }
    // 2^31 + 5 lies "behind" 0 in serial-number order: treated as an old duplicate.
    assert.equal(ch.stats.dropped.outOfWindow, 4);
    assert.equal(ch.stats.duplicates, 1);
    assert.equal(ch.stats.heldFragments, 0);
    assert.equal(ch.stats.reassemblyBytes, 0);
    const [ack] = acksIn(ch.poll(1));
    assert.equal(ack.cumulative, 0);
    assert.deepEqual(ack.ranges, []);
    // The edge of the window is accepted.
    ch.receivePacket(encodePacket([data(63, Buffer.alloc(10), true, true)]), 2);
    assert.equal(ch.stats.heldFragments, 1);
  });

  it('bounds out-of-order fragments that never complete, by bytes and by window', () => {
    const maxReassemblyBytes = 64 * 1024;
    const { ch, delivered } = victim({ maxReassemblyBytes, receiveWindow: 4096 });
    // Fragment 0 never comes; the peer sprays 1000-byte middles of a message after it.
    for (let seq = 1; seq < 4096 + 100; seq++) {
      ch.receivePacket(encodePacket([data(seq, Buffer.alloc(1000, seq & 0xff), false, false)]), seq);
      assert.ok(ch.stats.reassemblyBytes <= maxReassemblyBytes);
    }
    assert.equal(ch.stats.heldFragments, 65);
    assert.equal(ch.stats.dropped.overBudget, 4095 - 65);
    assert.equal(ch.stats.dropped.outOfWindow, 100);
    assert.equal(delivered.length, 0);
    // SACKs report what is held; what was refused is not claimed, so an honest sender resends it.
    const [ack] = acksIn(ch.poll(10_000));
    assert.equal(ack.cumulative, 0);
    assert.deepEqual(ack.ranges, [{ start: 1, length: 65 }]);
  });

  it('bounds an in-order message that never completes by its announced length', () => {
    const { ch, delivered, errors } = victim({ maxMessageBytes: MIB });
    ch.receivePacket(encodePacket([data(0, Buffer.alloc(1000), true, false, MIB)]), 0);
    let seq = 1;
    while (ch.stats.reassemblyBytes + 1000 < MIB) {
      ch.receivePacket(encodePacket([data(seq++, Buffer.alloc(1000), false, false)]), seq);
    }
    assert.equal(errors.length, 0);
    assert.ok(ch.stats.reassemblyBytes <= MIB);
    // One more fragment would exceed what the first fragment announced.
    ch.receivePacket(encodePacket([data(seq++, Buffer.alloc(1000), false, false)]), seq);
    assert.deepEqual(errors, ['protocol-violation']);
    assert.equal(delivered.length, 0);
  });

  it('refuses a message announced larger than maxMessageBytes, without buffering it', () => {
    const { ch, delivered, errors } = victim({ maxMessageBytes: MIB });
    // Out of order, so it would otherwise be held.
    ch.receivePacket(encodePacket([data(5, Buffer.alloc(1000), true, false, MIB + 1)]), 0);
    assert.deepEqual(errors, ['message-too-large']);
    assert.equal(ch.error?.code, 'message-too-large');
    assert.match(ch.error!.message, /1048577-byte message/);
    assert.equal(ch.stats.dropped.oversize, 1);
    assert.equal(ch.stats.reassemblyBytes, 0);
    assert.equal(ch.stats.heldFragments, 0);
    // A failed channel is inert: no input taken, nothing sent, no timers, no sends.
    ch.receivePacket(encodePacket([data(0, Buffer.from('x'), true, true)]), 1);
    assert.equal(delivered.length, 0);
    assert.equal(ch.stats.dropped.afterFailure, 1);
    assert.deepEqual(ch.poll(2), []);
    assert.equal(ch.nextWakeup(), undefined);
    assert.throws(() => ch.send(Buffer.from('y'), 3), /failed \(message-too-large\)/);
    assert.equal(errors.length, 1, 'onError fires once');
  });

  const violations: [string, DataFrame[]][] = [
    ['a continuation without a first fragment', [data(0, Buffer.from('x'), false, true)]],
    ['a first fragment inside an unfinished message', [data(0, Buffer.from('ab'), true, false, 10), data(1, Buffer.from('cd'), true, true)]],
    ['a last fragment short of the announced length', [data(0, Buffer.from('ab'), true, false, 10), data(1, Buffer.from('cd'), false, true)]],
    ['a single fragment whose length disagrees', [data(0, Buffer.from('abc'), true, true, 4)]],
  ];
  for (const [name, frames] of violations) {
    it(`fails the channel on ${name}`, () => {
      const { ch, delivered, errors } = victim();
      for (const f of frames) ch.receivePacket(encodePacket([f]), 0);
      assert.deepEqual(errors, ['protocol-violation']);
      assert.equal(ch.stats.dropped.protocol, 1);
      assert.equal(delivered.length, 0);
      assert.deepEqual(ch.poll(1), [], 'nothing acknowledged');
    });
  }

  it('answers duplicates with an ACK, one per packet, and counts them', () => {
    const { ch, delivered } = victim();
    const p = encodePacket([data(0, Buffer.from('once'), true, true)]);
    ch.receivePacket(p, 0);
    assert.equal(acksIn(ch.poll(100)).length, 1);
    for (let i = 0; i < 50; i++) {
      ch.receivePacket(p, 200 + i);
      assert.equal(acksIn(ch.poll(200 + i)).length, 1);
    }
    assert.equal(delivered.length, 1);
    assert.equal(ch.stats.duplicates, 50);
  });

  it('ignores and counts ACKs for data never sent', () => {
    const { ch } = victim();
    const acked: number[] = [];
    ch.onAcked = (h) => acked.push(h);
    ch.send(Buffer.from('one'), 0);
    ch.poll(0);
    const bad: AckFrame[] = [
      { type: 'ack', cumulative: 5, ackDelay: 0, ranges: [] },
      { type: 'ack', cumulative: 0, ackDelay: 0, ranges: [{ start: 1, length: 1 }] },
      { type: 'ack', cumulative: 0, ackDelay: 0, ranges: [{ start: 0xffffff00, length: 0x200 }] },
    ];
    for (const f of bad) ch.receivePacket(encodePacket([f]), 10);
    assert.equal(ch.stats.dropped.badAck, 3);
    assert.deepEqual(acked, []);
    assert.equal(ch.stats.inFlight, 1);
    ch.receivePacket(encodePacket([{ type: 'ack', cumulative: 1, ackDelay: 0, ranges: [] }]), 20);
    assert.deepEqual(acked, [1]);
    assert.equal(ch.stats.inFlight, 0);
  });

  it('tolerates stale and maximal ACKs', () => {
    const { ch } = victim({ initialWindow: 100 });
    for (let i = 0; i < 100; i++) ch.send(Buffer.alloc(1000), 0);
    ch.poll(0);
    const ranges = Array.from({ length: 32 }, (_, i) => ({ start: 1 + i * 2, length: 1 }));
    ch.receivePacket(encodePacket([{ type: 'ack', cumulative: 0, ackDelay: 65535, ranges }]), 50);
    ch.receivePacket(encodePacket([{ type: 'ack', cumulative: 0, ackDelay: 0, ranges: ranges.slice(0, 3) }]), 60); // reordered old ACK
    assert.equal(ch.stats.dropped.badAck, 0);
    assert.ok(ch.stats.srtt !== undefined && ch.stats.srtt >= 0);
    assert.equal(ch.error, undefined);
  });

  it('hands an application failure back as an error and never acknowledges that message', () => {
    const ch = new ReliableChannel();
    const errors: string[] = [];
    ch.onError = (e) => errors.push(`${e.code}: ${e.message}`);
    ch.onMessage = () => {
      throw new Error('disk full');
    };
    ch.receivePacket(encodePacket([data(0, Buffer.from('x'), true, true)]), 0);
    assert.deepEqual(errors, ['handler-error: onMessage threw: disk full']);
    assert.deepEqual(ch.poll(100), []);
  });
});
