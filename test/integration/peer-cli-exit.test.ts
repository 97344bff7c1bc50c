// `p2p-chat` exit codes: --help documents them, and the built binary returns exactly those in the main
// cases (usage, error, undelivered, refused, signals, success). Real processes, a real rendezvous on loopback.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT } from '../../extension/cli/peer';
import { createLogger } from '../../rendezvous/log';
import { RendezvousServer } from '../../rendezvous/server';
import { ManagedProcess, spawnManaged } from '../helpers/proc';

const root = join(__dirname, '../..');
const PEER = join(root, 'dist/peer.js');

describe('p2p-chat exit codes', function () {
  this.timeout(60000);
  let dir: string;
  let server: RendezvousServer;
  let rendezvous: string;
  const procs: ManagedProcess[] = [];

  before(function () {
    if (!existsSync(PEER)) throw new Error('run `node scripts/build.mjs` first (the test command does)');
  });
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'p2p-exit-'));
    server = new RendezvousServer({ host: '127.0.0.1', port: 0, logger: createLogger({ level: 'error', sink: () => undefined }) });
    rendezvous = `127.0.0.1:${(await server.start()).port}`;
  });
  afterEach(async () => {
    for (const p of procs.splice(0)) await p.kill(500);
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the binary to completion with `input` on stdin, like `printf … | p2p-chat …` (async: the rendezvous runs in this process). */
  const run = (args: string[], input = '') =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [PEER, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
      child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`p2p-chat ${args.join(' ')} did not exit within 30 s\n${stdout}${stderr}`));
      }, 30000);
      child.on('close', (status) => {
        clearTimeout(timer);
        resolve({ status, stdout, stderr });
      });
      child.stdin.on('error', () => undefined);
      child.stdin.end(input);
    });

  it('--help lists every exit code, and they are the ones the program uses', async () => {
    const help = await run(['--help']);
    assert.equal(help.status, EXIT.ok);
    const section = help.stdout.split('Exit codes (create, join')[1]?.split('\n\n')[0];
    assert.ok(section, `--help has an "Exit codes" section for the chat commands:\n${help.stdout}`);
    const documented = new Set([...section.matchAll(/(?:^|\n|; )\s*(\d+)\s+(?:done|error|usage|input ended|a line was refused|stopped by)/g)].map((m) => Number(m[1])));
    assert.deepEqual([...documented].sort((a, b) => a - b), Object.values(EXIT).sort((a, b) => a - b));
    const readme = require('node:fs').readFileSync(join(root, 'README.md'), 'utf8') as string;
    for (const code of Object.values(EXIT)) assert.match(readme, new RegExp(`\\| \`?${code}\`? \\|`), `README documents exit code ${code}`);
  });

  it('2: usage errors (unknown command, bad option value, unknown flag)', async () => {
    for (const args of [['frobnicate'], ['create', '--rendezvous', rendezvous, '--port', 'many'], ['join', '--bogus'], ['create']]) {
      const r = await run(args);
      assert.equal(r.status, EXIT.usage, `${args.join(' ')} → ${r.status}\n${r.stderr}`);
      assert.match(r.stderr, /^p2p-chat: /);
    }
  });

  it('1: an error (an identity key file that is not a key)', async () => {
    mkdirSync(join(dir, 'bad'));
    writeFileSync(join(dir, 'bad', 'identity.key'), 'not a key\n');
    const r = await run(['create', '--rendezvous', rendezvous, '--data-dir', join(dir, 'bad')], 'hi\n');
    assert.equal(r.status, EXIT.error, r.stderr);
    assert.match(r.stderr, /identity\.key is not a 32-byte hex key/);
  });

  it('3: input ended with a line nobody received within --linger', async () => {
    const r = await run(['create', '--rendezvous', rendezvous, '--json', '--linger', '1', '--data-dir', join(dir, 'alone')], 'is anyone there?\n');
    assert.equal(r.status, EXIT.undelivered, r.stdout + r.stderr);
    assert.match(r.stdout, /"event":"registered"/, 'the rendezvous answered: the room was just empty');
  });

  it('4: a line over the limit is refused before sending (a clear error)', async () => {
    const long = 'x'.repeat(64 * 1024 + 1);
    const r = await run(['create', '--rendezvous', rendezvous, '--json', '--linger', '1', '--data-dir', join(dir, 'long')], `${long}\n`);
    assert.equal(r.status, EXIT.refused, r.stderr);
    assert.match(r.stderr, /p2p-chat: not sent: the text is longer than 65,536 characters/);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string });
    assert.ok(events.some((e) => e.event === 'refused'));
    assert.ok(!events.some((e) => e.event === 'sent'), 'nothing was queued');
  });

  it('0 when everything was delivered; 143 on SIGTERM; 130 on SIGINT', async () => {
    const listener = spawnManaged(process.execPath, [PEER, 'create', '--rendezvous', rendezvous, '--json', '--stay', '--data-dir', join(dir, 'l')], { name: 'listener' });
    procs.push(listener);
    const invite = (await listener.waitForEvent((e) => e.event === 'ready', { timeoutMs: 10000 })).invite as string;
    const r = await run(['join', invite, '--json', '--linger', '20', '--data-dir', join(dir, 's')], 'hello\n');
    assert.equal(r.status, EXIT.ok, r.stdout + r.stderr);
    await listener.waitForEvent((e) => e.event === 'message', { timeoutMs: 5000 });
    for (const [sig, code] of [['SIGTERM', EXIT.sigterm], ['SIGINT', EXIT.sigint]] as const) {
      const p = spawnManaged(process.execPath, [PEER, 'join', invite, '--json', '--stay', '--data-dir', join(dir, sig)], { name: sig });
      procs.push(p);
      await p.waitForEvent((e) => e.event === 'ready', { timeoutMs: 10000 });
      process.kill(p.pid, sig);
      assert.equal((await p.waitForExit(10000)).code, code, sig);
    }
  });
});
