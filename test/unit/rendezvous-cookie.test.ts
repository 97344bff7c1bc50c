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

  it('remembering verified cookies accepts exactly what recomputing would, and stays bounded', () => {
    const jar = new CookieJar({ secret, epochMs: 1000, maxRemembered: 3 });
    const key = 'a';
    const c = jar.issue(10_500, src);
    // Same answers as without a key, checked in an order that exercises the memo (hit, then expiry).
    for (const [now, ok] of [[10_600, true], [10_999, true], [11_000, true], [11_999, true], [12_000, false], [9_999, false]] as const) {
      assert.equal(jar.verify(now, src, c, key), ok, `at ${now}`);
      assert.equal(jar.verify(now, src, c), ok, `at ${now}, recomputed`);
    }
    // A remembered source presenting another cookie, or the cookie from another source, still fails.
    assert.equal(jar.verify(10_600, src, c, key), true);
    const other = Buffer.from(c);
    other[0] ^= 1;
    assert.equal(jar.verify(10_600, src, other, key), false);
    assert.equal(jar.verify(10_600, { ...src, port: 1 }, c, 'b'), false);
    // A cookie issued in the next epoch replaces the remembered one.
    const c2 = jar.issue(11_200, src);
    assert.equal(jar.verify(11_300, src, c2, key), true);
    assert.equal(jar.verify(12_500, src, c2, key), true);
    assert.equal(jar.verify(12_500, src, c, key), false);
    // Bounded: past maxRemembered the memo starts over rather than growing.
    for (let port = 1; port <= 10; port++) {
      const s2 = { ...src, port };
      assert.equal(jar.verify(12_500, s2, jar.issue(12_500, s2), `p${port}`), true);
      assert.ok(jar.rememberedCount <= 3);
    }
  });
});
