import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { decodeHistoryLine, HistoryStore, type HistoryEntry } from '../../extension/core/store/history';

function entry(i: number, own = false): HistoryEntry {
  return {
    id: `p-1-${i}`,
    from: own ? 'me' : 'peer',
    fromName: own ? 'Me' : 'Bob',
    own,
    sentAt: 1_700_000_000_000 + i,
    body: { kind: 'text', text: `message ${i}` },
    ...(own ? { delivery: 'queued' as const } : {}),
  };
}

describe('HistoryStore', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'history-'));
    file = path.join(dir, 'history', 'room.jsonl');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is empty when the file does not exist, and creates its folder on the first append', () => {
    const h = new HistoryStore(file);
    assert.deepEqual(h.load(), []);
    h.append(entry(1));
    assert.ok(existsSync(file));
    assert.deepEqual(new HistoryStore(file).load(), [entry(1)]);
  });

  it('keeps order and folds delivery updates into own messages, never stepping back', () => {
    const h = new HistoryStore(file);
    h.append(entry(1, true));
    h.append(entry(2));
    h.updateDelivery('p-1-1', 'sent');
    h.updateDelivery('p-1-1', 'delivered');
    h.updateDelivery('p-1-1', 'sent'); // a second peer connecting re-sends
    h.updateDelivery('p-1-2', 'delivered'); // not ours: ignored
    const loaded = new HistoryStore(file).load();
    assert.deepEqual(
      loaded.map((e) => [e.id, e.delivery]),
      [
        ['p-1-1', 'delivered'],
        ['p-1-2', undefined],
      ],
    );
    assert.deepEqual(loaded[1].body, { kind: 'text', text: 'message 2' });
  });

  it('round-trips snippets', () => {
    const h = new HistoryStore(file);
    const e: HistoryEntry = {
      ...entry(3),
      body: { kind: 'snippet', snippet: { path: 'src/a.ts', language: 'typescript', startLine: 2, endLine: 4, code: 'a\nb\nc' }, text: 'look' },
    };
    h.append(e);
    assert.deepEqual(new HistoryStore(file).load(), [e]);
  });

  it('tolerates a torn last line and appends cleanly after it', () => {
    const h = new HistoryStore(file);
    h.append(entry(1));
    h.append(entry(2));
    appendFileSync(file, '{"k":"m","e":{"id":"p-1-3","fr'); // crash mid-write
    const again = new HistoryStore(file);
    assert.deepEqual(again.load().map((e) => e.id), ['p-1-1', 'p-1-2']);
    assert.equal(again.skippedLines, 1);
    again.append(entry(4));
    assert.deepEqual(new HistoryStore(file).load().map((e) => e.id), ['p-1-1', 'p-1-2', 'p-1-4']);
    assert.ok(readFileSync(file, 'utf8').endsWith('\n'));
  });

  it('keeps a complete last record that only lacks its newline', () => {
    const h = new HistoryStore(file);
    h.append(entry(1));
    appendFileSync(file, JSON.stringify({ k: 'm', e: entry(2) }));
    const again = new HistoryStore(file);
    assert.deepEqual(again.load().map((e) => e.id), ['p-1-1', 'p-1-2']);
    again.append(entry(3));
    assert.deepEqual(new HistoryStore(file).load().map((e) => e.id), ['p-1-1', 'p-1-2', 'p-1-3']);
  });

  it('skips damaged lines anywhere, and never throws on garbage', () => {
    const h = new HistoryStore(file);
    h.append(entry(1));
    appendFileSync(file, 'not json\n{"k":"m","e":{"id":5}}\n[1,2]\nnull\n{"k":"d","id":"x","d":"lost"}\n');
    h.append(entry(2));
    const again = new HistoryStore(file);
    assert.deepEqual(again.load().map((e) => e.id), ['p-1-1', 'p-1-2']);
    assert.equal(again.skippedLines, 5);
    for (const junk of ['', '{', '{"k":"m","e":{"id":"a","from":"b","fromName":"c","own":false,"sentAt":1,"body":{"kind":"snippet","snippet":{}}}}', '"str"']) {
      assert.equal(decodeHistoryLine(junk), undefined);
    }
  });

  it('is bounded: compacts to the newest entries, keeping their delivery state', () => {
    const h = new HistoryStore(file, { maxEntries: 10, maxRecords: 20 });
    for (let i = 1; i <= 15; i++) {
      h.append(entry(i, true));
      h.updateDelivery(`p-1-${i}`, 'delivered');
    }
    // 30 records were written; a compaction ran when the 21st landed, so the file stays small.
    assert.ok(h.recordCount <= 20, `records ${h.recordCount}`);
    const loaded = new HistoryStore(file, { maxEntries: 10 }).load();
    assert.deepEqual(
      loaded.map((e) => e.id),
      Array.from({ length: 10 }, (_, i) => `p-1-${i + 6}`),
    );
    assert.ok(loaded.every((e) => e.delivery === 'delivered'));
    const lines = readFileSync(file, 'utf8').trim().split('\n').length;
    assert.ok(lines <= 20, `lines ${lines}`);
  });

  it('load returns at most maxEntries even before a compaction', () => {
    const big = new HistoryStore(file, { maxEntries: 100 });
    for (let i = 1; i <= 50; i++) big.append(entry(i));
    assert.deepEqual(new HistoryStore(file, { maxEntries: 5 }).load().map((e) => e.id), ['p-1-46', 'p-1-47', 'p-1-48', 'p-1-49', 'p-1-50']);
  });

  it('clear truncates; later appends start a new history', () => {
    const h = new HistoryStore(file);
    h.append(entry(1));
    h.clear();
    assert.equal(readFileSync(file, 'utf8'), '');
    assert.deepEqual(new HistoryStore(file).load(), []);
    h.append(entry(2));
    assert.deepEqual(new HistoryStore(file).load().map((e) => e.id), ['p-1-2']);
  });

  it('a re-appended id replaces the earlier entry in place', () => {
    const h = new HistoryStore(file);
    h.append(entry(1));
    h.append(entry(2));
    h.append({ ...entry(1), fromName: 'Bobby' });
    const loaded = new HistoryStore(file).load();
    assert.deepEqual(loaded.map((e) => [e.id, e.fromName]), [
      ['p-1-1', 'Bobby'],
      ['p-1-2', 'Bob'],
    ]);
  });
});
