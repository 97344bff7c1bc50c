// `npm run demo`: two real editors (Alice and Bob) with the extension installed, both pointed at
// a local rendezvous, ready to chat. Shares every launching step with the e2e rig.
//
//   node scripts/demo.mjs                 start, print both URLs, run until Ctrl+C
//   node scripts/demo.mjs --headless      open both in Chromium, screenshot test-results/demo-*.png, exit
//   options: --production    build minified, as vscode:prepublish does (rewrites dist/)
//            --vsix FILE     install this .vsix instead of building the extension
//            --command TITLE (headless) run this palette command in each editor before the screenshot
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  buildP2pChatVsix,
  ensureTools,
  launchBrowser,
  openEditor,
  ROOT,
  runCommand,
  screenshot,
  startCodeServer,
  startRendezvous,
  quickPickSelect,
  nameNewRoom,
  sendChatMessage,
  waitForChatTexts,
  waitForChatState,
  waitForNotification,
  waitForCommand,
  waitForExtensionsActivated,
  webviewFrame,
  type CodeServer,
  type Rendezvous,
} from '../test/e2e/rig';

interface Args {
  headless: boolean;
  production: boolean;
  vsix?: string;
  command?: string;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { headless: false, production: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--headless') args.headless = true;
    else if (a === '--production') args.production = true;
    else if (a === '--vsix') args.vsix = path.resolve(argv[++i] ?? '');
    else if (a === '--command') args.command = argv[++i];
    else if (a === '--help' || a === '-h') {
      console.log('usage: node scripts/demo.mjs [--headless] [--production] [--vsix FILE] [--command "Category: Title"]');
      process.exit(0);
    } else {
      console.error(`unknown argument ${a}`);
      process.exit(2);
    }
  }
  return args;
}

function log(msg: string): void {
  console.log(`[demo] ${msg}`);
}

function secondsSince(t: number): string {
  return `${((Date.now() - t) / 1000).toFixed(1)} s`;
}

interface Manifest {
  contributes?: { commands?: { title: string; category?: string }[] };
}

function readManifest(): Manifest {
  return JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Manifest;
}

