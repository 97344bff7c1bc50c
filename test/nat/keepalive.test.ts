// Bad conditions through real NATs: a mapping that would expire while the chat is idle (keepalive
// must hold it), and a mapping that changes mid-chat (the link must notice and recover by itself, in seconds:
// within 2 s once the side behind the changed NAT writes, within one keepalive interval otherwise).
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsonEvent, ManagedProcess } from '../helpers/proc';
import { ADDR } from './lab';
import { useLab } from './mocha-lab';

const root = join(__dirname, '../..');
const isType = (t: string) => (e: JsonEvent) => e.event === t;
const text = (t: string) => (e: JsonEvent) => e.event === 'message' && (e.body as { text?: string }).text === t;

describe('NAT lab: idle mappings and mapping changes', function () {
  this.timeout(180_000);
  const h = useLab({ natA: 'cone', natB: 'cone' });
  const procs: ManagedProcess[] = [];
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'p2p-ka-'));
  });
  afterEach(async () => {
    for (const p of procs.splice(0)) await p.kill(300);
    rmSync(dir, { recursive: true, force: true });
  });

  /** Recovery times go to test-results/nat-recovery.txt: the figures the docs quote come from there. */
  function figure(line: string): void {
    mkdirSync(join(root, 'test-results'), { recursive: true });
    appendFileSync(join(root, 'test-results', 'nat-recovery.txt'), `${new Date().toISOString()} ${line}\n`);
    console.log(`      ${line}`);
  }

  async function chat(keepaliveS: number) {
    const lab = h.lab!;
    const rv = lab.spawnNode('pub', 'dist/rendezvous.js', ['--host', ADDR.pub, '--port', '7000', '--log-level', 'warn']);
    procs.push(rv);
    await lab.waitForUdpListener('pub', ADDR.pub, 7000, 5000, rv);
    const common = ['--json', '--stay', '--keepalive', String(keepaliveS), '--rendezvous', `${ADDR.pub}:7000`];
    const a = lab.spawnNode('hostA', join(root, 'dist/peer.js'), ['create', '--name', 'A', '--data-dir', join(dir, 'a'), ...common]);
    procs.push(a);
    const invite = (await a.waitForEvent(isType('ready'), { timeoutMs: 10000, what: 'A ready' })).invite as string;
    const b = lab.spawnNode('hostB', join(root, 'dist/peer.js'), ['join', invite, '--name', 'B', '--data-dir', join(dir, 'b'), ...common]);
    procs.push(b);
    await b.waitForEvent(isType('link'), { timeoutMs: 20000, what: 'B linked' });
    await a.waitForEvent(isType('link'), { timeoutMs: 20000, what: 'A linked' });
    return { a, b };
  }

  it('keepalives hold the mappings through an idle period longer than the NATs\' UDP timeouts', async function () {
    const lab = h.lab;
    if (!lab) this.skip();
    await lab.reset({ killProcesses: true });
    // Both routers forget UDP flows after 5 s unreplied / 8 s replied (Linux defaults: 30 s / 120 s).
    for (const r of ['natA', 'natB'] as const) {
      lab.sysctl(r, 'net.netfilter.nf_conntrack_udp_timeout', 5);
      lab.sysctl(r, 'net.netfilter.nf_conntrack_udp_timeout_stream', 8);
    }
    const { a, b } = await chat(2);
    const idleUntil = Date.now() + 20_000; // 2.5 × the longest timeout, with no chat traffic
    await b.expectNoEvent(isType('message'), { withinMs: idleUntil - Date.now(), what: 'idle' });
    const mark = b.mark();
    a.writeLine('still there?');
    await b.waitForEvent(text('still there?'), { timeoutMs: 3000, from: mark, what: 'message after idling' });
    // Held, not rebuilt: no second handshake was needed, and nobody lost the link.
    assert.equal(b.eventsWhere(isType('link')).length, 1, 'one handshake');
    assert.equal(a.eventsWhere((e) => e.event === 'log' && /lost/.test(String(e.message))).length, 0, 'no loss reported');
  });

  it('a NAT that changes its mapping mid-chat: the link notices and recovers by itself', async function () {
    const lab = h.lab;
    if (!lab) this.skip();
    await lab.reset({ killProcesses: true });
    const { a, b } = await chat(2);
    a.writeLine('before');
    await b.waitForEvent(text('before'), { timeoutMs: 5000, what: 'message before the change' });
    const linksBefore = b.eventsWhere(isType('link')).length;
    // natA forgets every flow and from now on maps each destination to a fresh random port.
    lab.setNat('natA', 'symmetric');
    const t0 = Date.now();
    const mark = b.mark();
    a.writeLine('after');
    await b.waitForEvent(text('after'), { timeoutMs: 60000, from: mark, what: 'message after the mapping changed' });
    figure(`natA turned symmetric (keepalive 2 s): message after ${Date.now() - t0} ms`);
    assert.ok(b.eventsWhere(isType('link')).length > linksBefore, 'the link was re-established');
  });

  // A router that gets a new public address (DHCP renewal, a reboot) and forgets every flow: A's mapping changes,
  // its NAT stays endpoint-independent. B's router filters by address and port (cone) or not at all (full cone).
  const KEEPALIVE_S = 5;
  for (const natB of ['cone', 'fullcone'] as const) {
    for (const writer of ['A', 'B'] as const) {
      const target = writer === 'A' ? 2000 : KEEPALIVE_S * 1000;
      it(`a new public address for A mid-chat, B behind ${natB}: ${writer} writes first, both directions flow within ${target / 1000} s`, async function () {
        const lab = h.lab;
        if (!lab) this.skip();
        await lab.reset({ killProcesses: true });
        lab.setNat('natB', natB);
        const { a, b } = await chat(KEEPALIVE_S);
        a.writeLine('before');
        await b.waitForEvent(text('before'), { timeoutMs: 5000, what: 'message before the change' });
        await new Promise((r) => setTimeout(r, 1700)); // not in step with the keepalive timer
        lab.renumber('new');
        const t0 = Date.now();
        const [from, to] = writer === 'A' ? [a, b] : [b, a];
        const mark = to.mark();
        from.writeLine('after');
        await to.waitForEvent(text('after'), { timeoutMs: 90_000, from: mark, what: 'message after the change' });
        const firstMs = Date.now() - t0;
        const back = from.mark();
        to.writeLine('answer');
        await from.waitForEvent(text('answer'), { timeoutMs: 30_000, from: back, what: 'the answer' });
        const bothMs = Date.now() - t0;
        figure(`renumbered natA, B ${natB}, ${writer} writes: first message after ${firstMs} ms, answer after ${bothMs} ms (keepalive ${KEEPALIVE_S} s)`);
        if (process.env.LAB_TRACE) for (const [n, p] of [['A', a], ['B', b]] as const) for (const e of p.eventsWhere((e) => e.event === 'log')) console.log(n, e.t, e.message);
        // The margin covers two loaded cores; the unit tests hold the exact bounds on an injected clock.
        assert.ok(bothMs < target + 1500, `both directions after ${bothMs} ms (target ${target} ms)`);
      });
    }
  }
});
