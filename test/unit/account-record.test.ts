import assert from 'node:assert/strict';
import { Reader } from '../../extension/core/wire/bytes';
import { keyPairFromPrivate } from '../../extension/core/noise';
import {
  decodeRecord,
  displayNameError,
  encodeRotation,
  readDeletion,
  readRotation,
  signDeletion,
  signRecord,
  signRotation,
  verifyRecord,
  verifyRotationBy,
  MAX_RECORD_BYTES,
} from '../../extension/core/account/record';
import { generateSigningKey, signingKeyFromSeed, sign, verify } from '../../extension/core/account/signing';

// Fixed seeds: Ed25519 is deterministic, so every byte below, signatures included, is a golden value
// (the same ones are printed in docs/PROTOCOL.md §5).
const ED = signingKeyFromSeed(Buffer.alloc(32, 0x11));
const ED2 = signingKeyFromSeed(Buffer.alloc(32, 0x33));
const X = keyPairFromPrivate(Buffer.alloc(32, 0x22));
const X2 = keyPairFromPrivate(Buffer.alloc(32, 0x44));
const TOKEN = Buffer.alloc(16, 0xab);

const GOLDEN_ED_PUB = 'd04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737';
const GOLDEN_X_PUB = '0faa684ed28867b97f4a6a2dee5df8ce974e76b7018e3f22a1c4cf2678570f20';
const GOLDEN_RECORD =
  '01' + '0000000000000001' + '05' + '616c696365' + '05' + '416c696365' + GOLDEN_ED_PUB + GOLDEN_X_PUB + 'ab'.repeat(16) +
  '3f92acb23b01e93f091ff4a2474bbf7790505fd9c6fe50516ae2b477f061d40e60a7396f00a5fc0daa57a8bcd2ff54851ad0c5c016e431cbea2f4c622f9afc04';
const GOLDEN_DELETE =
  '01' + '0000000000000002' + '05' + '616c696365' + GOLDEN_ED_PUB +
  'd36cc6c392954501c8f5eae12282632a5eb0dcd76c95a4cefadfffbd72e0fa7b3f2da78d1ec3857273958774b6828eb1f158909260c0d8d40827e3b798424e08';
const GOLDEN_ROTATE_OLD_SIG =
  '5092e0efc8f6ddbfa05e685ca45d6158b790bb1057615943f13ffcd6b8c10135729b8a864328350cc9cb85e397c5e80a7ecc6b6f2445d56083bedc99aac7a601';

const fields = (over: Partial<Parameters<typeof signRecord>[0]> = {}) => ({
  version: 1n,
  handle: 'alice',
  displayName: 'Alice',
  signingKey: ED.publicKey,
  staticKey: X.publicKey,
  requestToken: TOKEN,
  ...over,
});

