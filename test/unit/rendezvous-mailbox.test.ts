// The server-side mailbox (rendezvous/mailbox.ts) on a real Store: who may deposit and fetch, replays,
// limits, expiry, and what a dump of the store holds.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deriveRoomKeys } from '../../extension/core/noise';
import { MailboxKeys, roomMailboxKeys, signRequest } from '../../extension/core/mailbox/keys';
import { encodeContent, seal } from '../../extension/core/mailbox/envelope';
import { encodeChat } from '../../extension/core/room/appMessages';
import { decodeMailbox, encodeUnsignedRequest, MailboxErrorCode, MailboxMessage, signedPart, UnsignedRequest } from '../../extension/core/wire/mailbox';
import { MailboxLimits, MailboxService } from '../../rendezvous/mailbox';
import { FileStore } from '../../rendezvous/store/fileStore';
import { MemoryStore } from '../../rendezvous/store/memoryStore';
import type { Store } from '../../rendezvous/store/store';

const cookie = Buffer.alloc(16, 1);
const room = deriveRoomKeys(Buffer.alloc(16, 3));
const WALL = 1_700_000_000_000;

function request(k: MailboxKeys, body: { type: 'deposit'; envelope: Buffer } | { type: 'fetch'; after: bigint } | { type: 'delete'; upTo: bigint }, signer = k) {
  const unsigned = { ...body, mailboxId: k.mailboxId, key: k.publicKey, cookie, nonce: randomBytes(8) } as UnsignedRequest;
  const head = encodeUnsignedRequest(unsigned);
  const bytes = Buffer.concat([head, signRequest(signer.signing, head)]);
  return bytes;
}

async function send(svc: MailboxService, bytes: Buffer, now = 0, wall = WALL, source = 'a'): Promise<MailboxMessage> {
  const d = decodeMailbox(bytes);
  assert.ok(d.ok);
  const m = d.value as Extract<MailboxMessage, { type: 'deposit' | 'fetch' | 'delete' }>;
  const r = await svc.handle(m, signedPart(bytes), source, now, wall);
  assert.ok(r, 'answered');
  const back = decodeMailbox(r!);
  assert.ok(back.ok);
  return back.value;
}

function svc(limits: Partial<MailboxLimits> = {}, store: Store = new MemoryStore()) {
  return new MailboxService(store, limits);
}

const code = (m: MailboxMessage) => (m.type === 'mailboxError' ? m.code : m.type);

