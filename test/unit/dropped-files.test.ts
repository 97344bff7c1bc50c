import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DROPPED_KEEP_MS, sweepDropped, writeDropped } from '../../extension/ui/droppedFiles';

describe('dropped and pasted files (copies under the extension storage)', () => {
  let root: string;
  beforeEach(() => {
    root = path.join(mkdtempSync(path.join(tmpdir(), 'p2p-dropped-')), 'outgoing');
  });
  afterEach(() => rmSync(path.dirname(root), { recursive: true, force: true }));

  it('writes each drop into its own folder, names made safe and distinct', () => {
    const paths = writeDropped(root, [
      { name: '../../evil.png', bytes: Buffer.from('a') },
      { name: 'evil.png', bytes: Buffer.from('b') },
      { name: '\u0000', bytes: Buffer.from('c') },
    ]);
    assert.equal(new Set(paths.map((p) => path.dirname(p))).size, 1);
    assert.ok(paths.every((p) => path.dirname(path.dirname(p)) === root), 'inside the outgoing folder');
    assert.deepEqual(paths.map((p) => path.basename(p)), ['evil.png', '1-evil.png', '_']);
    assert.equal(readFileSync(paths[1], 'utf8'), 'b');
  });

  it('sweeps drop folders older than the keep period, keeps newer ones and anything it did not make', () => {
    const now = Date.now();
    const [old] = writeDropped(root, [{ name: 'old.txt', bytes: Buffer.from('x') }]);
    const [fresh] = writeDropped(root, [{ name: 'fresh.txt', bytes: Buffer.from('y') }]);
    const foreign = path.join(root, 'not-ours');
    mkdirSync(foreign);
    writeFileSync(path.join(foreign, 'keep'), 'z');
    const past = (now - DROPPED_KEEP_MS - 60_000) / 1000;
    utimesSync(path.dirname(old), past, past);
    utimesSync(foreign, past, past);
    assert.equal(sweepDropped(root, now), 1);
    assert.equal(existsSync(path.dirname(old)), false);
    assert.equal(existsSync(fresh), true);
    assert.equal(existsSync(path.join(foreign, 'keep')), true);
  });

  it('a storage folder with nothing dropped yet is fine', () => {
    assert.equal(sweepDropped(path.join(root, 'missing')), 0);
  });
});
