// Direct messages through real Linux NATs: two terminal peers behind port-restricted cone NATs become
// contacts (link, request, accept) and DM each other. The rendezvous introduces them only through their
// pairwise topic. Cone ↔ cone must come up direct; symmetric ↔ symmetric through the TURN relay whose
// credentials ride on the topic ack (a DM has no room welcome).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JsonEvent, ManagedProcess } from '../helpers/proc';
import { ADDR, type Lab, type NatKind, type Role } from './lab';
import { useLab } from './mocha-lab';

const root = join(__dirname, '../..');
const PEER = join(root, 'dist/peer.js');
const isType = (t: string) => (e: JsonEvent) => e.event === t;

describe('NAT lab: direct messages between contacts', function () {
  this.timeout(300_000);
  const h = useLab({ natA: 'cone', natB: 'cone' });
  let rendezvous: ManagedProcess | undefined;
  let turn: { stop(): Promise<void> } | undefined;
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'p2p-nat-dm-'));
  });
  after(async () => {
    await rendezvous?.kill(500);
    await turn?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function oneShot(lab: Lab, role: Role, args: string[], what: string): Promise<JsonEvent[]> {
    const p = lab.spawnNode(role, PEER, [...args, '--json']);
    const exit = await p.waitForExit(30000);
    assert.equal(exit.code, 0, `${what} failed:\n${p.describe()}`);
    return [...p.events];
  }

  async function dmCase(nat: NatKind, expect: 'direct' | 'relayed'): Promise<void> {
    const lab = h.lab;
    await lab.reset({ killProcesses: true });
    await rendezvous?.kill(500);
    await turn?.stop();
    turn = undefined;
    // The contact request goes through cone NATs (a request has no relay: between two symmetric NATs it
    // cannot get through yet); the DM then runs through the NATs under test, as after moving networks.
    lab.setNat('natA', 'cone');
    lab.setNat('natB', 'cone');
    lab.flushConntrack();
    const args = ['--host', ADDR.pub, '--port', '7000', '--log-level', 'warn', '--refresh', '5'];
    if (expect === 'relayed') {
      const t = await lab.startTurn({ secret: 'lab-secret' });
      turn = t;
      args.push('--turn-server', `${t.host}:${t.port}`, '--turn-secret', 'lab-secret');
    }
    rendezvous = lab.spawnNode('pub', 'dist/rendezvous.js', args);
    await lab.waitForUdpListener('pub', ADDR.pub, 7000, 5000, rendezvous);
    const server = `${ADDR.pub}:7000`;
    const run = mkdtempSync(join(dir, 'run-'));
    const A = join(run, 'a');
    const B = join(run, 'b');

    const bobWatch = lab.spawnNode('hostB', PEER, ['contacts', '--watch', '--json', '--rendezvous', server, '--data-dir', B]);
    await bobWatch.waitForEvent(isType('online'), { timeoutMs: 10000, what: 'bob online' });
    const link = (await oneShot(lab, 'hostB', ['contacts', 'link', '--rendezvous', server, '--name', 'bob', '--data-dir', B], 'link')).find(isType('link'))!;
    await oneShot(lab, 'hostA', ['contacts', 'add-link', String(link.link), '--name', 'alice', '--note', 'from behind a NAT', '--data-dir', A], 'add-link');
    const req = await bobWatch.waitForEvent(isType('request'), { timeoutMs: 10000, what: 'request through the NATs' });
    await oneShot(lab, 'hostB', ['accept', String(req.id), '--rendezvous', server, '--data-dir', B], 'accept');
    await bobWatch.kill(1000);
    lab.setNat('natA', nat);
    lab.setNat('natB', nat);
    lab.flushConntrack();

    const a = lab.spawnNode('hostA', PEER, ['dm', 'bob', '--json', '--stay', '--data-dir', A]);
    const b = lab.spawnNode('hostB', PEER, ['dm', 'alice', '--json', '--stay', '--rendezvous', server, '--data-dir', B]);
    try {
      const readyA = await a.waitForEvent(isType('ready'), { timeoutMs: 10000 });
      const readyB = await b.waitForEvent(isType('ready'), { timeoutMs: 10000 });
      a.writeLine('hello through two NATs');
      const msg = await b.waitForEvent((e) => e.event === 'message' && (e.body as { text?: string }).text === 'hello through two NATs', { timeoutMs: 60000, what: 'first DM' });
      // Behind two symmetric NATs the relayed link comes up about 15 s in (the punch gives up first); the
      // first message can beat it through the DM's mailbox, so the link may still be on its way here.
      const info = await b.waitForEvent(isType('link'), { timeoutMs: 30000, what: 'link info' });
      assert.equal(info.path, expect);
      b.writeLine('and back');
      await a.waitForEvent((e) => e.event === 'message' && (e.body as { text?: string }).text === 'and back', { timeoutMs: 15000, what: 'reply' });
      process.stderr.write(`      DM: first message ${Number(msg.t) - Math.max(Number(readyA.t), Number(readyB.t))} ms after both were ready, path ${info.path} ${info.endpoint}\n`);
    } finally {
      await a.kill(500);
      await b.kill(500);
    }
  }

  it('cone ↔ cone: contacts by link, accepted, DM both ways over a direct path', () => dmCase('cone', 'direct'));
  it('symmetric ↔ symmetric: DM both ways through the TURN relay', () => dmCase('symmetric', 'relayed'));
});
