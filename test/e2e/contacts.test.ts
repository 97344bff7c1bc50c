import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import {
  buildP2pChatVsix,
  chatPanel,
  conversationLabels,
  conversationRows,
  describeEditors,
  focusLog,
  nameNewRoom,
  chatMessage,
  launchBrowser,
  openEditor,
  P2P_CHAT_STATUS_ITEM,
  reloadWindow,
  quickInputType,
  quickPickSelect,
  RESULTS_DIR,
  ROOT,
  roomHeader,
  runCommand,
  screenshot,
  sendChatMessage,
  startCodeServer,
  startRendezvous,
  waitForChatTexts,
  waitForDraft,
  waitForNotification,
  waitForKeyboardInList,
  waitForStatusBarItemLabel,
  type CodeServer,
  type Rendezvous,
} from './rig';

// Issue #13's contacts story in two real editors (the packaged extension in code-server, driven from
// Chromium as a user would: the palette, input boxes, the modal that shows the fingerprint, the
// notification's Accept button, the Contacts view from the keyboard, the chat panel). In order:
//   1. both sign up; 2. Bob adds Alice by handle and is shown her fingerprint first; 3. Alice accepts
//   from the notification, each sees the other online in the Contacts view; 4. they DM both ways
//   (Bob opens the DM from the Contacts view with the keyboard; Alice's opens by itself in the
//   background and counts unread); 5. Alice appears offline: Bob's presence dot changes, then back.
//   6. Alice's editor goes away and comes back ("Developer: Reload Window" stops her extension host,
//   gracefully, and starts a new one: the same user data and secret storage, which a new code-server
//   would not keep); Bob writes 3 DMs while she is offline; they arrive, her badge shows 3, Bob's
//   marks turn delivered; 7. Alice starts a room while the DM stays open: each keeps its own draft,
//   and Bob's DM counts 1 unread on the DM's rows (not the room's) while the room is on screen;
//   8. a hostile stranger (the terminal peer) whose name and note are link and
//   icon syntax: Alice's notification and Requests row show the words and no link; Ignore drops it.
//   test/integration/contacts-service.test.ts checks the same without an editor,
//   and there also that the three went through the mailbox.

const FIXTURE = path.join(__dirname, 'fixtures', 'workspace');
const PRESENCE_ITEM = 'p2p-chat.p2p-chat.p2pChat.presence';

interface Editor {
  readonly name: string;
  readonly server: CodeServer;
  readonly page: Page;
}

function contactRows(page: Page) {
  return page.locator('.pane-body [aria-label="Contacts"] .monaco-list-row, .monaco-list[aria-label="Contacts"] .monaco-list-row');
}

async function contactLabels(page: Page): Promise<string[]> {
  return contactRows(page).evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? ''));
}

async function waitForContactLabel(page: Page, re: RegExp, timeoutMs: number): Promise<{ label: string; ms: number }> {
  const t0 = Date.now();
  let labels: string[] = [];
  while (Date.now() - t0 < timeoutMs) {
    labels = await contactLabels(page);
    const hit = labels.find((l) => re.test(l));
    if (hit) return { label: hit, ms: Date.now() - t0 };
    await page.waitForTimeout(100);
  }
  assert.fail(`no Contacts row matching ${re} within ${timeoutMs} ms: ${JSON.stringify(labels)}`);
}

function requestRows(page: Page) {
  return page.locator('.pane-body [aria-label="Requests"] .monaco-list-row, .monaco-list[aria-label="Requests"] .monaco-list-row');
}

const run = promisify(execFile);

