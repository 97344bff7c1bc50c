import assert from 'node:assert/strict';
import { isLocalAddress } from '../../extension/core/link/localPath';
import type { PeerLink } from '../../extension/core/link/peerLink';
import { deriveRoomKeys } from '../../extension/core/noise';
import { MAX_BULK_INNER_BYTES } from '../../extension/core/wire/peer';
import { SimHost, SimNet } from '../helpers/simNet';

describe('isLocalAddress (which paths may try 64 KiB datagrams)', () => {
  for (const a of ['127.0.0.1', '127.9.9.9', '10.0.0.2', '172.16.0.1', '172.31.255.255', '192.168.1.20', '169.254.3.4', '::1', 'fd00::1', 'fc12:3::4', 'fe80::1', '::ffff:192.168.0.5', '::FFFF:10.1.2.3']) {
    it(`${a} is local`, () => assert.equal(isLocalAddress(a), true));
  }
  for (const a of ['203.0.113.1', '8.8.8.8', '172.32.0.1', '172.15.0.1', '100.64.0.1', '192.169.0.1', '2001:db8::1', '::ffff:8.8.8.8', 'not an address', '']) {
    it(`${JSON.stringify(a)} is not`, () => assert.equal(isLocalAddress(a), false));
  }
});

describe('64 KiB pieces for a link that was slow when it came up (PeerLink.maybeBigProbe)', () => {
  const keys = deriveRoomKeys(Buffer.alloc(16, 9));
  const ping = { type: 'file-cancel' as const, id: Buffer.alloc(8, 1), code: 0, reason: '' };

  function pair(address: (i: number) => string): { net: SimNet; a: SimHost; b: SimHost; link: () => PeerLink } {
    const net = new SimNet(41);
    // 15 ms each way while the link comes up: a 30 ms round trip, as through a starting editor's busy event loop.
    net.delayMs = 15;
    const a = net.addHost('A', { address: address(1), port: 5000 }, undefined, { roomId: keys.roomId, psk: keys.psk });
    const b = net.addHost('B', { address: address(2), port: 5000 }, undefined, { roomId: keys.roomId, psk: keys.psk });
    net.start(a);
    net.start(b);
    assert.ok(net.run(10_000, () => a.room.state.kind === 'connected' && b.room.state.kind === 'connected'));
    // The session's own probes (50 ms, 300 ms, 1.5 s) are over: 16 KiB, as the round trip was too long for more.
    net.run(net.now + 3000, () => false);
    return { net, a, b, link: () => a.room.linkFor(b.room.selfId)! };
  }

  /** A transfer's frames, then the pump that follows them in the UDP shell. */
  function fileFrames(net: SimNet, a: SimHost, b: SimHost): void {
    assert.ok(a.room.sendFileFrames(b.room.selfId, [ping], 16 * 1024, net.now));
    net.pump(a);
    net.run(net.now + 500, () => false);
  }

  /** The event loop calms down: a chat message and its ack measure a short round trip. */
  function calm(net: SimNet, a: SimHost): void {
    net.delayMs = 1;
    a.room.send({ kind: 'text', text: 'hi' }, net.now);
    net.run(net.now + 500, () => false);
  }

  it('a local link: the first file frames after the round trip got short probe 64 KiB once, and pieces use it', () => {
    const { net, a, b, link } = pair((i) => `192.168.7.${i}`);
    assert.equal(link().pathInnerBytes, 16 * 1024);
    calm(net, a);
    assert.equal(link().pathInnerBytes, 16 * 1024, 'no new probe without a transfer');
    fileFrames(net, a, b);
    assert.equal(link().pathInnerBytes, MAX_BULK_INNER_BYTES);
  });

  it('a transfer alone (no chat, so no round-trip samples): the 64 KiB probe\'s own echo time decides', () => {
    const { net, a, b, link } = pair((i) => `10.2.0.${i}`);
    net.delayMs = 1; // quiet now, but nothing has measured it
    fileFrames(net, a, b);
    assert.equal(link().pathInnerBytes, MAX_BULK_INNER_BYTES, 'the echo came back in 2 ms');
  });

  it('not before the round trip is short, then at most once per 10 s; never to a public address', () => {
    const local = pair((i) => `10.1.0.${i}`);
    // Still slow: the transfer's frames do not probe (the path would not be local-and-short).
    fileFrames(local.net, local.a, local.b);
    assert.equal(local.link().pathInnerBytes, 16 * 1024);
    // Short now, but the slow try above holds the next one back for 10 s.
    calm(local.net, local.a);
    fileFrames(local.net, local.a, local.b);
    assert.equal(local.link().pathInnerBytes, 16 * 1024, 'within 10 s of the last try');
    local.net.run(local.net.now + 10_000, () => false);
    fileFrames(local.net, local.a, local.b);
    assert.equal(local.link().pathInnerBytes, MAX_BULK_INNER_BYTES, 'after 10 s');

    const wan = pair((i) => `203.0.113.${i}`);
    calm(wan.net, wan.a);
    fileFrames(wan.net, wan.a, wan.b);
    assert.equal(wan.link().pathInnerBytes, 16 * 1024, 'a public address keeps 16 KiB');
  });
});
