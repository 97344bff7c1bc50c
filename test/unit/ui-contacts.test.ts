import assert from 'node:assert/strict';
import type { MemberInfo } from '../../extension/core/types';
import { CONTACTS_KEY, ContactBook, type StateStore } from '../../extension/ui/contacts';

class MemoryState implements StateStore {
  data = new Map<string, unknown>();
  writes = 0;
  get<T>(key: string): T | undefined {
    return this.data.get(key) as T | undefined;
  }
  update(key: string, value: unknown): Promise<void> {
    this.writes++;
    this.data.set(key, JSON.parse(JSON.stringify(value)));
    return Promise.resolve();
  }
}

const m = (peerId: string, name: string, presence: MemberInfo['presence'] = 'online'): MemberInfo => ({ peerId, name, presence });

describe('ContactBook (TOFU)', () => {
  let state: MemoryState;
  let now: number;
  let book: ContactBook;
  beforeEach(() => {
    state = new MemoryState();
    now = 1_000_000;
    book = new ContactBook(state, () => now);
  });

  it('pins a new key with its name, unverified, and persists it', async () => {
    assert.deepEqual(book.observe([m('k1', 'Alice')]), []);
    await Promise.resolve();
    assert.equal(book.get('k1')?.name, 'Alice');
    assert.equal(book.get('k1')?.verified, false);
    const again = new ContactBook(state, () => now);
    assert.equal(again.get('k1')?.name, 'Alice');
    assert.deepEqual(book.decorate([m('k1', 'Alice')]).map((x) => x.verified), [false]);
  });

  it('ignores members whose link is not authenticated yet (offline) and nameless ones', () => {
    book.observe([m('k1', 'Alice', 'offline'), m('k2', '')]);
    assert.equal(book.all().length, 0);
  });

  it('a known name with another key is a warning, once per session, and that member is never verified', async () => {
    book.observe([m('k1', 'Alice')]);
    await book.setVerified('k1', 'Alice', true);
    const w = book.observe([m('k2', ' alice ')]);
    assert.deepEqual(w, [{ peerId: 'k2', name: ' alice ', knownPeerIds: ['k1'] }]);
    assert.deepEqual(book.observe([m('k2', ' alice ')]), [], 'not repeated');
    assert.equal(book.get('k2'), undefined, 'the new key is not pinned silently');
    assert.ok(book.isConflicted('k2'));
    assert.deepEqual(book.decorate([m('k1', 'Alice'), m('k2', 'alice')]).map((x) => x.verified), [true, false]);
    // A new session (window reload) warns again.
    const later = new ContactBook(state, () => now);
    assert.equal(later.observe([m('k2', 'ALICE')]).length, 1);
  });

  it('Mark as Verified pins the key as verified and clears the conflict; unverify takes it back', async () => {
    book.observe([m('k1', 'Alice')]);
    book.observe([m('k2', 'Alice')]);
    await book.setVerified('k2', 'Alice', true);
    assert.equal(book.isConflicted('k2'), false);
    assert.deepEqual(book.decorate([m('k2', 'Alice')]).map((x) => x.verified), [true]);
    await book.setVerified('k2', 'Alice', false);
    assert.deepEqual(book.decorate([m('k2', 'Alice')]).map((x) => x.verified), [false]);
    assert.equal(new ContactBook(state).get('k2')?.verified, false);
  });

  it('a renamed known key is just renamed; lastSeen writes are rate-limited', () => {
    book.observe([m('k1', 'Alice')]);
    const writes = state.writes;
    book.observe([m('k1', 'Alice')]);
    assert.equal(state.writes, writes, 'no write for an unchanged member');
    book.observe([m('k1', 'Alice B.')]);
    assert.equal(book.get('k1')?.name, 'Alice B.');
    now += 2 * 3600_000;
    book.observe([m('k1', 'Alice B.')]);
    assert.equal(book.get('k1')?.lastSeen, now);
  });

  it('ignores damaged stored entries', () => {
    state.data.set(CONTACTS_KEY, { a: { peerId: 'a' }, b: 5, c: { peerId: 'c', name: 'C', firstSeen: 1, lastSeen: 1, verified: true } });
    const b = new ContactBook(state);
    assert.deepEqual(b.all().map((c) => c.peerId), ['c']);
  });

  it('stays bounded, evicting the least recently seen unverified contacts first', async () => {
    const small = new ContactBook(state, () => now, 3);
    small.observe([m('v', 'V')]);
    await small.setVerified('v', 'V', true);
    for (const id of ['a', 'b', 'c']) {
      now += 1000;
      small.observe([m(id, id.toUpperCase())]);
    }
    assert.deepEqual(small.all().map((c) => c.peerId).sort(), ['b', 'c', 'v']);
  });
});
