import assert from 'node:assert/strict';
import { keyPairFromPrivate } from '../../extension/core/noise';
import { AccountFields, encodeRotation, signDeletion, signRecord, signRotation } from '../../extension/core/account/record';
import { signingKeyFromSeed, SigningKeyPair } from '../../extension/core/account/signing';
import { decodeDirectory, DirectoryRequestMessage, DirectoryStatus as S, encodeDirectory } from '../../extension/core/wire/directory';
import { Directory, DirectoryOptions } from '../../rendezvous/directory';
import { MemoryStore } from '../../rendezvous/store/memoryStore';
import { FileStore } from '../../rendezvous/store/fileStore';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const cookie = Buffer.alloc(16);
const seed = (n: number) => signingKeyFromSeed(Buffer.alloc(32, n));
const xkey = (n: number) => keyPairFromPrivate(Buffer.alloc(32, n)).publicKey;
const A = seed(1);
const B = seed(2);
const A2 = seed(3);

function fields(key: SigningKeyPair, over: Partial<AccountFields> = {}): AccountFields {
  return { version: 1n, handle: 'alice', displayName: 'Alice', signingKey: key.publicKey, staticKey: xkey(9), requestToken: Buffer.alloc(16, 1), ...over };
}

let rid = 0;
const claim = (f: AccountFields, key: SigningKeyPair): DirectoryRequestMessage => ({ type: 'accountClaim', cookie, requestId: ++rid, record: signRecord(f, key).bytes });
const update = (f: AccountFields, key: SigningKeyPair): DirectoryRequestMessage => ({ type: 'accountUpdate', cookie, requestId: ++rid, record: signRecord(f, key).bytes });
const lookup = (handle: string): DirectoryRequestMessage => ({ type: 'accountLookup', cookie, requestId: ++rid, handle });
const del = (version: bigint, handle: string, key: SigningKeyPair): DirectoryRequestMessage => ({ type: 'accountDelete', cookie, requestId: ++rid, deletion: signDeletion({ version, handle }, key).bytes });
const rotate = (f: AccountFields, next: SigningKeyPair, old: SigningKeyPair): DirectoryRequestMessage => ({ type: 'accountRotate', cookie, requestId: ++rid, rotation: encodeRotation(signRotation(f, next, old)) });

const src = (n = 1) => ({ address: `198.51.100.${n}`, key: `198.51.100.${n}|4000` });

async function open(opts: DirectoryOptions = {}) {
  const store = new MemoryStore();
  const dir = await Directory.open(store, { signupRate: { perSecond: 1000, burst: 1000 }, writeRate: { perSecond: 1000, burst: 1000 }, ...opts });
  let now = 0;
  const send = async (m: DirectoryRequestMessage, from = src()) => {
    // Through the codec both ways, as on the wire.
    const d = decodeDirectory(encodeDirectory(m));
    assert.ok(d.ok);
    const r = await dir.handle(d.value as DirectoryRequestMessage, from, (now += 10));
    const back = decodeDirectory(encodeDirectory(r));
    assert.ok(back.ok);
    assert.equal(back.value.type === 'accountResult' || back.value.type === 'accountFound', true);
    return r;
  };
  const status = async (m: DirectoryRequestMessage, from = src()) => {
    const r = await send(m, from);
    assert.equal(r.requestId, m.requestId);
    return r.type === 'accountResult' ? r.status : 'found';
  };
  return { dir, store, send, status };
}

