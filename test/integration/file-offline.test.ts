// Issue #15 §6 with real processes: a file offered while the recipient is offline never goes through
// the mailbox (the chat line sent beside it does: that is what the mailbox is for), and the recipient
// gets the offer once both are online, then the same bytes. The rendezvous runs with its mailbox on
// (a data directory), so a file that leaked into it would show up there.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeUdpPort } from '../helpers/freePort';
import { ManagedProcess, spawnManaged, type JsonEvent } from '../helpers/proc';

const root = join(__dirname, '../..');
const PEER = join(root, 'dist/peer.js');
const RENDEZVOUS = join(root, 'dist/rendezvous.js');
const MIB = 1024 * 1024;

function dirBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) n += e.isDirectory() ? dirBytes(join(dir, e.name)) : statSync(join(dir, e.name)).size;
  return n;
}

describe('a file for an offline member: never through the mailbox, offered when both are online', function () {
  this.timeout(120_000);
  const procs: ManagedProcess[] = [];
  let dir: string;

  before(function () {
    if (!existsSync(PEER) || !existsSync(RENDEZVOUS)) throw new Error('run `node scripts/build.mjs` first (the test command does)');
    dir = mkdtempSync(join(tmpdir(), 'p2p-file-offline-'));
  });
  after(async () => {
    for (const p of procs.splice(0)) await p.kill(500);
    rmSync(dir, { recursive: true, force: true });
  });

  it('A offers a file and writes a line while alone; the line is deposited, the file is not; B joins later and receives both', async () => {
    const port = await freeUdpPort();
    const rv = spawnManaged(process.execPath, [RENDEZVOUS, '--host', '127.0.0.1', '--port', String(port), '--refresh', '2', '--data-dir', join(dir, 'server'), '--mailbox-ttl', '120']);
    procs.push(rv);
    await rv.waitForEvent((e) => e.event === 'listening', { timeoutMs: 10000, what: 'rendezvous listening' });
    const file = join(dir, 'report.bin');
    const bytes = randomBytes(2 * MIB + 5); // incompressible: it could not hide in a small store
    writeFileSync(file, bytes);
    const peer = (args: string[], data: string) => {
      const p = spawnManaged(process.execPath, [PEER, ...args, '--json', '--stay', '--keepalive', '1', '--data-dir', join(dir, data)], { name: data });
      procs.push(p);
      return p;
    };

    const a = peer(['create', '--rendezvous', `127.0.0.1:${port}`, '--name', 'Alice', '--send', file], 'a');
    const invite = (await a.waitForEvent((e) => e.event === 'ready', { timeoutMs: 10000, what: 'invite' })).invite as string;
    a.writeLine('the report is coming as a file');
    await a.waitForEvent((e) => e.event === 'mailbox' && e.kind === 'deposited', { timeoutMs: 30000, what: 'the chat line deposited' });
    // Give a file every chance to be deposited too: two more refresh rounds.
    await new Promise((r) => setTimeout(r, 4000));
    const deposited = a.events.filter((e) => e.event === 'mailbox' && e.kind === 'deposited').flatMap((e) => e.ids as string[]);
    const sent = a.events.filter((e) => e.event === 'sent').map((e) => e.id as string);
    assert.deepEqual(deposited, sent, 'only the chat line went to the mailbox');
    assert.equal(a.events.filter((e) => e.event === 'file-offered').length, 0, 'nobody to offer the file to yet');
    const stored = dirBytes(join(dir, 'server'));
    assert.ok(stored < 256 * 1024, `the server's store holds ${stored} bytes: no file in it`);

    // B comes online: the line arrives (direct or from the mailbox), the file is offered and received.
    const b = peer(['join', invite, '--name', 'Bob', '--accept-files', join(dir, 'in')], 'b');
    await b.waitForEvent((e: JsonEvent) => e.event === 'message' && (e.body as { text: string }).text === 'the report is coming as a file', { timeoutMs: 30000, what: 'the line' });
    const offer = await b.waitForEvent((e) => e.event === 'file-offer' || (e.event === 'file-status' && e.direction === 'in'), { timeoutMs: 30000, what: 'the offer, once both are online' });
    const done = await b.waitForEvent((e) => e.event === 'file-done' && e.id === offer.id, { timeoutMs: 60000, what: 'the file' });
    const got = readFileSync(done.path as string);
    assert.equal(createHash('sha256').update(got).digest('hex'), createHash('sha256').update(bytes).digest('hex'));
    assert.ok(dirBytes(join(dir, 'server')) < 256 * 1024, 'still no file in the server store');
  });
});
