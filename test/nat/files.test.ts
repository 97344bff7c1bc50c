// File transfer through real NATs with a slow, long path: both WAN links delay 50 ms each way (host to
// host RTT ≈ 200 ms) and natA's uplink is limited by `tc tbf` to 16 Mbit/s. One transfer must fill
// ≥ 80 % of that rate (the delay-based window has to grow across a 200 ms path, then hold a small
// queue), and two transfers from behind the same NAT must share it (each gets a fair part, together
// they still fill it). Figures are written to test-results/nat-files.json for docs/BENCHMARKS.md.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsonEvent, ManagedProcess } from '../helpers/proc';
import { ADDR } from './lab';
import { useLab } from './mocha-lab';

const root = join(__dirname, '../..');
const RATE_BITS = 16_000_000;
const RATE = RATE_BITS / 8; // bytes per second
const MIB = 1024 * 1024;
const isType = (t: string) => (e: JsonEvent) => e.event === t;

/** Bytes per second of one incoming transfer between `from` and `to` fractions of it, from B's progress events. */
function rateOf(events: readonly JsonEvent[], id: string, fromT?: number, toT?: number): number {
  const p = events.filter((e) => (e.event === 'file-progress' || e.event === 'file-done') && e.id === id && (fromT === undefined || (e.t as number) >= fromT) && (toT === undefined || (e.t as number) <= toT));
  if (p.length < 2) return 0;
  const a = p[0];
  const b = p[p.length - 1];
  return (((b.bytes as number) - (a.bytes as number)) * 1000) / ((b.t as number) - (a.t as number));
}

