// The panel stays light and responsive: its first script is small (grammars load on demand), and a
// pasted 20,000-line log, a 20,000-line snippet or a long history never holds the main thread for more
// than 100 ms (Long Tasks API). Each scenario runs three times in a fresh page and the shortest
// "longest task" is compared with the budget: the work is the same each time, other processes on a
// 2-core machine are not. The figures go to test-results/webview-perf.json for `npm run bench`.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import type { TranscriptEntry } from '../../extension/shared/protocol';
import { ALICE, SNIPPET, entry, init } from './fixtures';
import { NOW, ROOT, startHarness, type ChatPage, type Harness } from './harness';

const BUDGET_MS = 100;
const TRIALS = 3;
const LINES = 20_000;

const logText = Array.from({ length: LINES }, (_, i) => `2026-12-07T10:${String(i % 60).padStart(2, '0')} worker ${i}: request handled in ${i % 97} ms`).join('\n');
const bigCode = Array.from({ length: LINES }, (_, i) => `export const value${i}: number = compute(${i}, "${i.toString(36)}");`).join('\n');
const history: TranscriptEntry[] = Array.from({ length: 2_000 }, (_, i) =>
  entry(`h${i}`, ALICE, 'Alice', NOW - (2_000 - i) * 60_000, `message **${i}** with \`code\`, a [link](https://example.com/${i})\n\n\`\`\`ts\nconst a${i} = ${i};\n\`\`\``),
);

async function watchLongTasks(chat: ChatPage): Promise<void> {
  await chat.page.evaluate(() => {
    const g = globalThis as unknown as { __longTasks: number[] };
    g.__longTasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) g.__longTasks.push(e.duration);
    }).observe({ type: 'longtask' });
  });
}

/** Longest task seen once the page has gone quiet (no new long task for a while). */
async function longestTask(chat: ChatPage): Promise<number> {
  let seen = -1;
  for (let i = 0; i < 40; i++) {
    await chat.page.waitForTimeout(150);
    const n = await chat.page.evaluate(() => (globalThis as unknown as { __longTasks: number[] }).__longTasks.length);
    if (n === seen) break;
    seen = n;
  }
  return chat.page.evaluate(() => Math.max(0, ...(globalThis as unknown as { __longTasks: number[] }).__longTasks));
}

