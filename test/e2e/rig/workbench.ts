// Generic VS Code workbench helpers on top of browser.ts: files, editors, selections, tabs, the
// status bar and window reloads, each driven the way a user would (palette, quick open, keys) and
// each waiting on a visible state rather than on time.
import type { Browser, Locator, Page } from 'playwright-core';
import { runCommand } from './browser';

const QUICK_INPUT = '.quick-input-widget';

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function exactly(text: string): RegExp {
  return new RegExp(`^\\s*${escapeRegExp(text)}\\s*$`);
}

/** The active tab of the active editor group. */
export function activeTab(page: Page): Locator {
  return page.locator('.editor-group-container.active .tab.active');
}

/**
 * The title of the active editor's tab ("sample.ts", "P2P Chat: room"...). Tabs split a file name
 * into name and suffix elements; the tab's aria-label carries it whole.
 */
export async function activeEditorTitle(page: Page): Promise<string> {
  return tabTitle((await activeTab(page).first().getAttribute('aria-label', { timeout: 5000 })) ?? '');
}

/**
 * Tabs (elements matching `scope`) titled `title`. With several editor groups VS Code appends the
 * group to a tab's aria-label ("sample.ts, Editor Group 1").
 */
function titled(page: Page, scope: string, title: string): Locator {
  return page.locator(`${scope}[aria-label=${JSON.stringify(title)}], ${scope}[aria-label^=${JSON.stringify(`${title}, Editor Group `)}]`);
}

/** A tab's aria-label without the ", Editor Group N" suffix. */
function tabTitle(ariaLabel: string): string {
  return ariaLabel.replace(/, Editor Group \d+$/, '').trim();
}

/** Waits until the active editor's tab is titled `title` (exact string, or a RegExp on its aria-label). */
export async function waitForActiveEditor(page: Page, title: string | RegExp, options: { timeoutMs?: number } = {}): Promise<void> {
  const timeout = options.timeoutMs ?? 15_000;
  if (typeof title === 'string') {
    await titled(page, '.editor-group-container.active .tab.active', title).first().waitFor({ state: 'visible', timeout });
    return;
  }
  await page.waitForFunction(
    ([source, flags]) => {
      const d = (globalThis as unknown as { document: { querySelector(s: string): { getAttribute(n: string): string | null } | null } }).document;
      const label = d.querySelector('.editor-group-container.active .tab.active')?.getAttribute('aria-label') ?? '';
      return new RegExp(source, flags).test(label.replace(/, Editor Group \d+$/, ''));
    },
    [title.source, title.flags] as const,
    { timeout },
  );
}

/** A tab, in any group, titled `title`. */
export function tab(page: Page, title: string): Locator {
  return titled(page, '.tabs-container .tab', title).first();
}

/**
 * Opens a workspace file through Quick Open (typing its name, as a user would) and waits until it
 * is the active editor. `relativePath` may include folders ("src/sample.ts"): it disambiguates.
 * `toSide` uses the row's "Open to the Side" button: the file opens in the group to the right.
 */