describe('NAT lab: file transfer on a rate-limited 200 ms path', function () {
  this.timeout(300_000);
  const h = useLab({ natA: 'cone', natB: 'cone', impair: { natA: { delayMs: 50 }, natB: { delayMs: 50 } } });
  const procs: ManagedProcess[] = [];
  let dir: string;
  const results: Record<string, unknown> = { rateBytesPerSecond: RATE, delayPerLinkMs: 50 };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'p2p-natfiles-'));
  });
  after(async () => {
    for (const p of procs.splice(0)) await p.kill(300);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(join(root, 'test-results'), { recursive: true });
    writeFileSync(join(root, 'test-results', 'nat-files.json'), JSON.stringify(results, null, 2));
  });

  it('one transfer fills ≥ 80 % of the tbf rate; two share it', async function () {
    const lab = h.lab;
    lab.run('natA', 'tc', ['qdisc', 'add', 'dev', 'wan0', 'root', 'tbf', 'rate', `${RATE_BITS / 1e6}mbit`, 'burst', '32kbit', 'latency', '400ms']);
    const rv = lab.spawnNode('pub', 'dist/rendezvous.js', ['--host', ADDR.pub, '--port', '7000', '--log-level', 'warn']);
    procs.push(rv);
    await lab.waitForUdpListener('pub', ADDR.pub, 7000, 5000, rv);
    const common = ['--json', '--stay', '--keepalive', '2', '--rendezvous', `${ADDR.pub}:7000`];
    const a = lab.spawnNode('hostA', join(root, 'dist/peer.js'), ['create', '--name', 'A', '--data-dir', join(dir, 'a'), ...common]);
    procs.push(a);
    const invite = (await a.waitForEvent(isType('ready'), { timeoutMs: 10000, what: 'A ready' })).invite as string;
    const b = lab.spawnNode('hostB', join(root, 'dist/peer.js'), ['join', invite, '--name', 'B', '--data-dir', join(dir, 'b'), '--accept-files', join(dir, 'in'), ...common]);
    procs.push(b);
    const a2 = lab.spawnNode('hostA2', join(root, 'dist/peer.js'), ['join', invite, '--name', 'A2', '--data-dir', join(dir, 'a2'), ...common]);
    procs.push(a2);
    const linked = (p: ManagedProcess, n: number) => p.waitForEvent(() => p.eventsWhere(isType('link')).length >= n, { timeoutMs: 30000, what: `${p.name} linked` });
    await Promise.all([linked(a, 2), linked(b, 2), linked(a2, 2)]);
    const bHex = (b.events.find(isType('ready'))!.peerId as string);

    // 1. One transfer alone.
    const one = join(dir, 'one.bin');
    writeFileSync(one, randomBytes(12 * MIB));
    a.writeLine(`/send ${one}`);
    const offeredToB = await a.waitForEvent((e) => e.event === 'file-offered' && e.peer === bHex, { timeoutMs: 10000, what: 'offer to B' });
    const id = offeredToB.id as string;
    const done = await b.waitForEvent((e) => e.event === 'file-done' && e.id === id, { timeoutMs: 120_000, what: 'one file received' });
    // Steady state: from 25 % of the file (past slow start) to the end.
    const start = b.events.find((e) => e.event === 'file-progress' && e.id === id && (e.bytes as number) >= 0.25 * (e.size as number));
    const steady = rateOf(b.events, id, start?.t as number);
    const whole = rateOf(b.events, id);
    results.single = { steadyBytesPerSecond: Math.round(steady), wholeBytesPerSecond: Math.round(whole), fractionOfRate: steady / RATE, wireBytes: done.wireBytes };
    assert.ok(steady >= 0.8 * RATE, `one transfer reached ${(steady / 1e6).toFixed(2)} MB/s, ${((100 * steady) / RATE).toFixed(0)} % of ${RATE / 1e6} MB/s`);

    // 2. Two transfers through the same bottleneck, from two hosts behind natA.
    const f1 = join(dir, 'two-a.bin');
    const f2 = join(dir, 'two-a2.bin');
    writeFileSync(f1, randomBytes(12 * MIB));
    writeFileSync(f2, randomBytes(12 * MIB));
    const markA = a.mark();
    const markA2 = a2.mark();
    a.writeLine(`/send ${f1}`);
    a2.writeLine(`/send ${f2}`);
    const id1 = (await a.waitForEvent((e) => e.event === 'file-offered' && e.peer === bHex, { timeoutMs: 10000, from: markA, what: 'A offers' })).id as string;
    const aHex = a.events.find(isType('ready'))!.peerId as string;
    void aHex;
    const id2 = (await a2.waitForEvent((e) => e.event === 'file-offered' && e.peer === bHex, { timeoutMs: 10000, from: markA2, what: 'A2 offers' })).id as string;
    const [d1, d2] = await Promise.all([
      b.waitForEvent((e) => e.event === 'file-done' && e.id === id1, { timeoutMs: 180_000, what: 'A file received' }),
      b.waitForEvent((e) => e.event === 'file-done' && e.id === id2, { timeoutMs: 180_000, what: 'A2 file received' }),
    ]);
    // The overlap: from when both are past 10 % to when the first finishes.
    const past = (x: string) => b.events.find((e) => e.event === 'file-progress' && e.id === x && (e.bytes as number) >= 0.1 * (e.size as number))?.t as number;
    const from = Math.max(past(id1), past(id2));
    const to = Math.min(d1.t as number, d2.t as number);
    const r1 = rateOf(b.events, id1, from, to);
    const r2 = rateOf(b.events, id2, from, to);
    results.shared = { aBytesPerSecond: Math.round(r1), a2BytesPerSecond: Math.round(r2), overlapMs: to - from, fairness: Math.min(r1, r2) / Math.max(r1, r2), total: (r1 + r2) / RATE };
    assert.ok(to - from > 1000, `the transfers overlapped for ${to - from} ms`);
    assert.ok(Math.min(r1, r2) >= 0.25 * RATE, `shares ${(r1 / 1e6).toFixed(2)} and ${(r2 / 1e6).toFixed(2)} MB/s of ${RATE / 1e6}`);
    assert.ok(r1 + r2 >= 0.7 * RATE, `together ${((r1 + r2) / 1e6).toFixed(2)} MB/s of ${RATE / 1e6}`);
  });
});
