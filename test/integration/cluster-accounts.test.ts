// Accounts across instances: two rendezvous binaries sharing a real redis-server. An account signed
// up on one is found (verified) on the other; its public contact page on the other instance's HTTP
// port carries a contact link that names the account's keys; while Redis is down the directory says
// it is unavailable (and nothing is written); after Redis restarts everything written before is there.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseContactLink } from '../../extension/core/contacts/link';
import { fingerprint } from '../../extension/core/noise/fingerprint';
import { ROOT, runPeer, startRendezvous, type RunningRendezvous } from '../helpers/accountCli';
import { freeTcpPort } from '../helpers/freePort';
import { killAllManaged } from '../helpers/proc';
import { RedisProcess } from '../helpers/redis';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const parsePrometheus = require('parse-prometheus-text-format') as (text: string) => { name: string; metrics: { value?: string }[] }[];

describe('accounts shared by two instances through Redis', function () {
  this.timeout(120_000);
  let tmp: string;
  let redis: RedisProcess;
  let a: RunningRendezvous;
  let b: RunningRendezvous;
  let httpB: number;

  before(async () => {
    await promisify(execFile)(process.execPath, ['scripts/build.mjs'], { cwd: ROOT });
    tmp = mkdtempSync(join(tmpdir(), 'p2p-cluster-acc-'));
    redis = await RedisProcess.start();
    a = await startRendezvous(['--port', '0', '--redis', redis.url], 'rendezvous A');
    httpB = await freeTcpPort();
    b = await startRendezvous(['--port', '0', '--redis', redis.url, '--http-port', String(httpB), '--public-name', 'chat.example.org:7100'], 'rendezvous B');
    await b.proc.waitForEvent((e) => e.event === 'http-listening', { timeoutMs: 5000 });
  });

  after(async () => {
    await killAllManaged();
    await redis?.destroy();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('sign up on A, find it verified on B, and see its contact page on B', async () => {
    const up = await runPeer(['signup', 'alice', '--rendezvous', `127.0.0.1:${a.port}`, '--data-dir', join(tmp, 'alice'), '--display-name', 'Alice <b>A</b>']);
    assert.equal(up.code, 0, up.stderr);
    const who = await runPeer(['whois', `alice@127.0.0.1:${b.port}`, '--data-dir', join(tmp, 'bob')]);
    assert.equal(who.code, 0, who.stderr);
    assert.equal(who.last.verified, true);
    assert.equal(who.last.fingerprint, up.last.fingerprint);

    const page = await fetch(`http://127.0.0.1:${httpB}/@Alice`);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /Alice &#60;b&#62;A&#60;\/b&#62;/, 'the display name is escaped');
    assert.match(html, /alice@chat\.example\.org:7100/);
    const href = /href="([^"]+)"/.exec(html)![1].replace(/&#(\d+);/g, (_m, n: string) => String.fromCharCode(Number(n)));
    const link = parseContactLink(href);
    assert.ok(link.ok, href);
    assert.deepEqual(link.link.server, { host: 'chat.example.org', port: 7100 });
    assert.equal(link.link.displayName, 'Alice <b>A</b>');
    assert.equal(fingerprint(link.link.staticKey), up.last.fingerprint, 'the link names the account key the directory holds');
    assert.match(html, new RegExp(fingerprint(link.link.staticKey)));

    const metrics = parsePrometheus(await (await fetch(`http://127.0.0.1:${httpB}/metrics`)).text());
    assert.ok(metrics.some((f) => f.name === 'p2p_rendezvous_accounts'));
  });

  it('Redis down: sign-up and lookup report the directory unavailable; after a restart the account is intact', async () => {
    await redis.stop();
    const down = await runPeer(['whois', `alice@127.0.0.1:${b.port}`, '--data-dir', join(tmp, 'carol')]);
    assert.notEqual(down.code, 0);
    assert.match(down.stdout + down.stderr, /unavailable/i);
    const refused = await runPeer(['signup', 'dave', '--rendezvous', `127.0.0.1:${a.port}`, '--data-dir', join(tmp, 'dave')]);
    assert.notEqual(refused.code, 0);
    await redis.start();
    // The instances reconnect by themselves (within about a second).
    let who;
    for (let i = 0; i < 40; i++) {
      who = await runPeer(['whois', `alice@127.0.0.1:${a.port}`, '--data-dir', join(tmp, 'carol')]);
      if (who.code === 0) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(who!.code, 0, who!.stderr);
    assert.equal(who!.last.verified, true);
    const dave = await runPeer(['whois', `dave@127.0.0.1:${a.port}`, '--data-dir', join(tmp, 'carol')]);
    assert.notEqual(dave.code, 0, 'the refused sign-up left nothing behind');
    const again = await runPeer(['signup', 'dave', '--rendezvous', `127.0.0.1:${b.port}`, '--data-dir', join(tmp, 'dave')]);
    assert.equal(again.code, 0, again.stderr);
  });
});