export async function openFile(page: Page, relativePath: string, options: { timeoutMs?: number; toSide?: boolean } = {}): Promise<void> {
  const timeout = options.timeoutMs ?? 30_000;
  const fileName = relativePath.split('/').pop()!;
  const deadline = Date.now() + timeout;
  const box = page.locator(`${QUICK_INPUT} .quick-input-box input`);
  const row = page
    .locator(`${QUICK_INPUT} .monaco-list-row`)
    .filter({ has: page.locator('.label-name').filter({ hasText: exactly(fileName) }) })
    .first();
  for (let attempt = 1; ; attempt++) {
    // The first search of a workspace can take several seconds, and reopening Quick Open restarts
    // it, so it stays open while the row comes. It is reopened only when something closed it (a
    // webview taking the focus back closes it, for one).
    if (await page.locator(QUICK_INPUT).isVisible()) await page.keyboard.press('Escape');
    await page.keyboard.press('F1');
    try {
      await box.waitFor({ state: 'visible', timeout: 10_000 });
      await box.fill(relativePath, { timeout: 5000 });
      const closed = box.waitFor({ state: 'hidden', timeout: Math.max(1000, deadline - Date.now()) }).then(() => 'closed' as const);
      const listed = row.waitFor({ state: 'visible', timeout: Math.max(1000, deadline - Date.now()) }).then(() => 'listed' as const);
      const first = await Promise.race([closed, listed]);
      closed.catch(() => undefined);
      listed.catch(() => undefined);
      if (first === 'listed') break;
    } catch (err) {
      if (Date.now() >= deadline) {
        await page.keyboard.press('Escape');
        throw new Error(`"${relativePath}" not listed by Quick Open after ${attempt} attempts: ${(err as Error).message}`);
      }
    }
    if (Date.now() >= deadline) throw new Error(`"${relativePath}": Quick Open kept closing (${attempt} attempts)`);
  }
  if (options.toSide) {
    await row.hover();
    await row.locator('.action-label[aria-label="Open to the Side"]').click();
  } else {
    await row.click();
  }
  await waitForActiveEditor(page, fileName, { timeoutMs: Math.max(5000, deadline - Date.now()) });
}

/** The editor's "Ln x, Col y" status bar entry ("Ln 5, Col 42 (98 selected)" with a selection). */
export function selectionStatus(page: Page): Locator {
  return page.locator('.statusbar-item[id="status.editor.selection"]');
}

export async function selectionStatusText(page: Page): Promise<string> {
  return ((await selectionStatus(page).textContent({ timeout: 5000 })) ?? '').replace(/\s+/g, ' ').trim();
}

/** Parses "Ln 5, Col 42 (98 selected)". */
export function parseSelectionStatus(text: string): { line: number; column: number; selected: number } | undefined {
  const m = /Ln (\d+), Col (\d+)(?: \((\d+) selected\))?/.exec(text);
  return m ? { line: Number(m[1]), column: Number(m[2]), selected: m[3] ? Number(m[3]) : 0 } : undefined;
}

