// The test runner itself (test/run-all.sh), in a fake environment: a package list of made-up names, fake
// dpkg-query/apt-get first on PATH (they only log), and tiny suites in temp folders. Proves that packages
// are installed once before the first suite, that skips are counted and fail under CI, that a missing or
// empty suite folder fails, and that a missing tool fails a test rather than skipping it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '../..');
const TOOLS_HELPER = join(root, 'test/helpers/tools.ts');

describe('test/run-all.sh', function () {
  this.timeout(120_000);
  let dir: string;
  let log: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'run-all-'));
    log = join(dir, 'calls.log');
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    // dpkg-query: the fake packages are "not installed"; apt-get: logs its arguments and succeeds.
    writeFileSync(join(bin, 'dpkg-query'), `#!/bin/sh\ncase "$*" in *p2p-fake-*) exit 1;; esac\nexec /usr/bin/dpkg-query "$@"\n`);
    writeFileSync(join(bin, 'apt-get'), `#!/bin/sh\necho "apt-get $*" >> '${log}'\n`);
    writeFileSync(join(bin, 'id'), `#!/bin/sh\necho 0\n`); // as root, whoever runs the test
    for (const f of ['dpkg-query', 'apt-get', 'id']) chmodSync(join(bin, f), 0o755);
    writeFileSync(join(dir, 'packages.txt'), '# comment\np2p-fake-one   # trailing comment\n\np2p-fake-two\n');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function suiteDir(name: string, files: Record<string, string>): string {
    const d = join(dir, name);
    mkdirSync(d, { recursive: true });
    for (const [f, text] of Object.entries(files)) writeFileSync(join(d, f), text);
    return d;
  }

  function runAll(suites: string, env: Record<string, string> = {}) {
    return new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn('bash', [join(root, 'test/run-all.sh')], {
        cwd: root,
        env: { ...process.env, PATH: `${join(dir, 'bin')}:${process.env.PATH}`, CI: '', RUN_ALL_SKIP_BUILD: '1', APT_PACKAGES_FILE: join(dir, 'packages.txt'), RUN_ALL_SUITES: suites, ...env },
      });
      let out = '';
      child.stdout.on('data', (c) => (out += c));
      child.stderr.on('data', (c) => (out += c));
      child.on('close', (code) => resolve({ code, out }));
    });
  }

  const lastLine = (out: string) => out.trim().split('\n').pop();
  const marker = (what: string) => `require('node:fs').appendFileSync(${JSON.stringify(join(dirname(), 'calls.log'))}, ${JSON.stringify(what + '\n')});`;
  const dirname = () => dir;

  it('installs every listed package in one apt-get call before the first suite, then runs the suites', async () => {
    const a = suiteDir('a', { 'a.test.ts': `describe('a', () => { it('runs', () => { ${marker('suite a ran')} }); });` });
    const b = suiteDir('b', { 'b.test.ts': `describe('b', () => { it('runs', () => { ${marker('suite b ran')} }); });` });
    const r = await runAll(`a=${a} b=${b}`);
    assert.equal(r.code, 0, r.out);
    const calls = readFileSync(log, 'utf8').trim().split('\n');
    const installs = calls.filter((l) => l.startsWith('apt-get') && l.includes(' install '));
    assert.equal(installs.length, 1, calls.join('\n'));
    assert.match(installs[0], /install p2p-fake-one p2p-fake-two$/);
    assert.deepEqual(calls.slice(calls.indexOf(installs[0]) + 1), ['suite a ran', 'suite b ran'], 'installed before the first suite');
    assert.equal(lastLine(r.out), '2 passed, 0 failed, 0 skipped');
  });

  it('counts skipped tests; off CI they are shown, under CI they fail the suite', async () => {
    const s = suiteDir('s', { 's.test.ts': `describe('s', () => { it('ok', () => undefined); it('skips', function () { this.skip(); }); });` });
    const off = await runAll(`s=${s}`);
    assert.equal(off.code, 0, off.out);
    assert.match(off.out, /suite s: 1 skipped/);
    assert.equal(lastLine(off.out), '1 passed, 0 failed, 1 skipped');
    const ci = await runAll(`s=${s}`, { CI: 'true' });
    assert.notEqual(ci.code, 0, ci.out);
    assert.match(ci.out, /Pending test forbidden/);
    assert.match(ci.out, /failing suites: s/);
    assert.match(lastLine(ci.out)!, /^1 passed, 1 failed, \d+ skipped$/);
  });

  it('under CI a root-only suite run without root fails instead of skipping everything', async () => {
    const n = suiteDir('nat', {
      'nat.test.ts': `import { needRoot } from ${JSON.stringify(TOOLS_HELPER)};\nObject.defineProperty(process, 'getuid', { value: () => 1000 });\ndescribe('nat', function () { before(function () { needRoot(this, 'fake NAT suite'); }); it('a', () => undefined); it('b', () => undefined); });`,
    });
    const off = await runAll(`nat=${n}`);
    assert.equal(lastLine(off.out), '0 passed, 0 failed, 2 skipped');
    assert.notEqual(off.code, 0, 'nothing passed: not green either');
    const ci = await runAll(`nat=${n}`, { CI: 'true' });
    assert.notEqual(ci.code, 0);
    assert.match(ci.out, /fake NAT suite needs root/);
    assert.match(lastLine(ci.out)!, /^0 passed, [1-9]\d* failed/);
  });

  it('a missing suite folder, or one without tests, fails the run', async () => {
    const ok = suiteDir('ok', { 'ok.test.ts': `describe('ok', () => { it('ok', () => undefined); });` });
    const empty = suiteDir('empty', { 'README.md': 'no tests here' });
    const r = await runAll(`ok=${ok} gone=${join(dir, 'gone')} empty=${empty}`);
    assert.notEqual(r.code, 0);
    assert.match(r.out, /suite: gone — FAILED: folder .*gone is missing/);
    assert.match(r.out, /suite: empty — FAILED: no \*\.test\.ts files/);
    assert.equal(lastLine(r.out), '1 passed, 2 failed, 0 skipped');
  });

  it('a test whose tool is missing fails (naming the package), it is not skipped, on CI or off', async () => {
    const t = suiteDir('tool', {
      'tool.test.ts': `import { requireTools } from ${JSON.stringify(TOOLS_HELPER)};\ndescribe('tool', () => { it('needs a tool', () => { requireTools('the fake check', [{ bin: 'p2p-no-such-tool', pkg: 'p2p-fake-pkg' }]); }); });`,
    });
    for (const CI of ['', 'true']) {
      const r = await runAll(`tool=${t}`, { CI });
      assert.notEqual(r.code, 0);
      assert.match(r.out, /the fake check: needs p2p-no-such-tool \(Debian: p2p-fake-pkg\)/);
      assert.equal(lastLine(r.out), '0 passed, 1 failed, 0 skipped');
    }
  });

  it('under CI, missing packages that cannot be installed (not root) stop the run before any suite', async () => {
    writeFileSync(join(dir, 'bin', 'id'), `#!/bin/sh\necho 1000\n`);
    const a = suiteDir('a', { 'a.test.ts': `describe('a', () => { it('runs', () => { ${marker('suite a ran')} }); });` });
    const r = await runAll(`a=${a}`, { CI: 'true' });
    assert.notEqual(r.code, 0);
    assert.match(r.out, /missing Debian packages \(not root, cannot install\): p2p-fake-one p2p-fake-two/);
    assert.throws(() => readFileSync(log, 'utf8'), 'no apt-get, no suite');
  });
});