describe('rendezvous mailbox service', () => {
  const k = roomMailboxKeys(room.psk, 19700);

  it('deposit, fetch from a cursor, delete up to an id', async () => {
    const s = svc();
    const ids: bigint[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await send(s, request(k, { type: 'deposit', envelope: Buffer.from(`env${i}`) }));
      assert.equal(r.type, 'depositAck');
      if (r.type === 'depositAck') ids.push(r.id);
    }
    const all = await send(s, request(k, { type: 'fetch', after: 0n }));
    assert.ok(all.type === 'items');
    assert.deepEqual(all.items.map((i) => i.data.toString()), ['env0', 'env1', 'env2', 'env3', 'env4']);
    const rest = await send(s, request(k, { type: 'fetch', after: ids[2] }));
    assert.ok(rest.type === 'items' && rest.items.length === 2);
    assert.equal((await send(s, request(k, { type: 'delete', upTo: ids[3] }))).type, 'deleted');
    const left = await send(s, request(k, { type: 'fetch', after: 0n }));
    assert.ok(left.type === 'items' && left.items.length === 1 && left.items[0].data.toString() === 'env4');
  });

  it('a fetch reply fits one datagram and says when there is more', async () => {
    const s = svc();
    for (let i = 0; i < 6; i++) await send(s, request(k, { type: 'deposit', envelope: Buffer.alloc(1000, i) }));
    const first = await send(s, request(k, { type: 'fetch', after: 0n }));
    assert.ok(first.type === 'items' && first.more && first.items.length === 1);
  });

  it('strangers are refused: a key of another room, a forged signature, an id that is not the key’s', async () => {
    const s = svc();
    const stranger = roomMailboxKeys(deriveRoomKeys(Buffer.alloc(16, 4)).psk, 19700);
    // Their own key, our mailbox id: the id is not H(key).
    const head = encodeUnsignedRequest({ type: 'deposit', mailboxId: k.mailboxId, key: stranger.publicKey, cookie, nonce: randomBytes(8), envelope: Buffer.from('spam') });
    assert.equal(code(await send(s, Buffer.concat([head, signRequest(stranger.signing, head)]))), MailboxErrorCode.BadProof);
    // Our key and id, signed by someone else.
    assert.equal(code(await send(s, request(k, { type: 'deposit', envelope: Buffer.from('spam') }, stranger))), MailboxErrorCode.BadProof);
    assert.equal(code(await send(s, request(k, { type: 'fetch', after: 0n }, stranger))), MailboxErrorCode.BadProof);
    assert.equal(code(await send(s, request(k, { type: 'delete', upTo: 99n }, stranger))), MailboxErrorCode.BadProof);
    const ok = await send(s, request(k, { type: 'fetch', after: 0n }));
    assert.ok(ok.type === 'items' && ok.items.length === 0, 'nothing was stored');
    assert.equal(s.stats.refused.proof, 4);
  });

  it('a replayed fetch is refused; a repeated deposit is acknowledged once and stored once', async () => {
    const s = svc();
    const dep = request(k, { type: 'deposit', envelope: Buffer.from('once') });
    const a1 = await send(s, dep);
    const a2 = await send(s, dep, 10);
    assert.deepEqual(a1, a2, 'the same acknowledgement');
    const f = request(k, { type: 'fetch', after: 0n });
    const r1 = await send(s, f);
    assert.ok(r1.type === 'items' && r1.items.length === 1, 'stored once');
    assert.equal(code(await send(s, f, 1000)), MailboxErrorCode.Replay);
    assert.equal(s.stats.refused.replay, 1);
  });

  it('quota: over the item or byte limit the deposit is refused with "full", nothing dropped', async () => {
    const s = svc({ maxItems: 3, maxBytes: 100_000 });
    for (let i = 0; i < 3; i++) assert.equal(code(await send(s, request(k, { type: 'deposit', envelope: Buffer.from('x') }))), 'depositAck');
    assert.equal(code(await send(s, request(k, { type: 'deposit', envelope: Buffer.from('x') }))), MailboxErrorCode.Full);
    const b = svc({ maxItems: 100, maxBytes: 2500 });
    for (let i = 0; i < 2; i++) assert.equal(code(await send(b, request(k, { type: 'deposit', envelope: Buffer.alloc(1000) }))), 'depositAck');
    assert.equal(code(await send(b, request(k, { type: 'deposit', envelope: Buffer.alloc(1000) }))), MailboxErrorCode.Full);
    // Another mailbox (another day) has its own quota.
    const k2 = roomMailboxKeys(room.psk, 19701);
    assert.equal(code(await send(s, request(k2, { type: 'deposit', envelope: Buffer.from('x') }))), 'depositAck');
  });

  it('TTL: an envelope past its expiry is not served, and purge removes it', async () => {
    const store = new MemoryStore();
    const s = svc({ ttlMs: 60_000 }, store);
    await send(s, request(k, { type: 'deposit', envelope: Buffer.from('short-lived') }));
    const soon = await send(s, request(k, { type: 'fetch', after: 0n }), 1, WALL + 59_000);
    assert.ok(soon.type === 'items' && soon.items.length === 1);
    assert.equal(soon.type === 'items' && soon.items[0].expiresAt, Math.floor((WALL + 60_000) / 1000));
    const late = await send(s, request(k, { type: 'fetch', after: 0n }), 2, WALL + 60_001);
    assert.ok(late.type === 'items' && late.items.length === 0);
    assert.equal(await s.purge(WALL + 60_001), 1);
  });

  it('per-depositor rate and the envelope cap', async () => {
    const s = svc({ rate: { perSecond: 1, burst: 3 }, maxEnvelopeBytes: 300 });
    assert.equal(code(await send(s, request(k, { type: 'deposit', envelope: Buffer.alloc(301) }))), MailboxErrorCode.TooLarge);
    for (let i = 0; i < 3; i++) assert.equal(code(await send(s, request(k, { type: 'deposit', envelope: Buffer.alloc(10) }), 0, WALL, 'b')), 'depositAck');
    assert.equal(code(await send(s, request(k, { type: 'deposit', envelope: Buffer.alloc(10) }), 0, WALL, 'b')), MailboxErrorCode.RateLimited);
    assert.equal(code(await send(s, request(k, { type: 'deposit', envelope: Buffer.alloc(10) }), 0, WALL, 'c')), 'depositAck', 'another source has its own budget');
    assert.equal(code(await send(s, request(k, { type: 'deposit', envelope: Buffer.alloc(10) }), 1000, WALL, 'b')), 'depositAck', 'refilled after a second');
  });

  it('a dump of the durable store holds none of 100 canary strings, and no room id, peer id or name', async () => {
    const dir = fs.mkdtempSync(join(tmpdir(), 'p2p-mailbox-dump-'));
    try {
      const store = await FileStore.open(dir);
      const s = svc({}, store);
      const canaries = Array.from({ length: 100 }, () => `canary-${randomBytes(8).toString('hex')}`);
      const sender = randomBytes(32);
      for (const [i, c] of canaries.entries()) {
        const chat = encodeChat({ epoch: 1, seq: i + 1, sentAt: WALL, body: { kind: 'text', text: c } });
        const env = seal(k.sealKey, k.mailboxId, encodeContent({ sender, name: 'Canary Sender', records: [{ kind: 'chat', payload: chat }] }));
        assert.equal(code(await send(s, request(k, { type: 'deposit', envelope: env }))), 'depositAck');
      }
      await store.close();
      const dump = Buffer.concat(fs.readdirSync(dir).map((f) => fs.readFileSync(join(dir, f))));
      assert.ok(dump.length > 100 * 150, `the envelopes are in the dump (${dump.length} bytes)`);
      for (const c of canaries) {
        assert.ok(!dump.includes(Buffer.from(c)), `plaintext ${c} in the store`);
        assert.ok(!dump.includes(Buffer.from(c).toString('base64').slice(0, 16)), 'not even base64-encoded');
      }
      for (const secret of [room.roomId, room.psk, sender, Buffer.from('Canary Sender')]) {
        assert.ok(!dump.includes(secret) && !dump.includes(Buffer.from(secret.toString('hex'))) && !dump.includes(Buffer.from(secret.toString('base64'))), 'no identifying bytes');
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
