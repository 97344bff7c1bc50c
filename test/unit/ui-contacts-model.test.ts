// The rows of the Contacts and Requests views and the own-presence status item (pure models):
// labels, icons and theme colours per presence, context values for the menus, screen-reader labels,
// and peer text made inert (no links, no icons, no line breaks, capped).
import assert from 'node:assert/strict';
import { SCHEME_COLON } from '../../extension/core/inertText';
import {
  contactRow,
  ContactRows,
  contactsUnread,
  orderContacts,
  ownPresenceStatus,
  PRESENCE_ICON,
  requestRow,
  requestsBadgeTooltip,
  type ContactView,
  type RequestView,
} from '../../extension/ui/sidebar/contactModel';

const key = (n: number) => n.toString(16).padStart(64, '0');
const contact = (n: number, over: Partial<ContactView> = {}): ContactView => ({
  key: key(n),
  displayName: `Person ${n}`,
  address: `p${n}@chat.example.org`,
  fingerprint: '1234 5678 9012 3456',
  state: 'accepted',
  undelivered: false,
  presence: 'offline',
  verified: false,
  unread: 0,
  ...over,
});
const request = (over: Partial<RequestView> = {}): RequestView => ({
  id: 'ab12cd34',
  displayName: 'Bob',
  handle: 'bob@chat.example.org',
  note: 'from the standup',
  fingerprint: '9999 8888 7777 6666',
  receivedAt: 1_000_000,
  ...over,
});

describe('Contacts view rows', () => {
  it('presence: a codicon and a theme colour each (online green dot, away clock, offline hollow)', () => {
    const online = contactRow(contact(1, { presence: 'online' }));
    assert.equal(online.icon, 'circle-filled');
    assert.equal(online.color, 'charts.green');
    const away = contactRow(contact(1, { presence: 'away' }));
    assert.equal(away.icon, 'clock');
    assert.equal(away.color, 'charts.yellow');
    const offline = contactRow(contact(1, { presence: 'offline' }));
    assert.equal(offline.icon, 'circle-outline');
    assert.equal(offline.color, 'disabledForeground');
    // Three distinct icons: presence is never told by colour alone (colour-blind users, high contrast themes).
    assert.equal(new Set(Object.values(PRESENCE_ICON).map((p) => p.icon)).size, 3);
  });

  it('label, description with unread and the verified mark, tooltip, context value', () => {
    const r = contactRow(contact(2, { presence: 'online', unread: 3, verified: true }));
    assert.equal(r.label.value, 'Person 2');
    assert.equal(r.description.value, '(3, ✓ verified) p2@chat.example.org');
    assert.equal(r.contextValue, 'contact.accepted.verified');
    assert.match(r.tooltip.value, /^Person 2 <p2@chat\.example\.org>\nonline\nverified .*\nfingerprint 1234 5678 9012 3456\n3 unread messages$/);
    const plain = contactRow(contact(3));
    assert.equal(plain.description.value, 'p3@chat.example.org');
    assert.equal(plain.contextValue, 'contact.accepted.unverified');
    assert.equal(contactRow(contact(4, { unread: 250 })).description.value, '(99+) p4@chat.example.org');
  });

  it('a contact added by link has no address; a pending request shows as such, with no Message', () => {
    const link = contactRow(contact(5, { address: '' }));
    assert.equal(link.description.value, '');
    const pending = contactRow(contact(6, { state: 'requested', undelivered: true }));
    assert.equal(pending.icon, 'mail');
    assert.equal(pending.contextValue, 'contact.requested');
    assert.equal(pending.description.value, '(pending) p6@chat.example.org');
    assert.match(pending.accessibilityLabel.value, /request not delivered yet/);
    assert.match(contactRow(contact(6, { state: 'requested' })).tooltip.value, /waiting for an answer/);
  });

  it('screen-reader labels say name, presence, verification and unread in words', () => {
    assert.equal(contactRow(contact(7, { presence: 'away', unread: 1, verified: true })).accessibilityLabel.value, 'Person 7, away, verified, 1 unread message');
    assert.equal(contactRow(contact(7)).accessibilityLabel.value, 'Person 7, offline, not verified, no unread messages');
  });

  it('peer text is inert: no links, no icons, no line breaks or bidi, capped', () => {
    const evil = contactRow(
      contact(8, {
        displayName: '$(verified-filled) [click](command:p2pChat.blockContact)\nline2\u202e',
        address: 'x@[y](https://evil.example)',
      }),
    );
    for (const t of [evil.label, evil.description, evil.tooltip, evil.accessibilityLabel]) {
      assert.ok(!t.value.includes('$('), t.value);
      assert.ok(!t.value.includes(']('), t.value);
      assert.ok(!/command:|https:/.test(t.value), t.value);
      assert.ok(!t.value.includes('\u202e'), t.value);
    }
    assert.ok(evil.label.value.includes(`command${SCHEME_COLON}`));
    assert.ok(!evil.label.value.includes('\n'));
    assert.ok([...contactRow(contact(9, { displayName: 'x'.repeat(500) })).label.value].length <= 64);
  });

  it('orders online, away, offline, then pending requests; unread first within a presence; totals unread', () => {
    const list = [
      contact(1, { displayName: 'Zed', presence: 'offline', unread: 2 }),
      contact(2, { displayName: 'Amy', presence: 'away' }),
      contact(3, { displayName: 'Bea', presence: 'online' }),
      contact(4, { displayName: 'Cal', state: 'requested', presence: 'offline' }),
      contact(5, { displayName: 'Abe', presence: 'offline' }),
      contact(6, { displayName: 'Ann', presence: 'online', unread: 1 }),
    ];
    assert.deepEqual(orderContacts(list).map((c) => c.displayName), ['Ann', 'Bea', 'Amy', 'Zed', 'Abe', 'Cal']);
    assert.equal(contactsUnread(list), 3);
  });
});

