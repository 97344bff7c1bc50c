// The mailbox on the Redis store (several instances share it): the server-side service against a real
// redis-server with appendfsync always: deposits acknowledged before a `kill -9` of Redis are all fetched
// afterwards, in order; the quota holds; Redis's data files hold none of the canary strings.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { deriveRoomKeys } from '../../extension/core/noise';
import { MailboxKeys, roomMailboxKeys, signRequest } from '../../extension/core/mailbox/keys';
import { decodeContent, encodeContent, open, seal } from '../../extension/core/mailbox/envelope';
import { decodeApp, encodeChat } from '../../extension/core/room/appMessages';
import { decodeMailbox, encodeUnsignedRequest, MailboxErrorCode, MailboxMessage, UnsignedRequest } from '../../extension/core/wire/mailbox';
import { MailboxService } from '../../rendezvous/mailbox';
import { RedisStore } from '../../rendezvous/store/redisStore';
import { RedisProcess } from '../helpers/redis';

const WALL = Date.now();
const k: MailboxKeys = roomMailboxKeys(deriveRoomKeys(randomBytes(16)).psk, 20000);

async function ask(svc: MailboxService, body: { type: 'deposit'; envelope: Buffer } | { type: 'fetch'; after: bigint }, now: number): Promise<MailboxMessage> {
  const u = { ...body, mailboxId: k.mailboxId, key: k.publicKey, cookie: Buffer.alloc(16), nonce: randomBytes(8) } as UnsignedRequest;
  const head = encodeUnsignedRequest(u);
  const r = await svc.handle({ ...u, sig: signRequest(k.signing, head) } as never, head, 'src', now, WALL);
  const d = decodeMailbox(r!);
  assert.ok(d.ok);
  return d.value;
}

function dumpDir(dir: string): Buffer {
  const out: Buffer[] = [];
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    out.push(statSync(p).isDirectory() ? dumpDir(p) : readFileSync(p));
  }
  return Buffer.concat(out);
}

describe('mailbox on the Redis store', function () {
  this.timeout(60_000);
  let redis: RedisProcess;
  before(async () => {
    redis = await RedisProcess.start('127.0.0.1', 'always');
  });
  after(async () => {
    await redis?.destroy();
  });

  it('100 acknowledged deposits survive kill -9 of Redis, come back in order, and its files hold no plaintext', async () => {
    const prefix = `t:{${randomBytes(6).toString('hex')}}:`;
    let store = await RedisStore.open(redis.url, { prefix });
    let svc = new MailboxService(store, { maxItems: 100, rate: { perSecond: 1e6, burst: 1e6 } });
    const canaries = Array.from({ length: 100 }, (_, i) => `redis-canary-${i}-${randomBytes(6).toString('hex')}`);
    const sender = randomBytes(32);
    for (const [i, c] of canaries.entries()) {
      const chat = encodeChat({ epoch: 1, seq: i + 1, sentAt: WALL, body: { kind: 'text', text: c } });
      const env = seal(k.sealKey, k.mailboxId, encodeContent({ sender, name: 'Ann', records: [{ kind: 'chat', payload: chat }] }));
      assert.equal((await ask(svc, { type: 'deposit', envelope: env }, i)).type, 'depositAck');
    }
    const full = await ask(svc, { type: 'deposit', envelope: Buffer.from('one too many') }, 200);
    assert.ok(full.type === 'mailboxError' && full.code === MailboxErrorCode.Full, 'the quota holds on Redis too');
    await store.close().catch(() => undefined);
    await redis.kill();
    const dump = dumpDir(redis.dir);
    assert.ok(dump.length > 100 * 150, `Redis wrote the envelopes (${dump.length} bytes)`);
    for (const c of canaries) assert.ok(!dump.includes(Buffer.from(c)), `${c} in Redis's files`);
    await redis.start();
    store = await RedisStore.open(redis.url, { prefix });
    svc = new MailboxService(store);
    let after = 0n;
    const texts: string[] = [];
    for (let round = 0; ; round++) {
      const r = await ask(svc, { type: 'fetch', after }, 1000 + round);
      assert.ok(r.type === 'items');
      for (const it of r.items) {
        assert.ok(it.id > after, 'ids increase');
        after = it.id;
        const c = decodeContent(open(k.sealKey, k.mailboxId, it.data)!);
        assert.ok(c.ok && c.value.records[0].kind === 'chat');
        const chat = decodeApp(c.value.records[0].payload);
        assert.ok(chat.ok && chat.value.type === 'chat' && chat.value.body.kind === 'text');
        texts.push(chat.value.body.text);
      }
      if (!r.more || !r.items.length) break;
    }
    assert.deepEqual(texts, canaries, 'all 100 back after the crash, in order');
    await store.close();
  });
});
