// Chat never waits behind bulk: file pieces a room queues are handed to the socket a bounded number at
// a time, after everything else, so a chat message sent during a burst overtakes the pieces still
// queued. Deterministic: the simulated network (injected clock) with a rate-limited uplink per host
// (a FIFO, as ahead of a real socket), no timers, no sockets.
import assert from 'node:assert/strict';
import { deriveRoomKeys } from '../../extension/core/noise';
import type { FileFrame } from '../../extension/core/wire/fileFrames';
import { SimHost, SimNet } from '../helpers/simNet';

const keys = deriveRoomKeys(Buffer.alloc(16, 9));
const ID = Buffer.alloc(8, 0xab);
const PIECE = 1000;
const PIECES = 40;

function setup(bulkPerFlush: number) {
  const net = new SimNet(21);
  net.delayMs = 10;
  // Public addresses: to a local one the first file frames would also send a 64 KiB path probe (PeerLink.maybeBigProbe).
  const a = net.addHost('A', { address: '198.51.100.2', port: 5000 }, undefined, { roomId: keys.roomId, psk: keys.psk });
  const b = net.addHost('B', { address: '198.51.101.2', port: 5000 }, undefined, { roomId: keys.roomId, psk: keys.psk });
  const chat: { text: string; at: number }[] = [];
  const pieces: { pn: number; at: number }[] = [];
  b.room.events = { message: (m) => chat.push({ text: m.body.kind === 'text' ? m.body.text : '', at: net.now }) };
  b.room.files = { frame: (_peer, f: FileFrame) => void (f.type === 'file-piece' && pieces.push({ pn: f.pn, at: net.now })) };
  net.start(a);
  net.start(b);
  assert.ok(net.run(5000, () => a.room.verifiedPeers().length === 1 && b.room.verifiedPeers().length === 1), 'connected');
  net.run(net.now + 3000); // handshake traffic settled
  // 1 MB/s uplinks (8 Mbit/s): a 1 KB piece takes about 1 ms to leave; the link adds 10 ms.
  net.uplinkBytesPerMs = 1000;
  net.bulkPerFlush = bulkPerFlush;
  return { net, a, b, chat, pieces };
}

function chatLatency(net: SimNet, a: SimHost, chat: { text: string; at: number }[], text: string): number {
  const t0 = net.now;
  a.room.send({ kind: 'text', text }, t0);
  net.pump(a);
  assert.ok(net.run(t0 + 5000, () => chat.some((c) => c.text === text)), `${text} delivered`);
  return chat.find((c) => c.text === text)!.at - t0;
}

function burst(net: SimNet, a: SimHost, b: SimHost): void {
  const frames: FileFrame[] = [];
  for (let i = 0; i < PIECES; i++) frames.push({ type: 'file-piece', id: ID, stream: 1, pn: i, offset: i * PIECE, payload: Buffer.alloc(PIECE, i) });
  assert.ok(a.room.sendFileFrames(b.room.selfId, frames, PIECE + 100, net.now));
  net.pump(a);
}

describe('chat overtakes queued file pieces (simulated link, injected clock)', () => {
  it('a message sent right after a 40-piece burst arrives within 2× its idle latency, before most pieces', () => {
    const { net, a, b, chat, pieces } = setup(2);
    const idle = chatLatency(net, a, chat, 'idle');
    net.run(net.now + 1000);
    const t0 = net.now;
    burst(net, a, b);
    assert.equal(a.room.bulkPending, PIECES - 2, 'two pieces handed to the uplink, the rest held back');
    const busy = chatLatency(net, a, chat, 'during');
    assert.ok(busy <= 2 * idle, `chat took ${busy} ms during the burst, ${idle} ms idle`);
    assert.ok(net.run(net.now + 5000, () => pieces.length === PIECES), 'every piece arrives');
    // The pieces keep their order among themselves, and only the two already on the uplink beat the chat.
    assert.deepEqual(pieces.map((p) => p.pn), [...Array(PIECES).keys()]);
    const chatAt = chat.find((c) => c.text === 'during')!.at;
    assert.equal(pieces.filter((p) => p.at <= chatAt).length, 2);
    assert.ok(pieces[PIECES - 1].at - t0 >= PIECES * 1, 'the burst itself still took its serialisation time');
  });

  it('without the bound (everything handed over at once) the same message waits behind the whole burst', () => {
    const { net, a, b, chat, pieces } = setup(Infinity);
    const idle = chatLatency(net, a, chat, 'idle');
    net.run(net.now + 1000);
    burst(net, a, b);
    const busy = chatLatency(net, a, chat, 'during');
    assert.ok(busy > 3 * idle, `chat took ${busy} ms behind the burst, ${idle} ms idle`);
    assert.ok(net.run(net.now + 5000, () => pieces.length === PIECES));
    const chatAt = chat.find((c) => c.text === 'during')!.at;
    assert.equal(pieces.filter((p) => p.at <= chatAt).length, PIECES);
  });

  it('chat queued in the same turn as the burst goes ahead of all of it', () => {
    const { net, a, b, chat, pieces } = setup(0);
    const idle = chatLatency(net, a, chat, 'idle');
    net.run(net.now + 1000);
    const frames: FileFrame[] = [];
    for (let i = 0; i < PIECES; i++) frames.push({ type: 'file-piece', id: ID, stream: 1, pn: i, offset: i * PIECE, payload: Buffer.alloc(PIECE, i) });
    a.room.sendFileFrames(b.room.selfId, frames, PIECE + 100, net.now);
    net.bulkPerFlush = 4;
    const busy = chatLatency(net, a, chat, 'same turn');
    assert.ok(busy <= idle + 1, `chat took ${busy} ms, ${idle} ms idle`);
    assert.ok(net.run(net.now + 5000, () => pieces.length === PIECES));
    assert.equal(pieces.filter((p) => p.at <= chat.find((c) => c.text === 'same turn')!.at).length, 0);
  });
});
