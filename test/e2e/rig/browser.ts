import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser, type BrowserContext, type FrameLocator, type Locator, type Page } from 'playwright-core';
import { RESULTS_DIR, safeName } from './paths';
import { FOCUS_LOG_SCRIPT } from './focusLog';

export const CHROMIUM = '/usr/bin/chromium';

// Without the background-networking flags Chromium keeps dialling Google on a machine with no
// route out; --no-sandbox because tests run as root.
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

export async function launchBrowser(options: { headless?: boolean } = {}): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: options.headless ?? true,
    args: CHROMIUM_ARGS,
  });
}

export interface OpenEditorOptions {
  /** How long the workbench may take to appear (first load compiles a lot of JavaScript). */
  timeoutMs?: number;
  viewport?: { width: number; height: number };
}

/**
 * Opens an editor at `url` in a fresh context (own storage and clipboard permissions) and waits
 * until the workbench has rendered its status bar.
 */
export async function openEditor(browser: Browser, url: string, options: OpenEditorOptions = {}): Promise<Page> {
  const context: BrowserContext = await browser.newContext({
    viewport: options.viewport ?? { width: 1400, height: 900 },
  });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(url).origin });
  // Where the focus went, for failure reports (focusLog.ts).
  await context.addInitScript(FOCUS_LOG_SCRIPT);
  const page = await context.newPage();
  await page.goto(url);
  await page.locator('.monaco-workbench .statusbar').waitFor({ state: 'visible', timeout: options.timeoutMs ?? 60_000 });
  return page;
}

const QUICK_INPUT = '.quick-input-widget';

function quickInput(page: Page): Locator {
  return page.locator(QUICK_INPUT);
}

