import assert from 'node:assert/strict';
import { SCHEME_COLON } from '../../extension/core/inertText';
import {
  badgeTooltip,
  conversationRow,
  loadConversations,
  mentions,
  orderConversations,
  rowsToRedraw,
  saveConversations,
  totalUnread,
  type ConversationMeta,
} from '../../extension/ui/sidebar/conversationModel';

const id = (n: number) => n.toString(16).padStart(64, '0');
const conv = (n: number, over: Partial<ConversationMeta> = {}): ConversationMeta => ({
  id: id(n),
  name: `Room ${n}`,
  joined: true,
  unread: 0,
  mentions: 0,
  lastAt: 0,
  muted: false,
  ...over,
});

describe('Conversations view-model (sidebar)', () => {
  it('orders most recent first, ties by label then id', () => {
    const list = [conv(1, { lastAt: 10 }), conv(2, { lastAt: 30 }), conv(3, { lastAt: 10, name: 'A room' }), conv(4, { lastAt: 20 })];
    assert.deepEqual(
      orderConversations(list).map((c) => c.id),
      [id(2), id(4), id(3), id(1)],
    );
  });

  it('redraws only the rows that changed while the list keeps its rows and order, else the whole list', () => {
    const list = orderConversations([conv(1, { lastAt: 30 }), conv(2, { lastAt: 20 }), conv(3, { lastAt: 10 })]);
    const drawn = list.map((c) => c.id);
    // A count or preview changed in place: just that row (the same object the tree was given).
    const r = rowsToRedraw(drawn, list, [id(2)]);
    assert.ok(r !== 'all');
    assert.equal(r.length, 1);
    assert.equal(r[0], list[1]);
    // The active mark moved: the two rows; unknown ids are ignored; nothing changed, nothing redrawn.
    assert.deepEqual((rowsToRedraw(drawn, list, [id(1), id(3), id(9)]) as ConversationMeta[]).map((c) => c.id), [id(1), id(3)]);
    assert.deepEqual(rowsToRedraw(drawn, list, []), []);
    // A row moved up (a message in an older conversation), came or went, or the list changed: everything.
    const moved = orderConversations([{ ...list[2], lastAt: 40 }, list[0], list[1]]);
    assert.equal(rowsToRedraw(drawn, moved, [id(3)]), 'all');
    assert.equal(rowsToRedraw(drawn, [...list, conv(4)], [id(4)]), 'all');
    assert.equal(rowsToRedraw(drawn, list.slice(0, 2), [id(1)]), 'all');
    assert.equal(rowsToRedraw(drawn, list, undefined), 'all');
    // Never drawn yet (the view was hidden): the whole list when it is asked for.
    assert.equal(rowsToRedraw([], list, [id(1)]), 'all');
  });

  it('badge: unread of unmuted conversations plus mentions in muted ones', () => {
    const list = [conv(1, { unread: 3 }), conv(2, { unread: 5, muted: true, mentions: 1 }), conv(3, { unread: 2, joined: false })];
    assert.equal(totalUnread(list), 6);
    assert.equal(totalUnread([]), 0);
    assert.equal(badgeTooltip(1).value, '1 unread message');
    assert.equal(badgeTooltip(6).value, '6 unread messages');
  });

  it('row: label, counts, preview, icon, context value and screen-reader label', () => {
    const r = conversationRow(conv(1, { unread: 2, preview: 'see you at 3', previewFrom: 'bob', lastAt: 1000 }), true, 1000);
    assert.equal(r.label.value, 'Room 1');
    assert.equal(r.description.value, '(2) bob: see you at 3');
    assert.equal(r.icon, 'comment-unresolved');
    assert.equal(r.contextValue, 'conversation.joined.unmuted.active');
    assert.equal(r.accessibilityLabel.value, 'Room 1, open, active, 2 unread messages, last message bob: see you at 3');
    assert.match(r.tooltip.value, /2 unread messages\nlast: bob: see you at 3 \(just now\)/);

    const h = conversationRow(conv(2, { joined: false, muted: true, unread: 7, mentions: 0 }), false, 0);
    assert.equal(h.description.value, '(muted)');
    assert.equal(h.icon, 'history');
    assert.equal(h.contextValue, 'conversation.history.muted');
    assert.equal(h.accessibilityLabel.value, 'Room 2, history only, no unread messages, muted');

    const big = conversationRow(conv(3, { unread: 250 }), false, 0);
    assert.equal(big.description.value, '(250)'.replace('250', '99+'));
  });

  it('peer text in rows is inert: no links, no icons, no line breaks, capped', () => {
    const hostile = conversationRow(
      conv(1, {
        name: '$(verified-filled) [x](command:workbench.action.quit)\u202e',
        preview: 'hi [click](https://evil.example)\nsecond line $(bell)',
        previewFrom: 'mallory\u200b$(key)',
        unread: 1,
      }),
      false,
      0,
    );
    for (const t of [hostile.label, hostile.description, hostile.tooltip, hostile.accessibilityLabel]) {
      assert.doesNotMatch(t.value, /\$\(/);
      assert.doesNotMatch(t.value, /\]\(/);
      assert.doesNotMatch(t.value, /command:|https:/);
      assert.doesNotMatch(t.value, /[\u200b\u202e]/);
    }
    assert.ok(hostile.label.value.includes(`command${SCHEME_COLON}`));
    assert.doesNotMatch(hostile.description.value, /\n/);
    const long = conversationRow(conv(2, { name: 'x'.repeat(500), preview: 'y'.repeat(500) }), false, 0);
    assert.ok([...long.label.value].length <= 64);
    assert.ok([...long.description.value].length <= 80);
  });

  it('mentions: @name, whole word, case-insensitive, not inside an e-mail address', () => {
    assert.ok(mentions('hey @alice, look', 'alice'));
    assert.ok(mentions('@Alice', 'alice'));
    assert.ok(mentions('ping @alice.', 'alice'));
    assert.ok(!mentions('hey @alicex', 'alice'));
    assert.ok(!mentions('mail bob@alice', 'alice'));
    assert.ok(!mentions('alice without at', 'alice'));
    assert.ok(!mentions('@', ''));
    assert.ok(mentions('hi @a.b+c', 'a.b+c'), 'names with regex characters are matched literally');
    assert.ok(!mentions('hi @aXb', 'a.b'));
  });

  it('migration: rooms of the one-room version appear (last room with its label, every history file)', () => {
    const list = loadConversations(undefined, {
      lastRoom: { roomIdHex: id(1), label: 'design-review' },
      historyIds: [id(1), id(2), 'not-a-room', id(3)],
      historyTimes: new Map([[id(2), 500]]),
    });
    assert.deepEqual(
      list.map((c) => [c.id, c.name, c.joined, c.lastAt]),
      [
        [id(1), 'design-review', false, 0],
        [id(2), `Room ${id(2).slice(0, 8)}`, false, 500],
        [id(3), `Room ${id(3).slice(0, 8)}`, false, 0],
      ],
    );
    // The last room without a history file is listed too.
    assert.equal(loadConversations(undefined, { lastRoom: { roomIdHex: id(9), label: 'x' } }).length, 1);
  });

  it('stored list round-trips without `joined`, and bad entries are dropped', () => {
    const saved = saveConversations([conv(1, { unread: 2, muted: true, preview: 'p', previewFrom: 'bob', lastAt: 7 })]);
    assert.equal((saved[0] as Record<string, unknown>).joined, undefined);
    const back = loadConversations(JSON.parse(JSON.stringify(saved)));
    assert.deepEqual(back, [conv(1, { unread: 2, muted: true, preview: 'p', previewFrom: 'bob', lastAt: 7, joined: false })]);
    const junk = loadConversations([null, 3, { id: 'short', name: 'x' }, { id: id(4), name: 5 }, { id: id(5), name: 'ok', unread: -1, lastAt: 'x' }, { id: id(5), name: 'dup' }], {});
    assert.deepEqual(junk, [conv(5, { name: 'ok', joined: false })]);
    assert.deepEqual(loadConversations({ not: 'a list' }), []);
  });
});
