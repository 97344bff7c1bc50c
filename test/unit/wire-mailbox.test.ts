// The mailbox codec (wire/mailbox.ts) and the sealed room envelope (core/mailbox/envelope.ts):
// golden bytes, round trips, and decoders that never throw on hostile input.
import assert from 'node:assert/strict';
import { decodeMailbox, encodeMailbox, MailboxMessage, MAX_MAILBOX_REQUEST_BYTES, signedPart } from '../../extension/core/wire/mailbox';
import { chatRecords, decodeContent, encodeContent, open, seal } from '../../extension/core/mailbox/envelope';
import { mailboxIdOf, roomMailboxKeys, signRequest, verifyRequest } from '../../extension/core/mailbox/keys';
import { deriveRoomKeys } from '../../extension/core/noise';
import { prng } from '../helpers/prng';

const id = Buffer.alloc(16, 0x11);
const key = Buffer.alloc(32, 0x22);
const cookie = Buffer.alloc(16, 0x33);
const nonce = Buffer.from('0102030405060708', 'hex');
const sig = Buffer.alloc(64, 0x44);
const auth = '11'.repeat(16) + '22'.repeat(32) + '33'.repeat(16) + '0102030405060708';

describe('mailbox wire codec', () => {
  it('golden bytes: deposit, fetch, delete', () => {
    assert.equal(
      encodeMailbox({ type: 'deposit', mailboxId: id, key, cookie, nonce, sig, envelope: Buffer.from('abc') }).toString('hex'),
      'c50140' + auth + '0003' + '616263' + '44'.repeat(64),
    );
    assert.equal(encodeMailbox({ type: 'fetch', mailboxId: id, key, cookie, nonce, sig, after: 258n }).toString('hex'), 'c50142' + auth + '0000000000000102' + '44'.repeat(64));
    assert.equal(encodeMailbox({ type: 'delete', mailboxId: id, key, cookie, nonce, sig, upTo: 7n }).toString('hex'), 'c50144' + auth + '0000000000000007' + '44'.repeat(64));
  });

  it('golden bytes: depositAck, items, deleted, mailboxError', () => {
    assert.equal(encodeMailbox({ type: 'depositAck', nonce, id: 5n, ttlSeconds: 1209600 }).toString('hex'), 'c50141' + '0102030405060708' + '0000000000000005' + '00127500');
    assert.equal(
      encodeMailbox({ type: 'items', nonce, more: true, items: [{ id: 1n, expiresAt: 0x65000000, data: Buffer.from('xy') }] }).toString('hex'),
      'c50143' + '0102030405060708' + '01' + '01' + '0000000000000001' + '65000000' + '0002' + '7879',
    );
    assert.equal(encodeMailbox({ type: 'deleted', nonce, upTo: 9n }).toString('hex'), 'c50145' + '0102030405060708' + '0000000000000009');
    assert.equal(encodeMailbox({ type: 'mailboxError', nonce, code: 24, detail: 1000 }).toString('hex'), 'c50146' + '0102030405060708' + '18' + '000003e8');
  });

  it('round trips every message', () => {
    const all: MailboxMessage[] = [
      { type: 'deposit', mailboxId: id, key, cookie, nonce, sig, envelope: Buffer.alloc(1024, 1) },
      { type: 'fetch', mailboxId: id, key, cookie, nonce, sig, after: 2n ** 63n },
      { type: 'delete', mailboxId: id, key, cookie, nonce, sig, upTo: 0n },
      { type: 'depositAck', nonce, id: 1n, ttlSeconds: 60 },
      { type: 'items', nonce, more: false, items: [] },
      { type: 'deleted', nonce, upTo: 1n },
      { type: 'mailboxError', nonce, code: 29, detail: 0xffffffff },
    ];
    for (const m of all) {
      const b = encodeMailbox(m);
      const d = decodeMailbox(b);
      assert.ok(d.ok, `${m.type}: ${!d.ok && d.error}`);
      assert.deepEqual(d.value, m);
    }
    const biggest = encodeMailbox(all[0]);
    assert.equal(biggest.length, MAX_MAILBOX_REQUEST_BYTES);
    assert.ok(biggest.length <= 1200, 'a full deposit fits one 1,200-byte datagram');
  });

  it('refuses what it must: oversized envelopes, error codes outside 24..31, trailing bytes', () => {
    assert.throws(() => encodeMailbox({ type: 'deposit', mailboxId: id, key, cookie, nonce, sig, envelope: Buffer.alloc(1025) }));
    const err = encodeMailbox({ type: 'mailboxError', nonce, code: 24, detail: 0 });
    err[11] = 7;
    assert.equal(decodeMailbox(err).ok, false);
    assert.equal(decodeMailbox(Buffer.concat([encodeMailbox({ type: 'deleted', nonce, upTo: 1n }), Buffer.from([0])])).ok, false);
  });

  it('never throws on truncated or random input', () => {
    const rand = prng(12);
    const samples = [
      encodeMailbox({ type: 'deposit', mailboxId: id, key, cookie, nonce, sig, envelope: Buffer.from('abc') }),
      encodeMailbox({ type: 'items', nonce, more: true, items: [{ id: 1n, expiresAt: 1, data: Buffer.from('xy') }] }),
    ];
    for (const s of samples) for (let n = 0; n < s.length; n++) assert.equal(decodeMailbox(s.subarray(0, n)).ok, false);
    for (let i = 0; i < 2000; i++) {
      const b = rand.bytes(rand.int(200));
      if (b.length > 2) {
        b[0] = 0xc5;
        b[1] = 1;
        b[2] = 0x40 + rand.int(16);
      }
      decodeMailbox(b);
      decodeContent(b);
    }
  });
});