/** The first command the manifest contributes, as the palette shows it: proves the extension loaded. */
function firstCommandTitle(m: Manifest): string | undefined {
  const c = m.contributes?.commands?.[0];
  return c ? (c.category ? `${c.category}: ${c.title}` : c.title) : undefined;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const stops: (() => Promise<void>)[] = [];
  let stopping: Promise<void> | undefined;
  const stopAll = (): Promise<void> => {
    stopping ??= (async () => {
      for (const stop of stops.reverse()) await stop().catch((err: Error) => console.error(`[demo] stop failed: ${err.message}`));
    })();
    return stopping;
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      log(`${sig}: stopping everything`);
      void stopAll().then(() => process.exit(130));
    });
  }

  try {
    ensureTools();
    let t = Date.now();

    let vsix = args.vsix;
    if (!vsix) {
      t = Date.now();
      log(`building the extension (scripts/build.mjs${args.production ? ' --production' : ''}) and packaging it with vsce`);
      vsix = await buildP2pChatVsix({ production: args.production });
      log(`packaged ${path.relative(ROOT, vsix)} in ${secondsSince(t)}`);
    }

    let rendezvous: Rendezvous | undefined;
    try {
      rendezvous = await startRendezvous({ name: 'demo-rendezvous' });
      stops.push(() => rendezvous!.stop());
      log(`rendezvous on udp ${rendezvous.address}${rendezvous.answeredStun ? '' : ' (up, but did not answer a STUN probe)'}; log: test-results/demo-rendezvous.log`);
    } catch (err) {
      console.error(`[demo] ✗ no rendezvous: ${(err as Error).message}`);
      console.error('[demo]   the editors start anyway, without p2pChat.rendezvousServer set');
    }

    const workRoot = path.join(os.tmpdir(), `p2pchat-demo-${process.pid}`);
    stops.push(async () => rmSync(workRoot, { recursive: true, force: true }));
    const people = ['Alice', 'Bob'];
    t = Date.now();
    log(`starting ${people.length} editors`);
    const servers: CodeServer[] = await Promise.all(
      people.map(async (person) => {
        const workspace = path.join(workRoot, person.toLowerCase());
        mkdirSync(workspace, { recursive: true });
        writeFileSync(path.join(workspace, 'README.md'), `# ${person}'s workspace\n\nA scratch folder for the P2P Chat demo.\n`);
        const settings: Record<string, unknown> = { 'p2pChat.displayName': person };
        if (rendezvous) settings['p2pChat.rendezvousServer'] = rendezvous.address;
        const server = await startCodeServer({ name: `demo-${person.toLowerCase()}`, vsix: [vsix!], workspace, settings });
        stops.push(() => server.stop());
        return server;
      }),
    );
    log(`editors ready in ${secondsSince(t)}`);
    for (const [i, s] of servers.entries()) {
      console.log(`  ${people[i].padEnd(6)} ${s.url}    (log: ${path.relative(ROOT, s.logFile)})`);
    }

    if (args.headless && !args.vsix && !args.command && rendezvous) {
      // The whole user story, driven as a person would: Alice starts a room, Bob joins with the invite
      // her editor shows, they exchange a message; then a picture of each.
      t = Date.now();
      const browser = await launchBrowser();
      stops.push(() => browser.close());
      const [alice, bob] = await Promise.all(
        servers.map(async (s) => {
          const page = await openEditor(browser, s.url);
          await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'README.md' }).waitFor({ timeout: 60_000 });
          await waitForCommand(page, 'P2P Chat: Connect');
          return page;
        }),
      );
      await runCommand(alice, 'P2P Chat: Connect');
      await quickPickSelect(alice, 'Start a new room');
      await nameNewRoom(alice, 'Demo room');
      const toast = await waitForNotification(alice, /Room ".*" created/, { timeoutMs: 30_000 });
      const shown = (await toast.locator('.notification-list-item-message').textContent()) ?? '';
      const invite = /(p2pchat:\S+)/.exec(shown)?.[1]?.replace(/[.,;]+$/, '');
      if (!invite) throw new Error('the extension showed no invite');
      log(`Alice's invite: ${invite}`);
      await runCommand(bob, 'P2P Chat: Connect');
      await quickPickSelect(bob, 'Join with an invite');
      const box = bob.locator('.quick-input-widget .quick-input-box input');
      await box.fill(invite);
      await box.press('Enter');
      await Promise.all([waitForChatState(alice, 'connected', { timeoutMs: 30_000 }), waitForChatState(bob, 'connected', { timeoutMs: 30_000 })]);
      await sendChatMessage(alice, 'Hi Bob! This came straight from my editor, end-to-end encrypted.');
      await waitForChatTexts(bob, ['Hi Bob! This came straight from my editor, end-to-end encrypted.'], { timeoutMs: 20_000 });
      await sendChatMessage(bob, 'Hi Alice, got it, no server in between.');
      await waitForChatTexts(alice, ['Hi Bob! This came straight from my editor, end-to-end encrypted.', 'Hi Alice, got it, no server in between.'], { timeoutMs: 20_000 });
      log(`the two editors chatted ${secondsSince(t)} after opening`);
      for (const [i, page] of [alice, bob].entries()) log(`screenshot ${path.relative(ROOT, await screenshot(page, `demo-${people[i].toLowerCase()}`))}`);
      await stopAll();
      return 0;
    }

    if (args.headless) {
      t = Date.now();
      // With --vsix the extension is someone else's: only the workbench is waited for.
      const manifest = args.vsix ? undefined : readManifest();
      const title = manifest && firstCommandTitle(manifest);
      const browser = await launchBrowser();
      stops.push(() => browser.close());
      const shots = await Promise.all(
        servers.map(async (s, i) => {
          const page = await openEditor(browser, s.url);
          // The workspace listed in the explorer means the remote side (and so the extension host) is up.
          await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'README.md' }).waitFor({ timeout: 60_000 });
          if (title) await waitForCommand(page, title);
          if (args.command) {
            await runCommand(page, args.command);
            // When the command opens a webview, wait for its content (best effort: it is for the picture).
            await webviewFrame(page).locator('body *').first().waitFor({ timeout: 20_000 }).catch(() => undefined);
          }
          await waitForExtensionsActivated(page);
          // Let the last status bar items and views paint (cosmetic: the picture, not a test, waits on it).
          await page.waitForTimeout(2000);
          return screenshot(page, `demo-${people[i].toLowerCase()}`);
        }),
      );
      for (const f of shots) log(`screenshot ${path.relative(ROOT, f)}`);
      log(`headless run done in ${secondsSince(t)}`);
      await stopAll();
      return 0;
    }

    log('running; press Ctrl+C to stop everything');
    console.log(`
  Open both URLs in one browser, then:
    Alice: F1 → "P2P Chat: Connect" → "Start a new room" → a name (the invite is copied to the clipboard)
    Bob:   F1 → "P2P Chat: Connect" → "Join with an invite" → paste → Enter
  and type in either chat panel.`);
    // Run until a signal, or until an editor or the rendezvous dies on its own.
    const watched = [...servers.map((s) => ({ name: s.name, p: s.process })), ...(rendezvous ? [{ name: 'rendezvous', p: rendezvous.process }] : [])];
    const died = await Promise.race(watched.map(({ name, p }) => p.exited.then((code) => ({ name, code }))));
    if (!stopping) {
      console.error(`[demo] ✗ ${died.name} exited on its own (${died.code}); stopping the rest`);
      await stopAll();
      return 1;
    }
    await stopping;
    return 130;
  } catch (err) {
    console.error(`[demo] ✗ ${(err as Error).message}`);
    await stopAll();
    return 1;
  }
}

void main().then((code) => process.exit(code));