describe('account: Ed25519 signing keys', () => {
  it('derives the RFC 8032 public key from a seed (RFC 8032 test 1)', () => {
    const k = signingKeyFromSeed(Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex'));
    assert.equal(k.publicKey.toString('hex'), 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    const sig = sign(k, Buffer.alloc(0));
    assert.equal(
      sig.toString('hex'),
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    );
    assert.equal(verify(k.publicKey, Buffer.alloc(0), sig), true);
  });

  it('generated keys sign and verify; a wrong key, message or malformed input does not verify and never throws', () => {
    const k = generateSigningKey();
    assert.equal(k.publicKey.length, 32);
    assert.deepEqual(signingKeyFromSeed(k.seed).publicKey, k.publicKey);
    const sig = sign(k, Buffer.from('m'));
    assert.equal(verify(k.publicKey, Buffer.from('m'), sig), true);
    assert.equal(verify(ED.publicKey, Buffer.from('m'), sig), false);
    assert.equal(verify(k.publicKey, Buffer.from('n'), sig), false);
    assert.equal(verify(k.publicKey.subarray(1), Buffer.from('m'), sig), false);
    assert.equal(verify(Buffer.alloc(32, 0xff), Buffer.from('m'), sig), false);
    assert.equal(verify(k.publicKey, Buffer.from('m'), sig.subarray(1)), false);
  });
});

describe('account: record codec (golden vectors)', () => {
  it('fixed seeds give fixed keys', () => {
    assert.equal(ED.publicKey.toString('hex'), GOLDEN_ED_PUB);
    assert.equal(X.publicKey.toString('hex'), GOLDEN_X_PUB);
  });

  it('a record encodes to the golden bytes, signature included, and decodes back', () => {
    const rec = signRecord(fields(), ED);
    assert.equal(rec.bytes.toString('hex'), GOLDEN_RECORD);
    assert.equal(rec.bytes.length, 165);
    const d = decodeRecord(Buffer.from(GOLDEN_RECORD, 'hex'));
    assert.ok(d.ok, d.ok ? '' : d.error);
    assert.equal(d.value.handle, 'alice');
    assert.equal(d.value.displayName, 'Alice');
    assert.equal(d.value.version, 1n);
    assert.deepEqual(d.value.staticKey, X.publicKey);
    assert.deepEqual(d.value.requestToken, TOKEN);
  });

  it('a deletion encodes to the golden bytes', () => {
    const del = signDeletion({ version: 2n, handle: 'alice' }, ED);
    assert.equal(del.bytes.toString('hex'), GOLDEN_DELETE);
    const d = readDeletion(new Reader(Buffer.from(GOLDEN_DELETE, 'hex')));
    assert.ok(d.ok);
    assert.equal(d.value.version, 2n);
  });

  it('a rotation: new record signed by the new key, plus the old key over it (golden)', () => {
    const rot = signRotation(fields({ version: 3n, signingKey: ED2.publicKey, staticKey: X2.publicKey }), ED2, ED);
    assert.equal(rot.oldSignature.toString('hex'), GOLDEN_ROTATE_OLD_SIG);
    const enc = encodeRotation(rot);
    const back = readRotation(new Reader(enc));
    assert.ok(back.ok);
    assert.equal(verifyRotationBy(ED.publicKey, back.value), true);
    assert.equal(verifyRotationBy(ED2.publicKey, back.value), false, 'the old signature is not the new key');
    const forged = signRotation(fields({ version: 3n, signingKey: ED2.publicKey }), ED2, ED2);
    assert.equal(verifyRotationBy(ED.publicKey, forged), false, 'a rotation not signed by the old key');
  });

  it('the largest record fits its bound', () => {
    const rec = signRecord(fields({ handle: 'a'.repeat(32), displayName: 'é'.repeat(32) }), ED);
    assert.equal(rec.bytes.length, MAX_RECORD_BYTES);
  });
});

describe('account: tampering, rollback, wrong answers', () => {
  const good = Buffer.from(GOLDEN_RECORD, 'hex');

  it('every single flipped bit makes the record invalid', () => {
    for (let i = 0; i < good.length; i++) {
      for (const bit of [0x01, 0x80]) {
        const t = Buffer.from(good);
        t[i] ^= bit;
        assert.equal(decodeRecord(t).ok, false, `byte ${i} bit ${bit}`);
      }
    }
  });

  it('truncated, extended or re-signed-by-another-key records are refused', () => {
    for (let n = 0; n < good.length; n++) assert.equal(decodeRecord(good.subarray(0, n)).ok, false);
    assert.equal(decodeRecord(Buffer.concat([good, Buffer.from([0])])).ok, false);
    // The body claims ED's key but the signature is ED2's over the same body.
    const body = good.subarray(0, good.length - 64);
    const other = signingKeyFromSeed(Buffer.alloc(32, 0x33));
    const resigned = Buffer.concat([body, sign(other, Buffer.concat([Buffer.from('p2p-chat account record v1\0'), body]))]);
    assert.equal(decodeRecord(resigned).ok, false);
  });

  it('a signature made for one purpose is not valid for another (domain separation)', () => {
    // A deletion's signature over the same key cannot pass as a record's, and vice versa.
    const del = signDeletion({ version: 1n, handle: 'alice' }, ED);
    const rec = signRecord(fields(), ED);
    const swapped = Buffer.concat([rec.bytes.subarray(0, rec.bytes.length - 64), del.signature]);
    assert.equal(decodeRecord(swapped).ok, false);
  });

  it('clients check the handle asked for, the pinned version and the pinned keys', () => {
    assert.ok(verifyRecord(good, { handle: 'alice', minVersion: 1n, signingKey: ED.publicKey, staticKey: X.publicKey }).ok);
    const wrongHandle = verifyRecord(good, { handle: 'bob' });
    assert.ok(!wrongHandle.ok && /not "bob"/.test(wrongHandle.error));
    const rollback = verifyRecord(good, { minVersion: 2n });
    assert.ok(!rollback.ok && /rollback/.test(rollback.error));
    const otherKey = verifyRecord(good, { signingKey: ED2.publicKey });
    assert.ok(!otherKey.ok && /different key/.test(otherKey.error));
    const otherStatic = verifyRecord(good, { staticKey: X2.publicKey });
    assert.ok(!otherStatic.ok && /identity key/.test(otherStatic.error));
  });

  it('records with non-canonical handles or hostile display names cannot be signed or decoded', () => {
    assert.throws(() => signRecord(fields({ handle: 'Alice' }), ED), /canonical/);
    assert.throws(() => signRecord(fields({ version: 0n }), ED), /version/);
    assert.throws(() => signRecord(fields({ signingKey: ED2.publicKey }), ED), /own signing key/);
    assert.throws(() => signRecord(fields({ displayName: 'x'.repeat(65) }), ED), /64 bytes/);
    assert.match(displayNameError('evil\u202egnp.exe') ?? '', /bidi/);
    assert.match(displayNameError('a\u0007b') ?? '', /control/);
    assert.match(displayNameError('e\u0301') ?? '', /NFC/);
    assert.match(displayNameError('Bob\u2060') ?? '', /control, zero-width or bidi/, 'word joiner');
    assert.match(displayNameError('B\u00adob') ?? '', /control, zero-width or bidi/, 'soft hyphen');
    assert.match(displayNameError('tag\u{e0041}') ?? '', /control, zero-width or bidi/, 'tag characters');
    assert.equal(displayNameError('Zoë 🚀'), undefined);
    // Forge the bytes of a record with an upper-case handle (validly signed): decoding refuses it.
    const body = Buffer.from(good.subarray(0, good.length - 64));
    body.write('Alice', 10, 'ascii');
    const forged = Buffer.concat([body, sign(ED, Buffer.concat([Buffer.from('p2p-chat account record v1\0'), body]))]);
    const d = decodeRecord(forged);
    assert.ok(!d.ok && /canonical/.test(d.error));
  });
});
