// TurnClient against a scripted fake server: every datagram the client sends is captured, decoded
// and answered by hand, with an injected clock; nothing sleeps and no socket is opened.
import assert from 'node:assert/strict';
import {
  Attr,
  channelNumberValue,
  checkFingerprint,
  checkIntegrity,
  decodeChannelData,
  decodeStun,
  decodeXorAddress,
  encodeChannelData,
  encodeStun,
  encodeXorAddress,
  getAttr,
  longTermKey,
  Method,
  readU32,
  StunAttribute,
  StunClass,
  StunMessage,
  u32Value,
} from '../../extension/core/relay/stunCodec';
import { TurnClient, TurnClientOptions } from '../../extension/core/relay/turnClient';
import { Endpoint } from '../../extension/core/wire/endpoint';

const SERVER: Endpoint = { address: '198.51.100.1', port: 3478 };
const USER = '1900000000:0011223344556677';
const PASS = 'c2VjcmV0LXBhc3N3b3Jk';
const REALM = 'p2p.test';
const KEY = longTermKey(USER, REALM, PASS);
const RELAYED: Endpoint = { address: '198.51.100.1', port: 50000 };
const MAPPED: Endpoint = { address: '203.0.113.7', port: 40000 };
const PEER: Endpoint = { address: '203.0.113.20', port: 61000 };

function attr(type: number, value: Buffer | string): StunAttribute {
  return { type, value: typeof value === 'string' ? Buffer.from(value) : value };
}

function errorCode(code: number, reason: string): StunAttribute {
  return attr(Attr.ErrorCode, Buffer.concat([Buffer.from([0, 0, Math.floor(code / 100), code % 100]), Buffer.from(reason)]));
}

class Harness {
  readonly out: Buffer[] = [];
  readonly errors: { reason: string; fatal: boolean }[] = [];
  readonly allocated: Endpoint[] = [];
  readonly permitted: Endpoint[] = [];
  readonly client: TurnClient;
  private counter = 0;

  constructor(opts: Partial<TurnClientOptions> = {}) {
    this.client = new TurnClient({
      server: SERVER,
      username: USER,
      password: PASS,
      software: 'p2p-chat test',
      send: (to, data) => {
        assert.deepEqual(to, SERVER);
        this.out.push(data);
      },
      // Deterministic, distinct transaction ids.
      random: (n) => {
        const b = Buffer.alloc(n);
        b.writeUInt32BE(++this.counter, n - 4);
        return b;
      },
      ...opts,
    });
    this.client.onError = (reason, fatal) => this.errors.push({ reason, fatal });
    this.client.onAllocated = (r) => this.allocated.push(r);
    this.client.onPermitted = (p) => this.permitted.push(p);
  }

  /** Decode everything sent since the last call. */
  take(): StunMessage[] {
    return this.out.splice(0).map((b) => {
      const d = decodeStun(b);
      assert.ok(d.ok, d.ok ? '' : d.error);
      assert.ok(checkFingerprint(d.value), 'client messages carry a valid FINGERPRINT');
      return d.value;
    });
  }

  takeOne(method: number): StunMessage {
    const all = this.take();
    assert.equal(all.length, 1, `expected one message, got ${all.length}`);
    assert.equal(all[0].method, method);
    return all[0];
  }

  reply(req: StunMessage, cls: StunClass, attrs: StunAttribute[], now: number, opts: { integrity?: boolean; key?: Buffer; from?: Endpoint } = {}) {
    const buf = encodeStun({ method: req.method, cls, txid: req.txid, attrs }, { integrityKey: opts.integrity === false ? undefined : (opts.key ?? KEY), fingerprint: true });
    return this.client.handle(buf, opts.from ?? SERVER, now);
  }

  challenge(req: StunMessage, now: number, nonce = 'nonce-1') {
    return this.reply(req, StunClass.Error, [errorCode(401, 'Unauthorized'), attr(Attr.Realm, REALM), attr(Attr.Nonce, nonce)], now, { integrity: false });
  }

