import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import {
  activeEditorTitle,
  buildP2pChatVsix,
  chatMember,
  chatMessage,
  chatMessageIds,
  chatPanel,
  conversationLabels,
  conversationRows,
  describeEditors,
  focusLog,
  launchBrowser,
  nameNewRoom,
  openEditor,
  openFile,
  P2P_CHAT_STATUS_ITEM,
  quickPickSelect,
  readClipboard,
  reloadWindow,
  RESULTS_DIR,
  roomHeader,
  ROOT,
  runCommand,
  runningExtensionActivationMs,
  screenshot,
  screenshotRegion,
  selectLines,
  selectionStatus,
  selectionStatusText,
  sendChatMessage,
  sideBySide,
  startCodeServer,
  startRendezvous,
  statusBarItem,
  statusBarItemLabel,
  waitForStatusBarItemLabel,
  tab,
  waitForActiveEditor,
  waitForChatState,
  waitForChatTexts,
  waitForDraft,
  waitForNotification,
  waitForKeyboardInList,
  type CodeServer,
  type Rendezvous,
} from './rig';

// The real extension, packaged as a release is (vsce on the --production build), in two real
// editors that chat through the real rendezvous over loopback UDP. Everything is driven as a user
// would: the command palette, quick picks, the clipboard, the chat panel's composer, the editor's
// selection, tabs and the status bar. The tests run in order and build on each other: one room
// for the whole file.
//
// Writes test-results/e2e-*.png (both editors after every test), test-results/activation.json
// (read by the benchmark) and test-results/e2e-chat-panel.png; with P2P_E2E_README_SHOT=1 the
// latter also goes to docs/images/chat-panel.png.

const FIXTURE = path.join(__dirname, 'fixtures', 'workspace');
const SAMPLE = 'src/sample.ts';
const SHARED_LINES = { from: 3, to: 5 } as const;
const PANEL_TAB = '.tabs-container .tab[aria-label^="P2P Chat"]';

interface Editor {
  readonly name: string;
  readonly server: CodeServer;
  readonly page: Page;
}

/** The chat panel's tab in this editor. */
function panelTab(page: Page) {
  return page.locator(PANEL_TAB).first();
}

/** The editor group that shows the chat panel (its tab bar plus the webview over its body). */
function panelGroup(page: Page) {
  return page.locator('.editor-group-container').filter({ has: page.locator('.tab.active[aria-label^="P2P Chat"]') }).first();
}

/** The status bar item's accessible label: state, room and unread count in words. */
async function statusLabel(page: Page): Promise<string> {
  return statusBarItemLabel(page, P2P_CHAT_STATUS_ITEM);
}

function waitForStatusLabel(page: Page, re: RegExp): Promise<string> {
  return waitForStatusBarItemLabel(page, P2P_CHAT_STATUS_ITEM, re);
}

function loadAverage(): number[] {
  return os.loadavg().map((l) => Math.round(l * 100) / 100);
}

/** Milliseconds between two "YYYY-MM-DD HH:MM:SS.mmm" log timestamps of the same log. */
function logTime(line: string): number | undefined {
  const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d{3})/.exec(line);
  return m ? Date.parse(`${m[1]}T${m[2]}`) : undefined;
}

/**
 * From the extension host logs copied at stop(): the time from VS Code starting the activation
 * (ExtensionService#_doActivateExtension, before the bundle is loaded) to the extension's own
 * "activated" line (the end of activate()). Includes code loading, which "Running Extensions" omits.
 * Each extension host (exthost1, exthost2 after a reload...) has its own folder; the first one counts.
 */
function activationFromLogs(logsDir: string): { activationEvent?: string; loadAndActivateMs?: number } {
  const hosts = new Map<string, string[]>(); // exthost folder → its log files
  const walk = (d: string, host: string | undefined): void => {
    for (const e of readdirSync(d).sort()) {
      const p = path.join(d, e);
      if (statSync(p).isDirectory()) walk(p, host ?? (/^exthost\d+$/.test(e) ? p : undefined));
      else if (host && e.endsWith('.log')) hosts.set(host, [...(hosts.get(host) ?? []), p]);
    }
  };
  try {
    walk(logsDir, undefined);
  } catch {
    return {};
  }
  for (const files of hosts.values()) {
    let start: number | undefined;
    let end: number | undefined;
    let activationEvent: string | undefined;
    for (const f of files) {
      for (const line of readFileSync(f, 'utf8').split('\n')) {
        const begin = /_doActivateExtension p2p-chat\.p2p-chat,.*activationEvent: '([^']+)'/.exec(line);
        if (begin && start === undefined) {
          start = logTime(line);
          activationEvent = begin[1];
        }
        if (end === undefined && /P2P Chat .* activated \(/.test(line)) end = logTime(line);
      }
    }
    if (start !== undefined && end !== undefined) return { ...(activationEvent ? { activationEvent } : {}), loadAndActivateMs: end - start };
  }
  return {};
}

