import assert from 'node:assert/strict';
import { fingerprint, generateKeyPair, safetyNumber } from '../../extension/core/noise';

// Golden values were cross-checked against an independent implementation of the documented construction
// (Python hashlib); if they change, every user's displayed numbers change, so that must be deliberate.
const KEY_A = Buffer.alloc(32, 0x11);
const KEY_B = Buffer.alloc(32, 0x22);

describe('noise: fingerprints and safety numbers', () => {
  it('fingerprint: golden values, 4 groups of 4 Crockford base32 characters', () => {
    assert.equal(fingerprint(KEY_A), '0BA4-K8RZ-QCK7-S3SN');
    assert.equal(fingerprint(KEY_B), 'KXSE-M37M-JMVE-7HKC');
    const fp = fingerprint(generateKeyPair().publicKey);
    assert.match(fp, /^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
  });

  it('fingerprint is stable and distinguishes keys', () => {
    const k = generateKeyPair().publicKey;
    assert.equal(fingerprint(k), fingerprint(Buffer.from(k)));
    const other = Buffer.from(k);
    other[31] ^= 1;
    assert.notEqual(fingerprint(k), fingerprint(other));
  });

  it('safety number: golden value, 12 groups of 5 digits', () => {
    assert.equal(safetyNumber(KEY_A, KEY_B), '84696 64260 87580 40306 82157 86824 85279 11826 64584 59565 33801 90207');
  });

  it('safety number is the same on both sides and changes with either key', () => {
    const a = generateKeyPair().publicKey;
    const b = generateKeyPair().publicKey;
    const n = safetyNumber(a, b);
    assert.match(n, /^\d{5}( \d{5}){11}$/);
    assert.equal(safetyNumber(b, a), n);
    const c = generateKeyPair().publicKey;
    assert.notEqual(safetyNumber(a, c), n);
    assert.notEqual(safetyNumber(c, b), n);
  });

  it('rejects keys that are not 32 bytes', () => {
    assert.throws(() => fingerprint(Buffer.alloc(31)), RangeError);
    assert.throws(() => safetyNumber(KEY_A, Buffer.alloc(33)), RangeError);
  });
});
