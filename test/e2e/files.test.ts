import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { pngBytes } from '../webview/fixtures';
import {
  buildP2pChatVsix,
  chatPanel,
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
// Then an image dropped onto Alice's chat panel (the drop a user makes holding Shift: the webview's
// drop event with the file's bytes), shown as a card on both sides, saved from the card in Bob's
// panel: the same bytes, and the card shows its preview once the file is verified and saved.
// Run alone: npx mocha test/e2e/files.test.ts

const FIXTURE = path.join(__dirname, 'fixtures', 'workspace');
const FILE = 'payload.bin';

/** VS Code's simple folder dialog (a quick input), opened at p2pChat.files.downloadFolder: pick `downloads`. */
async function saveInDialog(bob: Page, downloads: string): Promise<void> {
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
}

/** What Chromium delivers to the webview when a file from the OS is dropped on it with Shift held. */
async function dropOnPanel(page: Page, name: string, bytes: Buffer, type = 'application/octet-stream'): Promise<void> {
  await chatPanel(page)
    .locator('#p2p-transcript')
    .evaluate(
      (el, [n, b, t]) => {
        const dt = new DataTransfer();
        dt.items.add(new File([new Uint8Array(b as number[])], n as string, { type: t as string }));
        el.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
        el.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      },
      [name, Array.from(bytes), type] as const,
    );
}

/** The card of the file `name` in `page`'s chat panel, in one direction. */
function fileCard(page: Page, name: string, direction: 'in' | 'out') {
  const panel = chatPanel(page);
  return panel.locator(`.p2p-file[data-direction="${direction}"]`, { has: panel.locator('.p2p-file-name', { hasText: name }) });
}

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
  let invite = '';
  const early = randomBytes(40_000);

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
    invite = /(p2pchat:\S+)/.exec((await toast.locator('.notification-list-item-message').textContent()) ?? '')![1].replace(/[.,;]+$/, '');
    // Part 6 of #15: a file dropped while Alice is alone in the room waits on its card, and is offered to
    // the first member who connects (Bob, below), who saves it from his card at the end of this test.
    await waitForChatState(alice, 'waiting', { timeoutMs: 30_000 });
    await dropOnPanel(alice, 'early.bin', early);
    const earlyCard = fileCard(alice, 'early.bin', 'out');
    await earlyCard.waitFor({ timeout: 20_000 });
    assert.match((await earlyCard.locator('.p2p-file-status').textContent()) ?? '', /Waiting for the recipient/);
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
    const offer = await waitForNotification(bob, /offers a file: payload\.bin/, { timeoutMs: 30_000 });
    assert.match((await offer.locator(".notification-list-item-message").textContent()) ?? "", /payload\.bin \(3\.0 MiB, application\/octet-stream\)/);
    await offer.locator('.monaco-button', { hasText: 'Save…' }).click();
    await saveInDialog(bob, downloads);

    await waitForNotification(bob, /File received/, { timeoutMs: 60_000 });
    const saved = path.join(downloads, FILE);
    assert.ok(existsSync(saved), `${saved} exists`);
    assert.ok(readFileSync(saved).equals(payload), 'the saved file has the same bytes');

    // The file Alice dropped before Bob was there: offered to him when he connected; Save… on his card.
    const bobEarly = fileCard(bob, 'early.bin', 'in');
    await bobEarly.waitFor({ timeout: 30_000 });
    await bobEarly.locator('[data-testid="file-save"]').click();
    await saveInDialog(bob, downloads);
    await chatPanel(bob).locator('.p2p-file[data-direction="in"][data-state="done"]', { has: chatPanel(bob).locator('.p2p-file-name', { hasText: 'early.bin' }) }).waitFor({ timeout: 60_000 });
    assert.ok(readFileSync(path.join(downloads, 'early.bin')).equals(early), 'the early file has the same bytes');
  });
  it('an image dropped onto Alice\'s panel: a card on both sides; Save… on Bob\'s card: the same bytes, and a preview', async function () {
    const image = Buffer.from(pngBytes(64, 48));
    const name = 'dropped-shot.png';
    const alicePanel = chatPanel(alice);
    const bobPanel = chatPanel(bob);
    await alice.bringToFront();
    await alicePanel.locator('#p2p-drop-hint').waitFor({ timeout: 10_000 });
    await dropOnPanel(alice, name, image, 'image/png');
    // Alice's own card, with the preview from her own bytes.
    const mine = alicePanel.locator('.p2p-file[data-direction="out"]', { has: alicePanel.locator('.p2p-file-name', { hasText: name }) });
    await mine.waitFor({ timeout: 20_000 });
    await mine.locator('img.p2p-file-image').waitFor({ timeout: 10_000 });

    // Bob's card: the offer, nothing written yet, no preview before it is saved.
    await bob.bringToFront();
    const card = bobPanel.locator('.p2p-file[data-direction="in"]', { has: bobPanel.locator('.p2p-file-name', { hasText: name }) });
    await card.waitFor({ timeout: 30_000 });
    assert.equal(await card.getAttribute('data-state'), 'offered');
    const shown = image.length < 1024 ? `${image.length} B` : `${(image.length / 1024).toFixed(1)} KiB`;
    assert.equal(await card.locator('.p2p-file-meta').textContent(), `${shown} · image/png`);
    assert.equal(await card.locator('img').count(), 0, 'no preview before the file is verified and saved');
    assert.equal(existsSync(path.join(downloads, name)), false, 'nothing written before Save');
    await card.locator('[data-testid="file-save"]').click();
    await saveInDialog(bob, downloads);
    await bobPanel.locator(`.p2p-file[data-state="done"]`, { has: bobPanel.locator('.p2p-file-name', { hasText: name }) }).waitFor({ timeout: 60_000 });
    assert.match((await card.locator('.p2p-file-status').textContent()) ?? '', /SHA-256 checked/);
    await card.locator('img.p2p-file-image').waitFor({ timeout: 10_000 });
    assert.equal(await card.locator('[data-testid="file-open"]').isVisible(), true);
    const saved = path.join(downloads, name);
    assert.ok(readFileSync(saved).equals(image), 'the saved file has the same bytes');
    // And Alice's card says it was sent.
    await alice.bringToFront();
    await alicePanel.locator('.p2p-file[data-direction="out"][data-state="done"]', { has: alicePanel.locator('.p2p-file-name', { hasText: name }) }).waitFor({ timeout: 20_000 });
  });
  it('Bob leaves; Alice drops a file; Bob comes back: the offer reaches him then, Save… on his card: the same bytes', async function () {
    const later = randomBytes(200_000);
    await bob.bringToFront();
    await runCommand(bob, 'P2P Chat: Disconnect');
    await alice.bringToFront();
    // Alice still knows Bob as a member (offline now): the offer waits for his link.
    await chatPanel(alice).locator('#p2p-members .p2p-member[data-presence="offline"]').first().waitFor({ timeout: 30_000 });
    await dropOnPanel(alice, 'later.bin', later);
    const mine = fileCard(alice, 'later.bin', 'out');
    await mine.waitFor({ timeout: 20_000 });
    assert.equal(await mine.getAttribute('data-state'), 'waiting');
    assert.equal(existsSync(path.join(downloads, 'later.bin')), false);

    await bob.bringToFront();
    await runCommand(bob, 'P2P Chat: Connect');
    await quickPickSelect(bob, 'Join with an invite');
    const box = bob.locator('.quick-input-widget .quick-input-box input');
    await box.fill(invite);
    await box.press('Enter');
    await waitForChatState(bob, 'connected', { timeoutMs: 30_000 });
    const card = fileCard(bob, 'later.bin', 'in');
    await card.waitFor({ timeout: 30_000 });
    await card.locator('[data-testid="file-save"]').click();
    await saveInDialog(bob, downloads);
    await chatPanel(bob).locator('.p2p-file[data-direction="in"][data-state="done"]', { has: chatPanel(bob).locator('.p2p-file-name', { hasText: 'later.bin' }) }).waitFor({ timeout: 60_000 });
    assert.ok(readFileSync(path.join(downloads, 'later.bin')).equals(later), 'the same bytes');
  });
});
