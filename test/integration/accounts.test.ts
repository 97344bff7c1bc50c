// Accounts end to end: the real rendezvous binary with a --data-dir, the real terminal peer, loopback
// UDP. Sign-ups, verified lookups, persistence across a graceful restart and a kill -9 right after an
// acknowledged sign-up, caps and rate limits.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { encodeDirectory } from '../../extension/core/wire/directory';
import { silentLogger } from '../../rendezvous/log';
import { RendezvousServer } from '../../rendezvous/server';
import { keyPairFromPrivate } from '../../extension/core/noise';
import { signRecord } from '../../extension/core/account/record';
import { signingKeyFromSeed } from '../../extension/core/account/signing';
import { ROOT, runPeer, startRendezvous, type RunningRendezvous } from '../helpers/accountCli';

describe('accounts: rendezvous binary + terminal peer', function () {
  this.timeout(90_000);
  let tmp: string;
  const servers: RunningRendezvous[] = [];

  before(async () => {
    await promisify(execFile)(process.execPath, ['scripts/build.mjs'], { cwd: ROOT });
  });
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'p2p-accounts-'));
  });
  afterEach(async () => {
    // Only the servers this file started.
    await Promise.all(servers.map((s) => s.proc.kill(2000)));
    servers.length = 0;
    rmSync(tmp, { recursive: true, force: true });
  });

  const start = async (args: string[]) => {
    const s = await startRendezvous(args);
    servers.push(s);
    return s;
  };

  it('three accounts sign up; lookups are verified; a graceful restart and a kill -9 right after an acknowledged sign-up lose nothing', async () => {
    const store = join(tmp, 'server');
    let srv = await start(['--port', '0', '--data-dir', store]);
    const rv = `127.0.0.1:${srv.port}`;
    const fingerprints: Record<string, string> = {};
    for (const name of ['alice', 'bob', 'carol']) {
      const r = await runPeer(['signup', name, '--rendezvous', rv, '--data-dir', join(tmp, name), '--display-name', `${name} display`]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.last.event, 'signed-up');
      assert.equal(r.last.address, `${name}@${rv}`);
      fingerprints[name] = r.last.fingerprint as string;
    }
    const whoisAll = async (from: string) => {
      for (const name of ['alice', 'bob', 'carol']) {
        const r = await runPeer(['whois', `${name}@${rv}`, '--data-dir', join(tmp, from)]);
        assert.equal(r.code, 0, `${name}: ${r.stderr}`);
        assert.equal(r.last.event, 'account');
        assert.equal(r.last.verified, true);
        assert.equal(r.last.fingerprint, fingerprints[name], `${name}'s fingerprint is the one it signed up with`);
        assert.equal(r.last.displayName, `${name} display`);
      }
    };
    await whoisAll('alice');

    // A graceful restart on the same ports.
    await srv.proc.kill(5000);
    srv = await start(['--port', String(srv.port), '--probe-port', String(srv.probePort), '--data-dir', store]);
    await whoisAll('bob');

    // kill -9 immediately after the sign-up was acknowledged (the CLI exits only after the ack).
    const dave = await runPeer(['signup', 'dave', '--rendezvous', rv, '--data-dir', join(tmp, 'dave')]);
    assert.equal(dave.code, 0, dave.stderr);
    srv.proc.killSync();
    const info = await srv.proc.waitForExit(5000);
    assert.equal(info.signal, 'SIGKILL');
    srv = await start(['--port', String(srv.port), '--probe-port', String(srv.probePort), '--data-dir', store]);
    const loaded = srv.proc.events.find((e) => e.event === 'directory');
    assert.equal(loaded?.accounts, 4, 'the directory reloads four accounts');
    const d = await runPeer(['whois', `dave@${rv}`, '--data-dir', join(tmp, 'carol')]);
    assert.equal(d.code, 0, d.stderr);
    assert.equal(d.last.fingerprint, dave.last.fingerprint);
    await whoisAll('carol');
  });

  it('taken and invalid handles, a dead server: clear errors and exit codes, never a stack trace', async () => {
    const srv = await start(['--port', '0']);
    const rv = `127.0.0.1:${srv.port}`;
    assert.equal((await runPeer(['signup', 'alice', '--rendezvous', rv, '--data-dir', join(tmp, 'a')])).code, 0);
    const taken = await runPeer(['signup', 'ALICE', '--rendezvous', rv, '--data-dir', join(tmp, 'b')]);
    assert.equal(taken.code, 3);
    assert.equal(taken.last.status, 'handle-taken');
    assert.match(taken.stderr, /taken.*first come, first served/);
    const twice = await runPeer(['signup', 'alice2', '--rendezvous', rv, '--data-dir', join(tmp, 'a')]);
    assert.equal(twice.code, 2, 'one handle per key per server (caught locally)');
    for (const bad of ['al', 'аlice', 'a b c', '-flag', 'x'.repeat(33)]) {
      const r = await runPeer(['signup', bad, '--rendezvous', rv, '--data-dir', join(tmp, 'c')]);
      assert.equal(r.code, 2, bad);
      assert.match(r.stderr, /3–32 characters of a–z, 0–9/, `${bad}: the rule is named`);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
    const missing = await runPeer(['whois', `nobody@${rv}`, '--data-dir', join(tmp, 'c')]);
    assert.equal(missing.code, 3);
    assert.equal(missing.last.event, 'not-found');
    await srv.proc.kill(5000);
    const dead = await runPeer(['whois', `alice@${rv}`, '--data-dir', join(tmp, 'c'), '--timeout', '1']);
    assert.equal(dead.code, 1);
    assert.match(dead.stderr, /no answer from 127\.0\.0\.1:\d+/);
    assert.doesNotMatch(dead.stderr, /\n\s+at /);
  });

  it('a sign-up that got no answer is retried with the very same record (no "taken" by ourselves)', async () => {
    let srv = await start(['--port', '0']);
    const rv = `127.0.0.1:${srv.port}`;
    await srv.proc.kill(5000);
    const a = join(tmp, 'a');
    const lost = await runPeer(['signup', 'alice', '--rendezvous', rv, '--data-dir', a, '--timeout', '1']);
    assert.equal(lost.code, 1);
    const pending = JSON.parse(readFileSync(join(a, 'accounts.json'), 'utf8'))[rv];
    assert.equal(pending.pending, true);
    assert.equal((await runPeer(['account', 'show', '--data-dir', a])).last.accounts instanceof Array, true);
    srv = await start(['--port', String(srv.port), '--probe-port', String(srv.probePort)]);
    const ok = await runPeer(['signup', 'alice', '--rendezvous', rv, '--data-dir', a]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.last.requestToken, pending.requestToken, 'the pending record was sent again');
    const again = await runPeer(['signup', 'alice', '--rendezvous', rv, '--data-dir', a]);
    assert.equal(again.code, 0, `signing up again with the same handle is a harmless check: ${again.stderr}`);
    assert.equal(JSON.parse(readFileSync(join(a, 'accounts.json'), 'utf8'))[rv].pending, undefined);
  });

  it('rename, rotate and delete through the CLI; others see each change, verified', async () => {
    const srv = await start(['--port', '0']);
    const rv = `127.0.0.1:${srv.port}`;
    const a = join(tmp, 'a');
    const watcher = join(tmp, 'w');
    const first = await runPeer(['signup', 'alice', '--rendezvous', rv, '--data-dir', a]);
    assert.equal((await runPeer(['whois', `alice@${rv}`, '--data-dir', watcher])).last.version, 1);
    assert.equal((await runPeer(['account', 'rename', 'Alice Liddell', '--data-dir', a])).code, 0);
    const renamed = await runPeer(['whois', `alice@${rv}`, '--data-dir', watcher]);
    assert.equal(renamed.last.displayName, 'Alice Liddell');
    assert.equal(renamed.last.keyChanged, false);
    const tok = await runPeer(['account', 'new-token', '--data-dir', a]);
    assert.equal(tok.code, 0, tok.stderr);
    assert.notEqual(tok.last.requestToken, first.last.requestToken);
    assert.equal((await runPeer(['whois', `alice@${rv}`, '--data-dir', watcher])).last.requestToken, tok.last.requestToken);
    const rot = await runPeer(['account', 'rotate', '--data-dir', a]);
    assert.equal(rot.code, 0, rot.stderr);
    assert.notEqual(rot.last.fingerprint, first.last.fingerprint);
    const refused = await runPeer(['whois', `alice@${rv}`, '--data-dir', watcher]);
    assert.equal(refused.code, 4, 'a watcher that pinned the old keys is stopped until it accepts the new ones');
    assert.equal(refused.last.kind, 'key-changed');
    assert.equal(refused.last.fingerprint, rot.last.fingerprint);
    assert.match(refused.stderr, /--accept-new-key/);
    const after = await runPeer(['whois', `alice@${rv}`, '--data-dir', watcher, '--accept-new-key']);
    assert.equal(after.code, 0);
    assert.equal(after.last.fingerprint, rot.last.fingerprint);
    assert.equal(after.last.keyChanged, true);
    assert.equal((await runPeer(['whois', `alice@${rv}`, '--data-dir', watcher])).code, 0, 'the new keys are pinned now');
    const show = await runPeer(['account', 'show', '--data-dir', a]);
    assert.equal(show.last.fingerprint, rot.last.fingerprint, 'the new keys are installed locally');
    assert.equal((await runPeer(['account', 'rename', 'After rotation', '--data-dir', a])).code, 0, 'updates are signed with the new key');
    assert.equal((await runPeer(['account', 'delete', '--data-dir', a])).code, 0);
    assert.equal((await runPeer(['whois', `alice@${rv}`, '--data-dir', watcher])).code, 3);
    const again = await runPeer(['signup', 'alice', '--rendezvous', rv, '--data-dir', a]);
    assert.equal(again.code, 0, `the owner can sign up again: ${again.stderr}`);
    assert.ok((again.last.version as number) > 4);
  });

  it('caps: --max-accounts, --no-signup, --signup-rate per address', async () => {
    const capped = await start(['--port', '0', '--max-accounts', '2']);
    const rv = `127.0.0.1:${capped.port}`;
    assert.equal((await runPeer(['signup', 'one', '--rendezvous', rv, '--data-dir', join(tmp, '1')])).code, 0);
    assert.equal((await runPeer(['signup', 'two', '--rendezvous', rv, '--data-dir', join(tmp, '2')])).code, 0);
    const full = await runPeer(['signup', 'three', '--rendezvous', rv, '--data-dir', join(tmp, '3')]);
    assert.equal(full.code, 3);
    assert.equal(full.last.status, 'accounts-full');

    const store = join(tmp, 'inv');
    let inv = await start(['--port', '0', '--data-dir', store]);
    const rv2 = `127.0.0.1:${inv.port}`;
    assert.equal((await runPeer(['signup', 'early', '--rendezvous', rv2, '--data-dir', join(tmp, 'e')])).code, 0);
    await inv.proc.kill(5000);
    inv = await start(['--port', String(inv.port), '--probe-port', String(inv.probePort), '--data-dir', store, '--no-signup']);
    const closed = await runPeer(['signup', 'late', '--rendezvous', rv2, '--data-dir', join(tmp, 'l')]);
    assert.equal(closed.code, 3);
    assert.equal(closed.last.status, 'signup-closed');
    assert.equal((await runPeer(['whois', `early@${rv2}`, '--data-dir', join(tmp, 'l')])).code, 0, 'existing accounts are still served');
    assert.equal((await runPeer(['account', 'rename', 'Still here', '--data-dir', join(tmp, 'e')])).code, 0, 'and updated');
    assert.equal((await runPeer(['whois', `early@${rv2}`, '--data-dir', join(tmp, 'l')])).last.displayName, 'Still here');

    const limited = await start(['--port', '0', '--signup-rate', '2']);
    const rv3 = `127.0.0.1:${limited.port}`;
    const codes: number[] = [];
    for (const n of ['ra1', 'ra2', 'ra3']) codes.push((await runPeer(['signup', n, '--rendezvous', rv3, '--data-dir', join(tmp, n)])).code);
    assert.deepEqual(codes, [0, 0, 3], 'the third sign-up from one address within the hour is refused');
  });
});

