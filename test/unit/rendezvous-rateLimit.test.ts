import assert from 'node:assert/strict';
import { SourceLimiter, sourceKey, TokenBucket } from '../../rendezvous/rateLimit';

describe('rendezvous rate limiting', () => {
  it('a token bucket allows its burst, then its rate', () => {
    const spec = { perSecond: 10, burst: 5 };
    const b = new TokenBucket(spec, 0);
    let ok = 0;
    for (let i = 0; i < 20; i++) if (b.take(spec, 0)) ok++;
    assert.equal(ok, 5);
    assert.equal(b.take(spec, 99), false, 'less than one token after 99 ms');
    assert.equal(b.take(spec, 100), true);
    // A long pause refills to the burst, not beyond.
    let later = 0;
    for (let i = 0; i < 20; i++) if (b.take(spec, 60_000)) later++;
    assert.equal(later, 5);
  });

  it('a steady 10/s source passes a 10/s limit; a 20/s source loses about half', () => {
    const lim = new SourceLimiter({ p2p: { perSecond: 10, burst: 10 }, stun: { perSecond: 1, burst: 1 }, maxSources: 10 });
    let steady = 0;
    let fast = 0;
    for (let t = 0; t < 10_000; t += 100) if (lim.allow('a', 'p2p', t)) steady++;
    for (let t = 0; t < 10_000; t += 50) if (lim.allow('b', 'p2p', t)) fast++;
    assert.equal(steady, 100);
    assert.ok(fast >= 100 && fast <= 110, `fast got ${fast}`);
  });

  it('STUN has its own lane and an optional global budget', () => {
    const lim = new SourceLimiter({
      p2p: { perSecond: 1, burst: 2 },
      stun: { perSecond: 1, burst: 3 },
      stunGlobal: { perSecond: 1, burst: 4 },
      maxSources: 10,
    });
    assert.equal(lim.allow('a', 'p2p', 0), true);
    assert.equal(lim.allow('a', 'p2p', 0), true);
    assert.equal(lim.allow('a', 'p2p', 0), false);
    assert.equal([0, 0, 0, 0].filter(() => lim.allow('a', 'stun', 0)).length, 3, 'p2p exhaustion does not touch STUN');
    assert.equal([0, 0, 0].filter(() => lim.allow('b', 'stun', 0)).length, 1, 'global budget of 4 is spent');
  });

  it('remembers at most maxSources, forgetting the least recently seen (re-ordered at most once a second)', () => {
    const lim = new SourceLimiter({ p2p: { perSecond: 0.001, burst: 1 }, stun: { perSecond: 1, burst: 1 }, maxSources: 3 });
    lim.allow('a', 'p2p', 0);
    lim.allow('b', 'p2p', 1);
    lim.allow('c', 'p2p', 2);
    assert.equal(lim.allow('a', 'p2p', 1500), false); // a is seen again more than a second later: now the youngest
    assert.equal(lim.allow('b', 'p2p', 1600), false); // b seen again too
    assert.equal(lim.allow('d', 'p2p', 1700), true); // evicts c, the least recently seen
    assert.equal(lim.size, 3);
    assert.equal(lim.evictions, 1);
    assert.equal(lim.allow('a', 'p2p', 1800), false, 'a was kept');
    assert.equal(lim.allow('c', 'p2p', 1900), true, 'c was forgotten and starts full');
  });

  it('allows one error per source per interval', () => {
    const lim = new SourceLimiter({ p2p: { perSecond: 1, burst: 1 }, stun: { perSecond: 1, burst: 1 }, maxSources: 3, errorIntervalMs: 1000 });
    assert.equal(lim.mayError('a', 0), false, 'unknown sources get no errors');
    lim.allow('a', 'p2p', 0);
    assert.equal(lim.mayError('a', 0), true);
    assert.equal(lim.mayError('a', 999), false);
    assert.equal(lim.mayError('a', 1000), true);
  });

  it('a flood of distinct sources stays within the bound', () => {
    const lim = new SourceLimiter({ p2p: { perSecond: 1, burst: 1 }, stun: { perSecond: 1, burst: 1 }, maxSources: 1000 });
    for (let i = 0; i < 50_000; i++) lim.allow(`s${i}`, 'p2p', i);
    assert.equal(lim.size, 1000);
    assert.equal(lim.evictions, 49_000);
  });
});

describe('rendezvous source keys', () => {
  it('IPv4 sources get distinct exact numbers; IPv6 sources strings', () => {
    assert.equal(sourceKey('0.0.0.0', 0), 0);
    assert.equal(sourceKey('255.255.255.255', 65535), 2 ** 48 - 1);
    assert.equal(sourceKey('192.0.2.1', 7000), (0xc0000201 * 65536) + 7000);
    assert.notEqual(sourceKey('10.0.0.1', 1), sourceKey('10.0.0.1', 2));
    assert.notEqual(sourceKey('10.0.0.1', 1), sourceKey('10.0.1.0', 1));
    assert.equal(sourceKey('2001:db8::1', 5), '2001:db8::1|5');
  });
});
