// Renders the panel in each theme and saves test-results/webview-<theme>[-<state>].png for review.
// Asserts only what a screenshot cannot hide: no CSP violations, codicons loaded, no horizontal overflow.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { startHarness, ROOT, type Harness, type Theme } from './harness';
import { ALICE, init } from './fixtures';

const OUT = path.join(ROOT, 'test-results');

describe('webview screenshots', function () {
  this.timeout(60_000);
  let h: Harness;
  before(async () => {
    mkdirSync(OUT, { recursive: true });
    h = await startHarness();
  });
  after(async () => h?.close());

  it('fits a narrow side bar', async () => {
    const chat = await h.open({ theme: 'dark', viewport: { width: 300, height: 700 } });
    try {
      await chat.host(init({ state: { kind: 'reconnecting', reason: 'no keepalive reply for 25 s', attempt: 2 } }));
      await chat.page.locator('.p2p-message[data-id="a:4"]').hover();
      const overflow = await chat.page.$eval('#p2p-app', (el: any) => el.scrollWidth - el.clientWidth);
      assert.ok(overflow <= 0, `app overflows horizontally by ${overflow}px`);
      await chat.page.screenshot({ path: path.join(OUT, 'webview-dark-narrow.png') });
    } finally {
      await chat.close();
    }
  });

  for (const theme of ['light', 'dark', 'hc'] as Theme[]) {
    it(`renders the ${theme} theme`, async () => {
      const chat = await h.open({ theme, viewport: { width: 520, height: 900 } });
      try {
        await chat.host(init());
        await chat.host({ type: 'typing', peerId: ALICE, name: 'Alice', typing: true });
        await chat.page.fill('#p2p-input', 'Sounds good, I will check the relay path next');
        await chat.page.evaluate(() => (globalThis as any).document.fonts.ready);
        const codiconLoaded = await chat.page.evaluate(() => (globalThis as any).document.fonts.check('16px codicon'));
        assert.equal(codiconLoaded, true, 'codicon font loaded');
        const overflow = await chat.page.$eval('#p2p-transcript', (el: any) => el.scrollWidth - el.clientWidth);
        assert.ok(overflow <= 0, `transcript overflows horizontally by ${overflow}px`);
        await chat.page.screenshot({ path: path.join(OUT, `webview-${theme}.png`) });

        await chat.host({ type: 'state', state: { kind: 'failed', reason: 'no reply from the rendezvous server', hint: 'Check that UDP port 7000 is reachable, or ask the room owner for a new invite.' } });
        await chat.host({ type: 'typing', peerId: ALICE, name: 'Alice', typing: false });
        await chat.page.focus('#p2p-retry');
        await chat.page.keyboard.press('Shift+Tab');
        await chat.page.keyboard.press('Tab'); // keyboard focus, so :focus-visible shows
        await chat.page.screenshot({ path: path.join(OUT, `webview-${theme}-failed.png`) });

        await chat.host(init({ room: { roomLabel: 'standup', named: true, selfId: 'x', selfName: 'Me' }, state: { kind: 'punching', peers: 1 }, members: [], transcript: [] }));
        await chat.page.screenshot({ path: path.join(OUT, `webview-${theme}-empty.png`) });
        assert.deepEqual(await chat.cspViolations(), []);
      } finally {
        await chat.close();
      }
    });
  }
});
