// Hostile input for the account directory: forged and replayed sign-ups, updates, rotations and
// deletions sent to a real server over UDP (from the owner's socket and from a stranger's), and a lying
// directory (a UDP server of our own) whose answers the real terminal peer must reject.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { keyPairFromPrivate } from '../../extension/core/noise';
import { AccountFields, signDeletion, signRecord, signRotation } from '../../extension/core/account/record';
import { signingKeyFromSeed, sign, SigningKeyPair } from '../../extension/core/account/signing';
import type { DirectoryOp } from '../../extension/core/account/directoryClient';
import { directoryCall } from '../../extension/core/net/directoryCall';
import { decodeDirectory, encodeDirectory } from '../../extension/core/wire/directory';
import { encodeRendezvous } from '../../extension/core/wire/rendezvous';
import { silentLogger } from '../../rendezvous/log';
import { RendezvousServer } from '../../rendezvous/server';
import { Directory } from '../../rendezvous/directory';
import { MemoryStore } from '../../rendezvous/store/memoryStore';
import { ROOT, runPeer } from '../helpers/accountCli';

const A = signingKeyFromSeed(Buffer.alloc(32, 0x41));
const A2 = signingKeyFromSeed(Buffer.alloc(32, 0x42));
const M = signingKeyFromSeed(Buffer.alloc(32, 0x4d)); // mallory
const XA = keyPairFromPrivate(Buffer.alloc(32, 0x51)).publicKey;
const XM = keyPairFromPrivate(Buffer.alloc(32, 0x5d)).publicKey;

const fields = (key: SigningKeyPair, over: Partial<AccountFields> = {}): AccountFields => ({
  version: 1n,
  handle: 'alice',
  displayName: 'Alice',
  signingKey: key.publicKey,
  staticKey: key === M ? XM : XA,
  requestToken: Buffer.alloc(16, 7),
  ...over,
});

describe('hostile: forged and replayed directory requests (real server, UDP)', function () {
  this.timeout(30_000);
  let server: RendezvousServer;
  let port: number;
  const call = async (op: DirectoryOp) => (await directoryCall({ host: '127.0.0.1', port }, op, { timeoutMs: 3000 })).outcome;
  const status = async (op: DirectoryOp) => {
    const o = await call(op);
    return o.ok ? 'ok' : o.kind === 'refused' ? o.status : o.kind;
  };
  const current = async () => {
    const o = await call({ kind: 'lookup', handle: 'alice' });
    assert.ok(o.ok && o.kind === 'record', JSON.stringify(o, (_k, v) => (typeof v === 'bigint' ? String(v) : v)));
    return o.record;
  };

  beforeEach(async () => {
    // Generous directory limits: these tests are about signatures and versions, not rates.
    const directory = await Directory.open(new MemoryStore(), { signupRate: { perSecond: 100, burst: 100 }, writeRate: { perSecond: 100, burst: 100 } });
    server = new RendezvousServer({ port: 0, host: '127.0.0.1', logger: silentLogger, directory });
    port = (await server.start()).port;
  });
  afterEach(async () => server.stop());

  it('a forged sign-up (another key\'s signature, a tampered byte) is refused', async () => {
    const good = signRecord(fields(A), A);
    const body = good.bytes.subarray(0, good.bytes.length - 64);
    const forgedSig = sign(M, Buffer.concat([Buffer.from('p2p-chat account record v1\0'), body]));
    const forged = { ...good, bytes: Buffer.concat([body, forgedSig]) };
    assert.equal(await status({ kind: 'claim', record: forged }), 'bad-signature');
    const tampered = Buffer.from(good.bytes);
    tampered[12] ^= 0x20; // "alice" -> "aLice"? any bit: the signature no longer covers it
    assert.notEqual(await status({ kind: 'claim', record: { ...good, bytes: tampered } }), 'ok');
    assert.equal((await call({ kind: 'lookup', handle: 'alice' })).ok, false, 'nothing was stored');
    assert.equal(await status({ kind: 'claim', record: good }), 'ok');
  });

  it('replays of old updates, an old sign-up after deletion, and an old deletion after re-sign-up are refused', async () => {
    const v1 = signRecord(fields(A), A);
    const v2 = signRecord(fields(A, { version: 2n, displayName: 'Two' }), A);
    const v3 = signRecord(fields(A, { version: 3n, displayName: 'Three' }), A);
    assert.equal(await status({ kind: 'claim', record: v1 }), 'ok');
    assert.equal(await status({ kind: 'update', record: v2 }), 'ok');
    assert.equal(await status({ kind: 'update', record: v3 }), 'ok');
    assert.equal(await status({ kind: 'update', record: v2 }), 'stale-version', 'replayed v2');
    assert.equal(await status({ kind: 'claim', record: v1 }), 'handle-taken', 'replayed sign-up');
    assert.equal((await current()).displayName, 'Three', 'no rollback');
    const del4 = signDeletion({ version: 4n, handle: 'alice' }, A);
    assert.equal(await status({ kind: 'delete', deletion: signDeletion({ version: 3n, handle: 'alice' }, A) }), 'stale-version');
    assert.equal(await status({ kind: 'delete', deletion: signDeletion({ version: 9n, handle: 'alice' }, M) }), 'wrong-key', 'a stranger\'s deletion');
    assert.equal(await status({ kind: 'delete', deletion: del4 }), 'ok');
    assert.equal(await status({ kind: 'claim', record: v3 }), 'stale-version', 'a replayed sign-up cannot resurrect the account');
    assert.equal(await status({ kind: 'claim', record: signRecord(fields(A, { version: 5n }), A) }), 'ok');
    assert.equal(await status({ kind: 'delete', deletion: del4 }), 'stale-version', 'the old deletion replayed');
    assert.equal((await current()).version, 5n);
  });

  it('forged rotations (not signed by the current key) and replayed rotations are refused', async () => {
    assert.equal(await status({ kind: 'claim', record: signRecord(fields(A), A) }), 'ok');
    // Mallory signs a new record with her own key and "signs for" the old key with hers too.
    assert.equal(await status({ kind: 'rotate', rotation: signRotation(fields(M, { version: 2n }), M, M) }), 'bad-signature');
    assert.equal(await status({ kind: 'update', record: signRecord(fields(M, { version: 2n }), M) }), 'wrong-key');
    assert.deepEqual((await current()).signingKey, A.publicKey);
    const rot = signRotation(fields(A2, { version: 2n }), A2, A);
    assert.equal(await status({ kind: 'rotate', rotation: rot }), 'ok');
    assert.equal(await status({ kind: 'update', record: signRecord(fields(A2, { version: 3n, displayName: 'later' }), A2) }), 'ok');
    assert.equal(await status({ kind: 'rotate', rotation: rot }), 'bad-signature', 'the replayed rotation is signed by a key that is no longer current');
    assert.equal(await status({ kind: 'update', record: signRecord(fields(A, { version: 9n }), A) }), 'wrong-key', 'the retired key cannot write');
    assert.equal((await current()).displayName, 'later');
  });

  it('a request with a forged cookie draws only a fresh cookie, never an answer or a change', async () => {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const got: Buffer[] = [];
    sock.on('message', (b) => got.push(b));
    const claim = encodeDirectory({ type: 'accountClaim', cookie: Buffer.alloc(16, 0x99), requestId: 1, record: signRecord(fields(M), M).bytes });
    sock.send(claim, port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 300));
    sock.close();
    assert.equal(got.length, 1);
    assert.equal(got[0][2], 0x02, 'a cookie');
    assert.ok(got[0].length <= claim.length);
    assert.equal(server.stats().directory?.accounts, 0);
  });
});

