// The sender's timeouts (core/transfer/outgoing.ts): a receiver that goes silent (killed, its path gone)
// gets one probe per timeout, each wait twice the last, not a window's worth every RTO; and when it speaks
// again (a request), what was sent meanwhile goes again at once.
import assert from 'node:assert/strict';
import { OutgoingTransfer } from '../../extension/core/transfer/outgoing';
import { manifestOf } from '../../extension/core/transfer/manifest';
import { Stream, type FileFrame } from '../../extension/core/wire/fileFrames';
import { prng } from '../helpers/prng';

function sender(data: Buffer) {
  return new OutgoingTransfer({ id: Buffer.alloc(8, 1), peer: 'B', name: 'x.bin', mime: 'application/octet-stream', manifest: manifestOf(data), read: (o, l) => data.subarray(o, o + l), pnStart: 1000, pieceBytes: 16 * 1024, now: 0 });
}

const pieces = (out: FileFrame[]) => out.filter((f): f is Extract<FileFrame, { type: 'file-piece' }> => f.type === 'file-piece');

describe('file sender timeouts (injected clock)', () => {
  it('a receiver silent for 10 s is sent a handful of probes, at doubling intervals, not a stream', () => {
    const data = prng(21).bytes(8 * 1024 * 1024);
    const t = sender(data);
    t.receive({ type: 'file-request', id: t.id, stream: Stream.Content, ranges: [{ start: 0, length: 32 }] }, 0);
    const first: FileFrame[] = [];
    t.poll(0, first, 1000);
    const window = pieces(first).length;
    assert.ok(window >= 2, 'the first window goes out');
    // The first piece is acknowledged 1 ms later (a loopback round trip: the timeout becomes short), the
    // next window goes out, then nothing comes back. Wake the sender whenever it asks, for 10 s.
    t.receive({ type: 'file-ack', id: t.id, largest: pieces(first)[0].pn, mask: 0 }, 1);
    t.poll(1, [], 1000);
    const probes: number[] = [];
    for (let now = t.nextWakeup(); now <= 10_000; now = t.nextWakeup()) {
      const out: FileFrame[] = [];
      t.poll(now, out, 1000);
      for (let i = 0; i < pieces(out).length; i++) probes.push(now);
    }
    assert.ok(probes.length <= 10, `${probes.length} probe pieces in 10 s of silence`);
    const gaps = probes.slice(1).map((at, i) => at - probes[i]);
    for (let i = 1; i < gaps.length; i++) assert.ok(gaps[i] >= gaps[i - 1] || gaps[i] >= 4000, `waits double up to 4 s: ${gaps.join(', ')}`);
  });

  it('a request after the silence sends everything in flight again at once and acks work as before', () => {
    const data = prng(22).bytes(2 * 1024 * 1024);
    const t = sender(data);
    t.receive({ type: 'file-request', id: t.id, stream: Stream.Content, ranges: [{ start: 0, length: 8 }] }, 0);
    const first: FileFrame[] = [];
    t.poll(0, first, 1000);
    const inFlight = pieces(first).length;
    let now = 0;
    for (let i = 0; i < 3; i++) {
      now = t.nextWakeup();
      t.poll(now, [], 1000);
    }
    // The receiver restarted and asks for what it lacks: the same chunks.
    now += 10;
    t.receive({ type: 'file-request', id: t.id, stream: Stream.Content, ranges: [{ start: 0, length: 8 }] }, now);
    const again: FileFrame[] = [];
    t.poll(now, again, 1000);
    assert.ok(pieces(again).length >= 2, `${pieces(again).length} pieces resent at once (window of ${inFlight} went nowhere)`);
    // An ack of one of them: back to normal sending.
    const p = pieces(again)[0];
    t.receive({ type: 'file-ack', id: t.id, largest: p.pn, mask: 0 }, now + 1);
    const more: FileFrame[] = [];
    t.poll(now + 1, more, 1000);
    assert.ok(pieces(more).length >= 1, 'sending continues after an acknowledgement');
  });
});
