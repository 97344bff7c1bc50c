import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyOp, FileRoomStore, RoomOp, RoomState } from '../../extension/core/store/roomStore';

describe('FileRoomStore: snapshot + journal', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'p2p-store-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function drive(store: FileRoomStore, state: RoomState, ops: RoomOp[]) {
    for (const op of ops) {
      applyOp(state, op);
      store.record(op, state);
    }
  }
  const text = (t: string) => ({ kind: 'text' as const, text: t });

  it('a reopened store has every recorded change, and the same epoch', () => {
    const file = join(dir, 'room.json');
    const s1 = new FileRoomStore(file);
    const state = s1.load();
    drive(s1, state, [
      { op: 'add', entry: { seq: 1, sentAt: 1, body: text('a'), pending: ['p', 'q'] } },
      { op: 'add', entry: { seq: 2, sentAt: 2, body: text('b'), pending: ['p'] } },
      { op: 'pending', seq: 1, pending: ['q'] },
      { op: 'remove', seq: 2 },
      { op: 'delivered', sender: 'p', epoch: 7, seq: 41 },
    ]);
    const again = new FileRoomStore(file).load();
    assert.equal(again.epoch, state.epoch);
    assert.equal(again.nextSeq, 3);
    assert.deepEqual(again.outbox, [{ seq: 1, sentAt: 1, body: text('a'), pending: ['q'] }]);
    assert.deepEqual(again.delivered, { p: { epoch: 7, seq: 41 } });
  });

  it('an open entry (? marker) and a rejection survive a reopen', () => {
    const file = join(dir, 'room.json');
    const s1 = new FileRoomStore(file);
    const state = s1.load();
    drive(s1, state, [
      { op: 'add', entry: { seq: 1, sentAt: 1, body: text('early'), pending: ['?'] } },
      { op: 'pending', seq: 1, pending: ['?', 'p'] },
      { op: 'add', entry: { seq: 2, sentAt: 2, body: text('refused'), pending: ['p', 'q'] } },
      { op: 'rejected', seq: 2, reason: 'Pat refused it: the text is longer than 65,536 characters' },
      { op: 'pending', seq: 2, pending: ['q'] },
    ]);
    const again = new FileRoomStore(file).load();
    assert.deepEqual(again.outbox, [
      { seq: 1, sentAt: 1, body: text('early'), pending: ['?', 'p'] },
      { seq: 2, sentAt: 2, body: text('refused'), pending: ['q'], rejected: 'Pat refused it: the text is longer than 65,536 characters' },
    ]);
  });

  it('a torn last journal line (a crash mid-append) loses only that change', () => {
    const file = join(dir, 'room.json');
    const s1 = new FileRoomStore(file);
    const state = s1.load();
    drive(s1, state, [{ op: 'add', entry: { seq: 1, sentAt: 1, body: text('kept'), pending: ['p'] } }]);
    appendFileSync(`${file}.log`, '{"op":"add","entry":{"seq":2,"sen');
    const again = new FileRoomStore(file).load();
    assert.deepEqual(again.outbox.map((e) => e.seq), [1]);
  });

  it('compacts into the snapshot and empties the journal', () => {
    const file = join(dir, 'room.json');
    const store = new FileRoomStore(file, { compactEvery: 10 });
    const state = store.load();
    for (let i = 1; i <= 25; i++) drive(store, state, [{ op: 'add', entry: { seq: i, sentAt: i, body: text(`m${i}`), pending: ['p'] } }]);
    assert.ok(readFileSync(`${file}.log`, 'utf8').split('\n').filter(Boolean).length < 10);
    assert.equal(new FileRoomStore(file).load().outbox.length, 25);
  });

  it('a damaged snapshot starts fresh with a new epoch rather than crashing', () => {
    const file = join(dir, 'room.json');
    writeFileSync(file, '{not json');
    const s = new FileRoomStore(file).load();
    assert.equal(s.outbox.length, 0);
    assert.equal(s.nextSeq, 1);
  });
});
