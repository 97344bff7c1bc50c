import { RFC5769_REQUEST, RFC5769_TXID } from '../helpers/rfc5769';
import assert from 'node:assert/strict';
import { classify } from '../../extension/core/wire/header';
import { crc32, encodeBindingSuccess, parseBindingRequest } from '../../rendezvous/stun';
import { stunLib } from '../helpers/rendezvousClient';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const stun = stunLib();

const TXID = RFC5769_TXID;

describe('rendezvous STUN codec', () => {
  it('crc32 matches the standard check value', () => {
    assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
  });

  it('parses the RFC 5769 sample request and checks its FINGERPRINT', () => {
    assert.equal(classify(RFC5769_REQUEST), 'stun');
    const p = parseBindingRequest(RFC5769_REQUEST);
    assert.ok(p.ok, p.ok ? '' : p.error);
    assert.deepEqual(p.transactionId, TXID);
    assert.equal(p.fingerprint, true);
    const bad = Buffer.from(RFC5769_REQUEST);
    bad[30] ^= 1; // inside SOFTWARE
    assert.deepEqual(parseBindingRequest(bad), { ok: false, error: 'bad FINGERPRINT' });
  });

  it('XOR-MAPPED-ADDRESS bytes match the RFC 5769 IPv4 and IPv6 responses', () => {
    const v4 = encodeBindingSuccess(TXID, { address: '192.0.2.1', port: 32853 }, false);
    assert.equal(v4.toString('hex'), '0101000c2112a442' + TXID.toString('hex') + '0020000800 01a147e112a643'.replace(/ /g, ''));
    const v6 = encodeBindingSuccess(TXID, { address: '2001:db8:1234:5678:11:2233:4455:6677', port: 32853 }, false);
    assert.equal(
      v6.subarray(20).toString('hex'),
      '00200014' + '0002a147' + '0113a9fa' + 'a5d3f179' + 'bc25f4b5' + 'bed2b9d9',
    );
    assert.equal(v4.length, 32);
    assert.equal(v6.length, 44);
  });

  it('answers the stun package’s requests in a form it decodes, with and without FINGERPRINT', () => {
    for (const fp of [false, true]) {
      const req = stun.createMessage(stun.constants.STUN_BINDING_REQUEST);
      if (fp) req.addFingerprint();
      const bytes = stun.encode(req);
      const p = parseBindingRequest(bytes);
      assert.ok(p.ok, p.ok ? '' : p.error);
      assert.equal(p.fingerprint, fp);
      for (const mapped of [{ address: '203.0.113.77', port: 61000 }, { address: '2001:db8::42', port: 1 }]) {
        const res = stun.decode(encodeBindingSuccess(p.transactionId, mapped, p.fingerprint));
        assert.equal(res.type, stun.constants.STUN_BINDING_RESPONSE);
        assert.deepEqual(res.transactionId, req.transactionId);
        const xa = res.getXorAddress();
        assert.equal(xa?.address, mapped.address);
        assert.equal(xa?.port, mapped.port);
        if (fp) assert.equal(stun.validateFingerprint(res), true);
      }
    }
  });

  it('rejects malformed messages and tells non-Binding methods apart', () => {
    const good = stun.encode(stun.createMessage(stun.constants.STUN_BINDING_REQUEST));
    const cases: [string, Buffer][] = [
      ['short', good.subarray(0, 19)],
      ['length not multiple of 4', Buffer.concat([good.subarray(0, 2), hex('0002'), good.subarray(4), hex('0000')])],
      ['length disagrees', Buffer.concat([good, hex('00000000')])],
      ['truncated attribute', Buffer.concat([good.subarray(0, 2), hex('0008'), good.subarray(4), hex('80220010 00000000')])],
      ['attribute header cut', Buffer.concat([good.subarray(0, 2), hex('0004'), good.subarray(4), hex('8022 0000')]).subarray(0, 22)],
    ];
    for (const [what, b] of cases) {
      const p = parseBindingRequest(b);
      assert.equal(p.ok, false, what);
    }
    const indication = Buffer.from(good);
    indication.writeUInt16BE(0x0011, 0);
    const p = parseBindingRequest(indication);
    assert.ok(!p.ok && p.notBinding === true);
    const allocate = Buffer.from(good);
    allocate.writeUInt16BE(0x0003, 0);
    const pa = parseBindingRequest(allocate);
    assert.ok(!pa.ok && pa.notBinding === true);
  });

  it('random and mutated input never throws', () => {
    let seed = 99;
    const rnd = (n: number) => Math.floor(((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * n);
    for (let i = 0; i < 20_000; i++) {
      const b = Buffer.from(RFC5769_REQUEST);
      for (let f = 0; f < 1 + rnd(4); f++) b[rnd(b.length)] ^= 1 << rnd(8);
      parseBindingRequest(b.subarray(0, rnd(b.length + 1)));
      parseBindingRequest(b);
    }
  });
});
