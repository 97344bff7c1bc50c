import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { TransportCipher, TransportExhaustedError } from '../../extension/core/noise';

function pair(opts: { counterLimit?: bigint; replayWindow?: number } = {}) {
  const k1 = crypto.randomBytes(32);
  const k2 = crypto.randomBytes(32);
  return { a: new TransportCipher({ send: k1, recv: k2 }, opts), b: new TransportCipher({ send: k2, recv: k1 }, opts) };
}

describe('noise: transport cipher', () => {
  it('sealParts: header room, then exactly what seal() gives for the concatenated parts, with the next counter', () => {
    const k = crypto.randomBytes(32);
    const x = new TransportCipher({ send: k, recv: k });
    const y = new TransportCipher({ send: k, recv: k });
    const parts = [crypto.randomBytes(5), crypto.randomBytes(16 * 1024 + 3), Buffer.alloc(0), crypto.randomBytes(77)];
    for (let i = 0; i < 3; i++) {
      const whole = x.seal(Buffer.concat(parts));
      const p = y.sealParts(parts, 15);
      assert.equal(p.counter, whole.counter);
      assert.equal(p.datagram.length, 15 + whole.ciphertext.length);
      assert.ok(p.datagram.subarray(15).equals(whole.ciphertext));
      assert.ok(x.open(p.counter, p.datagram.subarray(15))!.equals(Buffer.concat(parts)));
    }
  });

  it('round-trips with explicit counters, in both directions, with and without ad', () => {
    const { a, b } = pair();
    const s0 = a.seal(Buffer.from('hello'));
    const s1 = a.seal(Buffer.from('world'), Buffer.from('hdr'));
    assert.equal(s0.counter, 0n);
    assert.equal(s1.counter, 1n);
    assert.equal(s0.ciphertext.length, 5 + 16);
    assert.equal(b.open(s1.counter, s1.ciphertext, Buffer.from('hdr'))?.toString(), 'world');
    assert.equal(b.open(s0.counter, s0.ciphertext)?.toString(), 'hello', 'reordered packet still opens');
    const back = b.seal(Buffer.alloc(0));
    assert.deepEqual(a.open(back.counter, back.ciphertext), Buffer.alloc(0));
    assert.equal(b.received, 2);
    assert.equal(a.sent, 2n);
  });

  it('returns null and counts drops for tampering, forgery, replay, age and bad input; never throws', () => {
    const { a, b } = pair({ replayWindow: 64 });
    const s = a.seal(Buffer.from('payload'), Buffer.from('ad'));
    for (let i = 0; i < s.ciphertext.length; i++) {
      const bad = Buffer.from(s.ciphertext);
      bad[i] ^= 0x80;
      assert.equal(b.open(s.counter, bad, Buffer.from('ad')), null, `flipped byte ${i}`);
    }
    assert.equal(b.open(s.counter, s.ciphertext, Buffer.from('AD')), null, 'wrong ad');
    assert.equal(b.open(s.counter + 1n, s.ciphertext, Buffer.from('ad')), null, 'wrong counter');
    assert.equal(b.open(s.counter, s.ciphertext), null, 'missing ad');
    assert.equal(b.open(0n, crypto.randomBytes(40)), null, 'random forgery');
    const authFailures = s.ciphertext.length + 4;
    assert.equal(b.dropped.auth, authFailures);
    // Forged packets must not have consumed counter 0: the genuine one still opens, once.
    assert.equal(b.open(s.counter, s.ciphertext, Buffer.from('ad'))?.toString(), 'payload');
    assert.equal(b.open(s.counter, s.ciphertext, Buffer.from('ad')), null);
    assert.equal(b.dropped.replay, 1);

    for (let i = 0; i < 100; i++) a.seal(Buffer.from('x'));
    const late = a.seal(Buffer.from('late'));
    for (let i = 0; i < 100; i++) {
      const s2 = a.seal(Buffer.from('y'));
      assert.ok(b.open(s2.counter, s2.ciphertext));
    }
    assert.equal(b.open(late.counter, late.ciphertext), null);
    assert.equal(b.dropped.tooOld, 1);

    assert.equal(b.open(-1n, s.ciphertext), null);
    assert.equal(b.open(1n << 60n, s.ciphertext), null);
    assert.equal(b.open(5n, Buffer.alloc(15)), null);
    assert.equal(b.open(5n, Buffer.alloc(0)), null);
    assert.deepEqual(b.dropped, { replay: 1, auth: authFailures, tooOld: 1, invalid: 4 });
  });

  it('a far forward jump is accepted and old counters become too old', () => {
    const { a, b } = pair({ replayWindow: 2048 });
    const early = a.seal(Buffer.from('early'));
    for (let i = 0; i < 3000; i++) a.seal(Buffer.alloc(0)); // lost packets
    const jump = a.seal(Buffer.from('jump'));
    assert.equal(b.open(jump.counter, jump.ciphertext)?.toString(), 'jump');
    assert.equal(b.open(early.counter, early.ciphertext), null);
    assert.equal(b.dropped.tooOld, 1);
  });

  it('refuses to seal at the counter limit so the caller re-handshakes', () => {
    const { a, b } = pair({ counterLimit: 3n });
    for (let i = 0; i < 3; i++) {
      assert.ok(!a.exhausted);
      const s = a.seal(Buffer.from([i]));
      assert.deepEqual(b.open(s.counter, s.ciphertext), Buffer.from([i]));
    }
    assert.ok(a.exhausted);
    assert.throws(() => a.seal(Buffer.from('more')), TransportExhaustedError);
    assert.equal(b.open(3n, Buffer.alloc(32)), null);
    assert.equal(b.dropped.invalid, 1);
    assert.throws(() => pair({ counterLimit: 0n }), RangeError);
    assert.throws(() => pair({ counterLimit: (1n << 60n) + 1n }), RangeError);
  });

  it('keys must be 32 bytes', () => {
    assert.throws(() => new TransportCipher({ send: Buffer.alloc(16), recv: Buffer.alloc(32) }), RangeError);
  });
});
