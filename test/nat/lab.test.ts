// The NAT lab itself under test: topology and isolation, each NAT kind's
// observed mapping and filtering, naive hole punching, coturn through a NAT,
// the delay forwarder and the loss rules, and a clean teardown. Root only
// (namespaces, iptables); CI runs as root, so this never skips there.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import {
  ADDR,
  cleanupStaleLabs,
  ensureLabTools,
  listLabNamespaces,
  ownNamespaces,
  pidGone,
  type HostRole,
  type Lab,
  type NatKind,
} from './lab';
import { needRoot } from '../helpers/tools';
import { useLab } from './mocha-lab';
import { spawnManaged, where, type JsonEvent, type ManagedProcess } from '../helpers/proc';

const TOOL = 'test/nat/udp-tool.ts';
const ECHO1 = `${ADDR.pub}:3479`;
const ECHO2 = `${ADDR.pub}:3480`;

let tagSeq = 0;

async function udpSocket(lab: Lab, role: HostRole | 'pub', bindPort = 0): Promise<{ p: ManagedProcess; port: number }> {
  const p = lab.spawnNode(role, TOOL, ['socket', '--bind', `0.0.0.0:${bindPort}`], { name: `${role}:udp:${bindPort}` });
  const ev = await p.waitForEvent(where({ ev: 'bound' }), { timeoutMs: 10_000 });
  return { p, port: ev.port as number };
}

/** Sends an op carrying a fresh tag and waits for the tool's answer event of that tag. */
async function op(p: ManagedProcess, body: JsonEvent, answer: string, timeoutMs = 10_000): Promise<JsonEvent> {
  const tag = `t${++tagSeq}`;
  const from = p.mark();
  p.send({ ...body, tag });
  return p.waitForEvent(where({ ev: answer, tag }), { timeoutMs, from, what: `${answer} for ${JSON.stringify(body)}` });
}

