// A direct message through the contact's mailbox, with real processes: alice writes to bob while he is
// away and quits before he comes back; bob reads it from his mailbox (Noise X, sealed to his key), and
// alice, when she opens the DM again, sees it delivered by the receipt bob left in hers.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ManagedProcess, spawnManaged, type JsonEvent } from '../helpers/proc';

const root = join(__dirname, '../..');
const PEER = join(root, 'dist/peer.js');
const RENDEZVOUS = join(root, 'dist/rendezvous.js');
const run = promisify(execFile);

async function cli(dir: string, who: string, args: string[]): Promise<{ code: number; events: JsonEvent[]; stderr: string }> {
  try {
    const r = await run(process.execPath, [PEER, ...args, '--json', '--data-dir', join(dir, who)], { timeout: 30000 });
    return { code: 0, events: parse(r.stdout), stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, events: parse(err.stdout ?? ''), stderr: err.stderr ?? '' };
  }
}

function parse(stdout: string): JsonEvent[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as JsonEvent);
}

describe('direct messages through the mailbox, real processes', function () {
  this.timeout(120000);
  const procs: ManagedProcess[] = [];
  let dir: string;
  let server: string;

  before(function () {
    if (!existsSync(PEER) || !existsSync(RENDEZVOUS)) throw new Error('run `node scripts/build.mjs` first (the test command does)');
  });
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'p2p-mailbox-dm-'));
    const rv = spawnManaged(process.execPath, [RENDEZVOUS, '--host', '127.0.0.1', '--port', '0', '--refresh', '4', '--data-dir', join(dir, 'server')]);
    procs.push(rv);
    const listening = await rv.waitForEvent((e) => e.event === 'listening', { timeoutMs: 10000, what: 'rendezvous listening' });
    server = `127.0.0.1:${listening.port}`;
    for (const who of ['alice', 'bob']) assert.equal((await cli(dir, who, ['signup', who, '--rendezvous', server, '--display-name', who])).code, 0);
  });
  afterEach(async () => {
    for (const p of procs.splice(0)) await p.kill(500);
    rmSync(dir, { recursive: true, force: true });
  });

  it('never online together: bob reads what alice left, once and in order; alice later sees it delivered', async () => {
    const bobWatch = spawnManaged(process.execPath, [PEER, 'contacts', '--watch', '--json', '--rendezvous', server, '--data-dir', join(dir, 'bob')], { name: 'bob' });
    procs.push(bobWatch);
    await bobWatch.waitForEvent((e) => e.event === 'online', { timeoutMs: 10000 });
    assert.equal((await cli(dir, 'alice', ['contacts', 'add', `bob@${server}`])).code, 0);
    const req = await bobWatch.waitForEvent((e) => e.event === 'request', { timeoutMs: 10000 });
    assert.equal((await cli(dir, 'bob', ['accept', String(req.id)])).code, 0);
    await bobWatch.kill(1000);

    const dm = (who: string, to: string) => {
      const p = spawnManaged(process.execPath, [PEER, 'dm', to, '--json', '--stay', '--data-dir', join(dir, who)], { name: `${who}-dm` });
      procs.push(p);
      return p;
    };
    const a = dm('alice', `bob@${server}`);
    await a.waitForEvent((e) => e.event === 'ready', { timeoutMs: 10000 });
    const lines = Array.from({ length: 20 }, (_, i) => `dm-canary-${i}`);
    for (const l of lines) a.writeLine(l);
    const deposited = new Set<string>();
    await a.waitForEvent(
      (e) => {
        if (e.event === 'mailbox' && e.kind === 'deposited') for (const id of e.ids as string[]) deposited.add(id);
        return deposited.size === 20;
      },
      { timeoutMs: 30000, what: 'alice deposits 20' },
    );
    const ids = a.eventsWhere((e) => e.event === 'sent').map((e) => e.id as string);
    await a.kill(1000); // alice quits before bob ever comes online

    const b = dm('bob', 'alice');
    await b.waitForEvent((e) => e.event === 'message' && (e.body as { text: string }).text === lines[19], { timeoutMs: 30000, what: 'bob reads his mailbox' }).catch((e) => {
      throw new Error(`${(e as Error).message}\n${b.describe()}`);
    });
    await b.waitForEvent((e) => e.event === 'mailbox' && e.kind === 'receipted', { timeoutMs: 10000, what: 'bob leaves a receipt' });
    const got = b.eventsWhere((e) => e.event === 'message');
    assert.deepEqual(got.map((e) => (e.body as { text: string }).text), lines, 'in order, once');
    assert.deepEqual(got.map((e) => e.id), ids);
    assert.ok(!b.events.some((e) => e.event === 'state' && (e.state as { kind: string }).kind === 'connected'), 'never connected to alice');
    await b.kill(1000);

    const a2 = dm('alice', `bob@${server}`);
    const delivered = new Set<string>();
    await a2.waitForEvent(
      (e) => {
        if (e.event === 'delivery' && e.state === 'delivered') delivered.add(e.id as string);
        return delivered.size === 20;
      },
      { timeoutMs: 30000, what: 'alice sees 20 delivered' },
    );
  });
});
