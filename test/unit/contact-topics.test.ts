import assert from 'node:assert/strict';
import { generateKeyPair, keyPairFromPrivate } from '../../extension/core/noise';
import { DAY_MS, inboxTopic, MIDNIGHT_MARGIN_MS, PairKeys, requestPsk, utcDay } from '../../extension/core/contacts/topics';

const A = keyPairFromPrivate(Buffer.alloc(32, 1));
const B = keyPairFromPrivate(Buffer.alloc(32, 2));

describe('contact topics', () => {
  it('golden values (derivation pinned so both sides and future versions agree)', () => {
    const ab = new PairKeys(A, B.publicKey);
    assert.equal(ab.topic(20_000).toString('hex'), GOLDEN.dmTopic);
    assert.equal(ab.psk.toString('hex'), GOLDEN.dmPsk);
    assert.equal(inboxTopic(A.publicKey, Buffer.alloc(16, 9)).toString('hex'), GOLDEN.inbox);
    assert.equal(requestPsk(A.publicKey, Buffer.alloc(16, 9)).toString('hex'), GOLDEN.requestPsk);
  });

  it('both sides derive the same topic and psk; a third key gets neither', () => {
    const ab = new PairKeys(A, B.publicKey);
    const ba = new PairKeys(B, A.publicKey);
    assert.deepEqual(ab.topic(7), ba.topic(7));
    assert.deepEqual(ab.psk, ba.psk);
    const c = generateKeyPair();
    const ac = new PairKeys(A, c.publicKey);
    assert.notDeepEqual(ac.topic(7), ab.topic(7));
    assert.notDeepEqual(ac.psk, ab.psk);
    assert.equal(ab.topic(7).length, 16);
  });

  it('rotates daily: each UTC day has its own topic, unlinkable to the others, and never equal to the psk', () => {
    const ab = new PairKeys(A, B.publicKey);
    const seen = new Set<string>();
    for (let d = 20_000; d < 20_100; d++) seen.add(ab.topic(d).toString('hex'));
    assert.equal(seen.size, 100);
    assert.ok(!seen.has(ab.psk.subarray(0, 16).toString('hex')));
  });

  it('registers the neighbour day only near midnight, so clocks minutes apart still meet', () => {
    const ab = new PairKeys(A, B.publicKey);
    const ba = new PairKeys(B, A.publicKey);
    const midnight = 20_001 * DAY_MS;
    assert.equal(utcDay(midnight), 20_001);
    assert.equal(utcDay(midnight - 1), 20_000);
    assert.deepEqual(ab.topicsAt(midnight - 6 * 3600_000), [ab.topic(20_000)]);
    assert.deepEqual(ab.topicsAt(midnight - MIDNIGHT_MARGIN_MS), [ab.topic(20_000), ab.topic(20_001)]);
    assert.deepEqual(ab.topicsAt(midnight + 1000), [ab.topic(20_001), ab.topic(20_000)]);
    assert.deepEqual(ab.topicsAt(midnight + MIDNIGHT_MARGIN_MS), [ab.topic(20_001)]);
    // Alice's clock 5 minutes slow, Bob's 5 minutes fast, around midnight: they share a topic.
    for (let t = midnight - 20 * 60_000; t <= midnight + 20 * 60_000; t += 30_000) {
      const mine = ab.topicsAt(t - 5 * 60_000).map((b) => b.toString('hex'));
      const theirs = ba.topicsAt(t + 5 * 60_000).map((b) => b.toString('hex'));
      assert.ok(mine.some((x) => theirs.includes(x)), `no shared topic at ${t - midnight} ms from midnight`);
    }
  });

  it('inbox topic follows the request token: rotating the token moves it', () => {
    const t1 = Buffer.alloc(16, 1);
    const t2 = Buffer.alloc(16, 2);
    assert.notDeepEqual(inboxTopic(A.publicKey, t1), inboxTopic(A.publicKey, t2));
    assert.notDeepEqual(inboxTopic(A.publicKey, t1), inboxTopic(B.publicKey, t1));
    assert.notDeepEqual(requestPsk(A.publicKey, t1), requestPsk(A.publicKey, t2));
    assert.throws(() => inboxTopic(A.publicKey, Buffer.alloc(8)), RangeError);
  });

  it('refuses a low-order contact key instead of deriving from an all-zero secret', () => {
    assert.throws(() => new PairKeys(A, Buffer.alloc(32)));
  });
});

// The inbox values were checked against an independent HKDF (Python hmac/hashlib) when pinned.
const GOLDEN = {
  dmTopic: '162d799a4195442f07a51ffcac98848a',
  dmPsk: 'f9f1b9eaa934cde352ddc1ef08a5b44fdc00a7c728dcb5a8135786a6b6f70938',
  inbox: '5e5bca7ef0016295c93c26579848bafb',
  requestPsk: '774c4f30150eef46e9ffb63dba8dea0ccf71644abead74d2e498afa48f2e9e3e',
};
