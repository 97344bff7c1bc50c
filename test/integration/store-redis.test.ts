// The Redis backend of the rendezvous Store, against a real redis-server started here: the same
// behavioural suite as the memory and file backends, then what a Redis restart must not lose
// (kill -9 with appendfsync always; a clean stop with everysec, the compose file's setting), what
// callers see while Redis is down, and the directory's race-free sign-up across two instances.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { RedisStore } from '../../rendezvous/store/redisStore';
import type { Store } from '../../rendezvous/store/store';
import { RedisProcess } from '../helpers/redis';
import { storeSuite } from '../helpers/storeSuite';

const LIMITS = { maxBytes: 10_000, maxItems: 100 };
const b = (s: string) => Buffer.from(s);

describe('Redis store', function () {
  this.timeout(30_000);
  let redis: RedisProcess;
  before(async () => {
    redis = await RedisProcess.start('127.0.0.1', 'always');
  });
  after(async () => {
    await redis?.destroy();
  });

  storeSuite('redis', () => {
    const prefix = `t:{${randomBytes(6).toString('hex')}}:`;
    return {
      open: () => RedisStore.open(redis.url, { prefix }),
      reopen: async (s: Store) => {
        await s.close();
        return RedisStore.open(redis.url, { prefix });
      },
    };
  });

  async function fill(s: Store) {
    assert.ok(await s.commit([{ key: 'account/alice', expect: null, set: b('record-a') }, { key: 'key/AA', expect: null, set: b('alice') }]));
    assert.ok(await s.create('account/bob', Buffer.from([0, 1, 2, 255])));
    for (let i = 0; i < 5; i++) assert.ok((await s.append('mbox/1', b(`envelope ${i}`), 9e12, LIMITS)).ok);
    await s.ack('mbox/1', 1);
  }

  async function check(s: Store) {
    assert.deepEqual(await s.get('account/alice'), b('record-a'));
    assert.deepEqual(await s.get('key/AA'), b('alice'));
    assert.deepEqual(await s.get('account/bob'), Buffer.from([0, 1, 2, 255]));
    assert.deepEqual(await s.keys('account/'), ['account/alice', 'account/bob']);
    const items = await s.list('mbox/1', 0, 10, 0);
    assert.deepEqual(items.map((x) => x.data.toString()), ['envelope 1', 'envelope 2', 'envelope 3', 'envelope 4']);
    const next = await s.append('mbox/1', b('after'), 9e12, LIMITS);
    assert.ok(next.ok && next.id > items[items.length - 1].id, 'ids never reused after a restart');
  }

  for (const how of ['kill -9 (appendfsync always)', 'clean stop (appendfsync everysec)'] as const) {
    it(`accounts and mailboxes written before a Redis ${how} are intact after it restarts`, async () => {
      const prefix = `t:{${randomBytes(6).toString('hex')}}:`;
      const s = await RedisStore.open(redis.url, { prefix, maxReconnectDelayMs: 100 });
      try {
        if (how.startsWith('clean')) {
          await redis.stop();
          redis.fsync = 'everysec';
          await redis.start();
          await until(() => s.connected, 5000);
        }
        await fill(s);
        if (how.startsWith('kill')) await redis.kill();
        else await redis.stop();
        // While Redis is away: calls reject at once (nothing hangs, nothing is half-written).
        const t0 = Date.now();
        await assert.rejects(s.get('account/alice'));
        await assert.rejects(s.create('account/carol', b('x')));
        assert.ok(Date.now() - t0 < 1000, 'rejections are immediate');
        await redis.start();
        await until(() => s.connected, 5000);
        await check(s);
        assert.equal(await s.get('account/carol'), undefined);
      } finally {
        await s.close();
        redis.fsync = 'always';
      }
    });
  }

  it('two instances racing to claim one handle through their own connections: exactly one wins', async () => {
    const prefix = `t:{${randomBytes(6).toString('hex')}}:`;
    const [s1, s2] = await Promise.all([RedisStore.open(redis.url, { prefix }), RedisStore.open(redis.url, { prefix })]);
    try {
      for (let i = 0; i < 50; i++) {
        const claim = (s: Store, key: string) =>
          s.commit([
            { key: `account/h${i}`, expect: null, set: b(key) },
            { key: `key/${key}${i}`, expect: null, set: b(`h${i}`) },
          ]);
        const r = await Promise.all([claim(s1, 'K1'), claim(s2, 'K2')]);
        assert.equal(r.filter(Boolean).length, 1, `round ${i}`);
        const winner = r[0] ? 'K1' : 'K2';
        assert.deepEqual(await s2.get(`account/h${i}`), b(winner));
        assert.equal(await s1.get(`key/${winner === 'K1' ? 'K2' : 'K1'}${i}`), undefined);
      }
    } finally {
      await Promise.all([s1.close(), s2.close()]);
    }
  });
});

async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
