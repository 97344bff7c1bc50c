import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { CookieJar, cookieInput } from '../../rendezvous/cookie';

const secret = Buffer.alloc(32, 7);
const src = { address: '203.0.113.9', port: 40000 };

describe('rendezvous cookie', () => {
  it('golden value: first 16 bytes of HMAC-SHA256(secret, epoch || address || port)', () => {
    const jar = new CookieJar({ secret, epochMs: 120_000 });
    const now = 5 * 120_000 + 17;
    const input = Buffer.from('00000005' + 'cb007109' + '9c40', 'hex');
    assert.deepEqual(cookieInput(5, src), input);
    const expected = createHmac('sha256', secret).update(input).digest().subarray(0, 16);
    assert.deepEqual(jar.issue(now, src), expected);
    const v6 = cookieInput(1, { address: '2001:db8::1', port: 1 });
    assert.equal(v6.toString('hex'), '00000001' + '20010db8000000000000000000000001' + '0001');
  });

  it('verifies for the same source in the same and the next epoch only', () => {
    const jar = new CookieJar({ secret, epochMs: 1000 });
    const c = jar.issue(10_500, src);
    assert.equal(jar.verify(10_999, src, c), true);
    assert.equal(jar.verify(11_000, src, c), true, 'next epoch');
    assert.equal(jar.verify(11_999, src, c), true);
    assert.equal(jar.verify(12_000, src, c), false, 'two epochs later');
    assert.equal(jar.verify(9_999, src, c), false, 'an epoch before issue');
  });

  it('is bound to address and port', () => {
    const jar = new CookieJar({ secret });
    const c = jar.issue(0, src);
    assert.equal(jar.verify(0, { ...src, port: 40001 }, c), false);
    assert.equal(jar.verify(0, { ...src, address: '203.0.113.10' }, c), false);
    const v6 = { address: '2001:db8::7', port: 40000 };
    assert.equal(jar.verify(0, v6, jar.issue(0, v6)), true);
    assert.equal(jar.verify(0, v6, c), false);
  });

  it('a new secret (a restart) invalidates old cookies; the default secret is random', () => {
    const c = new CookieJar().issue(0, src);
    assert.equal(new CookieJar().verify(0, src, c), false);
  });

  it('rejects wrong lengths and flipped bits without throwing', () => {
    const jar = new CookieJar({ secret });
    const c = jar.issue(0, src);
    assert.equal(jar.verify(0, src, c.subarray(0, 15)), false);
    assert.equal(jar.verify(0, src, Buffer.concat([c, Buffer.alloc(1)])), false);
    assert.equal(jar.verify(0, src, Buffer.alloc(16)), false);
    for (let i = 0; i < 128; i++) {
      const bad = Buffer.from(c);
      bad[i >> 3] ^= 1 << (i & 7);
      assert.equal(jar.verify(0, src, bad), false);
    }
  });
});
