// DM mailboxes (core/mailbox/dm.ts): per-pair, per-direction, per-day keys; Noise X envelopes that only
// the recipient opens and that name their sender's static key; the server service refusing strangers.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { generateKeyPair } from '../../extension/core/noise';
import { dmMailboxKeys, DM_SEAL_OVERHEAD, openDm, sealDm } from '../../extension/core/mailbox/dm';
import { signRequest } from '../../extension/core/mailbox/keys';
import { decodeMailbox, encodeUnsignedRequest, MailboxErrorCode, UnsignedRequest } from '../../extension/core/wire/mailbox';
import { MailboxService } from '../../rendezvous/mailbox';
import { MemoryStore } from '../../rendezvous/store/memoryStore';

const alice = generateKeyPair();
const bob = generateKeyPair();
const carol = generateKeyPair();
const DAY = 20_500;

describe('DM mailboxes', () => {
  it('sender and recipient derive the same mailbox; direction, day and pair each change it', () => {
    const out = dmMailboxKeys(alice, bob.publicKey, DAY, 'outgoing');
    const inc = dmMailboxKeys(bob, alice.publicKey, DAY, 'incoming');
    assert.deepEqual(out.mailboxId, inc.mailboxId);
    assert.deepEqual(out.publicKey, inc.publicKey);
    assert.notDeepEqual(dmMailboxKeys(bob, alice.publicKey, DAY, 'outgoing').mailboxId, out.mailboxId, 'Bob → Alice is another mailbox');
    assert.notDeepEqual(dmMailboxKeys(alice, bob.publicKey, DAY + 1, 'outgoing').mailboxId, out.mailboxId, 'rotates daily');
    assert.notDeepEqual(dmMailboxKeys(carol, bob.publicKey, DAY, 'outgoing').mailboxId, out.mailboxId, 'a stranger’s pair mailbox is not Alice’s');
  });

  it('an X envelope opens only for the recipient, only from the pinned sender, only in its mailbox', () => {
    const { mailboxId } = dmMailboxKeys(alice, bob.publicKey, DAY, 'outgoing');
    const text = Buffer.from('canary: meet at noon');
    const env = sealDm(alice, bob.publicKey, mailboxId, text);
    assert.equal(env.length, text.length + DM_SEAL_OVERHEAD);
    assert.ok(!env.includes(Buffer.from('canary')));
    assert.deepEqual(openDm(bob, alice.publicKey, mailboxId, env), text);
    assert.equal(openDm(bob, carol.publicKey, mailboxId, env), undefined, 'not the contact Bob expects there');
    assert.equal(openDm(carol, alice.publicKey, mailboxId, env), undefined, 'not sealed to Carol');
    assert.equal(openDm(alice, alice.publicKey, mailboxId, env), undefined, 'the sender cannot read it back');
    assert.equal(openDm(bob, alice.publicKey, randomBytes(16), env), undefined, 'moved to another mailbox');
    // Carol, a stranger, seals to Bob and drops it in Alice's mailbox id: X reveals Carol's key, not Alice's.
    const forged = sealDm(carol, bob.publicKey, mailboxId, Buffer.from('I am Alice'));
    assert.equal(openDm(bob, alice.publicKey, mailboxId, forged), undefined);
    const t = Buffer.from(env);
    t[t.length - 1] ^= 1;
    assert.equal(openDm(bob, alice.publicKey, mailboxId, t), undefined, 'tampered');
    assert.equal(openDm(bob, alice.publicKey, mailboxId, Buffer.alloc(10)), undefined, 'garbage never throws');
  });

  it('the server takes deposits only with the pair’s key: a stranger cannot deposit into or fetch a contact’s mailbox', async () => {
    const svc = new MailboxService(new MemoryStore());
    const k = dmMailboxKeys(alice, bob.publicKey, DAY, 'outgoing');
    const ask = async (keys: typeof k, body: { type: 'deposit'; envelope: Buffer } | { type: 'fetch'; after: bigint }, mailboxId = keys.mailboxId) => {
      const u = { ...body, mailboxId, key: keys.publicKey, cookie: Buffer.alloc(16), nonce: randomBytes(8) } as UnsignedRequest;
      const head = encodeUnsignedRequest(u);
      const r = await svc.handle({ ...u, sig: signRequest(keys.signing, head) } as never, head, 'src', 0, 1_700_000_000_000);
      const d = decodeMailbox(r!);
      assert.ok(d.ok);
      return d.value;
    };
    const env = sealDm(alice, bob.publicKey, k.mailboxId, Buffer.from('hi Bob'));
    assert.equal((await ask(k, { type: 'deposit', envelope: env })).type, 'depositAck');
    const stranger = dmMailboxKeys(carol, bob.publicKey, DAY, 'outgoing');
    const refused = await ask(stranger, { type: 'deposit', envelope: Buffer.from('spam') }, k.mailboxId);
    assert.ok(refused.type === 'mailboxError' && refused.code === MailboxErrorCode.BadProof);
    const peek = await ask(stranger, { type: 'fetch', after: 0n }, k.mailboxId);
    assert.ok(peek.type === 'mailboxError' && peek.code === MailboxErrorCode.BadProof);
    const mine = dmMailboxKeys(bob, alice.publicKey, DAY, 'incoming');
    const got = await ask(mine, { type: 'fetch', after: 0n });
    assert.ok(got.type === 'items' && got.items.length === 1);
    assert.deepEqual(openDm(bob, alice.publicKey, mine.mailboxId, got.items[0].data), Buffer.from('hi Bob'));
  });
});
