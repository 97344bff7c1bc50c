import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import {
  ensureTools,
  launchBrowser,
  notifications,
  openEditor,
  packageVsix,
  readClipboard,
  runCommand,
  screenshot,
  screenshotOnFailure,
  startCodeServer,
  waitForNotification,
  webviewFrame,
  type CodeServer,
} from './rig';
import { RIG_CLIPBOARD_MARKER, writeRigTestExtension } from './rig/rigTestExtension';

// Proves the rig itself on a throwaway extension: a real code-server with a .vsix installed,
// driven through the command palette, a notification, a webview and the clipboard.
describe('e2e rig: code-server + Chromium', function () {
  this.timeout(60_000);

  let tmp: string | undefined;
  let server: CodeServer | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  const timings: Record<string, number> = {};

  before(async function () {
    this.timeout(15 * 60_000); // a new machine installs Node 24 and code-server first
    let t = Date.now();
    ensureTools();
    timings.tools = Date.now() - t;

    t = Date.now();
    tmp = mkdtempSync(path.join(os.tmpdir(), 'rigtest-'));
    const extDir = path.join(tmp, 'ext');
    writeRigTestExtension(extDir);
    const vsix = await packageVsix(extDir, path.join(tmp, 'rigtest.vsix'));
    timings.vsix = Date.now() - t;

    t = Date.now();
    server = await startCodeServer({ name: 'rigtest', vsix: [vsix], workspace: path.join(tmp, 'workspace') });
    timings.codeServer = Date.now() - t;

    t = Date.now();
    browser = await launchBrowser();
    page = await openEditor(browser, server.url);
    timings.workbench = Date.now() - t;
  });

  afterEach(async function () {
    await screenshotOnFailure(this, { editor: page });
  });

  after(async function () {
    this.timeout(30_000);
    await browser?.close().catch(() => undefined);
    await server?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    console.log(`      setup timings (ms): ${JSON.stringify(timings)}`);
  });

  it('runs the extension command from the palette and shows its notification', async function () {
    assert.ok(page);
    const t = Date.now();
    await runCommand(page, 'Rig Test: Hello');
    await waitForNotification(page, 'Hello from the rig');
    timings.firstCommand = Date.now() - t;
    assert.ok((await notifications(page)).includes('Hello from the rig'));
  });

  it('shows the webview and its button round-trips a message to the extension', async function () {
    assert.ok(page);
    const frame = webviewFrame(page);
    await frame.locator('#title').waitFor({ state: 'visible', timeout: 15_000 });
    assert.equal(await frame.locator('#title').textContent(), 'Rig webview');
    await frame.locator('#btn').click();
    await frame.locator('#out', { hasText: 'pressed 1' }).waitFor({ timeout: 5000 });
    await waitForNotification(page, 'Rig button clicked 1');
    await screenshot(page, 'rig-webview');
  });

  it('reads what the extension wrote to the clipboard', async function () {
    assert.ok(page);
    assert.equal(await readClipboard(page), RIG_CLIPBOARD_MARKER);
  });

  it('keeps the code-server process group alive until stopped', function () {
    assert.ok(server);
    assert.equal(server.process.hasExited(), false);
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/\?folder=/);
  });
});