describe('accounts: amplification (in-process server, raw sockets)', function () {
  this.timeout(20_000);

  it('an unverified source never gets more bytes than it sent; a verified one gets the record', async () => {
    const server = new RendezvousServer({ port: 0, host: '127.0.0.1', logger: silentLogger });
    const { port } = await server.start();
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const replies: Buffer[] = [];
    sock.on('message', (b) => replies.push(b));
    const ask = async (b: Buffer) => {
      const n = replies.length;
      sock.send(b, port, '127.0.0.1');
      const t0 = Date.now();
      while (replies.length === n && Date.now() - t0 < 2000) await new Promise((r) => setTimeout(r, 5));
      return replies[n];
    };
    try {
      const key = signingKeyFromSeed(Buffer.alloc(32, 5));
      const record = signRecord({ version: 1n, handle: 'amp', displayName: 'x'.repeat(64), signingKey: key.publicKey, staticKey: keyPairFromPrivate(Buffer.alloc(32, 6)).publicKey, requestToken: Buffer.alloc(16) }, key).bytes;
      const zero = Buffer.alloc(16);
      // Sign up properly first (cookie round trip).
      const claim = (cookie: Buffer) => encodeDirectory({ type: 'accountClaim', cookie, requestId: 1, record });
      const c1 = await ask(claim(zero));
      assert.equal(c1[2], 0x02, 'a cookie first');
      const cookie = c1.subarray(3, 19);
      const ok = await ask(claim(cookie));
      assert.equal(ok[2], 0x25);
      assert.equal(ok[7], 0, 'signed up');
      // The smallest lookup with a zero cookie: the answer is a 19-byte cookie, never the record.
      const small = encodeDirectory({ type: 'accountLookup', cookie: zero, requestId: 2, handle: 'amp' });
      const r1 = await ask(small);
      assert.ok(r1.length <= small.length, `${r1.length} <= ${small.length}`);
      assert.equal(r1[2], 0x02);
      // With the cookie: the record (larger than the request: the source proved its address).
      const found = await ask(encodeDirectory({ type: 'accountLookup', cookie, requestId: 3, handle: 'amp' }));
      assert.equal(found[2], 0x26);
      assert.ok(found.length > small.length);
      // Malformed directory datagrams from an unverified source: replies (if any) are not larger.
      for (const junk of [Buffer.from('c50124', 'hex'), Buffer.from('c50120' + '00'.repeat(20), 'hex'), Buffer.from('c50125' + '00'.repeat(30), 'hex')]) {
        sock.send(junk, port, '127.0.0.1');
      }
      await new Promise((r) => setTimeout(r, 200));
      const st = server.stats();
      assert.ok(st.unverified.bytesOut <= st.unverified.bytesIn, `${st.unverified.bytesOut} <= ${st.unverified.bytesIn}`);
      assert.equal(st.directory?.accounts, 1);
      assert.ok(st.drops.unexpectedType >= 1, 'a server-to-client directory type is never answered');
    } finally {
      sock.close();
      await server.stop();
    }
  });
});
