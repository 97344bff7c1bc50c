import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore, LOG_FILE } from '../../rendezvous/store/fileStore';
import { MemoryStore } from '../../rendezvous/store/memoryStore';
import type { Store } from '../../rendezvous/store/store';
import { storeSuite, type StoreFactory } from '../helpers/storeSuite';

function fileFactory(opts: { compactAfterBytes?: number } = {}): StoreFactory {
  const dir = fs.mkdtempSync(join(tmpdir(), 'p2p-store-'));
  return {
    open: () => FileStore.open(dir, opts),
    reopen: async (s: Store) => {
      await s.close();
      return FileStore.open(dir, opts);
    },
    cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

// Every backend runs the one suite; a new backend is one more line here.
storeSuite('memory', () => ({ open: async () => new MemoryStore() }));
storeSuite('file', () => fileFactory());
storeSuite('file, compacting after every write', () => fileFactory({ compactAfterBytes: 1 }));

describe('file store: crash safety', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(join(tmpdir(), 'p2p-store-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function filled(): Promise<number> {
    const s = await FileStore.open(dir);
    await s.create('a', Buffer.from('one'));
    await s.create('b', Buffer.from('two'));
    const size = s.logBytes;
    await s.close();
    return size;
  }

  it('a torn tail (half a frame) is detected, copied aside and cut off; earlier records survive', async () => {
    const good = await filled();
    const log = join(dir, LOG_FILE);
    const s0 = await FileStore.open(dir);
    await s0.create('c', Buffer.from('three'));
    await s0.close();
    const full = fs.readFileSync(log);
    for (const cut of [good + 1, good + 7, full.length - 1]) {
      fs.writeFileSync(log, full.subarray(0, cut));
      let report: unknown;
      const s = await FileStore.open(dir, { onLoad: (r) => (report = r) });
      assert.deepEqual(await s.get('a'), Buffer.from('one'));
      assert.deepEqual(await s.get('b'), Buffer.from('two'));
      assert.equal(await s.get('c'), undefined, `cut at ${cut}`);
      assert.equal((report as { droppedBytes: number }).droppedBytes, cut - good);
      assert.equal(fs.statSync(log).size, good, 'the torn tail is cut off');
      // Appending after the cut produces a clean log.
      await s.create('d', Buffer.from('four'));
      await s.close();
      const again = await FileStore.open(dir);
      assert.deepEqual(await again.get('d'), Buffer.from('four'));
      await again.delete('d');
      await again.close();
    }
    assert.ok(fs.readdirSync(dir).some((n) => n.startsWith(`${LOG_FILE}.corrupt-`)), 'the cut bytes are kept for inspection');
  });

  it('a flipped bit in the last frame fails its CRC and only that frame is dropped', async () => {
    const good = await filled();
    const s0 = await FileStore.open(dir);
    await s0.create('c', Buffer.from('three'));
    await s0.close();
    const log = join(dir, LOG_FILE);
    const buf = fs.readFileSync(log);
    buf[buf.length - 2] ^= 0x10;
    fs.writeFileSync(log, buf);
    let reason = '';
    const s = await FileStore.open(dir, { onLoad: (r) => (reason = r.reason ?? '') });
    assert.match(reason, /checksum/);
    assert.deepEqual(await s.get('b'), Buffer.from('two'));
    assert.equal(await s.get('c'), undefined);
    assert.equal(s.logBytes, good);
    await s.close();
  });

  it('compaction keeps the state and shrinks the log; a leftover temp file is ignored', async () => {
    const s = await FileStore.open(dir);
    for (let i = 0; i < 200; i++) await s.commit([{ key: 'counter', expect: i === 0 ? null : Buffer.from(String(i - 1)), set: Buffer.from(String(i)) }]);
    const before = s.logBytes;
    await s.compact();
    assert.ok(s.logBytes < before / 50, `${s.logBytes} < ${before}/50`);
    await s.close();
    fs.writeFileSync(join(dir, `${LOG_FILE}.tmp`), 'garbage from an interrupted compaction');
    const again = await FileStore.open(dir);
    assert.deepEqual(await again.get('counter'), Buffer.from('199'));
    await again.close();
    assert.equal(fs.existsSync(join(dir, `${LOG_FILE}.tmp`)), false);
  });

  it('one directory, one open store: a second open is refused while the first lives', async () => {
    const s = await FileStore.open(dir);
    await assert.rejects(FileStore.open(dir), /already open|in use/);
    await s.close();
    const again = await FileStore.open(dir);
    await again.close();
  });

  it('a lock left by a dead process (kill -9) does not block the next start', async () => {
    fs.writeFileSync(join(dir, 'store.lock'), '999999999\n');
    const s = await FileStore.open(dir);
    await s.close();
  });
});
