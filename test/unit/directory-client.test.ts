import assert from 'node:assert/strict';
import { keyPairFromPrivate } from '../../extension/core/noise';
import { DirectoryRequest } from '../../extension/core/account/directoryClient';
import { signRecord } from '../../extension/core/account/record';
import { signingKeyFromSeed } from '../../extension/core/account/signing';
import { decodeDirectory, DirectoryStatus, encodeDirectory } from '../../extension/core/wire/directory';
import { encodeRendezvous, ErrorCode } from '../../extension/core/wire/rendezvous';

const A = signingKeyFromSeed(Buffer.alloc(32, 1));
const B = signingKeyFromSeed(Buffer.alloc(32, 2));
const rec = (over: Partial<Parameters<typeof signRecord>[0]> = {}, key = A) =>
  signRecord({ version: 2n, handle: 'alice', displayName: 'A', signingKey: key.publicKey, staticKey: keyPairFromPrivate(Buffer.alloc(32, 3)).publicKey, requestToken: Buffer.alloc(16), ...over }, key);

function sent(r: DirectoryRequest) {
  return r.takeOutgoing().map((b) => {
    const d = decodeDirectory(b);
    assert.ok(d.ok);
    return d.value as { type: string; cookie: Buffer; requestId: number };
  });
}

describe('directory client state machine', () => {
  it('sends at once, answers a cookie by resending with it, and finishes on the matching result', () => {
    const r = new DirectoryRequest({ kind: 'claim', record: rec() }, 0, { requestId: 42 });
    const [first] = sent(r);
    assert.equal(first.type, 'accountClaim');
    assert.deepEqual(first.cookie, Buffer.alloc(16));
    const cookie = Buffer.alloc(16, 9);
    r.receive(encodeRendezvous({ type: 'cookie', cookie }), 5);
    const [second] = sent(r);
    assert.deepEqual(second.cookie, cookie);
    r.receive(encodeDirectory({ type: 'accountResult', requestId: 41, status: DirectoryStatus.Ok, version: 2n, message: '' }), 6);
    assert.equal(r.done, false, 'another request id is not ours');
    r.receive(encodeDirectory({ type: 'accountResult', requestId: 42, status: DirectoryStatus.Ok, version: 2n, message: 'signed up' }), 7);
    assert.deepEqual(r.result, { ok: true, kind: 'done', version: 2n, message: 'signed up' });
    assert.deepEqual(r.cookie, cookie, 'kept for the next request');
  });

  it('retries with backoff on silence and times out with a clear message', () => {
    const r = new DirectoryRequest({ kind: 'lookup', handle: 'alice' }, 0, { timeoutMs: 4000 });
    const times: number[] = [];
    for (let t = 0; t <= 5000 && !r.done; t = r.nextWakeup() ?? t) {
      r.tick(t);
      if (r.takeOutgoing().length) times.push(t);
    }
    assert.deepEqual(times, [0, 250, 750, 1750, 3750]);
    assert.equal(r.result?.kind, 'timeout');
    assert.match(r.result!.ok ? '' : r.result!.message, /no answer/);
  });

  it('a refusal carries the status name and message', () => {
    const r = new DirectoryRequest({ kind: 'claim', record: rec() }, 0, { requestId: 1 });
    r.receive(encodeDirectory({ type: 'accountResult', requestId: 1, status: DirectoryStatus.HandleTaken, version: 0n, message: '"alice" is taken' }), 1);
    assert.deepEqual(r.result, { ok: false, kind: 'refused', code: 8, status: 'handle-taken', message: '"alice" is taken', version: 0n });
  });

  it('a rate-limit error ends the request', () => {
    const r = new DirectoryRequest({ kind: 'lookup', handle: 'alice' }, 0);
    r.receive(encodeRendezvous({ type: 'error', code: ErrorCode.RateLimited, message: 'rate limited' }), 1);
    assert.equal(r.result?.ok, false);
    assert.equal(r.result && !r.result.ok && r.result.kind === 'refused' && r.result.status, 'rate-limited');
  });

  const lookupWith = (record: Buffer, expect = {}) => {
    const r = new DirectoryRequest({ kind: 'lookup', handle: 'alice', expect }, 0, { requestId: 5 });
    r.receive(encodeDirectory({ type: 'accountFound', requestId: 5, record }), 1);
    return r.result!;
  };

  it('a lookup verifies the record: good one accepted', () => {
    const res = lookupWith(rec().bytes);
    assert.ok(res.ok && res.kind === 'record' && res.record.handle === 'alice');
  });

  it('a lying directory: wrong handle, forged signature, rollback, swapped key are all rejected', () => {
    const bob = rec({ handle: 'bob' });
    assert.match(JSON.stringify(lookupWith(bob.bytes)), /unverified.*not \\"alice\\"/);
    const t = Buffer.from(rec().bytes);
    t[t.length - 1] ^= 1;
    assert.match(JSON.stringify(lookupWith(t)), /unverified.*signature/);
    assert.match(JSON.stringify(lookupWith(rec({ version: 1n }).bytes, { minVersion: 2n })), /unverified.*rollback/);
    assert.match(JSON.stringify(lookupWith(rec({}, B).bytes, { signingKey: A.publicKey })), /unverified.*different key/);
  });
});