/** Asks the echo server at `server` what address it saw. */
async function mappedVia(p: ManagedProcess, server: string): Promise<{ address: string; port: number }> {
  const from = p.mark();
  p.send({ op: 'send', to: server, data: 'whoami', count: 10, intervalMs: 150, untilReply: true });
  const ev = await p.waitForEvent((e) => e.ev === 'recv' && e.from === server && typeof e.json === 'object', {
    timeoutMs: 5000,
    from,
    what: `reply from ${server}`,
  });
  const mapped = (ev.json as { mapped: { address: string; port: number } }).mapped;
  return mapped;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function naivePunch(lab: Lab, kindA: NatKind, kindB: NatKind, port: number): Promise<{ a: boolean; b: boolean; ms: number }> {
  lab.setNat('natA', kindA);
  lab.setNat('natB', kindB);
  const [A, B] = await Promise.all([udpSocket(lab, 'hostA', port), udpSocket(lab, 'hostB', port)]);
  const [ma, mb] = await Promise.all([mappedVia(A.p, ECHO1), mappedVia(B.p, ECHO1)]);
  // The test plays rendezvous: each side learns the other's mapping as the server saw it.
  const t0 = Date.now();
  const punch = { op: 'send', data: 'punch', count: 60, intervalMs: 20, untilReply: true };
  const [ra, rb] = await Promise.all([
    op(A.p, { ...punch, to: `${mb.address}:${mb.port}` }, 'sendDone'),
    op(B.p, { ...punch, to: `${ma.address}:${ma.port}` }, 'sendDone'),
  ]);
  const ms = Date.now() - t0;
  await Promise.all([A.p.kill(), B.p.kill()]);
  return { a: ra.replied === true, b: rb.replied === true, ms };
}

describe('NAT lab (network namespaces + iptables)', function () {
  this.timeout(30_000);
  const handle = useLab({ secondPubAddress: true });
  let lab: Lab;
  let echo: ManagedProcess;

  before(async function () {
    lab = handle.lab;
    echo = lab.spawnNode('pub', TOOL, ['echo', '--bind', '0.0.0.0', '--ports', '3479,3480'], { name: 'pub:echo' });
    await echo.waitForEvent(where({ ev: 'listening' }), { timeoutMs: 10_000 });
  });

  afterEach(async function () {
    if (!lab || lab.isDestroyed) return;
    // Each case starts from cone/cone, no impairment, empty conntrack, only the echo server running.
    await lab.reset();
    for (const p of lab.processes()) if (p !== echo && !p.name.startsWith('delay-forwarder')) await p.kill();
  });

  it('builds the topology with no way out: routers have no default route, private LANs stay private', function () {
    for (const r of ['natA', 'natB', 'pub'] as const) {
      assert.equal(lab.run(r, 'ip', ['route', 'show', 'default']).trim(), '', `${r} must have no default route`);
    }
    assert.match(lab.run('hostA', 'ip', ['route', 'show', 'default']), /via 10\.0\.1\.1/);
    assert.match(lab.run('hostB', 'ip', ['route', 'show', 'default']), /via 10\.0\.2\.1/);
    assert.equal(lab.run('natA', 'cat', ['/proc/sys/net/ipv4/ip_forward']).trim(), '1');
    // Public side reachable through the NAT...
    lab.run('hostA', 'ping', ['-c', '1', '-W', '2', ADDR.pub]);
    lab.run('hostA2', 'ping', ['-c', '1', '-W', '2', ADDR.pub2]);
    lab.run('hostB', 'ping', ['-c', '1', '-W', '2', ADDR.pub]);
    // ...but not the other LAN, nor a LAN from the public side.
    assert.throws(() => lab.run('hostA', 'ping', ['-c', '1', '-W', '1', ADDR.hostB]), /failed/);
    assert.throws(() => lab.run('pub', 'ping', ['-c', '1', '-W', '1', ADDR.hostA]), /failed/);
    // Nothing of the lab exists in the root namespace.
    const rootLinks = execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' });
    assert.doesNotMatch(rootLinks, /\b(wan0|wA|wB)\b/);
  });

  it('cone NAT: endpoint-independent, port-preserving mapping; hostA2 shares the public address', async function () {
    const A = await udpSocket(lab, 'hostA', 40001);
    const m1 = await mappedVia(A.p, ECHO1);
    const m2 = await mappedVia(A.p, ECHO2);
    assert.deepEqual(m1, { address: ADDR.natA, port: 40001 });
    assert.deepEqual(m2, { address: ADDR.natA, port: 40001 });
    // hostA2 on the same local port: same public address, the NAT must pick another port.
    const A2 = await udpSocket(lab, 'hostA2', 40001);
    const m3 = await mappedVia(A2.p, ECHO1);
    assert.equal(m3.address, ADDR.natA);
    assert.notEqual(m3.port, 40001);
    const B = await udpSocket(lab, 'hostB', 40001);
    assert.deepEqual(await mappedVia(B.p, ECHO1), { address: ADDR.natB, port: 40001 });
    await Promise.all([A.p.kill(), A2.p.kill(), B.p.kill()]);
  });

  it('symmetric NAT: a different external port per destination', async function () {
    lab.setNat('natA', 'symmetric');
    const A = await udpSocket(lab, 'hostA', 40002);
    const m1 = await mappedVia(A.p, ECHO1);
    const m2 = await mappedVia(A.p, ECHO2);
    assert.equal(m1.address, ADDR.natA);
    assert.equal(m2.address, ADDR.natA);
    assert.notEqual(m1.port, m2.port, 'symmetric NAT must map each destination to its own port');
    // The mapping is kept per destination while it lives.
    assert.deepEqual(await mappedVia(A.p, ECHO1), m1);
    await A.p.kill();
  });

  it('filtering: cone drops unsolicited, cone-reject answers ICMP, fullcone forwards to the host', async function () {
    const knocker = await udpSocket(lab, 'pub');
    for (const kind of ['cone', 'cone-reject', 'fullcone'] as const) {
      lab.setNat('natA', kind);
      const A = await udpSocket(lab, 'hostA', 40003);
      const m = await mappedVia(A.p, ECHO1);
      assert.deepEqual(m, { address: ADDR.natA, port: 40003 }, `${kind} keeps the port`);
      // From the echo server's other port: an endpoint hostA never sent to.
      const from = A.p.mark();
      echo.send({ op: 'send', from: 3480, to: `${m.address}:${m.port}`, data: `unsolicited-${kind}` });
      const knock = await op(knocker.p, { op: 'knock', to: `${m.address}:${m.port}`, waitMs: 600 }, 'knock');
      const got = A.p.eventsWhere((e) => e.ev === 'recv' && e.data === `unsolicited-${kind}`, from);
      if (kind === 'fullcone') {
        assert.equal(got.length, 1, 'full cone forwards any sender to the host');
        assert.equal(knock.result, 'silent');
      } else {
        assert.equal(got.length, 0, `${kind} must filter unsolicited packets`);
        assert.equal(knock.result, kind === 'cone-reject' ? 'refused' : 'silent');
      }
      await A.p.kill();
      lab.flushConntrack();
    }
    await knocker.p.kill();
  });

  it('naive hole punch: cone<->cone succeeds, symmetric<->symmetric and cone<->symmetric fail', async function () {
    const cone = await naivePunch(lab, 'cone', 'cone', 41000);
    assert.deepEqual([cone.a, cone.b], [true, true], 'cone<->cone must punch');
    assert.ok(cone.ms < 1000, `cone punch took ${cone.ms} ms`);
    lab.flushConntrack();
    const sym = await naivePunch(lab, 'symmetric', 'symmetric', 41001);
    assert.deepEqual([sym.a, sym.b], [false, false], 'symmetric<->symmetric must not punch naively');
    lab.flushConntrack();
    const mixed = await naivePunch(lab, 'cone', 'symmetric', 41002);
    assert.deepEqual([mixed.a, mixed.b], [false, false], 'cone<->symmetric must not punch naively');
  });

  it('open routers (no inbound filter): an early punch blocks the far port; TTL-2 primes the mappings and then it punches', async function () {
    lab.setNat('natA', 'open');
    lab.setNat('natB', 'open');
    const port = 42000;
    const punch = { op: 'send', data: 'punch', count: 40, intervalMs: 20, untilReply: true };
    const natA = `${ADDR.natA}:${port}`;
    const natB = `${ADDR.natB}:${port}`;
    {
      const [A, B] = await Promise.all([udpSocket(lab, 'hostA', port), udpSocket(lab, 'hostB', port)]);
      // B's packet reaches natA before A has sent anything to B: natA takes it for itself and keeps the flow.
      await op(B.p, { op: 'send', to: natA, data: 'early', count: 1 }, 'sendDone');
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(A.p.eventsWhere((e) => e.ev === 'recv' && e.data === 'early').length, 0, 'not delivered to hostA');
      assert.match(lab.run('natA', 'conntrack', ['-L', '-p', 'udp'], { allowFail: true }), new RegExp(`src=${ADDR.natB} dst=${ADDR.natA} sport=${port} dport=${port}`));
      const [ra, rb] = await Promise.all([op(A.p, { ...punch, to: natB }, 'sendDone'), op(B.p, { ...punch, to: natA }, 'sendDone')]);
      assert.deepEqual([ra.replied, rb.replied], [false, false], 'the early packet blocked the punch both ways');
      await Promise.all([A.p.kill(), B.p.kill()]);
    }
    lab.flushConntrack();
    {
      const [A, B] = await Promise.all([udpSocket(lab, 'hostA', port), udpSocket(lab, 'hostB', port)]);
      // TTL 2 crosses the sender's own NAT (mapping made) and dies at the simulated hop before the other NAT.
      await op(B.p, { op: 'send', to: natA, data: 'prime', count: 1, ttl: 2 }, 'sendDone');
      await new Promise((r) => setTimeout(r, 100));
      assert.doesNotMatch(lab.run('natA', 'conntrack', ['-L', '-p', 'udp'], { allowFail: true }), new RegExp(`sport=${port} dport=${port}`), 'the primer never reached natA');
      await op(A.p, { op: 'send', to: natB, data: 'prime', count: 1, ttl: 2 }, 'sendDone');
      const [ra, rb] = await Promise.all([op(A.p, { ...punch, to: natB }, 'sendDone'), op(B.p, { ...punch, to: natA }, 'sendDone')]);
      assert.deepEqual([ra.replied, rb.replied], [true, true], 'primed mappings punch');
      await Promise.all([A.p.kill(), B.p.kill()]);
    }
  });

  it('coturn in pub answers STUN through a NAT and relays with secret-derived credentials only', async function () {
    const turn = await lab.startTurn({ secret: 'lab-secret' });
    const A = await udpSocket(lab, 'hostA');
    const stun = await op(A.p, { op: 'stun', server: `${turn.host}:${turn.port}`, bindPort: 40004 }, 'stun');
    assert.equal(stun.address, ADDR.natA);
    assert.equal(stun.port, 40004);
    const good = turn.credentials('alice');
    const ok = await op(A.p, { op: 'turn', server: `${turn.host}:${turn.port}`, ...good }, 'turn');
    assert.equal(ok.ok, true, JSON.stringify(ok));
    assert.match(String(ok.relayed), /^203\.0\.113\.1:(\d+)$/);
    const relayPort = Number(String(ok.relayed).split(':')[1]);
    assert.ok(relayPort >= 49152 && relayPort <= 49407, `relay port ${relayPort} in the bounded range`);
    assert.match(String(ok.mapped), /^203\.0\.113\.10:/);
    const bad = await op(A.p, { op: 'turn', server: `${turn.host}:${turn.port}`, username: good.username, password: 'wrong' }, 'turn');
    assert.equal(bad.ok, false);
    assert.equal(bad.code, 401);
    await A.p.kill();
    await turn.stop();
    assert.equal(turn.proc.running, false);
  });

  it('delay forwarder: 50 ms one way per WAN link gives ~100 ms host->pub and ~200 ms host->host', async function () {
    await lab.impair('natA', { delayMs: 50 });
    await lab.impair('natB', { delayMs: 50 });
    const ping = lab.run('hostA', 'ping', ['-c', '6', '-i', '0.2', '-W', '2', ADDR.pub]);
    const times = [...ping.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
    assert.ok(times.length >= 5, ping);
    // The first ping may also wait for ARP across the delayed link.
    const steady = times.slice(1);
    assert.ok(Math.min(...steady) >= 100, `ping min ${Math.min(...steady)} ms`);
    assert.ok(median(steady) < 150, `ping median ${median(steady)} ms`);

    const A = await udpSocket(lab, 'hostA');
    const rtt = await op(A.p, { op: 'rtt', to: ECHO1, count: 10, intervalMs: 20, waitMs: 600 }, 'rtt');
    const samples = rtt.samples as number[];
    assert.equal(rtt.received, 10);
    assert.ok(Math.min(...samples) >= 100 && median(samples) < 150, `udp rtt ${samples.join(',')}`);

    // Through both NATs after a punch: every packet crosses two delayed links each way.
    const B = await udpSocket(lab, 'hostB', 41100);
    const A2 = await udpSocket(lab, 'hostA', 41100);
    const [ma, mb] = await Promise.all([mappedVia(A2.p, ECHO1), mappedVia(B.p, ECHO1)]);
    const punch = { op: 'send', data: 'punch', count: 60, intervalMs: 20, untilReply: true };
    const [ra, rb] = await Promise.all([
      op(A2.p, { ...punch, to: `${mb.address}:${mb.port}` }, 'sendDone'),
      op(B.p, { ...punch, to: `${ma.address}:${ma.port}` }, 'sendDone'),
    ]);
    assert.deepEqual([ra.replied, rb.replied], [true, true]);
    // hostB has no echo server: measure one-way-and-back with a send and the first punch seen.
    const from = B.p.mark();
    const t0 = Date.now();
    A2.p.send({ op: 'send', to: `${mb.address}:${mb.port}`, data: 'probe' });
    await B.p.waitForEvent(where({ ev: 'recv', data: 'probe' }), { timeoutMs: 3000, from });
    const oneWay = Date.now() - t0;
    assert.ok(oneWay >= 100 && oneWay < 250, `host->host one way ${oneWay} ms (includes process I/O)`);

    const stats = await lab.forwarderStats('natA');
    assert.ok(stats && stats.a_to_b > 0 && stats.b_to_a > 0, JSON.stringify(stats));

    // Back to plain veth: sub-millisecond again.
    await lab.impair('natA', { delayMs: 0 });
    await lab.impair('natB', { delayMs: 0 });
    const fast = await op(A.p, { op: 'rtt', to: ECHO1, count: 5, intervalMs: 20, waitMs: 300 }, 'rtt');
    // A re-created link drops the NAT mapping; the socket's next packet makes a new one.
    assert.ok((fast.received as number) >= 4 && median(fast.samples as number[]) < 20, JSON.stringify(fast));
    await Promise.all([A.p.kill(), A2.p.kill(), B.p.kill()]);
  });

  it('loss rule: 20 % per direction loses ~36 % of round trips, counted on both directions', async function () {
    await lab.impair('natA', { loss: 0.2 });
    const A = await udpSocket(lab, 'hostA');
    const n = 400;
    const r = await op(A.p, { op: 'rtt', to: ECHO1, count: n, intervalMs: 2, waitMs: 500 }, 'rtt', 20_000);
    const frac = (r.received as number) / n;
    // Expected 0.8 * 0.8 = 0.64; bounds are about 6 standard deviations wide.
    assert.ok(frac > 0.5 && frac < 0.78, `delivered ${frac}`);
    const c = lab.lossCounters('natA');
    assert.ok(c.inbound > 20 && c.outbound > 20, JSON.stringify(c));
    await lab.impair('natA', { loss: 0 });
    const clean = await op(A.p, { op: 'rtt', to: ECHO1, count: 50, intervalMs: 2, waitMs: 300 }, 'rtt');
    assert.equal(clean.received, 50);
    await A.p.kill();
  });

  it('cone<->cone punch survives 50 ms delay and 10 % loss on each link', async function () {
    await lab.impair('natA', { delayMs: 50, loss: 0.1 });
    await lab.impair('natB', { delayMs: 50, loss: 0.1 });
    const r = await naivePunch(lab, 'cone', 'cone', 41200);
    assert.deepEqual([r.a, r.b], [true, true]);
  });

  it('tears down completely: no namespaces, no processes left', async function () {
    const procs = lab.processes();
    await lab.destroy();
    assert.deepEqual(ownNamespaces(), []);
    for (const p of procs) assert.equal(p.running, false, `${p.name} still running`);
    for (const p of procs) assert.throws(() => process.kill(p.pid, 0), /ESRCH/, `pid ${p.pid} (${p.name}) still exists`);
    const ps = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
    assert.doesNotMatch(ps, new RegExp(lab.prefix));
  });
});

describe('NAT lab hygiene when its owner dies', function () {
  this.timeout(60_000);
  const repo = path.resolve(__dirname, '..', '..');

  let owner: ManagedProcess | undefined;

  before(function () {
    needRoot(this, 'NAT lab hygiene');
    ensureLabTools(); // a missing tool fails here, with its package named, not in the child
  });

  afterEach(async function () {
    // A failed case must not leave its owner's lab behind: SIGTERM makes it clean up, the sweep catches the rest.
    if (owner?.running) await owner.kill(5000);
    owner = undefined;
    cleanupStaleLabs();
  });

  async function startOwner(): Promise<{ owner: ManagedProcess; ready: JsonEvent }> {
    owner = spawnManaged(process.execPath, ['-r', require.resolve('tsx/cjs'), 'test/nat/lab-cli.ts', '--delay', '5', '--turn'], {
      cwd: repo,
      name: 'lab-cli',
    });
    const ready = await owner.waitForEvent(where({ ev: 'ready' }), { timeoutMs: 30_000 });
    return { owner, ready };
  }

  function pidsOf(ready: JsonEvent): number[] {
    return [(ready.turn as { pid: number }).pid, ...(ready.forwarders as number[])];
  }

  it('a SIGKILLed owner leaves a stale lab that the next cleanup removes entirely', async function () {
    const { owner, ready } = await startOwner();
    const prefix = String(ready.prefix);
    assert.equal(listLabNamespaces(prefix).length, 6);
    owner.killSync(); // SIGKILL: no chance to clean up
    await owner.exited;
    assert.equal(listLabNamespaces(prefix).length, 6, 'the crash leaves namespaces behind');
    const removed = cleanupStaleLabs();
    assert.ok(removed.some((r) => r.startsWith(prefix)), removed.join(' '));
    assert.deepEqual(listLabNamespaces(prefix), []);
    await new Promise((r) => setTimeout(r, 200));
    for (const pid of pidsOf(ready)) assert.ok(pidGone(pid), `pid ${pid} survived cleanup`);
  });

  it('SIGINT to the owner tears its lab down before it exits', async function () {
    const { owner, ready } = await startOwner();
    const prefix = String(ready.prefix);
    process.kill(owner.pid, 'SIGINT');
    const exit = await owner.waitForExit(10_000);
    assert.equal(exit.code, 130);
    assert.deepEqual(listLabNamespaces(prefix), []);
    await new Promise((r) => setTimeout(r, 200));
    for (const pid of pidsOf(ready)) assert.ok(pidGone(pid), `pid ${pid} survived`);
  });
});