describe('directory (sans-I/O, memory store)', () => {
  it('claim, then lookup returns the exact signed bytes', async () => {
    const { send, status, dir } = await open();
    const rec = signRecord(fields(A), A);
    assert.equal(await status({ type: 'accountClaim', cookie, requestId: 1, record: rec.bytes }), S.Ok);
    const r = await send(lookup('alice'));
    assert.ok(r.type === 'accountFound');
    assert.deepEqual(r.record, rec.bytes);
    assert.equal(await status(lookup('nobody')), S.NotFound);
    assert.equal(await status(lookup('Alice')), S.InvalidHandle, 'lookups must be canonical');
    assert.equal(dir.accounts, 1);
  });

  it('first come first served; one handle per key; retries are idempotent', async () => {
    const { status, dir } = await open();
    const first = claim(fields(A), A);
    assert.equal(await status(first), S.Ok);
    assert.equal(await status({ ...first, requestId: 99 }), S.Ok, 'the same bytes again: a retry');
    assert.equal(await status(claim(fields(B), B)), S.HandleTaken);
    assert.equal(await status(claim(fields(A, { handle: 'alice2' }), A)), S.KeyHasHandle);
    assert.equal(await status(claim(fields(B, { handle: 'bob' }), B)), S.Ok);
    assert.equal(dir.accounts, 2);
  });

  it('forged records (bad signature, signed by another key) are refused', async () => {
    const { status } = await open();
    const rec = signRecord(fields(A), A);
    const t = Buffer.from(rec.bytes);
    t[20] ^= 1;
    assert.equal(await status({ type: 'accountClaim', cookie, requestId: 5, record: t }), S.BadSignature);
    // A record naming A's key but signed by B.
    const body = rec.bytes.subarray(0, rec.bytes.length - 64);
    const other = signRecord(fields(B), B);
    assert.equal(await status({ type: 'accountClaim', cookie, requestId: 6, record: Buffer.concat([body, other.signature]) }), S.BadSignature);
    assert.equal(await status({ type: 'accountClaim', cookie, requestId: 7, record: Buffer.from([1, 2, 3]) }), S.Malformed);
  });

  it('update: only by the account key, only forward, static key changes need rotate', async () => {
    const { status, send } = await open();
    await status(claim(fields(A), A));
    assert.equal(await status(update(fields(A, { version: 2n, displayName: 'Alice B' }), A)), S.Ok);
    assert.equal(await status(update(fields(A, { version: 2n, displayName: 'Other' }), A)), S.StaleVersion, 'same version, other bytes');
    const stale = await send(update(fields(A, { version: 1n, displayName: 'Old' }), A));
    assert.ok(stale.type === 'accountResult' && stale.status === S.StaleVersion && stale.version === 2n, 'the stale answer says the current version');
    assert.equal(await status(update(fields(B, { version: 3n }), B)), S.WrongKey);
    assert.equal(await status(update(fields(A, { version: 3n, staticKey: xkey(8) }), A)), S.WrongKey);
    assert.equal(await status(update(fields(A, { version: 3n, handle: 'nobody' }), A)), S.NotFound);
    const r = await send(lookup('alice'));
    assert.ok(r.type === 'accountFound');
    assert.equal(r.record.includes(Buffer.from('Alice B')), true);
  });

  it('replays of an older claim or update never roll an account back', async () => {
    const { status, send } = await open();
    const v1 = claim(fields(A), A);
    await status(v1);
    const v2 = update(fields(A, { version: 2n, displayName: 'Two' }), A);
    await status(v2);
    assert.equal(await status({ ...v1, requestId: 500 }), S.HandleTaken, 'old claim replayed');
    assert.equal(await status({ ...v2, requestId: 501 }), S.Ok, 'the current record replayed changes nothing');
    const r = await send(lookup('alice'));
    assert.ok(r.type === 'accountFound' && r.record.includes(Buffer.from('Two')));
  });

  it('rotate: signed by the old key and the new one; the old key is retired', async () => {
    const { status, send } = await open();
    await status(claim(fields(A), A));
    const next = fields(A2, { version: 2n, staticKey: xkey(7) });
    assert.equal(await status(rotate(next, A2, A2)), S.BadSignature, 'not signed by the old key');
    assert.equal(await status(rotate({ ...next, version: 1n }, A2, A)), S.StaleVersion);
    assert.equal(await status(rotate(next, A2, A)), S.Ok);
    assert.equal(await status(rotate(next, A2, A)), S.Ok, 'a retry of the same rotation');
    const r = await send(lookup('alice'));
    assert.ok(r.type === 'accountFound' && r.record.includes(A2.publicKey));
    // The old key can no longer update, delete or claim with an old-version record.
    assert.equal(await status(update(fields(A, { version: 9n }), A)), S.WrongKey);
    assert.equal(await status(del(9n, 'alice', A)), S.WrongKey);
    assert.equal(await status(claim(fields(A, { handle: 'alice-old' }), A)), S.StaleVersion, 'replay of an old-key record elsewhere');
    // The new key can.
    assert.equal(await status(update(fields(A2, { version: 3n, staticKey: xkey(7), displayName: 'New' }), A2)), S.Ok);
  });

  it('rotate onto a key that already holds a handle is refused', async () => {
    const { status } = await open();
    await status(claim(fields(A), A));
    await status(claim(fields(B, { handle: 'bob' }), B));
    assert.equal(await status(rotate(fields(B, { version: 2n }), B, A)), S.KeyHasHandle);
  });

  it('delete: signed, versioned; replays refused; the handle is free again', async () => {
    const { status, dir } = await open();
    const c = claim(fields(A), A);
    await status(c);
    assert.equal(await status(del(1n, 'alice', A)), S.StaleVersion);
    assert.equal(await status(del(2n, 'alice', B)), S.WrongKey);
    const d = del(2n, 'alice', A);
    assert.equal(await status(d), S.Ok);
    assert.equal(dir.accounts, 0);
    assert.equal(await status({ ...d, requestId: 77 }), S.Ok, 'a retry of the same deletion');
    assert.equal(await status(lookup('alice')), S.NotFound);
    assert.equal(await status({ ...c, requestId: 78 }), S.StaleVersion, 'the replayed sign-up does not bring it back');
    assert.equal(await status(claim(fields(A, { version: 3n }), A)), S.Ok, 'the owner signs up again with a newer version');
    assert.equal(await status({ ...d, requestId: 79 }), S.StaleVersion, 'the old deletion replayed does not delete the new account');
    assert.equal(await status(del(4n, 'alice', A)), S.Ok);
    assert.equal(await status(claim(fields(B), B)), S.Ok, 'someone else may now take the handle');
  });

  it('caps: --max-accounts, --no-signup (existing accounts still work), sign-up rate per address', async () => {
    const { status, store } = await open({ maxAccounts: 2 });
    assert.equal(await status(claim(fields(A), A)), S.Ok);
    assert.equal(await status(claim(fields(B, { handle: 'bob' }), B)), S.Ok);
    assert.equal(await status(claim(fields(A2, { handle: 'carol' }), A2)), S.AccountsFull);
    const closed = await Directory.open(store, { signup: false });
    assert.equal(closed.accounts, 2, 'the count is read from the store');
    const r = await closed.handle(claim(fields(A2, { handle: 'carol' }), A2), src(), 0);
    assert.ok(r.type === 'accountResult' && r.status === S.SignupClosed);
    const u = await closed.handle(update(fields(A, { version: 2n }), A), src(), 0);
    assert.ok(u.type === 'accountResult' && u.status === S.Ok, 'update on an invite-only server');
    const l = await closed.handle(lookup('bob'), src(), 0);
    assert.equal(l.type, 'accountFound');
    const d = await closed.handle(del(3n, 'alice', A), src(), 0);
    assert.ok(d.type === 'accountResult' && d.status === S.Ok);

    const limited = await Directory.open(new MemoryStore(), { signupRate: { perSecond: 1 / 3600, burst: 2 } });
    const st = async (m: DirectoryRequestMessage, from: { address: string; key: string }) => {
      const x = await limited.handle(m, from, 1000);
      return x.type === 'accountResult' ? x.status : -1;
    };
    assert.equal(await st(claim(fields(seed(10), { handle: 'u10' }), seed(10)), src(1)), S.Ok);
    assert.equal(await st(claim(fields(seed(11), { handle: 'u11' }), seed(11)), src(1)), S.Ok);
    assert.equal(await st(claim(fields(seed(12), { handle: 'u12' }), seed(12)), src(1)), S.RateLimited);
    assert.equal(await st(claim(fields(seed(12), { handle: 'u12' }), seed(12)), { address: '198.51.100.1', key: 'other-port' }), S.RateLimited, 'per address, not per port');
    assert.equal(await st(claim(fields(seed(12), { handle: 'u12' }), seed(12)), src(2)), S.Ok, 'another address is not affected');
  });

  it('lookups are rate limited per source', async () => {
    const dir = await Directory.open(new MemoryStore(), { lookupRate: { perSecond: 1, burst: 3 } });
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await dir.handle(lookup('alice'), src(), 0);
      codes.push(r.type === 'accountResult' ? r.status : 0);
    }
    assert.deepEqual(codes, [S.NotFound, S.NotFound, S.NotFound, S.RateLimited, S.RateLimited]);
  });

  it('two racing sign-ups for one handle: exactly one wins', async () => {
    const { dir } = await open();
    const [x, y] = await Promise.all([dir.handle(claim(fields(A), A), src(), 0), dir.handle(claim(fields(B), B), src(), 0)]);
    const statuses = [x, y].map((r) => (r.type === 'accountResult' ? r.status : -1)).sort();
    assert.deepEqual(statuses, [S.Ok, S.HandleTaken]);
    assert.equal(dir.accounts, 1);
  });
});

