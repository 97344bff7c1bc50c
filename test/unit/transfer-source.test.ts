// The sender's source reader (core/transfer/fsIo.ts): pieces are views into 256 KiB read blocks, and a block
// is refilled only after recycleSourceBlocks() (the transfer host's "everything read this turn is sealed").
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { recycleSourceBlocks, sourceReader } from '../../extension/core/transfer/fsIo';

describe('file transfer source reader', () => {
  let dir: string;
  let file: string;
  const data = randomBytes(3 * 1024 * 1024 + 777);
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'p2p-source-'));
    file = path.join(dir, 'src.bin');
    writeFileSync(file, data);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('views handed out in one turn stay intact whatever else is read in that turn; blocks are reused after', () => {
    const read = sourceReader(file);
    const piece = 52_429;
    for (let turn = 0; turn < 6; turn++) {
      // A turn reads pieces from several places (two transfers of one file, a resend far back) before any is sealed.
      const offsets = [turn * 8 * piece, 2 * 1024 * 1024 + turn * piece, 5 * piece, turn * 8 * piece + piece, 3 * 1024 * 1024 - 100];
      const views = offsets.map((o) => ({ o, v: read(o, Math.min(piece, data.length - o)) }));
      for (const { o, v } of views) assert.ok(v.equals(data.subarray(o, o + v.length)), `turn ${turn}, offset ${o} intact until sealed`);
      recycleSourceBlocks();
    }
  });

  it('the tail of the file, and a piece longer than a block, read right', () => {
    const read = sourceReader(file);
    assert.ok(read(data.length - 10, 10).equals(data.subarray(data.length - 10)));
    assert.ok(read(1000, 300_000).equals(data.subarray(1000, 301_000)));
    recycleSourceBlocks();
    assert.ok(read(0, 5).equals(data.subarray(0, 5)));
  });
});
