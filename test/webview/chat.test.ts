// Behaviour of the chat webview in headless Chromium, under the real CSP from webviewHtml.ts.
import assert from 'node:assert/strict';
import type { ConnectionState } from '../../extension/core/types';
import type { WebviewToHost } from '../../extension/shared/protocol';
import { NOW, startHarness, type ChatPage, type Harness } from './harness';
import { ALICE, BOB, MEMBERS, SELF, SNIPPET, entry, init } from './fixtures';

const min = 60_000;

describe('chat webview', function () {
  this.timeout(30_000);
  let h: Harness;
  let chat: ChatPage;
  before(async () => {
    h = await startHarness();
  });
  after(async () => h?.close());
  beforeEach(async () => {
    chat = await h.open();
  });
  afterEach(async () => {
    // Every test runs under the strict CSP: our own code must never trip it.
    const violations = await chat.cspViolations();
    await chat.close();
    assert.deepEqual(violations, [], 'CSP violations');
    assert.deepEqual(chat.foreignRequests, [], 'requests outside the harness');
  });

  const $ = (sel: string) => chat.page.locator(sel);
  const postedOfType = async <T extends WebviewToHost['type']>(type: T) =>
    (await chat.posted()).filter((m): m is Extract<WebviewToHost, { type: T }> => m.type === type);

  it('posts ready on load and shows nothing stale before init', async () => {
    assert.deepEqual((await chat.posted())[0], { type: 'ready' });
    assert.equal(await $('#p2p-banner').isVisible(), false);
  });

  it('renders the init state', async () => {
    await chat.host(init());
    assert.equal(await $('#p2p-room').textContent(), 'nat-lab');
    assert.equal(await $('[data-testid="named-room"]').isVisible(), false);
    assert.equal(await $('#p2p-copy-invite').isVisible(), true);
    assert.equal(await $('#p2p-banner').getAttribute('data-state'), 'connected');

    // members: sorted online → away → offline, with presence, verification and path
    assert.deepEqual(await $('#p2p-members .p2p-member-name').allTextContents(), ['Alice', 'Bob', 'Carol']);
    assert.deepEqual(await $('#p2p-members .p2p-member').evaluateAll((els: any[]) => els.map((e) => e.dataset.presence)), ['online', 'away', 'offline']);
    assert.equal(await $(`.p2p-member[data-peer-id="${ALICE}"] .p2p-verified`).count(), 1);
    assert.equal(await $(`.p2p-member[data-peer-id="${BOB}"] .p2p-verify`).count(), 1);
    assert.equal(await $(`.p2p-member[data-peer-id="${ALICE}"] .p2p-path`).getAttribute('data-path'), 'direct');
    assert.equal(await $(`.p2p-member[data-peer-id="${BOB}"] .p2p-path`).getAttribute('data-path'), 'relayed');
    assert.equal(await $('#p2p-member-count').textContent(), '2/3');

    // transcript
    assert.equal(await $('#p2p-transcript').getAttribute('role'), 'log');
    assert.equal(await $('#p2p-transcript').getAttribute('aria-live'), 'polite');
    assert.equal(await $('.p2p-message').count(), 9);
    assert.deepEqual(await $('.p2p-day').allTextContents(), ['Yesterday', 'Today']);
    assert.equal(await $('.p2p-message[data-id="b:3"] .p2p-body strong').textContent(), 'symmetric');
    assert.equal(await $('.p2p-message[data-id="b:3"] .p2p-body li').count(), 2);
    const link = $('.p2p-message[data-id="c:1"] a');
    assert.equal(await link.getAttribute('href'), 'https://datatracker.ietf.org/doc/html/rfc8445');
    assert.equal(await link.getAttribute('rel'), 'noopener noreferrer');
    // fenced code is highlighted (once its grammar has loaded: scripts of their own) and uses the editor font
    await $('.p2p-message[data-id="a:4"] pre code span[class^="hljs-"]').first().waitFor();
    assert.equal(await $('.p2p-message[data-id="a:4"] pre code[data-hl-pending]').count(), 0);
    const codeFont = await $('.p2p-message[data-id="a:4"] pre code').evaluate((e: any) => getComputedStyle(e).fontFamily);
    assert.match(codeFont, /Mono|monospace/);
  });

  it('shows a plain-words banner for every connection state, with Retry / Connect', async () => {
    await chat.host(init());
    const cases: Array<[ConnectionState, RegExp, string | null]> = [
      [{ kind: 'idle' }, /Not connected/, 'connect'],
      [{ kind: 'registering', server: 'rv.example:7000' }, /Contacting the rendezvous server.*rv\.example:7000/s, null],
      [{ kind: 'waiting', roomMembers: 1 }, /Waiting for others to join/, null],
      [{ kind: 'punching', peers: 2 }, /Opening a direct connection to 2 peers/, null],
      [{ kind: 'connected', path: 'direct', peers: 1 }, /Connected directly to 1 peer\b.*encrypted/s, null],
      [{ kind: 'connected', path: 'relayed', peers: 3 }, /Connected to 3 peers through a relay.*encrypted/s, null],
      [{ kind: 'reconnecting', reason: 'peer timed out', attempt: 3 }, /Reconnecting \(attempt 3\).*peer timed out/s, null],
      [{ kind: 'failed', reason: 'rendezvous unreachable', hint: 'Check your firewall allows UDP.' }, /Could not connect: rendezvous unreachable.*Check your firewall allows UDP\./s, 'retry'],
    ];
    for (const [state, text, action] of cases) {
      await chat.clearPosted();
      await chat.host({ type: 'state', state });
      const banner = $('#p2p-banner');
      assert.equal(await banner.getAttribute('data-state'), state.kind);
      assert.match((await banner.textContent()) ?? '', text, state.kind);
      assert.equal(await banner.getAttribute('role'), state.kind === 'failed' ? 'alert' : 'status');
      if (state.kind === 'connected') assert.equal(await banner.getAttribute('data-path'), state.path);
      assert.equal(await $('#p2p-banner button').count(), action ? 1 : 0, `${state.kind} action`);
      if (action) {
        await $(`#p2p-${action}`).click();
        assert.deepEqual(await chat.posted(), [{ type: action }]);
      }
    }
  });

  it('groups consecutive messages by sender, splitting on gaps, senders and days', async () => {
    const t0 = NOW - 60 * min;
    await chat.host(
      init({
        transcript: [
          entry('1', ALICE, 'Alice', t0, 'one'),
          entry('2', ALICE, 'Alice', t0 + 1 * min, 'two'),
          entry('3', ALICE, 'Alice', t0 + 2 * min, 'three'),
          entry('4', BOB, 'Bob', t0 + 3 * min, 'four'),
          entry('5', BOB, 'Bob', t0 + 20 * min, 'five (after a gap)'),
          entry('6', SELF, 'Me', t0 + 21 * min, 'six', true),
          entry('7', SELF, 'Me', t0 + 22 * min, 'seven', true),
        ],
      }),
    );
    const groups = await $('.p2p-group').evaluateAll((gs: any[]) =>
      gs.map((g) => [g.querySelector('.p2p-sender').textContent, g.querySelectorAll('.p2p-message').length]),
    );
    assert.deepEqual(groups, [['Alice', 3], ['Bob', 1], ['Bob', 1], ['Me', 2]]);
    assert.equal(await $('.p2p-group.p2p-own .p2p-you').textContent(), '(you)');
    assert.equal(await $('.p2p-group').first().locator('.p2p-time').textContent(), '2:30 PM');
    // continuation lines still tell screen readers who wrote them
    assert.match((await $('.p2p-message[data-id="2"]').textContent()) ?? '', /^Alice, 2:31 PM: two/);

    // live appends extend the last group or start a new one
    await chat.host({ type: 'message', entry: entry('8', SELF, 'Me', t0 + 23 * min, 'eight', true, 'queued') });
    await chat.host({ type: 'message', entry: entry('9', ALICE, 'Alice', t0 + 24 * min, 'nine') });
    await chat.host({ type: 'message', entry: entry('10', ALICE, 'Alice', NOW + 24 * 60 * min, 'tomorrow') });
    const after = await $('.p2p-group').evaluateAll((gs: any[]) => gs.map((g) => g.querySelectorAll('.p2p-message').length));
    assert.deepEqual(after, [3, 1, 1, 3, 1, 1]);
    assert.equal(await $('.p2p-day').count(), 2, 'a divider for the new day');
    // a re-sent id replaces, not duplicates
    await chat.host({ type: 'message', entry: entry('9', ALICE, 'Alice', t0 + 24 * min, 'nine (edited)') });
    assert.equal(await $('.p2p-message[data-id="9"]').count(), 1);
    assert.match((await $('.p2p-message[data-id="9"] .p2p-body').textContent()) ?? '', /nine \(edited\)/);
  });

  it('shows and updates delivery marks on own messages only', async () => {
    await chat.host(init({ transcript: [entry('p', ALICE, 'Alice', NOW - min, 'hi')] }));
    await chat.host({ type: 'message', entry: entry('m1', SELF, 'Me', NOW, 'hello', true, 'queued') });
    const mark = $('.p2p-message[data-id="m1"] [data-delivery]');
    assert.equal(await mark.getAttribute('data-delivery'), 'queued');
    assert.match((await mark.textContent()) ?? '', /Queued/);
    assert.equal(await mark.locator('.codicon-clock').count(), 1);

    await chat.host({ type: 'delivery', id: 'm1', delivery: 'sent' });
    assert.equal(await mark.getAttribute('data-delivery'), 'sent');
    assert.equal(await mark.locator('.codicon-check').count(), 1);
    assert.equal(await mark.getAttribute('title'), 'Sent');

    await chat.host({ type: 'delivery', id: 'm1', delivery: 'delivered' });
    assert.equal(await mark.getAttribute('data-delivery'), 'delivered');
    assert.equal(await mark.locator('.codicon-check-all').count(), 1);
    assert.match((await mark.textContent()) ?? '', /Delivered/);

    await chat.host({ type: 'delivery', id: 'm1', delivery: 'sent' }); // late, out of order
    assert.equal(await mark.getAttribute('data-delivery'), 'delivered');
    await chat.host({ type: 'delivery', id: 'p', delivery: 'sent' }); // not ours
    assert.equal(await $('.p2p-message[data-id="p"] [data-delivery]').count(), 0);
    await chat.host({ type: 'delivery', id: 'nope', delivery: 'sent' }); // unknown: ignored
  });

  it('sends with Enter, inserts a newline with Shift+Enter, and ignores empty input', async () => {
    await chat.host(init());
    await chat.clearPosted();
    const input = $('#p2p-input');
    await input.focus();
    assert.equal(await $('#p2p-send').isDisabled(), true);
    await chat.page.keyboard.press('Enter');
    await chat.page.keyboard.type('   ');
    await chat.page.keyboard.press('Enter');
    assert.deepEqual(await postedOfType('send'), []);

    await input.fill('');
    await chat.page.keyboard.type('first line');
    await chat.page.keyboard.press('Shift+Enter');
    await chat.page.keyboard.type('second line');
    assert.equal(await input.inputValue(), 'first line\nsecond line');
    assert.deepEqual(await postedOfType('send'), []);
    assert.equal(await $('#p2p-send').isEnabled(), true);
    await chat.page.keyboard.press('Enter');
    assert.deepEqual(await postedOfType('send'), [{ type: 'send', text: 'first line\nsecond line' }]);
    assert.equal(await input.inputValue(), '');
    assert.equal(await chat.page.evaluate(() => (globalThis as any).document.activeElement.id), 'p2p-input');

    await chat.page.keyboard.type('via button');
    await $('#p2p-send').click();
    assert.deepEqual((await postedOfType('send')).map((m) => m.text), ['first line\nsecond line', 'via button']);
    // sending clears the host's draft copy and ends typing at once
    const drafts = await postedOfType('draft');
    assert.equal(drafts[drafts.length - 1]!.text, '');
    const typing = await postedOfType('typing');
    assert.equal(typing[typing.length - 1]!.typing, false);
  });

  it('is usable by keyboard alone, with a visible focus ring', async () => {
    await chat.host(init({ state: { kind: 'failed', reason: 'timeout', hint: 'Try again.' } }));
    await chat.clearPosted();
    await $('#p2p-copy-invite').focus();
    await chat.page.keyboard.press('Enter');
    assert.deepEqual(await chat.posted(), [{ type: 'copyInvite' }]);
    await chat.page.keyboard.press('Tab');
    assert.equal(await chat.page.evaluate(() => (globalThis as any).document.activeElement.id), 'p2p-retry');
    const outline = await $('#p2p-retry').evaluate((e: any) => getComputedStyle(e).outlineStyle + ' ' + getComputedStyle(e).outlineColor);
    assert.match(outline, /^solid rgb\(0, 120, 212\)/, 'focusBorder outline');
    await chat.page.keyboard.press('Space');
    assert.deepEqual((await chat.posted()).slice(-1), [{ type: 'retry' }]);
    // onwards: members summary, the unverified buttons, the transcript, the composer
    const order: string[] = [];
    for (let i = 0; i < 8; i++) {
      await chat.page.keyboard.press('Tab');
      order.push(await chat.page.evaluate(() => {
        const a = (globalThis as any).document.activeElement;
        return a.id || a.className || a.tagName;
      }));
    }
    assert.ok(order.includes('p2p-transcript'), order.join(','));
    assert.ok(order.includes('p2p-input'), order.join(','));
    assert.ok(order.some((o) => o.includes('p2p-verify')), order.join(','));
  });

  it('restores the draft after the panel is hidden and shown again', async () => {
    await chat.host(init());
    await $('#p2p-input').focus();
    await chat.page.keyboard.type('half-written thought');
    await chat.page.clock.runFor(500); // draft debounce
    assert.equal((await postedOfType('draft')).pop()?.text, 'half-written thought');

    await chat.page.reload(); // VS Code re-creates the webview; webview state survives
    await chat.page.waitForFunction(() => (globalThis as any).__posted?.some((m: { type: string }) => m.type === 'ready'));
    assert.equal(await $('#p2p-input').inputValue(), 'half-written thought', 'shown before init arrives');
    await chat.host(init({ draft: 'older host copy' }));
    assert.equal(await $('#p2p-input').inputValue(), 'half-written thought', 'local copy wins over the host');
  });

  it('uses the host draft when the webview has none', async () => {
    await chat.host(init({ draft: 'from the host' }));
    assert.equal(await $('#p2p-input').inputValue(), 'from the host');
    await chat.host(init({ draft: 'a later init does not clobber typing' }));
    assert.equal(await $('#p2p-input').inputValue(), 'from the host');
  });

  describe('several conversations in one panel', () => {
    const A = 'a'.repeat(64);
    const B = 'b'.repeat(64);
    const roomOf = (key: string, label: string) => ({ roomLabel: label, named: false, selfId: SELF, selfName: 'Me', key });

    it('each conversation keeps its own draft: a switch posts the old one with its room and shows the new one', async () => {
      await chat.host(init({ room: roomOf(A, 'Room A') }));
      await $('#p2p-input').focus();
      await chat.page.keyboard.type('for room A');
      await chat.clearPosted();
      await chat.host(init({ room: roomOf(B, 'Room B'), draft: 'for room B' }));
      assert.equal(await $('#p2p-input').inputValue(), 'for room B');
      assert.deepEqual((await postedOfType('draft')).pop(), { type: 'draft', text: 'for room A', room: A });
      await $('#p2p-input').fill('');
      await chat.host(init({ room: roomOf(A, 'Room A'), draft: 'for room A' }));
      assert.equal(await $('#p2p-input').inputValue(), 'for room A');
      await chat.host(init({ room: roomOf(A, 'Room A'), draft: 'stale' }));
      assert.equal(await $('#p2p-input').inputValue(), 'for room A', 'the same conversation again: typing is kept');
    });

    it('a page rebuilt on another conversation does not carry the draft over', async () => {
      await chat.host(init({ room: roomOf(A, 'Room A') }));
      await $('#p2p-input').focus();
      await chat.page.keyboard.type('typed in A');
      await chat.page.clock.runFor(500); // draft debounce
      await chat.page.reload(); // hidden; meanwhile the user opened B from the sidebar
      await chat.page.waitForFunction(() => (globalThis as any).__posted?.some((m: { type: string }) => m.type === 'ready'));
      await chat.clearPosted();
      await chat.host(init({ room: roomOf(B, 'Room B'), draft: 'B from the host' }));
      assert.equal(await $('#p2p-input').inputValue(), 'B from the host');
      assert.deepEqual((await postedOfType('draft')).pop(), { type: 'draft', text: 'typed in A', room: A });
    });
  });

  it('throttles typing notifications', async () => {
    await chat.host(init());
    await chat.page.clock.pauseAt(NOW + 10_000);
    await chat.clearPosted();
    await $('#p2p-input').focus();
    await chat.page.keyboard.type('abc');
    assert.deepEqual(await postedOfType('typing'), [{ type: 'typing', typing: true }], 'one true for a burst');
    await chat.page.clock.runFor(3_100);
    await chat.page.keyboard.type('d');
    assert.equal((await postedOfType('typing')).length, 2, 'refreshed after the repeat interval');
    await chat.page.clock.runFor(4_200);
    assert.deepEqual((await postedOfType('typing')).pop(), { type: 'typing', typing: false }, 'false after idling');
    await chat.page.keyboard.type('e');
    await chat.page.keyboard.press('Control+a');
    await chat.page.keyboard.press('Backspace');
    assert.deepEqual((await postedOfType('typing')).pop(), { type: 'typing', typing: false }, 'false when emptied');
  });

  it('shows who is typing and clears it on their message or after a timeout', async () => {
    await chat.host(init());
    const typing = $('#p2p-typing');
    await chat.host({ type: 'typing', peerId: ALICE, name: 'Alice', typing: true });
    assert.equal(await typing.textContent(), 'Alice is typing…');
    await chat.host({ type: 'typing', peerId: BOB, name: 'Bob', typing: true });
    assert.equal(await typing.textContent(), 'Alice and Bob are typing…');
    await chat.host({ type: 'message', entry: entry('x', ALICE, 'Alice', NOW, 'done') });
    assert.equal(await typing.textContent(), 'Bob is typing…');
    await chat.page.clock.runFor(7_000); // Bob's `typing: false` was lost
    assert.equal(await typing.textContent(), '');
  });

  it('renders a snippet card whose Open button posts the snippet', async () => {
    await chat.host(init({ transcript: [] }));
    await chat.host({
      type: 'message',
      entry: { id: 's1', from: ALICE, fromName: 'Alice', own: false, sentAt: NOW, body: { kind: 'snippet', snippet: SNIPPET, text: 'look **here**' } },
    });
    const card = $('.p2p-message[data-id="s1"] .p2p-snippet');
    assert.equal(await card.count(), 1);
    assert.equal(await card.locator('.p2p-snippet-path').getAttribute('title'), 'src/net/punch.ts:42-47');
    assert.match((await card.locator('.p2p-snippet-path').textContent()) ?? '', /punch\.ts:42-47/);
    assert.equal(await card.locator('.p2p-snippet-lang').textContent(), 'typescript');
    assert.equal(await card.locator('.p2p-snippet-gutter').textContent(), '42\n43\n44\n45\n46\n47');
    await card.locator('.p2p-snippet-code .hljs-keyword').nth(2).waitFor();
    assert.equal(await card.locator('.p2p-snippet-code').textContent(), SNIPPET.code);
    assert.equal(await $('.p2p-message[data-id="s1"] .p2p-body > p strong').textContent(), 'here');

    await chat.clearPosted();
    // A click must not take focus: the editor that Open shows keeps it (VS Code reports webview focus late).
    await chat.page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await card.locator('.p2p-open').click();
    assert.deepEqual(await chat.posted(), [{ type: 'openSnippet', snippet: SNIPPET }]);
    assert.equal(await chat.page.evaluate(() => document.activeElement?.classList.contains('p2p-open') ?? false), false);
    await card.locator('.p2p-open').focus();
    await chat.page.keyboard.press('Enter');
    assert.equal((await postedOfType('openSnippet')).length, 2);
  });

  it('posts verifyPeer for an unverified member and copyInvite from the header', async () => {
    await chat.host(init());
    await chat.clearPosted();
    await $(`.p2p-member[data-peer-id="${BOB}"] .p2p-verify`).click();
    await $('#p2p-copy-invite').click();
    assert.deepEqual(await chat.posted(), [{ type: 'verifyPeer', peerId: BOB }, { type: 'copyInvite' }]);
    // members updates re-render; verified members have no button
    await chat.host({ type: 'members', members: MEMBERS.map((m) => ({ ...m, verified: true })) });
    assert.equal(await $('.p2p-verify').count(), 0);
    assert.equal(await $('.p2p-verified').count(), 3);
  });

  it('handles named rooms, no invite, no room and cleared history', async () => {
    await chat.host(init({ room: { roomLabel: 'standup', named: true, selfId: SELF, selfName: 'Me' } }));
    assert.equal(await $('[data-testid="named-room"]').isVisible(), true);
    assert.equal(await $('#p2p-copy-invite').isVisible(), false);
    await chat.host({ type: 'cleared' });
    assert.equal(await $('.p2p-message').count(), 0);
    assert.equal(await $('.p2p-empty-transcript').isVisible(), true);
    await chat.host({ type: 'message', entry: entry('n', ALICE, 'Alice', NOW, 'fresh start') });
    assert.equal(await $('.p2p-empty-transcript').count(), 0);

    await chat.host(init({ room: undefined, state: { kind: 'idle' }, members: [], transcript: [] }));
    assert.equal(await $('#p2p-input').isDisabled(), true);
    assert.equal(await $('#p2p-room').textContent(), 'P2P Chat');
    assert.equal(await $('#p2p-connect').isVisible(), true);
  });

  it('offers a jump to new messages when scrolled up, instead of yanking the view', async () => {
    const many = Array.from({ length: 60 }, (_, i) => entry(`h${i}`, i % 2 ? ALICE : BOB, i % 2 ? 'Alice' : 'Bob', NOW - (60 - i) * 10 * min, `message ${i}`));
    await chat.host(init({ transcript: many }));
    const atBottom = () => $('#p2p-transcript').evaluate((e: any) => e.scrollHeight - e.scrollTop - e.clientHeight < 2);
    assert.equal(await atBottom(), true);
    const scrollUp = async () => {
      await $('#p2p-transcript').evaluate((e: any) => (e.scrollTop = 0));
      // the scroll event (which is how the view learns the user left the bottom) comes with the next frame
      await chat.page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    };
    await scrollUp();
    await chat.host({ type: 'message', entry: entry('late', ALICE, 'Alice', NOW, 'while you were reading') });
    assert.equal(await atBottom(), false);
    assert.equal(await $('#p2p-jump').isVisible(), true);
    await $('#p2p-jump').click();
    // Off-screen groups are laid out lazily (content-visibility): their real heights arrive with the next
    // frame, and the view re-pins to the bottom then (its ResizeObserver). Check after that frame.
    await chat.page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    assert.equal(await atBottom(), true);
    assert.equal(await $('#p2p-jump').isVisible(), false);
    // our own message always scrolls into view
    await scrollUp();
    await chat.host({ type: 'message', entry: entry('mine', SELF, 'Me', NOW, 'me too', true, 'queued') });
    await chat.page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    assert.equal(await atBottom(), true);
  });

  it('draws a long history one window at a time', async () => {
    const many = Array.from({ length: 650 }, (_, i) => entry(`w${i}`, i % 2 ? ALICE : BOB, i % 2 ? 'Alice' : 'Bob', NOW - (650 - i) * 10 * min, `m${i}`));
    await chat.host(init({ transcript: many }));
    // The newest messages first; the rest of the window is drawn above them a slice per task.
    await $('#p2p-earlier').waitFor();
    assert.equal(await $('.p2p-message').count(), 300);
    assert.equal(await $('.p2p-message').first().getAttribute('data-id'), 'w350');
    assert.equal(await $('#p2p-earlier').textContent(), 'Show 300 earlier messages');
    // delivery / replace for undrawn entries are accepted silently
    await chat.host({ type: 'message', entry: entry('w3', BOB, 'Bob', many[3]!.sentAt, 'edited') });
    await $('#p2p-earlier').click();
    await $('#p2p-earlier').waitFor();
    assert.equal(await $('.p2p-message').count(), 600);
    // the message that was at the top is still on screen, not scrolled away
    const visible = await $('.p2p-message[data-id="w350"]').evaluate((m: any) => {
      const r = m.getBoundingClientRect();
      const t = m.closest('#p2p-transcript').getBoundingClientRect();
      return r.bottom > t.top && r.top < t.bottom;
    });
    assert.equal(visible, true);
    assert.equal(await $('#p2p-earlier').textContent(), 'Show 50 earlier messages');
    await $('#p2p-earlier').click();
    await chat.page.waitForFunction(() => document.querySelectorAll('.p2p-message').length === 650);
    assert.equal(await $('#p2p-earlier').count(), 0);
    assert.match((await $('.p2p-message[data-id="w3"]').textContent()) ?? '', /edited/);
  });

  it('ignores messages that are not the host protocol', async () => {
    await chat.host(init());
    const before = await $('.p2p-message').count();
    for (const junk of [null, 42, 'init', { type: 'bogus' }, { type: 'message' }, { type: 'message', entry: { id: 1 } }, { type: 'state' }]) {
      await chat.page.evaluate((m) => (globalThis as any).__host(m), junk as any);
    }
    assert.equal(await $('.p2p-message').count(), before);
  });
});