describe('mailbox keys and sealed envelopes', () => {
  const room = deriveRoomKeys(Buffer.alloc(16, 1));

  it('per-period keys: the id is H(key), ids of two days and of two rooms are unrelated, none is the room id', () => {
    const d1 = roomMailboxKeys(room.psk, 20000);
    const d2 = roomMailboxKeys(room.psk, 20001);
    const other = roomMailboxKeys(deriveRoomKeys(Buffer.alloc(16, 2)).psk, 20000);
    assert.deepEqual(d1.mailboxId, mailboxIdOf(d1.publicKey));
    assert.notDeepEqual(d1.mailboxId, d2.mailboxId);
    assert.notDeepEqual(d1.publicKey, d2.publicKey);
    assert.notDeepEqual(d1.mailboxId, other.mailboxId);
    assert.ok(!room.roomId.includes(d1.mailboxId) && !d1.sealKey.equals(room.psk));
    assert.deepEqual(roomMailboxKeys(room.psk, 20000).mailboxId, d1.mailboxId, 'every member derives the same');
  });

  it('a request signature covers every byte before it', () => {
    const k = roomMailboxKeys(room.psk, 1);
    const head = encodeMailbox({ type: 'fetch', mailboxId: k.mailboxId, key: k.publicKey, cookie, nonce, sig, after: 0n }).subarray(0, -64);
    const s = signRequest(k.signing, head);
    const full = Buffer.concat([head, s]);
    assert.ok(verifyRequest(k.publicKey, signedPart(full), s));
    full[50] ^= 1; // inside the signed part
    assert.ok(!verifyRequest(k.publicKey, signedPart(full), s));
  });

  it('seals to the mailbox: opens only with the room key and in the same mailbox', () => {
    const k = roomMailboxKeys(room.psk, 3);
    const plain = encodeContent({ sender: Buffer.alloc(32, 5), name: 'Ada', records: [{ kind: 'chat', payload: Buffer.from('hello canary') }, { kind: 'receipt', entries: [{ sender: Buffer.alloc(32, 6), epoch: 1, seq: 9 }] }] });
    const env = seal(k.sealKey, k.mailboxId, plain);
    assert.ok(!env.includes(Buffer.from('canary')), 'ciphertext');
    const back = open(k.sealKey, k.mailboxId, env)!;
    assert.deepEqual(decodeContent(back), decodeContent(plain));
    assert.equal(open(k.sealKey, roomMailboxKeys(room.psk, 4).mailboxId, env), undefined, 'moved to another mailbox');
    assert.equal(open(roomMailboxKeys(room.psk, 4).sealKey, k.mailboxId, env), undefined, 'another key');
    const t = Buffer.from(env);
    t[20] ^= 1;
    assert.equal(open(k.sealKey, k.mailboxId, t), undefined, 'tampered');
  });

  it('splits a large message into parts that each fit the cap', () => {
    const k = roomMailboxKeys(room.psk, 3);
    const payload = Buffer.alloc(10_000, 7);
    const recs = chatRecords(payload, 1, 2, 'Ada', 600);
    assert.ok(recs.length > 1);
    for (const r of recs) assert.ok(seal(k.sealKey, k.mailboxId, encodeContent({ sender: Buffer.alloc(32), name: 'Ada', records: [r] })).length <= 600);
    const joined = Buffer.concat(recs.map((r) => (r.kind === 'part' ? r.data : Buffer.alloc(0))));
    assert.deepEqual(joined, payload);
    assert.equal(chatRecords(Buffer.alloc(100), 1, 2, 'Ada', 600).length, 1);
  });
});