  allocateOk(req: StunMessage, now: number, lifetime = 600) {
    return this.reply(req, StunClass.Success, [
      attr(Attr.XorRelayedAddress, encodeXorAddress(RELAYED, req.txid)!),
      attr(Attr.XorMappedAddress, encodeXorAddress(MAPPED, req.txid)!),
      attr(Attr.Lifetime, u32Value(lifetime)),
    ], now);
  }

  /** start → 401 → authenticated Allocate → success. */
  allocate(now = 0, lifetime = 600): void {
    this.client.start(now);
    this.challenge(this.takeOne(Method.Allocate), now);
    this.allocateOk(this.takeOne(Method.Allocate), now, lifetime);
    assert.equal(this.client.state, 'allocated');
  }

  /** permit(PEER) and answer both CreatePermission and ChannelBind. */
  permitPeer(now: number, bind = true): { perm: StunMessage; chan: StunMessage } {
    this.client.permit(PEER, now);
    const sent = this.take();
    const perm = sent.find((m) => m.method === Method.CreatePermission)!;
    const chan = sent.find((m) => m.method === Method.ChannelBind)!;
    assert.ok(perm && chan);
    this.reply(perm, StunClass.Success, [], now);
    if (bind) this.reply(chan, StunClass.Success, [], now);
    return { perm, chan };
  }
}

function assertAuthenticated(m: StunMessage, nonce = 'nonce-1') {
  assert.equal(getAttr(m, Attr.Username)?.toString(), USER);
  assert.equal(getAttr(m, Attr.Realm)?.toString(), REALM);
  assert.equal(getAttr(m, Attr.Nonce)?.toString(), nonce);
  assert.ok(checkIntegrity(m, KEY), 'MESSAGE-INTEGRITY with the long-term key');
}

