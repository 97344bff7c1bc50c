// Renders the panel in each theme and saves test-results/webview-<theme>[-<state>].png for review.
// Asserts only what a screenshot cannot hide: no CSP violations, codicons loaded, no horizontal overflow.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { NOW, startHarness, ROOT, type Harness, type Theme } from './harness';
import { ALICE, SELF, init, pngBytes } from './fixtures';
import type { FileStatus, TranscriptEntry } from '../../extension/shared/protocol';

const MIB = 1024 * 1024;
const fileCard = (id: string, name: string, own: boolean, size: number, mime: string, at: number): TranscriptEntry => ({
  id: `file:${id}`, from: own ? SELF : ALICE, fromName: own ? 'Me' : 'Alice', own, sentAt: at, body: { kind: 'file', file: { id, name, size, mime } },
});

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

        // File cards: an offer, our send in progress, a received image with its preview, a cancelled one.
        const now = NOW;
        const ids = ['a1'.repeat(16), 'b2'.repeat(16), 'c3'.repeat(16), 'd4'.repeat(16)];
        const files: FileStatus[] = [
          { id: ids[0]!, direction: 'in', state: 'offered', bytes: 0, total: 48 * MIB, rate: 0, canOpen: false },
          { id: ids[1]!, direction: 'out', state: 'active', bytes: 31 * MIB, total: 80 * MIB, rate: 6.2 * MIB, eta: 8, canOpen: true, recipients: 1, received: 0 },
          { id: ids[2]!, direction: 'in', state: 'done', bytes: 2048, total: 2048, rate: 0, canOpen: true },
          { id: ids[3]!, direction: 'in', state: 'cancelled', bytes: 0, total: 5 * MIB, rate: 0, error: 'cancelled by the sender', canOpen: false },
        ];
        await chat.host(init({
          transcript: [
            fileCard(ids[0]!, 'build-2025-03-14.log.gz', false, 48 * MIB, 'application/gzip', now - 300_000),
            fileCard(ids[1]!, 'core-dump.tar', true, 80 * MIB, 'application/x-tar', now - 200_000),
            fileCard(ids[2]!, 'screenshot.png', false, 2048, 'image/png', now - 100_000),
            fileCard(ids[3]!, 'trace.json', false, 5 * MIB, 'application/json', now - 50_000),
          ],
          files,
        }));
        const png = Array.from(pngBytes(160, 90));
        await chat.page.evaluate(([id, b]) => (globalThis as any).__host({ type: 'filePreview', id, mime: 'image/png', bytes: new Uint8Array(b as number[]) }), [ids[2]!, png] as const);
        await chat.page.locator('.p2p-file-image').waitFor();
        await chat.page.locator('[data-testid="file-save"]').first().focus();
        const fileOverflow = await chat.page.$eval('#p2p-transcript', (el: any) => el.scrollWidth - el.clientWidth);
        assert.ok(fileOverflow <= 0, `file cards overflow by ${fileOverflow}px`);
        await chat.page.screenshot({ path: path.join(OUT, `webview-${theme}-files.png`) });
        assert.deepEqual(await chat.cspViolations(), []);
      } finally {
        await chat.close();
      }
    });
  }
});