describe('contacts in two real editors (code-server + Chromium)', function () {
  this.timeout(90_000);
  let rdv: Rendezvous | undefined;
  const servers: CodeServer[] = [];
  let alice: Editor | undefined;
  let bob: Editor | undefined;
  let browser: Browser | undefined;
  let tmp: string | undefined;
  let aliceAddress = '';
  let aliceFingerprint = '';
  let shot = 0;

  before(async function () {
    this.timeout(10 * 60_000);
    mkdirSync(RESULTS_DIR, { recursive: true });
    const vsix = await buildP2pChatVsix({ production: true });
    rdv = await startRendezvous({ name: 'e2e-contacts-rendezvous' });
    tmp = mkdtempSync(path.join(os.tmpdir(), 'p2pchat-e2e-contacts-'));
    const start = (name: string, displayName: string): Promise<CodeServer> => {
      const workspace = path.join(tmp!, name);
      cpSync(FIXTURE, workspace, { recursive: true });
      return startCodeServer({
        name: `e2e-contacts-${name}`,
        vsix: [vsix],
        workspace,
        settings: { 'p2pChat.rendezvousServer': rdv!.address, 'p2pChat.displayName': displayName, 'workbench.colorTheme': 'Default Dark Modern' },
      });
    };
    const started = await Promise.allSettled([start('alice', 'Alice'), start('bob', 'Bob')]);
    for (const r of started) if (r.status === 'fulfilled') servers.push(r.value);
    for (const r of started) if (r.status === 'rejected') throw r.reason;
    browser = await launchBrowser();
    const [pa, pb] = await Promise.all([openEditor(browser, servers[0].url), openEditor(browser, servers[1].url)]);
    alice = { name: 'alice', server: servers[0], page: pa };
    bob = { name: 'bob', server: servers[1], page: pb };
  });

  afterEach(async function () {
    shot++;
    const title = (this.currentTest?.title ?? 'test').replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40).toLowerCase();
    for (const e of [alice, bob]) {
      if (!e?.page || e.page.isClosed()) continue;
      try {
        const file = await screenshot(e.page, `e2e-contacts-${shot}-${title}-${e.name}`);
        if (this.currentTest?.state === 'failed') {
          console.log(`      screenshot: ${path.relative(ROOT, file)}`);
          console.log(`      ${e.name}'s ${await describeEditors(e.page).catch((err: Error) => err.message)}`);
        }
      } catch (err) {
        console.log(`      screenshot of ${e.name} failed: ${(err as Error).message}`);
      }
    }
  });

  after(async function () {
    this.timeout(60_000);
    await browser?.close().catch(() => undefined);
    await Promise.all([...servers.map((s) => s.stop()), rdv?.stop()]);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  async function signUp(e: Editor, handle: string, displayName: string): Promise<string> {
    const page = e.page;
    await page.bringToFront();
    await runCommand(page, 'P2P Chat: Sign Up');
    await quickInputType(page, handle); // the handle (the server comes from p2pChat.rendezvousServer)
    // The display name box comes prefilled from p2pChat.displayName: wait for it, then confirm it.
    const box = page.locator('.quick-input-widget .quick-input-box input');
    const deadline = Date.now() + 10_000;
    while ((await box.inputValue()) !== displayName && Date.now() < deadline) await page.waitForTimeout(100);
    assert.equal(await box.inputValue(), displayName, 'the display name is prefilled from the settings');
    await box.press('Enter');
    const toast = await waitForNotification(page, /signed up as/, { timeoutMs: 20_000 });
    return ((await toast.locator('.notification-list-item-message').textContent()) ?? '').trim();
  }

  /**
   * Keyboard only: focus the Contacts view, Home, Enter; the chat panel then shows the DM with `name`.
   * Each key waits for what a user would see first: the keyboard in the Contacts list (and VS Code done
   * with the palette: waitForKeyboardInList says why an Enter sent sooner went to the closed palette),
   * then the first row focused. Tried up to 3 times, each retry logged with where the keyboard was: a chat
   * panel that VS Code restores after a reload (its webview loading) can take the focus between the keys.
   */
  async function openFirstContact(page: Page, name: string): Promise<void> {
    let header = '';
    for (let attempt = 1; attempt <= 3; attempt++) {
      await runCommand(page, 'P2P Chat: Focus on Contacts View');
      await contactRows(page).first().waitFor({ timeout: 10_000 });
      await waitForKeyboardInList(page, 'Contacts');
      await page.keyboard.press('Home');
      await contactRows(page).first().and(page.locator('.focused')).waitFor({ timeout: 5000 });
      await page.keyboard.press('Enter');
      const deadline = Date.now() + 8000;
      while (Date.now() < deadline) {
        header = ((await chatPanel(page).locator('#p2p-room').textContent({ timeout: 1000 }).catch(() => '')) ?? '').trim();
        if (header === name) return;
        await page.waitForTimeout(200);
      }
      const where = await page
        .evaluate(`(() => {
          const a = document.activeElement;
          const rows = Array.from(document.querySelectorAll('.monaco-list[aria-label="Contacts"] .monaco-list-row')).map((r) => r.className.split(' ').filter((c) => c === 'focused' || c === 'selected').join('+') || 'plain');
          return 'keyboard in ' + (a ? a.tagName.toLowerCase() + ' "' + (a.getAttribute('aria-label') || '') + '"' : 'nothing') + ', Contacts rows ' + rows.join(', ');
        })()`)
        .then(String, (err: Error) => err.message);
      console.log(`      (attempt ${attempt}: the panel shows "${header}", not the DM with ${name}; ${where})`);
      for (const line of await focusLog(page, 12)) console.log(`        focus ${line}`);
    }
    assert.equal(header, name, `the DM with ${name} is on screen`);
  }

  /** Set Presence from the palette; its own quick pick (not the palette's list) must be up before a row is picked. */
  async function setPresence(page: Page, row: string, status: RegExp): Promise<void> {
    // Up to 3 tries: a quick pick closes when something takes the focus (a webview loading), seen under load.
    for (let attempt = 1; ; attempt++) {
      try {
        await runCommand(page, 'P2P Chat: Set Presence…');
        await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Appear Offline' }).waitFor({ timeout: 10_000 });
        await quickPickSelect(page, row, { timeoutMs: 5000 });
        await waitForStatusBarItemLabel(page, PRESENCE_ITEM, status, { timeoutMs: 5000 });
        return;
      } catch (err) {
        if (attempt >= 3) throw err;
        console.log(`      (Set Presence attempt ${attempt} did not take: ${(err as Error).message.split('\n')[0]})`);
        await page.keyboard.press('Escape');
      }
    }
  }

  it('1. both sign up from the palette; the notification names the handle and the fingerprint', async function () {
    const a = await signUp(alice!, 'alice', 'Alice');
    const m = /signed up as (\S+)\. .*Your fingerprint: ([0-9A-Z]{4}(?:-[0-9A-Z]{4}){3})/.exec(a);
    assert.ok(m, a);
    aliceAddress = m[1];
    aliceFingerprint = m[2];
    assert.equal(aliceAddress, `alice@${rdv!.address}`);
    const b = await signUp(bob!, 'bob', 'Bob');
    assert.match(b, new RegExp(`signed up as bob@${rdv!.address.replace(/\./g, '\\.')}\\.`));
    // The status bar shows each one's own presence.
    await waitForStatusBarItemLabel(alice!.page, PRESENCE_ITEM, /alice@.*, online/);
  });

  it('2. Bob adds Alice by handle: the fingerprint is shown and confirmed before the request goes', async function () {
    const page = bob!.page;
    await page.bringToFront();
    await runCommand(page, 'P2P Chat: Add Contact…');
    await quickInputType(page, aliceAddress);
    const dialog = page.locator('.monaco-dialog-box');
    await dialog.waitFor({ timeout: 15_000 });
    const text = ((await dialog.textContent()) ?? '').replace(/\s+/g, ' ');
    assert.match(text, /Add Alice as a contact\?/);
    assert.ok(text.includes(`Fingerprint: ${aliceFingerprint}`), `the modal shows Alice's fingerprint ${aliceFingerprint}: ${text}`);
    await dialog.locator('.monaco-button', { hasText: 'Send Request' }).click();
    await quickInputType(page, 'Hi Alice, Bob from the standup');
    // Bob's Contacts view: Alice, request pending.
    await runCommand(page, 'P2P Chat: Focus on Contacts View');
    await waitForContactLabel(page, /^Alice, request (sent|not delivered)/, 10_000);
  });

  it('3. Alice accepts from the notification; both see each other online in the Contacts view', async function () {
    const pa = alice!.page;
    await pa.bringToFront();
    const toast = await waitForNotification(pa, /Bob \(bob@.*\) wants to add you as a contact: “Hi Alice, Bob from the standup”/, { timeoutMs: 20_000 });
    await toast.locator('.monaco-button', { hasText: 'Accept' }).click();
    await runCommand(pa, 'P2P Chat: Focus on Contacts View');
    const atAlice = await waitForContactLabel(pa, /^Bob, online, not verified, no unread messages$/, 10_000);
    const pb = bob!.page;
    await pb.bringToFront();
    const atBob = await waitForContactLabel(pb, /^Alice, online, not verified, no unread messages$/, 10_000);
    await waitForNotification(pb, /Alice accepted your contact request/, { timeoutMs: 10_000 });
    console.log(`      online at Alice after ${atAlice.ms} ms, at Bob after ${atBob.ms} ms (from the Accept click)`);
  });

  it('4. they DM both ways: Bob opens the DM from the Contacts view with the keyboard; Alice counts it unread', async function () {
    const pb = bob!.page;
    await pb.bringToFront();
    await openFirstContact(pb, 'Alice');
    await sendChatMessage(pb, 'Hello Alice, this is a DM.');

    // Alice's DM opened by itself (Bob knocked) and holds the message as unread.
    const pa = alice!.page;
    await pa.bringToFront();
    await waitForContactLabel(pa, /^Bob, online, not verified, 1 unread message$/, 20_000);
    await pa.locator('.activitybar .action-item .badge-content', { hasText: /^1$/ }).first().waitFor({ timeout: 10_000 });
    await openFirstContact(pa, 'Bob');
    await waitForChatTexts(pa, ['Hello Alice, this is a DM.'], { timeoutMs: 20_000 });
    await sendChatMessage(pa, 'Hi Bob, got it.');
    await pb.bringToFront();
    await waitForChatTexts(pb, ['Hello Alice, this is a DM.', 'Hi Bob, got it.'], { timeoutMs: 20_000 });
    // Bob's own message is delivered.
    await chatMessage(pb, 'Hello Alice, this is a DM.').locator('.p2p-delivery[data-delivery="delivered"]').waitFor({ timeout: 20_000 });
    // The DM is a conversation like any room.
    await runCommand(pb, 'P2P Chat: Focus on Conversations View');
    const rows = await conversationRows(pb).evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? ''));
    assert.ok(rows.some((r) => /^Alice, open, active/.test(r)), JSON.stringify(rows));
  });

  it('5. Alice appears offline: the dot on Bob\'s side changes within 5 s, and back to online', async function () {
    const pa = alice!.page;
    await pa.bringToFront();
    await setPresence(pa, 'Appear Offline', /, appearing offline\./);
    const pb = bob!.page;
    await pb.bringToFront();
    await runCommand(pb, 'P2P Chat: Focus on Contacts View');
    const off = await waitForContactLabel(pb, /^Alice, offline/, 5000 + 3000);
    await pa.bringToFront();
    await setPresence(pa, 'Online', /, online\./);
    await pb.bringToFront();
    const on = await waitForContactLabel(pb, /^Alice, online/, 5000);
    console.log(`      Bob saw Alice offline after ${off.ms} ms and online again after ${on.ms} ms (from his view's focus)`);
  });

  it('6. Alice reloads her editor; Bob writes 3 DMs while she is offline; they arrive, her badge shows 3, his marks turn delivered', async function () {
    this.timeout(180_000);
    const [pa, pb] = [alice!.page, bob!.page];
    const reloading = reloadWindow(pa, { timeoutMs: 120_000 });
    await pb.bringToFront();
    await runCommand(pb, 'P2P Chat: Focus on Contacts View');
    const gone = await waitForContactLabel(pb, /^Alice, offline/, 30_000);
    const texts = [1, 2, 3].map((i) => `While you were away, ${i} of 3.`);
    for (const t of texts) await sendChatMessage(pb, t);
    console.log(`      Bob saw Alice offline ${gone.ms} ms after the reload began; his 3 messages sent`);
    await reloading;
    await pa.bringToFront();
    await runCommand(pa, 'P2P Chat: Focus on Contacts View');
    // At start-up her DMs open in the background and fetch what waits for them.
    const back = await waitForContactLabel(pa, /^Bob, (online|away), not verified, 3 unread messages$/, 60_000);
    await pa.locator('.activitybar .action-item .badge-content', { hasText: /^3$/ }).first().waitFor({ timeout: 10_000 });
    console.log(`      the 3 unread at Alice ${back.ms} ms after her workbench was back`);
    await pb.bringToFront();
    for (const t of texts) {
      await chatMessage(pb, t)
        .locator('.p2p-delivery[data-delivery="delivered"]')
        .waitFor({ timeout: 30_000 })
        .catch(async () => assert.fail(`"${t}" is ${await chatMessage(pb, t).locator('.p2p-delivery').getAttribute('data-delivery')} at Bob, not delivered`));
    }
    // Alice opens the DM from the keyboard: the three are there, in order.
    await pa.bringToFront();
    await openFirstContact(pa, 'Bob');
    await waitForChatTexts(pa, texts, { timeoutMs: 20_000 });
    // The README picture: Bob's sidebar (Conversations, Contacts, Requests) beside the DM.
    await pb.bringToFront();
    await runCommand(pb, 'P2P Chat: Focus on Contacts View');
    const file = await screenshot(pb, 'e2e-contacts-sidebar');
    if (process.env.P2P_E2E_README_SHOT === '1') copyFileSync(file, path.join(ROOT, 'docs', 'images', 'contacts.png'));
  });

  it('7. Alice is in a room and the DM at once: each keeps its own draft, and a DM while the room is on screen counts on the DM only', async function () {
    this.timeout(150_000);
    const [pa, pb] = [alice!.page, bob!.page];
    const escape = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const input = chatPanel(pa).locator('#p2p-input');
    async function waitForHeader(page: Page, name: string): Promise<void> {
      for (let i = 0; i < 100 && (await roomHeader(page).catch(() => '')) !== name; i++) await page.waitForTimeout(100);
      assert.equal(await roomHeader(page), name, `the panel shows ${name}`);
    }
    async function waitForLabels(page: Page, test: (labels: string[]) => boolean, what: string): Promise<string[]> {
      const deadline = Date.now() + 15_000;
      let labels = await conversationLabels(page);
      while (!test(labels) && Date.now() < deadline) {
        await page.waitForTimeout(200);
        labels = await conversationLabels(page);
      }
      assert.ok(test(labels), `${what}: ${JSON.stringify(labels)}`);
      return labels;
    }

    // Alice starts a room from the palette (her DM with Bob stays open); Enter keeps the suggested name.
    await pa.bringToFront();
    await runCommand(pa, 'P2P Chat: Connect');
    // Our quick pick, not the palette still closing.
    await pa.locator('.quick-input-widget .monaco-list-row', { hasText: 'Start a new room' }).waitFor({ timeout: 30_000 });
    await quickPickSelect(pa, 'Start a new room');
    const room = await nameNewRoom(pa);
    assert.match(room, /^Alice's room, /);
    await waitForNotification(pa, /Room ".*" created/, { timeoutMs: 20_000 });
    await waitForHeader(pa, room);
    await runCommand(pa, 'P2P Chat: Focus on Conversations View');
    // Both conversations are open, the room on screen; the DM holds nothing unread (test 6 read it).
    let labels = await waitForLabels(pa, (l) => l.length === 2, 'two conversations');
    const roomRow = new RegExp(`^${escape(room)}, open, active, no unread messages`);
    const dmRead = /^Bob, open, no unread messages/;
    assert.ok(labels.some((l) => roomRow.test(l)) && labels.some((l) => dmRead.test(l)), JSON.stringify(labels));

    // A draft in the room (not sent), then over to the DM from the Contacts view: its own, empty draft.
    await input.fill('draft for the room, not sent');
    await openFirstContact(pa, 'Bob');
    await waitForDraft(pa, '');
    await waitForChatTexts(pa, ['While you were away, 3 of 3.']);
    await input.fill('draft for Bob, not sent either');
    // Back to the room from the Conversations view: its draft, no DM text in it; then the DM's draft again.
    await runCommand(pa, 'P2P Chat: Focus on Conversations View');
    await conversationRows(pa).filter({ hasText: room }).click();
    await waitForHeader(pa, room);
    await waitForDraft(pa, 'draft for the room, not sent');
    assert.equal(await chatMessage(pa, 'While you were away').count(), 0, 'the DM\'s messages stay in the DM');
    await conversationRows(pa).filter({ hasText: /^Bob/ }).click();
    await waitForHeader(pa, 'Bob');
    await waitForDraft(pa, 'draft for Bob, not sent either');
    await conversationRows(pa).filter({ hasText: room }).click();
    await waitForHeader(pa, room);
    await waitForDraft(pa, 'draft for the room, not sent');
    // Nothing unread yet anywhere: the DM's contact row says so and the Activity Bar shows no count.
    await runCommand(pa, 'P2P Chat: Focus on Contacts View');
    await waitForContactLabel(pa, /^Bob, (online|away), not verified, no unread messages$/, 5000);
    const badge = pa.locator('.activitybar .action-item .badge-content:visible', { hasText: /^\d+$/ });
    assert.equal(await badge.count(), 0, `no unread badge before Bob writes: ${JSON.stringify(await badge.allTextContents())}`);

    // Bob sends a DM while Alice has the room on screen.
    await pb.bringToFront();
    await waitForHeader(pb, 'Alice');
    await sendChatMessage(pb, 'A DM while you are in your room.');
    await pa.bringToFront();
    // The DM's rows count it; the room's does not; the badge shows 1; the room stays on screen with its draft.
    await waitForContactLabel(pa, /^Bob, (online|away), not verified, 1 unread message$/, 20_000);
    await runCommand(pa, 'P2P Chat: Focus on Conversations View');
    labels = await waitForLabels(pa, (l) => l.some((x) => /^Bob, open, 1 unread message, last message (Bob: )?A DM while you are in your room\.$/.test(x)), 'the DM row counts 1 unread');
    assert.ok(labels.some((l) => roomRow.test(l)), `the room's row has nothing unread: ${JSON.stringify(labels)}`);
    assert.equal(labels.length, 2, JSON.stringify(labels));
    await pa.locator('.activitybar .action-item .badge-content', { hasText: /^1$/ }).first().waitFor({ timeout: 10_000 });
    await waitForStatusBarItemLabel(pa, P2P_CHAT_STATUS_ITEM, /\b1 unread message\b/, { timeoutMs: 10_000 });
    assert.equal(await roomHeader(pa), room, 'the room is still on screen');
    await waitForDraft(pa, 'draft for the room, not sent');
    assert.equal(await chatMessage(pa, 'A DM while you are in your room.').count(), 0, 'the DM does not show in the room');

    // Alice opens the DM: the message, her DM draft, and the count clears.
    await conversationRows(pa).filter({ hasText: /^Bob/ }).click();
    await waitForHeader(pa, 'Bob');
    await waitForChatTexts(pa, ['While you were away, 3 of 3.', 'A DM while you are in your room.']);
    await waitForDraft(pa, 'draft for Bob, not sent either');
    await waitForLabels(pa, (l) => l.some((x) => /^Bob, open, active, no unread messages/.test(x)) && l.some((x) => new RegExp(`^${escape(room)}, open, no unread messages`).test(x)), 'the counts clear');
    await waitForStatusBarItemLabel(pa, P2P_CHAT_STATUS_ITEM, /^(?![\s\S]*unread)/, { timeoutMs: 10_000 });
    // The drafts were not sent: Bob has neither.
    await pb.bringToFront();
    assert.equal(await chatMessage(pb, 'draft for Bob').count(), 0, 'a draft is not sent');
  });

  it('8. a stranger named with link and icon syntax: the notification and the Requests row show it as text, no link; Ignore drops it', async function () {
    this.timeout(120_000);
    const dir = path.join(tmp!, 'mallory');
    const peer = path.join(ROOT, 'dist', 'peer.js');
    const evilName = '[OK](command:workbench.action.terminal.new)$(check)'; // 64 bytes at most
    const evilNote = 'read [the docs](https://evil.example) first';
    await run(process.execPath, [peer, 'signup', 'mallory', '--rendezvous', rdv!.address, '--display-name', evilName, '--data-dir', dir]);
    const pa = alice!.page;
    await pa.bringToFront();
    const adding = run(process.execPath, [peer, 'contacts', 'add', aliceAddress, '--note', evilNote, '--data-dir', dir, '--timeout', '30']);
    const toast = await waitForNotification(pa, /wants to add you as a contact/, { timeoutMs: 30_000 });
    await adding;
    const message = toast.locator('.notification-list-item-message');
    assert.equal(await message.locator('a, [role=link], .monaco-link').count(), 0, 'no link in the notification');
    const text = ((await message.textContent()) ?? '').trim();
    assert.ok(text.includes('[OK]') && text.includes('the docs'), `the words are shown: ${text}`);
    assert.ok(!/command:|https:|\$\(/.test(text), `no live scheme, no icon syntax: ${text}`);
    // The Requests view (the container is open on P2P Chat since test 4): one row, inert.
    await requestRows(pa).first().waitFor({ timeout: 10_000 });
    const rows = await requestRows(pa).evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? ''));
    assert.equal(rows.length, 1, JSON.stringify(rows));
    assert.match(rows[0], /^Contact request from \[OK\] /);
    assert.ok(!/\]\(|command:|https:|\$\(/.test(rows[0]), rows[0]);
    // (VS Code draws a row's name and its inline buttons as <a> elements without a target: a link has an href or the role.)
    assert.equal(await requestRows(pa).first().locator('a[href], [role="link"], .monaco-link').count(), 0, 'no link in the Requests row');
    await toast.locator('.monaco-button', { hasText: 'Ignore' }).click();
    const deadline = Date.now() + 10_000;
    while ((await requestRows(pa).count()) > 0 && Date.now() < deadline) await pa.waitForTimeout(100);
    assert.equal(await requestRows(pa).count(), 0, 'the request is gone after Ignore');
  });
});