describe('turn client: allocation', () => {
  it('allocates: unauthenticated Allocate, 401 with realm and nonce, authenticated Allocate, success', () => {
    const h = new Harness({ lifetimeSeconds: 900 });
    h.client.start(0);
    assert.equal(h.client.state, 'allocating');
    const first = h.takeOne(Method.Allocate);
    assert.equal(first.cls, StunClass.Request);
    assert.deepEqual(getAttr(first, Attr.RequestedTransport), Buffer.from([17, 0, 0, 0]));
    assert.equal(readU32(getAttr(first, Attr.Lifetime)), 900);
    assert.equal(getAttr(first, Attr.Software)?.toString(), 'p2p-chat test');
    assert.equal(first.integrityAt, undefined);
    assert.equal(getAttr(first, Attr.Username), undefined);

    assert.equal(h.challenge(first, 10), undefined);
    const second = h.takeOne(Method.Allocate);
    assert.notDeepEqual(second.txid, first.txid, 'a new transaction after 401');
    assertAuthenticated(second);
    assert.deepEqual(getAttr(second, Attr.RequestedTransport), Buffer.from([17, 0, 0, 0]));

    h.allocateOk(second, 20);
    assert.equal(h.client.state, 'allocated');
    assert.deepEqual(h.client.relayedAddress, RELAYED);
    assert.deepEqual(h.client.mappedAddress, MAPPED);
    assert.deepEqual(h.allocated, [RELAYED]);
    assert.deepEqual(h.errors, []);
  });

  it('drops a success response without MESSAGE-INTEGRITY, with a wrong one, or from elsewhere', () => {
    const h = new Harness();
    h.client.start(0);
    h.challenge(h.takeOne(Method.Allocate), 0);
    const req = h.takeOne(Method.Allocate);
    const ok = [attr(Attr.XorRelayedAddress, encodeXorAddress(RELAYED, req.txid)!)];
    h.reply(req, StunClass.Success, ok, 1, { integrity: false });
    h.reply(req, StunClass.Success, ok, 1, { key: longTermKey(USER, REALM, 'guess') });
    h.reply(req, StunClass.Success, ok, 1, { from: { address: SERVER.address, port: 3479 } });
    assert.equal(h.client.state, 'allocating');
    assert.equal(h.client.stats.dropped, 3);
    h.reply(req, StunClass.Success, ok, 1);
    assert.equal(h.client.state, 'allocated');
  });

  it('fails clearly on 401 to the authenticated request (wrong or expired credentials)', () => {
    const h = new Harness();
    h.client.start(0);
    h.challenge(h.takeOne(Method.Allocate), 0);
    h.challenge(h.takeOne(Method.Allocate), 5);
    assert.equal(h.client.state, 'failed');
    assert.equal(h.errors.length, 1);
    assert.equal(h.errors[0].fatal, true);
    assert.match(h.errors[0].reason, /refused the credentials.*401 Unauthorized/);
    assert.equal(h.out.length, 0);
    assert.equal(h.client.nextWakeup(), Infinity);
  });

  it('retries with the fresh nonce on 438 Stale Nonce, a bounded number of times', () => {
    const h = new Harness();
    h.client.start(0);
    h.challenge(h.takeOne(Method.Allocate), 0);
    let req = h.takeOne(Method.Allocate);
    for (let i = 2; i <= 5; i++) {
      h.reply(req, StunClass.Error, [errorCode(438, 'Stale Nonce'), attr(Attr.Realm, REALM), attr(Attr.Nonce, `nonce-${i}`)], 1, { integrity: false });
      if (i === 5) break;
      req = h.takeOne(Method.Allocate);
      assertAuthenticated(req, `nonce-${i}`);
    }
    assert.equal(h.out.length, 0);
    assert.equal(h.client.state, 'failed');
    assert.match(h.errors[0].reason, /438 Stale Nonce/);
  });

  it('retransmits per RFC 8489 (500 ms doubling, 7 transmissions, 16 RTO final wait) then gives up', () => {
    const h = new Harness();
    h.client.start(0);
    const [first] = h.out.splice(0);
    const sentAt = [0];
    let now = 0;
    while (h.client.state === 'allocating' && now < 100_000) {
      now = h.client.nextWakeup();
      h.client.tick(now);
      for (const b of h.out.splice(0)) {
        assert.deepEqual(b, first, 'a retransmission is the same bytes, same transaction');
        sentAt.push(now);
      }
    }
    assert.deepEqual(sentAt, [0, 500, 1500, 3500, 7500, 15500, 31500]);
    assert.equal(now, 39_500);
    assert.equal(h.client.state, 'failed');
    assert.equal(h.client.stats.retransmissions, 6);
    assert.match(h.errors[0].reason, /did not answer Allocate \(7 transmissions over 39\.5 s\)/);
  });

  it('takes shorter retransmission bounds when configured', () => {
    const h = new Harness({ rtoMs: 100, maxTransmissions: 3 });
    h.client.start(0);
    for (const t of [100, 300]) {
      assert.equal(h.client.nextWakeup(), t);
      h.client.tick(t);
    }
    assert.equal(h.client.nextWakeup(), 300 + 1600);
    h.client.tick(1899);
    assert.equal(h.client.state, 'allocating');
    h.client.tick(1900);
    assert.equal(h.client.state, 'failed');
  });

  it('refreshes the allocation a minute before the granted lifetime runs out', () => {
    const h = new Harness({ lifetimeSeconds: 3600 });
    h.allocate(0, 600);
    h.take();
    assert.equal(h.client.nextWakeup(), 540_000);
    h.client.tick(539_999);
    assert.equal(h.out.length, 0);
    h.client.tick(540_000);
    const r = h.takeOne(Method.Refresh);
    assertAuthenticated(r);
    assert.equal(readU32(getAttr(r, Attr.Lifetime)), 3600);
    h.reply(r, StunClass.Success, [attr(Attr.Lifetime, u32Value(1200))], 540_010);
    assert.equal(h.client.nextWakeup(), 540_010 + 1_140_000);
    // Short grants refresh at three quarters.
    const s = new Harness();
    s.allocate(0, 8);
    assert.equal(s.client.nextWakeup(), 6000);
  });

  it('fails when a refresh finds the allocation gone (437)', () => {
    const h = new Harness();
    h.allocate(0);
    h.client.tick(540_000);
    h.reply(h.takeOne(Method.Refresh), StunClass.Error, [errorCode(437, 'Allocation Mismatch')], 540_001);
    assert.equal(h.client.state, 'failed');
    assert.deepEqual(h.errors, [{ reason: 'TURN Refresh failed: 437 Allocation Mismatch', fatal: true }]);
  });

  it('does not throw when the owner\'s send() throws (a closed socket)', () => {
    const h = new Harness({
      send: () => {
        throw new Error('Not running');
      },
    });
    h.client.start(0);
    h.client.tick(500);
    assert.equal(h.client.stats.sendErrors, 2);
    assert.equal(h.client.state, 'allocating');
  });

  it('closes with a Refresh of lifetime 0 and then ignores the server', () => {
    const h = new Harness();
    h.allocate(0);
    h.take();
    h.client.close(1000);
    const r = h.takeOne(Method.Refresh);
    assertAuthenticated(r);
    assert.equal(readU32(getAttr(r, Attr.Lifetime)), 0);
    assert.equal(h.client.state, 'closed');
    assert.equal(h.client.nextWakeup(), Infinity);
    assert.equal(h.client.sendTo(PEER, Buffer.from('x'), 1001), false);
    h.client.tick(1_000_000);
    assert.equal(h.out.length, 0);
  });
});

