// One behavioural suite for every storage backend. Adding a backend is one line in
// test/unit/store.test.ts: storeSuite('name', factory). The factory gets a fresh, empty location per
// test; `reopen` (when the backend persists) closes and opens the same location again.
import assert from 'node:assert/strict';
import type { Store } from '../../rendezvous/store/store';

export interface StoreFactory {
  /** A fresh, empty store. */
  open(): Promise<Store>;
  /** Close `store` and open the same data again; absent for backends that do not persist. */
  reopen?(store: Store): Promise<Store>;
  /** Remove whatever the factory created (called after each test). */
  cleanup?(): Promise<void>;
}

const b = (s: string) => Buffer.from(s);
const LIMITS = { maxBytes: 1000, maxItems: 10 };

export function storeSuite(name: string, factory: () => StoreFactory): void {
  describe(`store suite: ${name}`, () => {
    let f: StoreFactory;
    let store: Store;
    beforeEach(async () => {
      f = factory();
      store = await f.open();
    });
    afterEach(async () => {
      await store.close().catch(() => undefined);
      await f.cleanup?.();
    });

    it('get / create is first come first served', async () => {
      assert.equal(await store.get('a'), undefined);
      assert.equal(await store.create('a', b('one')), true);
      assert.equal(await store.create('a', b('two')), false);
      assert.deepEqual(await store.get('a'), b('one'));
    });

    it('two concurrent creates of one key: exactly one wins', async () => {
      const r = await Promise.all([store.create('k', b('x')), store.create('k', b('y'))]);
      assert.deepEqual(r.filter(Boolean).length, 1);
      assert.deepEqual(await store.get('k'), r[0] ? b('x') : b('y'));
    });

    it('replace is compare-and-swap', async () => {
      await store.create('a', b('v1'));
      assert.equal(await store.replace('a', b('nope'), b('v2')), false);
      assert.deepEqual(await store.get('a'), b('v1'));
      assert.equal(await store.replace('a', b('v1'), b('v2')), true);
      assert.deepEqual(await store.get('a'), b('v2'));
      assert.equal(await store.replace('missing', b('v1'), b('v2')), false);
      assert.equal(await store.get('missing'), undefined);
    });

    it('delete, optionally only if it holds the expected value', async () => {
      await store.create('a', b('v1'));
      assert.equal(await store.delete('a', b('other')), false);
      assert.deepEqual(await store.get('a'), b('v1'));
      assert.equal(await store.delete('a', b('v1')), true);
      assert.equal(await store.get('a'), undefined);
      assert.equal(await store.delete('a'), false);
      await store.create('a', b('again'));
      assert.equal(await store.delete('a'), true);
    });

    it('commit applies all or nothing (a unique secondary index)', async () => {
      const claim = (handle: string, key: string) =>
        store.commit([
          { key: `account/${handle}`, expect: null, set: b(key) },
          { key: `key/${key}`, expect: null, set: b(handle) },
        ]);
      assert.equal(await claim('alice', 'K1'), true);
      assert.equal(await claim('alice', 'K2'), false, 'handle taken');
      assert.equal(await claim('bob', 'K1'), false, 'key already has a handle');
      assert.equal(await store.get('account/bob'), undefined, 'nothing of a failed commit is written');
      assert.equal(await store.get('key/K2'), undefined);
      assert.equal(await claim('bob', 'K2'), true);
      assert.equal(await store.commit([{ key: 'x', expect: null, set: b('1') }, { key: 'x', expect: null, set: b('2') }]), false, 'one key twice');
      assert.equal(await store.commit([{ key: 'account/bob', expect: b('K2'), set: null }, { key: 'key/K2', expect: b('bob'), set: null }]), true);
      assert.deepEqual(await store.keys('account/'), ['account/alice']);
    });

    it('binary values and unicode keys round-trip exactly', async () => {
      const v = Buffer.from([0, 255, 1, 254, 0, 0]);
      await store.create('ключ/🔑', v);
      assert.deepEqual(await store.get('ключ/🔑'), v);
      const got = await store.get('ключ/🔑');
      got![0] = 9; // a caller changing the returned bytes must not change the store
      assert.deepEqual(await store.get('ключ/🔑'), v);
    });

    it('queues: append in order, list from a cursor, ids increase', async () => {
      const ids: number[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await store.append('q', b(`m${i}`), 10_000, LIMITS);
        assert.ok(r.ok);
        ids.push(r.id);
      }
      for (let i = 1; i < ids.length; i++) assert.ok(ids[i] > ids[i - 1]);
      const all = await store.list('q', 0, 100, 0);
      assert.deepEqual(all.map((x) => x.data.toString()), ['m0', 'm1', 'm2', 'm3', 'm4']);
      const after = await store.list('q', ids[1], 2, 0);
      assert.deepEqual(after.map((x) => x.id), [ids[2], ids[3]]);
      assert.deepEqual(await store.list('other', 0, 10, 0), []);
      assert.deepEqual(await store.queueStats('q'), { items: 5, bytes: 10 });
    });

    it('queues: limits answer "full" and store nothing', async () => {
      const lim = { maxBytes: 10, maxItems: 3 };
      assert.ok((await store.append('q', b('12345'), 100, lim)).ok);
      const big = await store.append('q', b('123456'), 100, lim);
      assert.deepEqual(big, { ok: false, reason: 'full', items: 1, bytes: 5 });
      assert.ok((await store.append('q', b('1'), 100, lim)).ok);
      assert.ok((await store.append('q', b('1'), 100, lim)).ok);
      const many = await store.append('q', b('1'), 100, lim);
      assert.equal(many.ok, false);
      assert.deepEqual(await store.queueStats('q'), { items: 3, bytes: 7 });
      assert.ok((await store.append('q2', b('1'), 100, lim)).ok, 'limits are per queue');
    });

    it('queues: ack removes up to an id; ids are never reused after the queue empties', async () => {
      const r1 = await store.append('q', b('a'), 100, LIMITS);
      const r2 = await store.append('q', b('b'), 100, LIMITS);
      assert.ok(r1.ok && r2.ok);
      assert.equal(await store.ack('q', r1.id), 1);
      assert.deepEqual((await store.list('q', 0, 10, 0)).map((x) => x.data.toString()), ['b']);
      assert.equal(await store.ack('q', r2.id + 100), 1);
      assert.equal(await store.ack('q', r2.id + 100), 0);
      const r3 = await store.append('q', b('c'), 100, LIMITS);
      assert.ok(r3.ok && r3.id > r2.id);
      assert.deepEqual(await store.queueStats('q'), { items: 1, bytes: 1 });
    });

    it('queues: expired items are not listed and are purged with the injected clock', async () => {
      await store.append('q', b('short'), 1000, LIMITS);
      await store.append('q', b('long'), 5000, LIMITS);
      await store.append('p', b('short2'), 1000, LIMITS);
      assert.deepEqual((await store.list('q', 0, 10, 999)).map((x) => x.data.toString()), ['short', 'long']);
      assert.deepEqual((await store.list('q', 0, 10, 1000)).map((x) => x.data.toString()), ['long']);
      assert.equal(await store.purgeExpired(999), 0);
      assert.equal(await store.purgeExpired(1000), 2);
      assert.deepEqual(await store.queueStats('q'), { items: 1, bytes: 4 });
      assert.deepEqual(await store.queueStats('p'), { items: 0, bytes: 0 });
      assert.ok((await store.append('q', b('x'.repeat(996)), 9000, LIMITS)).ok, 'purged bytes no longer count');
    });

    it('a closed store refuses calls', async () => {
      await store.close();
      await assert.rejects(store.get('a'));
      await assert.rejects(store.create('a', b('x')));
    });

    it('persists everything across a reopen (when the backend persists)', async function () {
      if (!f.reopen) return; // the memory backend: nothing to persist, and that is its documented contract
      await store.create('account/alice', b('rec1'));
      await store.commit([{ key: 'account/bob', expect: null, set: b('rec2') }, { key: 'key/B', expect: null, set: b('bob') }]);
      await store.replace('account/alice', b('rec1'), b('rec1b'));
      await store.create('gone', b('x'));
      await store.delete('gone');
      const q1 = await store.append('q', b('m1'), 100, LIMITS);
      await store.append('q', b('m2'), 200, LIMITS);
      await store.append('q', b('m3'), 300, LIMITS);
      assert.ok(q1.ok);
      await store.ack('q', q1.id);
      await store.purgeExpired(200);
      store = await f.reopen(store);
      assert.deepEqual(await store.get('account/alice'), b('rec1b'));
      assert.deepEqual(await store.get('account/bob'), b('rec2'));
      assert.deepEqual(await store.get('key/B'), b('bob'));
      assert.equal(await store.get('gone'), undefined);
      const items = await store.list('q', 0, 10, 0);
      assert.deepEqual(items.map((x) => [x.data.toString(), x.expiresAt]), [['m3', 300]]);
      const next = await store.append('q', b('m4'), 400, LIMITS);
      assert.ok(next.ok && next.id > items[0].id, 'ids keep increasing after a reopen');
    });
  });
}
