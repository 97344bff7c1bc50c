import type { Page } from 'playwright-core';
import { screenshot } from './browser';

/**
 * For an afterEach hook: when the test that just ran failed, saves a screenshot of each page as
 * test-results/<test title>-<label>.png. Never throws (a dead page must not mask the real failure).
 */
export async function screenshotOnFailure(ctx: Mocha.Context, pages: Record<string, Page | undefined>): Promise<void> {
  const test = ctx.currentTest;
  if (!test || test.state !== 'failed') return;
  for (const [label, page] of Object.entries(pages)) {
    if (!page || page.isClosed()) continue;
    try {
      const file = await screenshot(page, `${test.fullTitle()}-${label}`);
      console.log(`      screenshot: ${file}`);
    } catch (err) {
      console.log(`      screenshot of ${label} failed: ${(err as Error).message}`);
    }
  }
}