describe('directory on the file store', () => {
  it('accounts, the key index and replay protection survive a reopen', async () => {
    const dirPath = mkdtempSync(join(tmpdir(), 'p2p-dir-'));
    try {
      let store = await FileStore.open(dirPath);
      let dir = await Directory.open(store);
      const first = claim(fields(A), A);
      const st = async (m: DirectoryRequestMessage) => {
        const r = await dir.handle(m, src(), 0);
        return r.type === 'accountResult' ? r.status : 'found';
      };
      assert.equal(await st(first), S.Ok);
      assert.equal(await st(claim(fields(B, { handle: 'bob' }), B)), S.Ok);
      assert.equal(await st(del(2n, 'alice', A)), S.Ok);
      await store.close();
      store = await FileStore.open(dirPath);
      dir = await Directory.open(store);
      assert.equal(dir.accounts, 1);
      assert.equal(await st(lookup('bob')), 'found');
      assert.equal(await st(lookup('alice')), S.NotFound);
      assert.equal(await st({ ...first, requestId: 1000 }), S.StaleVersion, 'the replayed sign-up is still refused after a restart');
      assert.equal(await st(claim(fields(B, { handle: 'bob2' }), B)), S.KeyHasHandle, 'one handle per key after a restart');
      await store.close();
    } finally {
      rmSync(dirPath, { recursive: true, force: true });
    }
  });
});