describe('P2P Chat in two real editors (code-server + Chromium)', function () {
  this.timeout(60_000);

  let rdv: Rendezvous | undefined;
  const servers: CodeServer[] = [];
  let alice: Editor | undefined;
  let bob: Editor | undefined;
  let browser: Browser | undefined;
  let tmp: string | undefined;
  let invite = '';
  /** Room 1's name: what Alice names it (test 1), then what Bob renames it to (test 3). */
  let room1Name = '';
  /** Room 2's name: the suggestion Alice keeps with Escape (test 7). */
  let room2Name = '';
  let aliceSelection = '';
  let shot = 0;
  const timings: Record<string, number> = {};
  /** Per editor: see the notes written into activation.json. */
  const activation: Record<string, { commandToQuickPickMs?: number; runningExtensionsActivationMs?: number }> = {};
  /** Every text sent, in order, per sender. */
  const sent: Record<'alice' | 'bob', string[]> = { alice: [], bob: [] };

  /** Sends `text` from `who`'s panel; `shown` is how it renders (differs for markdown). */
  async function say(who: Editor, text: string, shown = text): Promise<void> {
    await sendChatMessage(who.page, text);
    sent[who.name as 'alice' | 'bob'].push(shown);
  }

  /** Runs the Connect command and times the quick pick's appearance (the extension activates on it). */
  async function connectQuickPick(who: Editor): Promise<void> {
    await runCommand(who.page, 'P2P Chat: Connect');
    const t0 = Date.now();
    await who.page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Start a new room' }).waitFor({ timeout: 30_000 });
    activation[who.name] = { commandToQuickPickMs: Date.now() - t0 };
  }

  /**
   * VS Code's own figure, once the flow under test is over. From the text editor: a webview that
   * holds the focus closes the modal "Running Extensions" editor as it takes the focus back.
   * A measurement, not a check: when VS Code does not show it, the report just lacks it.
   */
  async function recordRunningExtensions(who: Editor): Promise<void> {
    try {
      await tab(who.page, 'sample.ts').click();
      await waitForActiveEditor(who.page, 'sample.ts');
      const ms = await runningExtensionActivationMs(who.page, 'P2P Chat', { timeoutMs: 10_000 });
      if (ms !== undefined) activation[who.name] = { ...activation[who.name], runningExtensionsActivationMs: ms };
    } catch (err) {
      console.log(`      (no "Running Extensions" figure from ${who.name}: ${(err as Error).message.split('\n')[0]})`);
    }
  }

  before(async function () {
    this.timeout(10 * 60_000); // a new machine installs Node 24 and code-server first
    mkdirSync(RESULTS_DIR, { recursive: true });
    for (const f of readdirSync(RESULTS_DIR)) if (/^e2e-.*\.png$/.test(f)) rmSync(path.join(RESULTS_DIR, f)); // last run's pictures
    let t = Date.now();
    const vsix = await buildP2pChatVsix({ production: true }); // what vscode:prepublish builds
    timings.vsixMs = Date.now() - t;

    t = Date.now();
    rdv = await startRendezvous({ name: 'e2e-rendezvous' });
    tmp = mkdtempSync(path.join(os.tmpdir(), 'p2pchat-e2e-'));
    const start = async (name: string, displayName: string): Promise<CodeServer> => {
      const workspace = path.join(tmp!, name);
      cpSync(FIXTURE, workspace, { recursive: true });
      return startCodeServer({
        name: `e2e-${name}`,
        vsix: [vsix],
        workspace,
        settings: {
          'p2pChat.rendezvousServer': rdv!.address,
          'p2pChat.displayName': displayName,
          'workbench.colorTheme': 'Default Dark Modern',
          'editor.minimap.enabled': false,
        },
      });
    };
    // allSettled: when one fails to start, the other is still stopped by after().
    const started = await Promise.allSettled([start('alice', 'Alice'), start('bob', 'Bob')]);
    for (const r of started) if (r.status === 'fulfilled') servers.push(r.value);
    for (const r of started) if (r.status === 'rejected') throw r.reason;
    const [sa, sb] = servers;
    timings.editorsMs = Date.now() - t;

    t = Date.now();
    browser = await launchBrowser();
    const [pa, pb] = await Promise.all([openEditor(browser, sa.url), openEditor(browser, sb.url)]);
    alice = { name: 'alice', server: sa, page: pa };
    bob = { name: 'bob', server: sb, page: pb };
    try {
      // The sample file first, so that each chat panel opens beside it.
      await Promise.all([openFile(pa, SAMPLE, { timeoutMs: 60_000 }), openFile(pb, SAMPLE, { timeoutMs: 60_000 })]);
    } catch (err) {
      await Promise.all([screenshot(pa, 'e2e-0-setup-alice'), screenshot(pb, 'e2e-0-setup-bob')]).catch(() => undefined);
      throw err;
    }
    timings.workbenchesMs = Date.now() - t;
  });

  afterEach(async function () {
    shot++;
    const title = (this.currentTest?.title ?? 'test').replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 50).toLowerCase();
    for (const e of [alice, bob]) {
      if (!e?.page || e.page.isClosed()) continue;
      try {
        const file = await screenshot(e.page, `e2e-${shot}-${title}-${e.name}`);
        if (this.currentTest?.state === 'failed') {
          console.log(`      screenshot: ${path.relative(ROOT, file)}`);
          console.log(`      ${e.name}'s ${await describeEditors(e.page).catch((err: Error) => err.message)}`);
          // Where the keyboard focus went last: a quick input that closed by itself lost it to something.
          for (const line of await focusLog(e.page, 30)) console.log(`        ${e.name} focus ${line}`);
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
    console.log(`      timings (ms): ${JSON.stringify(timings)}`);
    if (Object.keys(activation).length > 0) writeActivation();
  });

  /** test-results/activation.json, for the benchmark. */
  function writeActivation(): void {
    const editors = Object.entries(activation).map(([name, figures]) => ({
      editor: name,
      ...figures,
      ...activationFromLogs(path.join(RESULTS_DIR, `code-server-e2e-${name}-logs`)),
    }));
    const all = (key: 'commandToQuickPickMs' | 'runningExtensionsActivationMs' | 'loadAndActivateMs') =>
      editors.map((e) => e[key]).filter((n): n is number => typeof n === 'number');
    const min = (xs: number[]) => (xs.length ? Math.min(...xs) : undefined);
    const quickPicks = all('commandToQuickPickMs');
    const report = {
      what: 'P2P Chat activation in code-server 4.139.1 (VS Code 1.139 web), triggered by the "P2P Chat: Connect" command',
      // Headline: the better of the two editors. Alice's runs first, while both workbenches are
      // still settling (TypeScript's server starting for sample.ts, file search warming up) on a
      // 2-core machine, and is often several times slower for it: activationMaxMs.
      activationMs: min(quickPicks),
      activationMaxMs: quickPicks.length ? Math.max(...quickPicks) : undefined,
      activateCallMs: min(all('runningExtensionsActivationMs')),
      loadAndActivateMs: min(all('loadAndActivateMs')),
      editors,
      notes: {
        activationMs: 'min over the editors of commandToQuickPickMs (activationMaxMs: max)',
        activateCallMs: 'min over the editors of runningExtensionsActivationMs',
        commandToQuickPickMs: "from the palette's Enter on the command to the Connect quick pick on screen: activation plus the first UI",
        runningExtensionsActivationMs: '"Developer: Show Running Extensions": activate() called until it returned (code loading excluded)',
        loadAndActivateMs: 'the extension host log: ExtensionService#_doActivateExtension to the extension\'s "activated" line (code loading included); top level: min over the editors',
      },
      rig: { cpus: os.cpus().length, loadAverage: loadAverage() },
      measuredAt: new Date().toISOString(),
    };
    mkdirSync(RESULTS_DIR, { recursive: true });
    writeFileSync(path.join(RESULTS_DIR, 'activation.json'), JSON.stringify(report, null, 2) + '\n');
    console.log(`      activation (ms): ${JSON.stringify({ ...report, notes: undefined, what: undefined, rig: undefined, measuredAt: undefined })}`);
  }

  it('1. Alice starts a room from the palette; the invite is what the notification shows and the clipboard holds', async function () {
    const page = alice!.page;
    const t0 = Date.now();
    await connectQuickPick(alice!);
    await quickPickSelect(page, 'Start a new room');
    // She names it (the box offers a suggestion); the name goes into the invite, sealed.
    room1Name = await nameNewRoom(page, 'Design review');

    const toast = await waitForNotification(page, /Room "Design review" created/, { timeoutMs: 20_000 });
    const message = ((await toast.locator('.notification-list-item-message').textContent()) ?? '').trim();
    const m = /(p2pchat:\S+)/.exec(message);
    assert.ok(m, `no invite in the notification: ${message}`);
    invite = m[1].replace(/[.,;]+$/, '');
    assert.equal(await readClipboard(page), invite, 'the clipboard holds the invite the notification shows');
    assert.ok(invite.includes(`@${rdv!.address}#`), `the invite names the configured rendezvous, then the sealed name: ${invite}`);
    assert.ok(!invite.includes('Design'), 'the name is sealed, not readable in the invite');

    // The panel opened beside the editor without taking the focus from it.
    await waitForChatState(page, 'waiting', { timeoutMs: 20_000 });
    await panelTab(page).waitFor();
    assert.equal(await panelTab(page).getAttribute('aria-label').then((l) => l?.split(',')[0]), 'P2P Chat: Design review');
    assert.equal(await activeEditorTitle(page), 'sample.ts');
    timings.startRoomMs = Date.now() - t0;

    await recordRunningExtensions(alice!);
    await waitForActiveEditor(page, 'sample.ts');
  });

  it('2. Bob pastes the invite into "Join with an invite"', async function () {
    assert.ok(invite, 'needs the invite of test 1');
    const page = bob!.page;
    const t0 = Date.now();
    await connectQuickPick(bob!);
    await quickPickSelect(page, 'Join with an invite');
    await page.locator('.quick-input-widget .quick-input-title', { hasText: 'Join with an invite' }).waitFor();
    const box = page.locator('.quick-input-widget .quick-input-box input');
    // Paste as a user would: this browser's clipboard still holds what Alice's editor copied.
    await page.bringToFront();
    await box.fill('');
    await box.press('Control+V');
    await page.waitForFunction(
      ([sel, expected]) => {
        const d = (globalThis as unknown as { document: { querySelector(s: string): { value?: string } | null } }).document;
        return d.querySelector(sel)?.value === expected;
      },
      ['.quick-input-widget .quick-input-box input', invite] as const,
      { timeout: 5000 },
    );
    assert.equal(await page.locator('.quick-input-widget .quick-input-message').textContent().then((t) => /not a valid/i.test(t ?? '')), false);
    await box.press('Enter');
    await chatPanel(page).locator('#p2p-banner').waitFor({ state: 'visible', timeout: 20_000 });
    await panelTab(page).waitFor();
    timings.joinMs = Date.now() - t0;
    // The name Alice gave, read from the invite (end-to-end: the rendezvous never had it).
    await chatPanel(page).locator('#p2p-room', { hasText: /^Design review$/ }).waitFor({ timeout: 10_000 });
    await recordRunningExtensions(bob!);
  });

  it('3. both panels show connected and each other; messages arrive in order, delivered', async function () {
    const [pa, pb] = [alice!.page, bob!.page];
    const t0 = Date.now();
    await Promise.all([waitForChatState(pa, 'connected'), waitForChatState(pb, 'connected')]);
    timings.connectedMs = Date.now() - t0;
    await chatMember(pa, 'Bob').waitFor({ timeout: 10_000 });
    await chatMember(pb, 'Alice').waitFor({ timeout: 10_000 });
    assert.equal(await chatPanel(pa).locator('#p2p-member-count').textContent(), '1');
    assert.equal(await chatPanel(pb).locator('#p2p-banner').getAttribute('data-path'), 'direct');

    const t1 = Date.now();
    await say(alice!, 'Hi Bob! Got a minute to look at the greeting code?');
    await say(alice!, 'It is in `src/sample.ts`.', 'It is in src/sample.ts.');
    await say(alice!, 'Sharing the function now.');
    await waitForChatTexts(pb, sent.alice);
    timings.threeMessagesMs = Date.now() - t1;
    for (const text of ['Sure, go ahead.', 'I have the same file open here.']) await say(bob!, text);
    await waitForChatTexts(pa, sent.bob);
    const all = [...sent.alice, ...sent.bob];
    await waitForChatTexts(pa, all);
    await waitForChatTexts(pb, all);

    // Markdown rendered, not shown raw.
    await chatMessage(pb, 'It is in').locator('code', { hasText: 'src/sample.ts' }).waitFor({ timeout: 5000 });
    // The same messages (ids) in the same order on both sides.
    assert.deepEqual(await chatMessageIds(pa), await chatMessageIds(pb));
    // Each sender sees its own messages delivered; nobody sees delivery marks on the other's.
    for (const [page, own] of [[pa, sent.alice], [pb, sent.bob]] as const) {
      for (const text of own) {
        await chatMessage(page, text).locator('.p2p-delivery[data-delivery="delivered"]').waitFor({ timeout: 10_000 });
      }
    }
    assert.equal(await chatMessage(pb, sent.alice[0]).locator('.p2p-delivery').count(), 0);

    // Bob renames the room; the new name reaches Alice over their encrypted link (an app message):
    // her panel's header and tab title follow.
    await runCommand(pb, 'P2P Chat: Rename Room');
    await pb.locator('.quick-input-widget .quick-input-title', { hasText: 'Rename Room' }).waitFor({ timeout: 10_000 });
    const box = pb.locator('.quick-input-widget .quick-input-box input');
    assert.equal(await box.inputValue(), 'Design review', 'the box starts with the current name');
    await box.fill('Design review: greet()');
    await box.press('Enter');
    room1Name = 'Design review: greet()';
    const t2 = Date.now();
    await chatPanel(pa).locator('#p2p-room', { hasText: /^Design review: greet\(\)$/ }).waitFor({ timeout: 10_000 });
    timings.renameMs = Date.now() - t2;
    await pa.locator('.tabs-container .tab[aria-label^="P2P Chat: Design review: greet()"]').waitFor({ timeout: 10_000 });
    await chatPanel(pb).locator('#p2p-room', { hasText: /^Design review: greet\(\)$/ }).waitFor({ timeout: 10_000 });
  });

  it('4. Share Selection in Alice shows a snippet card in Bob, and its Open button opens the same lines', async function () {
    const [pa, pb] = [alice!.page, bob!.page];
    await tab(pa, 'sample.ts').click();
    await waitForActiveEditor(pa, 'sample.ts');
    aliceSelection = await selectLines(pa, SHARED_LINES.from, SHARED_LINES.to);
    const lines = readFileSync(path.join(FIXTURE, SAMPLE), 'utf8').split('\n').slice(SHARED_LINES.from - 1, SHARED_LINES.to);
    const expected = { line: SHARED_LINES.to, column: lines[lines.length - 1].length + 1, selected: lines.join('\n').length };
    assert.match(aliceSelection, new RegExp(`^Ln ${expected.line}, Col ${expected.column} \\(${expected.selected} selected\\)$`));

    const t0 = Date.now();
    await runCommand(pa, 'P2P Chat: Share Selection');
    const range = `${SAMPLE}:${SHARED_LINES.from}-${SHARED_LINES.to}`;
    const card = chatPanel(pb).locator(`.p2p-snippet:has(.p2p-open[title="Open ${range} in the editor"])`).last();
    await card.waitFor({ timeout: 15_000 });
    timings.snippetMs = Date.now() - t0;
    await chatPanel(pa).locator(`.p2p-own .p2p-snippet .p2p-open[title="Open ${range} in the editor"]`).waitFor({ timeout: 10_000 });
    assert.equal((await card.locator('.p2p-snippet-code').textContent())?.trim(), lines.join('\n').trim());
    assert.deepEqual((await card.locator('.p2p-snippet-gutter').textContent())?.split('\n'), ['3', '4', '5']);
    assert.equal(await card.getAttribute('data-language'), 'typescript');

    // Bob's cursor is elsewhere; Open puts the same selection in his copy of the file.
    await tab(pb, 'sample.ts').click();
    await waitForActiveEditor(pb, 'sample.ts');
    await selectionStatus(pb).filter({ hasText: /^\s*Ln 1, Col 1\s*$/ }).waitFor({ timeout: 5000 });
    await card.locator('.p2p-open').click();
    await selectionStatus(pb).filter({ hasText: aliceSelection }).waitFor({ timeout: 15_000 });
    assert.equal(await activeEditorTitle(pb), 'sample.ts');
    assert.equal(await selectionStatusText(pb), aliceSelection);
    // The editor's own rendering agrees: the cursor's line number is highlighted.
    const activeLine = pb.locator('.editor-group-container.active .monaco-editor .line-numbers.active-line-number');
    assert.equal((await activeLine.first().textContent())?.trim(), String(SHARED_LINES.to));
    assert.ok(await panelTab(pb).isVisible(), 'the chat panel stays open beside the file');
    // Open again and again (issue #10, 5c): the same group every time, never one more.
    for (let i = 2; i <= 4; i++) {
      await card.locator('.p2p-open').click();
      await selectionStatus(pb).filter({ hasText: aliceSelection }).waitFor({ timeout: 15_000 });
      assert.equal(await pb.locator('.editor-group-container').count(), 2, `after Open #${i}: ${await describeEditors(pb)}`);
      assert.equal(await activeEditorTitle(pb), 'sample.ts');
    }

    await say(bob!, 'Opened it at lines 3-5. Looks good to me!');
    await waitForChatTexts(pa, [sent.bob[sent.bob.length - 1]]);
    await captureChatPanels();
  });

  it("5. Bob's history survives closing and reopening the panel, and reloading the window", async function () {
    const [pa, pb] = [alice!.page, bob!.page];
    const before = await chatMessageIds(pb);
    assert.ok(before.length >= 7, `expected the earlier messages, got ${before.length}`);
    const bobId = await chatMember(pa, 'Bob').getAttribute('data-peer-id');
    assert.ok(bobId);

    // Close the panel by its tab's close button.
    await panelTab(pb).hover();
    await panelTab(pb).locator('.tab-actions .action-label').click();
    await panelTab(pb).waitFor({ state: 'detached', timeout: 10_000 });
    await runCommand(pb, 'P2P Chat: Show Chat');
    await chatPanel(pb).locator(`.p2p-message[data-id="${before[before.length - 1]}"]`).waitFor({ timeout: 15_000 });
    assert.deepEqual(await chatMessageIds(pb), before);
    await waitForChatState(pb, 'connected', { timeoutMs: 5000 });

    // Developer: Reload Window. VS Code restores the panel; the extension shows the history and rejoins.
    const t0 = Date.now();
    await reloadWindow(pb);
    await chatPanel(pb).locator(`.p2p-message[data-id="${before[before.length - 1]}"]`).waitFor({ timeout: 60_000 });
    timings.reloadToHistoryMs = Date.now() - t0;
    assert.deepEqual(await chatMessageIds(pb), before);
    await waitForChatTexts(pb, [...sent.alice, ...sent.bob]);
    await chatPanel(pb).locator('.p2p-snippet').first().waitFor({ timeout: 5000 });
    assert.equal(await chatPanel(pb).locator('#p2p-room').textContent(), room1Name, 'the room keeps its name after the reload');

    // And the room works again after the reload, both ways.
    await waitForChatState(pb, 'connected', { timeoutMs: 30_000 });
    await waitForChatState(pa, 'connected', { timeoutMs: 30_000 });
    timings.reloadToConnectedMs = Date.now() - t0;
    await say(alice!, 'Welcome back.');
    await waitForChatTexts(pb, ['Welcome back.']);
    await say(bob!, 'Thanks, I reloaded my window.');
    await waitForChatTexts(pa, ['Thanks, I reloaded my window.']);
    await chatMessage(pb, 'Thanks, I reloaded my window.').locator('.p2p-delivery[data-delivery="delivered"]').waitFor({ timeout: 10_000 });
    // Bob came back as himself (his identity key survived the reload): one Bob, the same peer id,
    // and his new message is from the same sender as his old ones.
    assert.equal(await chatPanel(pa).locator('#p2p-members .p2p-member').count(), 1);
    assert.equal(await chatMember(pa, 'Bob').getAttribute('data-peer-id'), bobId);
    const senders = await chatPanel(pa).locator('#p2p-transcript .p2p-group:not(.p2p-own)').evaluateAll((els) => els.map((e) => e.getAttribute('data-from')));
    assert.deepEqual([...new Set(senders)], [bobId]);
  });

  it("6. Bob's status bar counts unread messages while his panel is hidden", async function () {
    const [pa, pb] = [alice!.page, bob!.page];
    await statusBarItem(pb, P2P_CHAT_STATUS_ITEM).waitFor({ timeout: 10_000 });
    assert.doesNotMatch(await statusLabel(pb), /unread/);

    // Hide the panel behind another editor in its group (it stays open as a background tab):
    // README.md opened "to the side" of sample.ts lands in the chat's group.
    await tab(pb, 'sample.ts').click();
    await openFile(pb, 'README.md', { toSide: true });
    await pb.locator(`${PANEL_TAB}:not(.active)`).waitFor({ timeout: 10_000 });
    await pb.locator('iframe.webview.ready').first().waitFor({ state: 'hidden', timeout: 10_000 });
    // The extension host learns that the panel is hidden over the same channel a command reaches it by:
    // once a command's quick pick is up, it knows. (Opening README.md also activates VS Code's markdown
    // extension in that extension host, which can hold it for seconds; a message that arrived before the
    // hidden state was known would count as seen, not unread.)
    await runCommand(pb, 'P2P Chat: Switch Conversation…');
    const picker = pb.locator('.quick-input-widget .quick-input-title', { hasText: 'Switch Conversation' });
    await picker.waitFor({ timeout: 15_000 });
    await pb.locator('.quick-input-widget .quick-input-box input').press('Escape');
    await picker.waitFor({ state: 'hidden', timeout: 10_000 });

    await say(alice!, 'Ping while your chat is hidden (1).');
    assert.match(await waitForStatusLabel(pb, /\b1 unread message\b/), /connected to 1 peer/);
    await say(alice!, 'Ping while your chat is hidden (2).');
    await waitForStatusLabel(pb, /\b2 unread messages\b/);
    // The first one also raised a notification (p2pChat.notifications is on by default).
    await waitForNotification(pb, /Alice: Ping while your chat is hidden \(1\)/, { timeoutMs: 10_000 });

    // Clicking the status bar item shows the chat: the count clears and the messages are there.
    await statusBarItem(pb, P2P_CHAT_STATUS_ITEM).click();
    await waitForChatTexts(pb, sent.alice.slice(-2));
    await waitForStatusLabel(pb, /^(?![\s\S]*unread)/);
    assert.deepEqual(await chatMessageIds(pa), await chatMessageIds(pb));
  });

  function re(text: string): string {
    return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }

  it('7. a second room does not leave the first: the sidebar lists both, each keeps its own draft and unread count', async function () {
    this.timeout(120_000);
    const [pa, pb] = [alice!.page, bob!.page];
    await statusBarItem(pb, P2P_CHAT_STATUS_ITEM).click(); // Bob's chat on screen
    const room1 = await roomHeader(pb);
    assert.equal(room1, room1Name);

    // Alice starts a second room; her first one stays open.
    await pa.bringToFront();
    await runCommand(pa, 'P2P Chat: Connect');
    await quickPickSelect(pa, 'Start a new room');
    // Escape keeps the suggested name ("Alice's room, <date>").
    room2Name = await nameNewRoom(pa, undefined, { escape: true });
    assert.match(room2Name, /^Alice's room, /);
    const toast = await waitForNotification(pa, /Room ".*" created/, { timeoutMs: 20_000 });
    const m = /(p2pchat:\S+)/.exec(((await toast.locator('.notification-list-item-message').textContent()) ?? '').trim());
    assert.ok(m, 'the second invite is in the notification');
    const invite2 = m[1].replace(/[.,;]+$/, '');
    assert.notEqual(invite2, invite);

    // Bob joins it the same way as the first.
    await pb.bringToFront();
    await runCommand(pb, 'P2P Chat: Connect');
    await quickPickSelect(pb, 'Join with an invite');
    const box = pb.locator('.quick-input-widget .quick-input-box input');
    await pb.bringToFront();
    await box.fill(invite2);
    await box.press('Enter');
    let room2 = '';
    for (let i = 0; i < 100 && (room2 === '' || room2 === room1); i++) {
      room2 = await roomHeader(pb);
      if (room2 === room1) await pb.waitForTimeout(100);
    }
    assert.notEqual(room2, room1, 'the panel shows the new room');
    for (let i = 0; i < 100 && (await roomHeader(pb)) !== room2Name; i++) await pb.waitForTimeout(100);
    assert.equal(await roomHeader(pb), room2Name, 'named by the suggestion Alice kept');
    room2 = room2Name;
    await waitForChatState(pb, 'connected', { timeoutMs: 30_000 });
    await waitForChatState(pa, 'connected', { timeoutMs: 30_000 });
    await say(alice!, 'Hello in the second room.');
    await waitForChatTexts(pb, ['Hello in the second room.']);

    // The sidebar: both conversations, the newest first, each with its screen-reader label.
    await runCommand(pb, 'P2P Chat: Focus on Conversations View');
    await conversationRows(pb).nth(1).waitFor({ timeout: 10_000 });
    let labels = await conversationLabels(pb);
    assert.equal(labels.length, 2, JSON.stringify(labels));
    assert.match(labels[0], new RegExp(`^${re(room2)}, open, active, no unread messages, last message Alice: Hello in the second room\\.$`));
    assert.match(labels[1], new RegExp(`^${re(room1)}, open, `));

    // A draft in room 2, then over to room 1 (a click on its row): its own (empty) draft and its history.
    const input = chatPanel(pb).locator('#p2p-input');
    await input.fill('draft for the second room');
    await conversationRows(pb).nth(1).click();
    for (let i = 0; i < 100 && (await roomHeader(pb)) !== room1; i++) await pb.waitForTimeout(100);
    assert.equal(await roomHeader(pb), room1);
    await waitForDraft(pb, '');
    await waitForChatTexts(pb, ['Ping while your chat is hidden (2).']);
    assert.equal(await chatMessage(pb, 'Hello in the second room.').count(), 0, 'room 2 messages stay in room 2');
    await input.fill('draft for the first room');

    // Alice writes in room 2 while Bob looks at room 1: room 2 counts it, the badge shows it, the
    // status bar counts it, and room 1's transcript does not get it.
    await say(alice!, 'Are you there? (second room)');
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && !/1 unread message/.test((await conversationLabels(pb))[0] ?? '')) await pb.waitForTimeout(200);
    labels = await conversationLabels(pb);
    assert.match(labels[0], new RegExp(`^${re(room2)}, open, 1 unread message, last message Alice: Are you there\\? \\(second room\\)$`), JSON.stringify(labels));
    assert.match(labels[1], new RegExp(`^${re(room1)}, open, active, no unread messages`));
    await pb.locator('.activitybar .action-item .badge-content', { hasText: /^1$/ }).first().waitFor({ timeout: 10_000 });
    await waitForStatusLabel(pb, /\b1 unread message\b/);
    // The notification names the room it came from.
    await waitForNotification(pb, new RegExp(`${re(room2)}: Alice: Are you there\\? \\(second room\\)`), { timeoutMs: 10_000 });
    assert.equal(await chatMessage(pb, 'Are you there? (second room)').count(), 0);

    // Back to room 2 from the keyboard: "Switch Conversation…" picks it; its draft and the new message are there.
    await runCommand(pb, 'P2P Chat: Switch Conversation…');
    // Our quick pick, not the palette still closing.
    await pb.locator('.quick-input-widget .quick-input-title', { hasText: 'Switch Conversation' }).waitFor({ timeout: 10_000 });
    await quickPickSelect(pb, room2);
    for (let i = 0; i < 100 && (await roomHeader(pb)) !== room2; i++) await pb.waitForTimeout(100);
    await waitForDraft(pb, 'draft for the second room');
    await waitForChatTexts(pb, ['Hello in the second room.', 'Are you there? (second room)']);
    await waitForStatusLabel(pb, /^(?![\s\S]*unread)/);
    // And room 1 kept its own draft.
    await conversationRows(pb).filter({ hasText: room1 }).click();
    for (let i = 0; i < 100 && (await roomHeader(pb)) !== room1; i++) await pb.waitForTimeout(100);
    await waitForDraft(pb, 'draft for the first room');
    // Room 1 still works both ways (it was never left).
    await say(bob!, 'Still here in the first room.');
    await chatMessage(pb, 'Still here in the first room.').locator('.p2p-delivery[data-delivery="delivered"]').waitFor({ timeout: 15_000 });
    assert.equal(await roomHeader(pa), room2, 'Alice is still looking at room 2');
  });

  it('8. Bob hosts a room himself (the embedded rendezvous, loaded on demand from its own bundle); Alice joins it; three rooms open', async function () {
    this.timeout(120_000);
    const [pa, pb] = [alice!.page, bob!.page];
    // No rendezvous configured: starting a room hosts one in Bob's extension host.
    // Edited as a user does, in the settings.json editor (VS Code then tells the extension host at once).
    const settingsFile = path.join(servers[1].userDataDir, 'User', 'settings.json');
    const settings = JSON.parse(readFileSync(settingsFile, 'utf8')) as Record<string, unknown>;
    delete settings['p2pChat.rendezvousServer'];
    await runCommand(pb, 'Preferences: Open User Settings (JSON)');
    // VS Code 1.139 shows it as a modal editor over the workbench, not as a tab.
    const lines = pb.locator('.monaco-editor .view-lines', { hasText: 'p2pChat.displayName' }).first();
    await lines.waitFor({ timeout: 15_000 });
    await lines.click();
    await pb.keyboard.press('Control+A');
    await pb.keyboard.press('Delete');
    await pb.keyboard.insertText(JSON.stringify(settings, null, 2));
    // Whatever the editor auto-closed after the cursor goes.
    await pb.keyboard.press('Control+Shift+End');
    await pb.keyboard.press('Delete');
    await pb.keyboard.press('Control+S');
    // Until VS Code has written it: read mid-write, the file can be empty (which also lacks the key).
    const written = (): Record<string, unknown> | undefined => {
      try {
        const now = JSON.parse(readFileSync(settingsFile, 'utf8')) as Record<string, unknown>;
        return 'p2pChat.rendezvousServer' in now ? undefined : now;
      } catch {
        return undefined;
      }
    };
    for (let i = 0; i < 100 && !written(); i++) await pb.waitForTimeout(100);
    const saved = written() ?? (JSON.parse(readFileSync(settingsFile, 'utf8')) as Record<string, unknown>);
    assert.deepEqual(saved, settings, 'settings.json saved without the rendezvous, the rest as it was');
    // Escape closes the modal editor; an earlier one may only close a suggestion widget the typing opened.
    for (let i = 0; i < 4 && (await lines.isVisible()); i++) {
      await pb.keyboard.press('Escape');
      await pb.waitForTimeout(300);
    }
    await lines.waitFor({ state: 'hidden', timeout: 10_000 });

    await pb.bringToFront();
    await runCommand(pb, 'P2P Chat: Connect');
    await quickPickSelect(pb, 'Start a new room');
    const room3Name = await nameNewRoom(pb); // Enter keeps the suggestion
    const toast = await waitForNotification(pb, /Room ".*" created/, { timeoutMs: 20_000 });
    const m = /(p2pchat:\S+)/.exec(((await toast.locator('.notification-list-item-message').textContent()) ?? '').trim());
    assert.ok(m, 'the invite is in the notification');
    const invite3 = m[1].replace(/[.,;]+$/, '');
    assert.ok(!invite3.includes(rdv!.address), `the invite names Bob's own rendezvous, not the configured one: ${invite3}`);
    const room3 = await roomHeader(pb);
    assert.equal(room3, room3Name);

    await pa.bringToFront(); // a page in the background never finishes its quick pick's animation
    await runCommand(pa, 'P2P Chat: Connect');
    await quickPickSelect(pa, 'Join with an invite');
    const box = pa.locator('.quick-input-widget .quick-input-box input');
    await box.fill(invite3);
    await box.press('Enter');
    for (let i = 0; i < 100 && (await roomHeader(pa)) !== room3; i++) await pa.waitForTimeout(100);
    assert.equal(await roomHeader(pa), room3);
    await waitForChatState(pa, 'connected', { timeoutMs: 30_000 });
    await waitForChatState(pb, 'connected', { timeoutMs: 30_000 });
    await say(alice!, 'Hello in the room Bob hosts.');
    await waitForChatTexts(pb, ['Hello in the room Bob hosts.']);
    await runCommand(pb, 'P2P Chat: Focus on Conversations View');
    await conversationRows(pb).nth(2).waitFor({ timeout: 10_000 });
    const labels = await conversationLabels(pb);
    assert.equal(labels.length, 3, JSON.stringify(labels));
    assert.match(labels[0], new RegExp(`^${re(room3)}, open, active`));
    assert.ok(labels.every((l) => /, open/.test(l)), `all three rooms are open: ${JSON.stringify(labels)}`);

    // Keyboard only: the focused Conversations view, End to the oldest row, Enter opens it.
    const oldest = [room1Name, room2Name].find((n) => labels[2].startsWith(`${n}, open`));
    assert.ok(oldest, `the oldest row is room 1 or 2: ${JSON.stringify(labels)}`);
    // First the keyboard in the list and VS Code done with the palette (waitForKeyboardInList): an Enter sent
    // sooner goes to the closed palette and opens nothing, as the contacts test found; that is most likely the
    // once-seen failure here (the focused oldest row not opened within 5 s, the focus still in the view). Up to
    // three times all the same.
    for (let attempt = 0; attempt < 3 && (await roomHeader(pb)) !== oldest; attempt++) {
      await runCommand(pb, 'P2P Chat: Focus on Conversations View');
      await waitForKeyboardInList(pb, 'Conversations');
      await pb.keyboard.press('End');
      await pb.locator('.monaco-list-row.focused', { hasText: oldest }).waitFor({ timeout: 5000 });
      await pb.keyboard.press('Enter');
      for (let i = 0; i < 30 && (await roomHeader(pb)) !== oldest; i++) await pb.waitForTimeout(100);
    }
    assert.equal(await roomHeader(pb), oldest);

    // The sidebar, for the README.
    await pb.mouse.move(1, 1);
    const png = await pb.screenshot();
    writeFileSync(path.join(RESULTS_DIR, 'e2e-sidebar.png'), png);
    if (process.env.P2P_E2E_README_SHOT === '1') writeFileSync(path.join(ROOT, 'docs', 'images', 'sidebar.png'), png);
  });

  /** Both chat panels side by side, for the README (dark theme, a snippet card in view). */
  async function captureChatPanels(): Promise<void> {
    const shots = [];
    for (const e of [alice!, bob!]) {
      await e.page.mouse.move(1, 1); // no hover highlight on the picture
      await panelGroup(e.page).waitFor({ timeout: 5000 });
      // Scrolled to the newest message, so the snippet card just above it is in view.
      await chatPanel(e.page).locator('.p2p-snippet').last().scrollIntoViewIfNeeded();
      shots.push(await screenshotRegion(e.page, panelGroup(e.page)));
    }
    let png = await sideBySide(browser!, shots);
    if (png.length > 290 * 1024) png = await sideBySide(browser!, shots, { scale: 0.8 });
    mkdirSync(RESULTS_DIR, { recursive: true });
    writeFileSync(path.join(RESULTS_DIR, 'e2e-chat-panel.png'), png);
    if (process.env.P2P_E2E_README_SHOT === '1') {
      const out = path.join(ROOT, 'docs', 'images', 'chat-panel.png');
      mkdirSync(path.dirname(out), { recursive: true });
      writeFileSync(out, png);
      console.log(`      wrote ${path.relative(ROOT, out)} (${Math.round(png.length / 1024)} KiB)`);
    }
  }
});