function quickInputBox(page: Page): Locator {
  return page.locator(`${QUICK_INPUT} .quick-input-box input`);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Rows of the open quick pick whose label is exactly `label` (a command's "Category: Title"). */
function rowsLabelled(page: Page, label: string): Locator {
  return page
    .locator(`${QUICK_INPUT} .monaco-list-row`)
    .filter({ has: page.locator('.label-name').filter({ hasText: new RegExp(`^\\s*${escapeRegExp(label)}\\s*$`) }) });
}

async function chooseRow(row: Locator): Promise<void> {
  // Enter runs the focused row, if the keyboard is in the quick input: a picker that stays open on
  // focus loss (ignoreFocusOut) may have lost it to a webview, where Enter would go. Else a click.
  const cls = (await row.getAttribute('class')) ?? '';
  const keyboardInQuickInput = await row.page().evaluate((sel) => {
    const d = (globalThis as unknown as { document: { activeElement: { closest(s: string): unknown } | null } }).document;
    return !!d.activeElement?.closest(sel);
  }, QUICK_INPUT);
  if (cls.split(/\s+/).includes('focused') && keyboardInQuickInput) await row.page().keyboard.press('Enter');
  else await row.click();
}

/**
 * Opens the palette and waits until it lists the command titled `title` ("Category: Title").
 * A new extension's commands appear only some seconds after the workbench, and a palette opened
 * before then never updates, so this reopens it (Escape, F1, type) until the row shows up.
 * Returns the row; the palette is left open.
 */
async function paletteRow(page: Page, title: string, timeoutMs: number): Promise<Locator> {
  const deadline = Date.now() + timeoutMs;
  let attempt = 0;
  for (;;) {
    attempt++;
    // Closes a palette left open by the previous attempt. Only then: Escape in a text editor
    // clears its selection, which commands such as "Share Selection" need.
    if (await quickInput(page).isVisible()) await page.keyboard.press('Escape');
    await page.keyboard.press('F1');
    const box = quickInputBox(page);
    const row = rowsLabelled(page, title).first();
    const left = deadline - Date.now();
    try {
      await box.waitFor({ state: 'visible', timeout: 10_000 });
      // The palette closes when the focus leaves it, and VS Code itself may move the focus into a webview
      // that had it a moment ago (a delayed re-focus after the previous quick input closed): then the box
      // is closing (inert) or gone, and a user presses F1 again. So does this loop, until the deadline.
      await box.fill(`>${title}`, { timeout: Math.max(3000, Math.min(10_000, left)) });
      await row.waitFor({ state: 'visible', timeout: Math.max(500, Math.min(3000, left)) });
      return row;
    } catch (err) {
      if (Date.now() >= deadline) {
        await page.keyboard.press('Escape');
        throw new Error(`command "${title}" not in the palette after ${attempt} attempts: ${(err as Error).message}`);
      }
    }
  }
}

/** Runs a command from the palette by its full title ("Category: Title"), exactly that row. */
export async function runCommand(page: Page, title: string, options: { timeoutMs?: number } = {}): Promise<void> {
  const row = await paletteRow(page, title, options.timeoutMs ?? 30_000);
  await chooseRow(row);
}

/**
 * Waits until the keyboard is in the list labelled `label` (a tree view's list, e.g. "Contacts") and the
 * workbench has caught up with it, so that the next key goes to that list. A user sees the focus arrive
 * before pressing a key; a test must wait for the same, and for one more thing: VS Code clears its
 * `inQuickInput` context key on a timer (the quick input's focus tracker fires its blur in a setTimeout 0)
 * after the palette loses the focus, and Chromium handles queued key events before timers. While that
 * key is still set, Enter resolves to `quickInput.accept` (same weight as `list.select`, registered later)
 * on a palette that is already closed, so nothing happens, while Home, which the palette does not bind,
 * reaches the list. That is what the contacts e2e showed when it flaked: at Enter the keyboard was in the
 * Contacts list with the first row focused, the row never became selected, the extension never got the
 * command, and the Home keydown was handled before a setTimeout 0 queued during the palette's Enter.
 * (The keybinding resolution itself is read from VS Code's code: the keybinding log slowed the page enough
 * that the flake did not happen with it on.) Hence: the focus is in the list, the palette is gone, and a
 * timer queued after that has run, with the focus still there.
 */
export async function waitForKeyboardInList(page: Page, label: string, options: { timeoutMs?: number } = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  // A string, not a function: the test runner's compiler would add helpers the page does not have.
  const probe = `(() => {
    const inList = () => {
      const a = document.activeElement;
      const list = a && a.closest('.monaco-list');
      const q = document.querySelector(${JSON.stringify(QUICK_INPUT)});
      return !!list && list.getAttribute('aria-label') === ${JSON.stringify(label)} && (!q || q.style.display === 'none' || q.inert);
    };
    if (!inList()) return false;
    return new Promise((resolve) => setTimeout(() => resolve(inList()), 0));
  })()`;
  let last = '';
  while (Date.now() < deadline) {
    if (await page.evaluate(probe)) return;
    last = await page.evaluate(`(() => { const a = document.activeElement; return a ? a.tagName.toLowerCase() + ' ' + (a.getAttribute('aria-label') || a.className || '') : 'nothing'; })()`).then(String, (e: Error) => e.message);
    await page.waitForTimeout(50);
  }
  throw new Error(`the keyboard is not in the "${label}" list within ${timeoutMs} ms (it is in: ${last.slice(0, 120)})`);
}

/** Waits until the palette lists `title` (the extension is registered), then closes the palette. */
export async function waitForCommand(page: Page, title: string, options: { timeoutMs?: number } = {}): Promise<void> {
  await paletteRow(page, title, options.timeoutMs ?? 30_000);
  await page.keyboard.press('Escape');
}

/** Picks the row labelled `label` in the open quick pick, filtering by typing if it is not in view. */
export async function quickPickSelect(page: Page, label: string, options: { timeoutMs?: number } = {}): Promise<void> {
  const timeout = options.timeoutMs ?? 10_000;
  await quickInput(page).waitFor({ state: 'visible', timeout });
  const row = rowsLabelled(page, label).first();
  try {
    await row.waitFor({ state: 'visible', timeout: Math.min(2000, timeout) });
  } catch {
    // Long lists are virtualised: only rows in view exist in the DOM.
    await quickInputBox(page).fill(label);
    await row.waitFor({ state: 'visible', timeout });
  }
  await chooseRow(row);
}

/** Types `text` into the open input box (showInputBox or a quick pick's filter) and, by default, presses Enter. */
export async function quickInputType(page: Page, text: string, options: { submit?: boolean; timeoutMs?: number } = {}): Promise<void> {
  const box = quickInputBox(page);
  await box.waitFor({ state: 'visible', timeout: options.timeoutMs ?? 10_000 });
  await box.fill(text);
  if (options.submit ?? true) await box.press('Enter');
}

/** The current validation message or prompt under the input box, if any. */
export async function quickInputMessage(page: Page): Promise<string> {
  const msg = page.locator(`${QUICK_INPUT} .quick-input-message`);
  return (await msg.count()) ? ((await msg.first().textContent()) ?? '').trim() : '';
}

/**
 * The content frame of a webview (panel or view): VS Code nests the extension's HTML in
 * iframe#active-frame inside the host iframe. With several webviews open, `nth` picks one in
 * DOM order; hidden (background) webviews are skipped.
 */
export function webviewFrame(page: Page, nth = 0): FrameLocator {
  return page.locator('iframe.webview.ready:visible').nth(nth).contentFrame().frameLocator('iframe#active-frame');
}

/**
 * Waits until the status bar no longer shows "Activating Extensions...". Only meaningful once
 * activation has begun (after a command of the extension was invoked, or on startup).
 */
export async function waitForExtensionsActivated(page: Page, options: { timeoutMs?: number } = {}): Promise<void> {
  await page
    .locator('.statusbar-item', { hasText: 'Activating Extensions' })
    .waitFor({ state: 'hidden', timeout: options.timeoutMs ?? 60_000 });
}

/**
 * Waits for a status bar item contributed by the extension `extensionId` ("publisher.name"):
 * VS Code gives such items the DOM id "<extensionId>.<item id>". Returns the item.
 */
export async function waitForStatusBarItem(page: Page, extensionId: string, options: { text?: string | RegExp; timeoutMs?: number } = {}): Promise<Locator> {
  let item = page.locator(`.statusbar-item[id^="${extensionId}."]`);
  if (options.text !== undefined) item = item.filter({ hasText: options.text });
  await item.first().waitFor({ state: 'visible', timeout: options.timeoutMs ?? 30_000 });
  return item.first();
}

/** The text of each notification toast on screen, newest first. */
export async function notifications(page: Page): Promise<string[]> {
  const items = page.locator('.notifications-toasts .notification-toast .notification-list-item-message');
  return (await items.allTextContents()).map((t) => t.trim());
}

/** Waits for a toast whose message matches, and returns its locator (for its buttons). */
export async function waitForNotification(page: Page, text: string | RegExp, options: { timeoutMs?: number } = {}): Promise<Locator> {
  const toast = page
    .locator('.notifications-toasts .notification-toast')
    .filter({ has: page.locator('.notification-list-item-message').filter({ hasText: text }) })
    .first();
  await toast.waitFor({ state: 'visible', timeout: options.timeoutMs ?? 15_000 });
  return toast;
}

/**
 * The system clipboard as the page sees it: VS Code web writes `env.clipboard` and copy actions
 * through navigator.clipboard, which works headless once the context holds clipboard permissions.
 */
export async function readClipboard(page: Page): Promise<string> {
  await page.bringToFront();
  return page.evaluate(() => (globalThis as unknown as PageGlobals).navigator.clipboard.readText());
}

export async function writeClipboard(page: Page, text: string): Promise<void> {
  await page.bringToFront();
  await page.evaluate((t) => (globalThis as unknown as PageGlobals).navigator.clipboard.writeText(t), text);
}

// The project compiles without the DOM lib; this is the slice of the page's globals used above.
interface PageGlobals {
  navigator: { clipboard: { readText(): Promise<string>; writeText(text: string): Promise<void> } };
}

/** Saves a full-window PNG as test-results/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${safeName(name)}.png`);
  await page.screenshot({ path: file });
  return file;
}