describe('turn client: permissions, channels and data', () => {
  it('installs a permission and a channel, sends by Send indication, then by ChannelData', () => {
    const h = new Harness();
    h.allocate(0);
    h.take();
    assert.equal(h.client.sendTo(PEER, Buffer.from('early'), 0), false, 'no permission yet');
    h.client.permit(PEER, 100);
    const sent = h.take();
    assert.deepEqual(sent.map((m) => m.method).sort(), [Method.CreatePermission, Method.ChannelBind].sort());
    const perm = sent.find((m) => m.method === Method.CreatePermission)!;
    const chan = sent.find((m) => m.method === Method.ChannelBind)!;
    assertAuthenticated(perm);
    assertAuthenticated(chan);
    assert.deepEqual(decodeXorAddress(getAttr(perm, Attr.XorPeerAddress), perm.txid), PEER);
    assert.deepEqual(decodeXorAddress(getAttr(chan, Attr.XorPeerAddress), chan.txid), PEER);
    assert.deepEqual(getAttr(chan, Attr.ChannelNumber), channelNumberValue(0x4000));
    assert.equal(h.client.sendTo(PEER, Buffer.from('pending'), 100), false, 'permission not confirmed yet');

    h.reply(perm, StunClass.Success, [], 110);
    assert.deepEqual(h.permitted, [PEER]);
    assert.equal(h.client.sendTo(PEER, Buffer.from('via send'), 120), true);
    const ind = h.takeOne(Method.Send);
    assert.equal(ind.cls, StunClass.Indication);
    assert.equal(ind.integrityAt, undefined, 'indications are not authenticated');
    assert.deepEqual(decodeXorAddress(getAttr(ind, Attr.XorPeerAddress), ind.txid), PEER);
    assert.equal(getAttr(ind, Attr.Data)?.toString(), 'via send');

    h.reply(chan, StunClass.Success, [], 130);
    assert.equal(h.client.sendTo(PEER, Buffer.from('via channel'), 140), true);
    const raw = h.out.splice(0);
    assert.equal(raw.length, 1);
    const cd = decodeChannelData(raw[0]);
    assert.ok(cd.ok);
    assert.equal(cd.value.channel, 0x4000);
    assert.equal(cd.value.data.toString(), 'via channel');
    // Another port on the same IP shares the permission and gets its own channel.
    h.client.permit({ ...PEER, port: PEER.port + 1 }, 150);
    const more = h.take();
    assert.deepEqual(more.map((m) => m.method), [Method.ChannelBind]);
    assert.deepEqual(getAttr(more[0], Attr.ChannelNumber), channelNumberValue(0x4001));
    assert.deepEqual(h.client.stats.channelDataOut, 1);
    assert.deepEqual(h.client.stats.sendIndicationsOut, 1);
  });

  it('queues permit() made before the allocation exists', () => {
    const h = new Harness();
    h.client.start(0);
    h.client.permit(PEER, 0);
    h.challenge(h.takeOne(Method.Allocate), 0);
    h.allocateOk(h.takeOne(Method.Allocate), 10);
    assert.deepEqual(h.take().map((m) => m.method).sort(), [Method.CreatePermission, Method.ChannelBind].sort());
  });

  it('refreshes permissions every 4 minutes and channels every 9 minutes', () => {
    const h = new Harness();
    h.allocate(0, 3600);
    h.take();
    h.permitPeer(1000);
    const seen: [number, number][] = [];
    for (let now = 1000; now <= 1_200_000; ) {
      now = h.client.nextWakeup();
      h.client.tick(now);
      for (const m of h.take()) {
        seen.push([m.method, now]);
        h.reply(m, StunClass.Success, m.method === Method.Refresh ? [attr(Attr.Lifetime, u32Value(3600))] : [], now);
      }
    }
    const at = (method: number) => seen.filter(([m]) => m === method).map(([, t]) => t);
    assert.deepEqual(at(Method.CreatePermission), [241_000, 481_000, 721_000, 961_000, 1_201_000]);
    assert.deepEqual(at(Method.ChannelBind), [541_000, 1_081_000]);
    assert.deepEqual(at(Method.Refresh), []);
    assert.equal(h.errors.length, 0);
  });

  it('falls back to Send indications when a channel refresh fails, and reports it as non-fatal', () => {
    const h = new Harness({ rtoMs: 100, maxTransmissions: 2 });
    h.allocate(0, 3600);
    h.take();
    h.permitPeer(0);
    // Answer permission refreshes, never the channel refresh.
    let now = 0;
    while (now < 600_000) {
      now = h.client.nextWakeup();
      h.client.tick(now);
      for (const m of h.take()) if (m.method === Method.CreatePermission) h.reply(m, StunClass.Success, [], now);
    }
    assert.deepEqual(h.errors.map((e) => e.fatal), [false]);
    assert.match(h.errors[0].reason, /did not answer ChannelBind/);
    assert.equal(h.client.state, 'allocated');
    assert.equal(h.client.sendTo(PEER, Buffer.from('x'), now), true);
    assert.equal(h.takeOne(Method.Send).cls, StunClass.Indication);
  });

  it('reports a refused permission (403) without losing the allocation', () => {
    const h = new Harness();
    h.allocate(0);
    h.take();
    h.client.permit(PEER, 0);
    const perm = h.take().find((m) => m.method === Method.CreatePermission)!;
    h.reply(perm, StunClass.Error, [errorCode(403, 'Forbidden IP')], 1);
    assert.equal(h.client.state, 'allocated');
    assert.deepEqual(h.errors, [{ reason: `TURN CreatePermission for ${PEER.address} failed: 403 Forbidden IP`, fatal: false }]);
    assert.equal(h.client.sendTo(PEER, Buffer.from('x'), 2), false);
  });

  it('a Data indication from a peer whose CreatePermission answer is still missing makes the permission usable', () => {
    const h = new Harness();
    h.allocate(0);
    h.take();
    h.client.permit(PEER, 100);
    const perm = h.take().find((m) => m.method === Method.CreatePermission)!;
    assert.equal(h.client.sendTo(PEER, Buffer.from('x'), 150), false, 'pending');
    // The success answer is lost; the peer's first packet arrives through the relay.
    const txid = Buffer.alloc(12, 5);
    const ind = encodeStun({ method: Method.Data, cls: StunClass.Indication, txid, attrs: [attr(Attr.XorPeerAddress, encodeXorAddress(PEER, txid)!), attr(Attr.Data, 'hello')] }, { fingerprint: true });
    assert.deepEqual(h.client.handle(ind, SERVER, 200), { peer: PEER, data: Buffer.from('hello') });
    assert.equal(h.client.sendTo(PEER, Buffer.from('answer'), 210), true, 'the answer can go back at once');
    assert.equal(h.takeOne(Method.Send).cls, StunClass.Indication);
    // Dated from the request, not from the indication: never believed longer than the server grants it.
    assert.equal(h.client.isPermitted(PEER, 100 + 300_000 - 1), true);
    assert.equal(h.client.isPermitted(PEER, 100 + 300_000), false);
    // The retransmitted CreatePermission still completes normally.
    h.client.tick(600);
    const again = h.take().find((m) => m.method === Method.CreatePermission)!;
    assert.deepEqual(again.txid, perm.txid);
    h.reply(again, StunClass.Success, [], 650);
    assert.equal(h.client.isPermitted(PEER, 650 + 300_000 - 1), true);
  });

  it('hands back the payload of Data indications and ChannelData, and drops what it cannot vouch for', () => {
    const h = new Harness();
    h.allocate(0);
    h.take();
    h.permitPeer(0);
    const txid = Buffer.alloc(12, 9);
    const dataInd = (peer: Endpoint, payload: string) =>
      encodeStun({ method: Method.Data, cls: StunClass.Indication, txid, attrs: [attr(Attr.XorPeerAddress, encodeXorAddress(peer, txid)!), attr(Attr.Data, payload)] }, { fingerprint: true });

    assert.deepEqual(h.client.handle(dataInd(PEER, 'hi'), SERVER, 1), { peer: PEER, data: Buffer.from('hi') });
    const viaChannel = h.client.handle(encodeChannelData(0x4000, Buffer.from('yo')), SERVER, 1);
    assert.deepEqual(viaChannel, { peer: PEER, data: Buffer.from('yo') });

    const before = h.client.stats.dropped;
    assert.equal(h.client.handle(dataInd({ address: '192.0.2.99', port: 1 }, 'spoof'), SERVER, 2), undefined, 'no permission for that IP');
    assert.equal(h.client.handle(dataInd(PEER, 'spoof'), { address: '192.0.2.1', port: 3478 }, 2), undefined, 'not from the server');
    assert.equal(h.client.handle(encodeChannelData(0x4123, Buffer.from('?')), SERVER, 2), undefined, 'unbound channel');
    const badFp = dataInd(PEER, 'hi');
    badFp[badFp.length - 1] ^= 1;
    assert.equal(h.client.handle(badFp, SERVER, 2), undefined, 'bad fingerprint');
    assert.equal(h.client.stats.dropped, before + 4);
    assert.equal(h.client.stats.dataIndicationsIn, 1);
    assert.equal(h.client.stats.channelDataIn, 1);
  });

  it('stops refreshing a forgotten peer', () => {
    const h = new Harness();
    h.allocate(0, 3600);
    h.take();
    h.permitPeer(0);
    h.client.forget(PEER);
    assert.equal(h.client.sendTo(PEER, Buffer.from('x'), 1), false);
    assert.equal(h.client.nextWakeup(), 3_540_000, 'only the allocation refresh is left');
  });

  it('survives hostile datagrams from the server address without throwing or changing state', () => {
    const h = new Harness();
    h.allocate(0, 3600);
    h.take();
    const { perm } = h.permitPeer(0);
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) / 16777216;
    const valid = encodeStun({ method: Method.CreatePermission, cls: StunClass.Success, txid: perm.txid, attrs: [] }, { integrityKey: KEY, fingerprint: true });
    const samples = [valid, encodeChannelData(0x4000, Buffer.alloc(16, 1))];
    let returned = 0;
    for (let i = 0; i < 5000; i++) {
      let b: Buffer;
      if (i % 2 === 0) {
        b = Buffer.from(Array.from({ length: Math.floor(rnd() * 64) }, () => Math.floor(rnd() * 256)));
        if (i % 4 === 0 && b.length >= 8) {
          b.writeUInt32BE(0x2112a442, 4); // get past the cheap checks into attribute parsing
          b[0] &= 0x3f;
        }
      } else {
        b = Buffer.from(samples[i % 3 === 0 ? 1 : 0]);
        b[Math.floor(rnd() * b.length)] ^= 1 + Math.floor(rnd() * 255);
      }
      if (h.client.handle(b, SERVER, 10)) returned++;
    }
    assert.equal(h.client.state, 'allocated');
    assert.equal(h.errors.length, 0);
    // Only mutated ChannelData on our bound channel may carry a payload through (it has no MAC: the Noise layer above authenticates).
    assert.equal(returned, h.client.stats.channelDataIn);
    assert.deepEqual(h.client.relayedAddress, RELAYED);
  });
});