describe('hostile: directory request floods', function () {
  this.timeout(60_000);

  it('a flood of forged-cookie and forged-signature requests creates nothing, amplifies nothing, and an honest sign-up still succeeds', async () => {
    const server = new RendezvousServer({ port: 0, host: '127.0.0.1', logger: silentLogger, rate: { perSecond: 1e6, burst: 1e6 } });
    const { port } = await server.start();
    const socks = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const s = dgram.createSocket('udp4');
        // The flood comes from another loopback address than the honest client (limits are per address).
        await new Promise<void>((r) => s.bind(0, '127.0.0.2', () => r()));
        return s;
      }),
    );
    try {
      // Each flooder first gets a valid cookie, so half the flood is *verified* and reaches the directory
      // with forged signatures (bounded by the sign-up limit, refused before any signature check past it).
      const cookies = await Promise.all(
        socks.map(
          (s) =>
            new Promise<Buffer>((resolve) => {
              s.once('message', (b) => resolve(Buffer.from(b.subarray(3, 19))));
              s.send(encodeDirectory({ type: 'accountLookup', cookie: Buffer.alloc(16), requestId: 0, handle: 'xyz' }), port, '127.0.0.1');
            }),
        ),
      );
      const forged = signRecord(fields(M), M).bytes;
      const bad = Buffer.from(forged);
      bad[bad.length - 1] ^= 1;
      let sent = 0;
      for (let round = 0; round < 500; round++) {
        socks.forEach((s, i) => {
          const cookie = round % 2 ? cookies[i] : Buffer.alloc(16, round & 0xff);
          s.send(encodeDirectory({ type: 'accountClaim', cookie, requestId: round, record: bad }), port, '127.0.0.1');
          s.send(encodeDirectory({ type: 'accountLookup', cookie: Buffer.alloc(16, 1), requestId: round, handle: 'alice' }), port, '127.0.0.1');
          sent += 2;
        });
        if (round % 50 === 0) await new Promise((r) => setImmediate(r));
      }
      const honest = await directoryCall({ host: '127.0.0.1', port }, { kind: 'claim', record: signRecord(fields(A), A) }, { timeoutMs: 5000 });
      assert.ok(honest.outcome.ok, JSON.stringify(honest.outcome, (_k, v) => (typeof v === 'bigint' ? String(v) : v)));
      await new Promise((r) => setTimeout(r, 300));
      const st = server.stats();
      assert.equal(st.directory?.accounts, 1, 'only the honest account exists');
      assert.ok(st.unverified.bytesOut <= st.unverified.bytesIn, `${st.unverified.bytesOut} <= ${st.unverified.bytesIn}`);
      const refused = st.directory?.refused ?? {};
      // Sign-up budget: 5 per address (all four flooders share 127.0.0.2) — the rest were refused unverified.
      assert.ok((refused['10'] ?? 0) <= 5, `at most the burst reached a signature check: ${JSON.stringify(refused)}`);
      assert.ok((refused['4'] ?? 0) > 100, `the rest were rate-limited: ${JSON.stringify(refused)}`);
      assert.ok(sent >= 4000);
    } finally {
      socks.forEach((s) => s.close());
      await server.stop();
    }
  });
});