describe('Requests view rows', () => {
  it('label, description with handle and note, tooltip with fingerprint, context value, icon', () => {
    const r = requestRow(request(), 1_000_000 + 5 * 60_000);
    assert.equal(r.label.value, 'Bob');
    assert.equal(r.description.value, 'bob@chat.example.org — from the standup');
    assert.equal(r.contextValue, 'request');
    assert.equal(r.icon, 'person-add');
    assert.match(r.tooltip.value, /Contact request from Bob <bob@chat\.example\.org>\nNote: from the standup\nfingerprint 9999 8888 7777 6666\nreceived 5 min ago/);
    assert.equal(r.accessibilityLabel.value, 'Contact request from Bob, bob@chat.example.org, note: from the standup');
    assert.equal(requestRow(request({ note: '', handle: '' }), 0).description.value, '');
    assert.equal(requestsBadgeTooltip(1).value, '1 contact request');
    assert.equal(requestsBadgeTooltip(4).value, '4 contact requests');
  });

  it("a stranger's note cannot become a link, an icon or extra lines in the label or description", () => {
    const r = requestRow(request({ displayName: 'Eve\u200b$(check)', note: '[accept me](command:p2pChat.acceptRequest?%22x%22)\n\nsecond line' }), 0);
    for (const t of [r.label, r.description, r.accessibilityLabel]) {
      assert.ok(!t.value.includes('\n'), t.value);
      assert.ok(!t.value.includes(']('), t.value);
      assert.ok(!t.value.includes('$('), t.value);
      assert.ok(!t.value.includes('command:'), t.value);
      assert.ok(!t.value.includes('\u200b'), t.value);
    }
    assert.ok(!r.tooltip.value.includes(']('));
  });
});

describe('own presence in the status bar', () => {
  it('icon and words per presence; Appear Offline says so; the handle cannot add an icon', () => {
    assert.equal(ownPresenceStatus('online', 'alice@h').text.value, '$(circle-filled) Online');
    assert.equal(ownPresenceStatus('away', 'alice@h').text.value, '$(clock) Away');
    const off = ownPresenceStatus('offline', 'alice@h');
    assert.equal(off.text.value, '$(circle-slash) Offline');
    assert.match(off.tooltip.value, /alice@h, appearing offline\. Click to set your presence \(Appear Offline/);
    assert.match(ownPresenceStatus('online', undefined).tooltip.value, /not signed up/);
    assert.ok(!ownPresenceStatus('online', '$(bug)x').tooltip.value.includes('$('));
  });
});

describe('Contacts view: only the rows that changed are redrawn', () => {
  it('hands out the same objects, redraws a row whose content changed in place, and everything when rows come, go or move', () => {
    const rows = new ContactRows();
    const a = contact(1, { presence: 'online' });
    const b = contact(2, { presence: 'online' });
    const drawn = rows.draw([a, b]);
    assert.deepEqual(drawn.map((c) => c.key), [a.key, b.key]);
    // Nothing changed (a message in another conversation fired the source): nothing to redraw.
    assert.deepEqual(rows.update([contact(1, { presence: 'online' }), contact(2, { presence: 'online' })]), []);
    // A's unread count changes (A stays first): only A, as the very object VS Code holds, now with the new count.
    const changed = rows.update([contact(1, { presence: 'online', unread: 1 }), contact(2, { presence: 'online' })]);
    assert.ok(changed !== 'all');
    assert.equal(changed.length, 1);
    assert.equal(changed[0], drawn[0]);
    assert.equal(drawn[0].unread, 1);
    assert.equal(rows.draw([contact(1, { presence: 'online', unread: 1 }), contact(2, { presence: 'online' })])[0], drawn[0]);
    // A goes offline: the order changes (online first), so the whole list.
    assert.equal(rows.update([contact(1), contact(2, { presence: 'online' })]), 'all');
    rows.draw([contact(1), contact(2, { presence: 'online' })]);
    // A contact added or removed: the whole list.
    assert.equal(rows.update([contact(1), contact(2, { presence: 'online' }), contact(3)]), 'all');
  });
});
