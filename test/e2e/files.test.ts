import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import {
  buildP2pChatVsix,
  launchBrowser,
  openEditor,
  quickPickSelect,
  runCommand,
  screenshot,
  startCodeServer,
  startRendezvous,
  waitForChatState,
  waitForNotification,
  type CodeServer,
  type Rendezvous,
  nameNewRoom,
} from './rig';

// A file sent from one real editor's Explorer ("Send to P2P Chat" in the context menu) and saved in
// the other ("Save…" on the offer notification, then the folder dialog): the same bytes arrive.
// Run alone: npx mocha test/e2e/files.test.ts

const FIXTURE = path.join(__dirname, 'fixtures', 'workspace');
const FILE = 'payload.bin';

describe('P2P Chat file transfer in two real editors', function () {
  this.timeout(120_000);
  let rdv: Rendezvous | undefined;
  const servers: CodeServer[] = [];
  let browser: Browser | undefined;
  let alice: Page;
  let bob: Page;
  let tmp = '';
  let downloads = '';
  let payload: Buffer;

  before(async function () {
    this.timeout(10 * 60_000);
    const vsix = await buildP2pChatVsix({ production: true });
    rdv = await startRendezvous({ name: 'e2e-files-rendezvous' });
    tmp = mkdtempSync(path.join(os.tmpdir(), 'p2pchat-e2e-files-'));
    downloads = path.join(tmp, 'bob-downloads');
    mkdirSync(downloads, { recursive: true });
    payload = randomBytes(3 * 1024 * 1024 + 17);
    const start = async (name: string, displayName: string, extra: Record<string, unknown>): Promise<CodeServer> => {
      const workspace = path.join(tmp, name);
      cpSync(FIXTURE, workspace, { recursive: true });
      if (name === 'alice') writeFileSync(path.join(workspace, FILE), payload);
      return startCodeServer({
        name: `e2e-files-${name}`,
        vsix: [vsix],
        workspace,
        settings: { 'p2pChat.rendezvousServer': rdv!.address, 'p2pChat.displayName': displayName, ...extra },
      });
    };
    const started = await Promise.allSettled([start('alice', 'Alice', {}), start('bob', 'Bob', { 'p2pChat.files.downloadFolder': downloads })]);
    for (const r of started) if (r.status === 'fulfilled') servers.push(r.value);
    for (const r of started) if (r.status === 'rejected') throw r.reason;
    browser = await launchBrowser();
    [alice, bob] = await Promise.all([openEditor(browser, servers[0].url), openEditor(browser, servers[1].url)]);
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') {
      for (const [n, p] of [['alice', alice], ['bob', bob]] as const) if (p && !p.isClosed()) await screenshot(p, `e2e-files-${n}`).catch(() => undefined);
    }
  });

  after(async function () {
    this.timeout(60_000);
    await browser?.close().catch(() => undefined);
    await Promise.all([...servers.map((s) => s.stop()), rdv?.stop()]);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('Explorer "Send to P2P Chat" in one editor, Save in the other: the same bytes', async function () {
    // Into one room: Alice starts it, Bob pastes the invite from the shared browser clipboard.
    await runCommand(alice, 'P2P Chat: Connect');
    await quickPickSelect(alice, 'Start a new room');
    await nameNewRoom(alice); // Enter keeps the suggested name
    const toast = await waitForNotification(alice, /Room ".*" created/, { timeoutMs: 30_000 });
    const invite = /(p2pchat:\S+)/.exec((await toast.locator('.notification-list-item-message').textContent()) ?? '')![1].replace(/[.,;]+$/, '');
    await runCommand(bob, 'P2P Chat: Connect');
    await quickPickSelect(bob, 'Join with an invite');
    const box = bob.locator('.quick-input-widget .quick-input-box input');
    await box.fill(invite);
    await box.press('Enter');
    await Promise.all([waitForChatState(alice, 'connected', { timeoutMs: 30_000 }), waitForChatState(bob, 'connected', { timeoutMs: 30_000 })]);

    // Alice: the Explorer's context menu on the file.
    await alice.bringToFront();
    await alice.keyboard.press('Control+Shift+E');
    const row = alice.locator('.explorer-folders-view .monaco-list-row', { hasText: FILE }).first();
    await row.waitFor({ timeout: 20_000 });
    await row.click({ button: 'right' });
    const item = alice.locator('.context-view .monaco-menu .action-item', { hasText: 'Send to P2P Chat' }).first();
    await item.waitFor({ timeout: 10_000 });
    await item.hover();
    await item.click();
    // A click landing while the menu is still laying itself out is sometimes dropped: the item is
    // focused by then, so Enter runs it as a keyboard user would.
    const menu = alice.locator('.context-view .monaco-menu');
    if (await menu.isVisible().catch(() => false)) {
      await alice.waitForTimeout(300);
      if (await menu.isVisible().catch(() => false)) await alice.keyboard.press('Enter');
    }

    // Bob: the offer (size and type, never the peer's file name), Save…, the folder dialog.
    await bob.bringToFront();
    const offer = await waitForNotification(bob, /offers a file/, { timeoutMs: 30_000 });
    assert.match((await offer.locator(".notification-list-item-message").textContent()) ?? "", /payload\.bin \(3\.0 MiB, application\/octet-stream\)/);
    await offer.locator('.monaco-button', { hasText: 'Save…' }).click();
    // VS Code's simple folder dialog (a quick input), opened at p2pChat.files.downloadFolder.
    const dialog = bob.locator('.quick-input-widget .quick-input-box input');
    await dialog.waitFor({ timeout: 10_000 });
    // It opens at the configured folder (a "machine"-scoped setting), not at ~/Downloads.
    let opened = '';
    for (let i = 0; i < 50 && !opened.startsWith(downloads); i++) {
      opened = await dialog.inputValue();
      if (!opened.startsWith(downloads)) await bob.waitForTimeout(100);
    }
    assert.ok(opened.startsWith(downloads), `the folder dialog opened at ${opened}, not at ${downloads}`);
    await dialog.fill(downloads + '/');
    await dialog.press('Enter');
    try {
      await bob.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 5000 });
    } catch {
      await bob.locator('.quick-input-widget .monaco-button', { hasText: 'Save here' }).click({ timeout: 5000 });
    }

    await waitForNotification(bob, /File received/, { timeoutMs: 60_000 });
    const saved = path.join(downloads, FILE);
    assert.ok(existsSync(saved), `${saved} exists`);
    assert.ok(readFileSync(saved).equals(payload), 'the saved file has the same bytes');
  });
});