/** Moves the active text editor's cursor to the start of `line` (1-based) with "Go to Line/Column...". */
export async function goToLine(page: Page, line: number): Promise<void> {
  const box = page.locator(`${QUICK_INPUT} .quick-input-box input`);
  // Like the palette (runCommand), VS Code's own Go to Line box closes when a webview that had the focus
  // takes it back a moment later; a user opens it again. Three tries, each fully checked.
  for (let attempt = 1; ; attempt++) {
    await runCommand(page, 'Go to Line/Column...');
    try {
      await box.waitFor({ state: 'visible', timeout: 10_000 });
      await box.fill(`:${line}:1`, { timeout: 3000 });
      await box.press('Enter', { timeout: 3000 });
      break;
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
  await selectionStatus(page).filter({ hasText: new RegExp(`Ln ${line}, Col 1\\b`) }).waitFor({ timeout: 10_000 });
}

/**
 * Selects whole lines `from`..`to` (1-based, inclusive; line `to` must not be empty) in the active
 * text editor with the keyboard: to the start of `from`, then Shift+Down and Shift+End, each step
 * confirmed on the status bar. Returns its final text ("Ln 5, Col 2 (96 selected)").
 */
export async function selectLines(page: Page, from: number, to: number): Promise<string> {
  await goToLine(page, from);
  if (to > from) {
    for (let i = from; i < to; i++) await page.keyboard.press('Shift+ArrowDown');
    await selectionStatus(page).filter({ hasText: new RegExp(`Ln ${to}, Col 1 \\(\\d+ selected\\)`) }).waitFor({ timeout: 10_000 });
  }
  await page.keyboard.press('Shift+End');
  // Not column 1 any more: Shift+End has landed (the status bar updates asynchronously).
  const status = selectionStatus(page).filter({ hasText: new RegExp(`Ln ${to}, Col (?!1\\b)\\d+ \\(\\d+ selected\\)`) });
  await status.waitFor({ timeout: 10_000 });
  return ((await status.textContent()) ?? '').replace(/\s+/g, ' ').trim();
}

/**
 * "Developer: Reload Window": waits for the page to navigate and the new workbench's status bar.
 */
export async function reloadWindow(page: Page, options: { timeoutMs?: number } = {}): Promise<void> {
  const navigated = page.waitForEvent('framenavigated', { predicate: (f) => f === page.mainFrame(), timeout: options.timeoutMs ?? 60_000 });
  await runCommand(page, 'Developer: Reload Window');
  await navigated;
  await page.locator('.monaco-workbench .statusbar').waitFor({ state: 'visible', timeout: options.timeoutMs ?? 60_000 });
}

/**
 * A status bar item by its DOM id (an extension's items are "<publisher.name>.<item id>").
 * Its `aria-label` carries the item's accessibility label, or its text when it has none.
 */
export function statusBarItem(page: Page, id: string): Locator {
  return page.locator(`.statusbar-item[id="${id}"]`);
}

export async function statusBarItemLabel(page: Page, id: string): Promise<string> {
  const item = statusBarItem(page, id);
  const label = item.locator('[aria-label]').first();
  const aria = (await label.count()) ? await label.getAttribute('aria-label') : await item.getAttribute('aria-label');
  return (aria ?? (await item.textContent()) ?? '').trim();
}

/** "View: Close Editor" on the active editor; waits until its tab is gone. */
export async function closeActiveEditor(page: Page): Promise<void> {
  const title = await activeEditorTitle(page);
  await runCommand(page, 'View: Close Editor');
  if (title) await titled(page, '.editor-group-container .tab', title).first().waitFor({ state: 'detached', timeout: 10_000 });
}

/**
 * VS Code's own activation figure for an extension, from "Developer: Show Running Extensions"
 * ("Activation: 22ms": the activate() call until its promise resolved, code loading excluded).
 * VS Code 1.139 shows that editor as a modal overlay; it is closed again with Escape.
 * Undefined when the extension is not listed with a time.
 */
export async function runningExtensionActivationMs(page: Page, displayName: string, options: { timeoutMs?: number } = {}): Promise<number | undefined> {
  // The list is sorted by activation time and virtualised: a fast extension sits at the bottom,
  // out of the DOM at the usual window height. A tall window shows every row.
  const viewport = page.viewportSize();
  if (viewport) await page.setViewportSize({ width: viewport.width, height: 2400 });
  try {
    return await readRunningExtensionTime(page, displayName, options.timeoutMs ?? 20_000);
  } finally {
    if (viewport) await page.setViewportSize(viewport);
  }
}

async function readRunningExtensionTime(page: Page, displayName: string, timeoutMs: number): Promise<number | undefined> {
  await runCommand(page, 'Developer: Show Running Extensions');
  const view = page.locator('.runtime-extensions-editor');
  const time = view
    .locator('.monaco-list-row')
    .filter({ has: page.locator('.name').filter({ hasText: exactly(displayName) }) })
    .first()
    .locator('.activation-time');
  let text = '';
  try {
    await time.filter({ hasText: /\d+\s*ms/ }).waitFor({ timeout: timeoutMs });
    text = (await time.textContent()) ?? '';
  } finally {
    await view.click({ position: { x: 5, y: 5 } }).catch(() => undefined); // the focus into it, so Escape reaches it
    await page.keyboard.press('Escape');
    await view.waitFor({ state: 'hidden', timeout: 5000 }).catch(async () => {
      await runCommand(page, 'View: Close Editor');
      await view.waitFor({ state: 'hidden', timeout: 5000 });
    });
  }
  const m = /(\d+)\s*ms/.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** A PNG of the page region covered by `locator` (which may be overlaid by webviews: the clip is the page's). */
export async function screenshotRegion(page: Page, locator: Locator): Promise<Buffer> {
  const box = await locator.boundingBox({ timeout: 10_000 });
  if (!box) throw new Error('the element to capture is not visible');
  return page.screenshot({ clip: { x: box.x, y: box.y, width: box.width, height: box.height } });
}

/**
 * Lays PNGs out side by side (in a throwaway page of `browser`: no image library needed) and
 * returns the composite PNG. `scale` below 1 shrinks it.
 */
export async function sideBySide(
  browser: Browser,
  images: Buffer[],
  options: { gap?: number; background?: string; scale?: number } = {},
): Promise<Buffer> {
  const gap = options.gap ?? 12;
  const scale = options.scale ?? 1;
  const context = await browser.newContext({ viewport: { width: 800, height: 600 }, deviceScaleFactor: 1 });
  try {
    const page = await context.newPage();
    const imgs = images.map((b) => `<img src="data:image/png;base64,${b.toString('base64')}">`).join('');
    await page.setContent(
      `<!DOCTYPE html><html><head><style>
        html,body{margin:0;background:${options.background ?? '#181818'}}
        #c{display:inline-flex;gap:${gap}px;padding:${gap}px;align-items:flex-start;zoom:${scale}}
        img{display:block}
      </style></head><body><div id="c">${imgs}</div></body></html>`,
    );
    await page.waitForFunction(() => {
      const d = (globalThis as unknown as { document: { images: ArrayLike<{ complete: boolean; naturalWidth: number }> } }).document;
      return Array.from(d.images).every((i) => i.complete && i.naturalWidth > 0);
    });
    return await page.locator('#c').screenshot();
  } finally {
    await context.close();
  }
}

/**
 * A one-line picture of the editor area for failure messages: each group (`*` marks the active
 * one) with its tabs (`[x]` marks the active tab), plus the status bar's selection entry.
 */
export async function describeEditors(page: Page): Promise<string> {
  return page.evaluate(() => {
    interface El {
      className: string;
      getAttribute(n: string): string | null;
      querySelectorAll(s: string): ArrayLike<El>;
      textContent: string | null;
    }
    const d = (globalThis as unknown as { document: { querySelectorAll(s: string): ArrayLike<El>; querySelector(s: string): El | null } }).document;
    const groups = Array.from(d.querySelectorAll('.editor-group-container')).map((g) => {
      const tabs = Array.from(g.querySelectorAll('.tab')).map((t) => {
        const label = (t.getAttribute('aria-label') ?? '?').replace(/, Editor Group \d+$/, '');
        return /\bactive\b/.test(t.className) ? `[${label}]` : label;
      });
      return `${/\bactive\b/.test(g.className) ? '*' : ''}(${tabs.join(', ')})`;
    });
    const sel = d.querySelector('.statusbar-item[id="status.editor.selection"]')?.textContent?.trim() ?? '-';
    return `groups: ${groups.join(' ')}; selection: ${sel}`;
  });
}

/**
 * Waits until the status bar item `id`'s accessible label (see statusBarItemLabel) matches `re`,
 * and returns it. Polled inside the page, so no fixed sleeps.
 */
export async function waitForStatusBarItemLabel(page: Page, id: string, re: RegExp, options: { timeoutMs?: number } = {}): Promise<string> {
  try {
    const handle = await page.waitForFunction(
      ([itemId, source, flags]) => {
        interface El {
          getAttribute(n: string): string | null;
          querySelector(s: string): El | null;
          textContent: string | null;
        }
        const d = (globalThis as unknown as { document: { querySelector(s: string): El | null } }).document;
        const item = d.querySelector(`.statusbar-item[id="${itemId}"]`);
        if (!item) return false;
        const label = (item.querySelector('[aria-label]')?.getAttribute('aria-label') ?? item.getAttribute('aria-label') ?? item.textContent ?? '').trim();
        return new RegExp(source, flags).test(label) ? label : false;
      },
      [id, re.source, re.flags] as const,
      { timeout: options.timeoutMs ?? 15_000 },
    );
    return (await handle.jsonValue()) as string;
  } catch (err) {
    const now = await statusBarItemLabel(page, id).catch(() => '(no such item)');
    throw new Error(`status bar item ${id} never matched ${re}; it says "${now}" (${(err as Error).message.split('\n')[0]})`);
  }
}