describe('webview performance', function () {
  this.timeout(180_000);
  let harness: Harness;
  const figures: Record<string, number[] | number> = {};

  before(async () => {
    harness = await startHarness();
  });
  after(async () => {
    await harness?.close();
    mkdirSync(path.join(ROOT, 'test-results'), { recursive: true });
    writeFileSync(path.join(ROOT, 'test-results', 'webview-perf.json'), JSON.stringify({ budgetMs: BUDGET_MS, ...figures }, null, 2));
  });

  /**
   * Runs `act` in TRIALS fresh pages; returns the shortest of each trial's longest task. `check` runs after
   * the measurement: reading a 20,000-line text back is itself a long task, and it is the test's, not the panel's.
   */
  async function trial(name: string, act: (chat: ChatPage) => Promise<void>, check?: (chat: ChatPage) => Promise<void>): Promise<number> {
    const longest: number[] = [];
    for (let t = 0; t < TRIALS; t++) {
      const chat = await harness.open();
      try {
        await watchLongTasks(chat);
        await chat.host(init());
        await longestTask(chat); // let the first paint settle, then count only what `act` causes
        await chat.page.evaluate(() => void ((globalThis as unknown as { __longTasks: number[] }).__longTasks.length = 0));
        await act(chat);
        longest.push(Math.round(await longestTask(chat)));
        await check?.(chat);
      } finally {
        await chat.close();
      }
    }
    figures[name] = longest;
    return Math.min(...longest);
  }

  it('ships a first script of at most 200 KiB, highlight.js grammars apart', async () => {
    const url = pathToFileURL(path.join(ROOT, 'scripts/webviewBundles.mjs')).href;
    const mod = (await new Function('u', 'return import(u)')(url)) as { webviewBuilds(outdir: string, common: object): esbuild.BuildOptions[] };
    const [main] = mod.webviewBuilds(path.join(ROOT, 'dist-size-check'), { minify: true });
    const out = await esbuild.build({ ...main!, write: false, logLevel: 'silent' });
    const bytes = out.outputFiles[0]!.contents.length;
    figures.mainBundleBytes = bytes;
    assert.ok(bytes <= 200 * 1024, `main.js is ${(bytes / 1024).toFixed(1)} KiB`);
  });

  it('shows a 20,000-line message collapsed at once, the whole of it on request, with no long task', async () => {
    const ms = await trial('hugeMessageMs', async (chat) => {
      await chat.host({ type: 'message', entry: entry('log', ALICE, 'Alice', NOW, logText) });
      const msg = chat.page.locator('.p2p-message[data-id="log"]');
      assert.ok(((await msg.locator('.p2p-body').textContent()) ?? '').split('\n').length <= 41);
      await msg.locator('[data-testid="expand-message"]').click();
      // Cheap to poll: the slices, not the text.
      await chat.page.locator('.p2p-message[data-id="log"] .p2p-slice').nth(LINES / 400 - 1).waitFor();
    }, async (chat) => {
      assert.equal(await chat.page.locator('.p2p-message[data-id="log"] .p2p-long-text').textContent(), logText);
    });
    assert.ok(ms <= BUDGET_MS, `longest task ${ms} ms (trials: ${figures.hugeMessageMs})`);
  });

  it('shows a 20,000-line snippet collapsed at once, all lines on request, with no long task', async () => {
    const ms = await trial('hugeSnippetMs', async (chat) => {
      const snippet = { ...SNIPPET, code: bigCode, startLine: 1, endLine: LINES };
      await chat.host({ type: 'message', entry: { id: 'big', from: ALICE, fromName: 'Alice', own: false, sentAt: NOW, body: { kind: 'snippet', snippet } } });
      const card = chat.page.locator('.p2p-message[data-id="big"] .p2p-snippet');
      assert.equal(((await card.locator('.p2p-snippet-code').textContent()) ?? '').split('\n').length, 40);
      await card.locator('[data-testid="expand-snippet"]').click();
      // The head (40 lines) and the rest in 400-line slices.
      await card.locator('.p2p-snippet-code .p2p-slice').nth(Math.ceil((LINES - 40) / 400)).waitFor();
    }, async (chat) => {
      const card = chat.page.locator('.p2p-message[data-id="big"] .p2p-snippet');
      assert.equal(await card.locator('.p2p-snippet-code').textContent(), bigCode);
      assert.equal(await card.locator('.p2p-snippet-gutter .p2p-slice').count(), await card.locator('.p2p-snippet-code .p2p-slice').count());
    });
    assert.ok(ms <= BUDGET_MS, `longest task ${ms} ms (trials: ${figures.hugeSnippetMs})`);
  });

  it('opens on a 2,000-message history newest first, then fills its window, with no long task', async () => {
    const ms = await trial('longHistoryMs', async (chat) => {
      // Handed to the page first: decoding the test's argument is Playwright's work, not the panel's.
      await chat.page.evaluate((m) => void ((globalThis as unknown as { __next: unknown }).__next = m), init({ transcript: history }));
      await chat.page.evaluate(() => void ((globalThis as unknown as { __longTasks: number[] }).__longTasks.length = 0));
      // Counted in the same task as the init is handled: what the first paint draws.
      const first = await chat.page.evaluate(() => {
        const g = globalThis as unknown as { __host(x: unknown): void; __next: unknown };
        g.__host(g.__next);
        return document.querySelectorAll('.p2p-message').length;
      });
      assert.ok(first > 0 && first <= 60, `first paint drew ${first} messages`);
      await chat.page.locator('#p2p-earlier').waitFor();
      assert.equal(await chat.page.locator('.p2p-message').count(), 300);
      assert.equal(await chat.page.locator('.p2p-message').last().getAttribute('data-id'), 'h1999');
    });
    assert.ok(ms <= BUDGET_MS, `longest task ${ms} ms (trials: ${figures.longHistoryMs})`);
  });
});
