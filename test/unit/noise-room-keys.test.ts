import assert from 'node:assert/strict';
import { deriveNamedRoomKeys, deriveRoomKeys, generateRoomSecret, normalizeRoomName } from '../../extension/core/noise';

// Golden values cross-checked against RFC 5869 HKDF written independently (Python hmac).
const SECRET = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');

describe('noise: room keys', () => {
  it('derives roomId and psk from a 16-byte secret: golden values', () => {
    const k = deriveRoomKeys(SECRET);
    assert.equal(k.roomId.toString('hex'), '55ff5e1b9411b6cc3773b889de26106003b72f7d073f051e50bfbf658e200cd1');
    assert.equal(k.psk.toString('hex'), 'e175ea0864847881ff6add6a8b54f08c506c7eb8b24b56aa9e502a68e2f44d4f');
  });

  it('roomId and psk are distinct 32-byte values, different per secret', () => {
    const s = generateRoomSecret();
    assert.equal(s.length, 16);
    const k = deriveRoomKeys(s);
    assert.equal(k.roomId.length, 32);
    assert.equal(k.psk.length, 32);
    assert.notDeepEqual(k.roomId, k.psk);
    assert.deepEqual(deriveRoomKeys(Buffer.from(s)), k);
    assert.notDeepEqual(deriveRoomKeys(generateRoomSecret()).roomId, k.roomId);
    assert.throws(() => deriveRoomKeys(Buffer.alloc(15)), RangeError);
    assert.throws(() => deriveRoomKeys(Buffer.alloc(32)), RangeError);
  });

  it('named rooms: normalised names meet, golden value, and never collide with an invite room', () => {
    const k = deriveNamedRoomKeys('  Team   Sync ');
    assert.equal(k.roomId.toString('hex'), 'beea87f4262f7c0134960ad1c8e6bc7eda629ee38db6b7b435c51c2369f54f0b');
    assert.equal(k.psk.toString('hex'), 'f27feebca9ff4b8374d395e1663ede510d36dc8958404b4b044aa19894e66ddf');
    assert.deepEqual(deriveNamedRoomKeys('team sync'), k);
    assert.deepEqual(deriveNamedRoomKeys('ＴＥＡＭ\tsync'), k, 'full-width letters and tabs normalise too');
    assert.notDeepEqual(deriveNamedRoomKeys('team-sync').roomId, k.roomId);
    // The same 16 bytes as a name and as an invite secret must land in different rooms.
    const asText = '0123456789abcdef';
    assert.notDeepEqual(deriveNamedRoomKeys(asText).roomId, deriveRoomKeys(Buffer.from(asText)).roomId);
    assert.equal(normalizeRoomName(' Café  Ünïcode '), 'café ünïcode');
    assert.throws(() => deriveNamedRoomKeys('   '), RangeError);
  });
});