/** A directory that lies: answers every lookup with `answer(handle)`, after an honest cookie round. */
async function lyingDirectory(answer: (handle: string) => Buffer): Promise<{ port: number; close: () => void }> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const cookie = Buffer.alloc(16, 0x33);
  sock.on('message', (buf, rinfo) => {
    const d = decodeDirectory(buf);
    if (!d.ok || d.value.type !== 'accountLookup') return;
    if (!d.value.cookie.equals(cookie)) return void sock.send(encodeRendezvous({ type: 'cookie', cookie }), rinfo.port, rinfo.address);
    sock.send(encodeDirectory({ type: 'accountFound', requestId: d.value.requestId, record: answer(d.value.handle) }), rinfo.port, rinfo.address);
  });
  return { port: sock.address().port, close: () => sock.close() };
}

describe('hostile: a lying directory (the real terminal peer must reject its answers)', function () {
  this.timeout(60_000);
  let tmp: string;
  before(async () => {
    await promisify(execFile)(process.execPath, ['scripts/build.mjs'], { cwd: ROOT });
  });
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'p2p-liar-'));
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  const whois = async (answer: (h: string) => Buffer, pin?: { version: number; signingKey: Buffer; staticKey: Buffer }) => {
    const liar = await lyingDirectory(answer);
    const addr = `alice@127.0.0.1:${liar.port}`;
    if (pin) {
      mkdirSync(tmp, { recursive: true });
      writeFileSync(join(tmp, 'directory-pins.json'), JSON.stringify({ [addr]: { version: pin.version, signingKey: pin.signingKey.toString('hex'), staticKey: pin.staticKey.toString('hex') } }));
    }
    try {
      return await runPeer(['whois', addr, '--data-dir', tmp, '--timeout', '3']);
    } finally {
      liar.close();
    }
  };

  it('the record of another handle is rejected', async () => {
    const r = await whois(() => signRecord(fields(M, { handle: 'mallory' }), M).bytes);
    assert.equal(r.code, 4);
    assert.equal(r.last.event, 'rejected');
    assert.match(r.stderr, /answered for "mallory", not "alice"/);
  });

  it('a record with a broken signature is rejected', async () => {
    const r = await whois(() => {
      const b = Buffer.from(signRecord(fields(A), A).bytes);
      b[b.length - 5] ^= 1;
      return b;
    });
    assert.equal(r.code, 4);
    assert.match(r.stderr, /signature does not verify/);
  });

  it('a record signed by another key than it names (key swapped in the body) is rejected', async () => {
    const r = await whois(() => {
      const good = signRecord(fields(A), A).bytes;
      const swapped = Buffer.from(good);
      M.publicKey.copy(swapped, 1 + 8 + 1 + 5 + 1 + 5); // Mallory's key where Alice's was, Alice's signature kept
      return swapped;
    });
    assert.equal(r.code, 4);
    assert.match(r.stderr, /signature/);
  });

  it('an older version than the one pinned (a rollback) is rejected', async () => {
    const r = await whois(() => signRecord(fields(A, { version: 3n }), A).bytes, { version: 5, signingKey: A.publicKey, staticKey: XA });
    assert.equal(r.code, 4);
    assert.match(r.stderr, /rollback/);
  });

  it('a valid record with swapped keys for a pinned contact is refused until the user accepts the new fingerprint', async () => {
    const r = await whois(() => signRecord(fields(M, { version: 9n }), M).bytes, { version: 1, signingKey: A.publicKey, staticKey: XA });
    assert.equal(r.code, 4);
    assert.equal(r.last.kind, 'key-changed');
    assert.match(r.stderr, /changed since you last looked it up/);
  });

  it('an honest record is accepted (the rig itself works)', async () => {
    const r = await whois(() => signRecord(fields(A), A).bytes);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.last.verified, true);
  });
});
