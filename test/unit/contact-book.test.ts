import assert from 'node:assert/strict';
import { ContactBook, type Contact } from '../../extension/core/contacts/book';

const K = (n: number) => n.toString(16).padStart(2, '0').repeat(32);
const c = (key: string, over: Partial<Contact> = {}): Contact => ({
  staticKey: key,
  signingKey: '00'.repeat(32),
  displayName: 'Bob',
  address: 'bob@h:1',
  server: 'h:1',
  state: 'requested',
  addedAt: 1,
  ...over,
});

describe('contacts: the contact book (TOFU pins)', () => {
  it('pins a key once; the same key again is the same contact; accepting upgrades the state', () => {
    const book = new ContactBook(K(0));
    const a = book.add(c(K(1)));
    assert.ok(a.ok && !a.existed);
    const again = book.add(c(K(1), { state: 'accepted' }));
    assert.ok(again.ok && again.existed);
    assert.equal(book.get(K(1))?.state, 'accepted');
    assert.equal(book.markAccepted(K(1)), false, 'already accepted');
  });

  it('refuses another key under a pinned address, loudly, and our own key', () => {
    const book = new ContactBook(K(0), [c(K(1), { state: 'accepted' })]);
    const swapped = book.add(c(K(2)));
    assert.equal(swapped.ok, false);
    assert.ok(!swapped.ok && swapped.reason === 'keyChanged' && /now has another key/.test(swapped.message));
    assert.equal(book.get(K(2)), undefined);
    assert.deepEqual(book.add(c(K(0))), { ok: false, reason: 'self', message: 'that is your own key' });
    // After the user removes the old contact, the new key can be added (and is then what is pinned).
    assert.ok(book.remove(K(1)));
    assert.ok(book.add(c(K(2))).ok);
  });

  it('finds a contact by key, key prefix, address, bare handle or display name', () => {
    const book = new ContactBook(K(0), [c(K(1)), c(K(2), { address: 'carol@h:1', displayName: 'Carol' })]);
    assert.equal(book.find(K(2))?.displayName, 'Carol');
    assert.equal(book.find(K(2).slice(0, 10))?.displayName, 'Carol');
    assert.equal(book.find('carol@h:1')?.staticKey, K(2));
    assert.equal(book.find('carol')?.staticKey, K(2));
    assert.equal(book.find('Bob')?.staticKey, K(1));
    assert.equal(book.find('nobody'), undefined);
    assert.equal(book.find('02'), undefined, 'a short prefix is ambiguous by rule');
  });
});
