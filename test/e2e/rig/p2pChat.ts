import { execFile } from 'node:child_process';
import * as dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freeUdpPort } from '../../helpers/freePort';
import { CACHE_DIR, RESULTS_DIR, ROOT } from './paths';
import { spawnGroup, type GroupProcess } from './processGroup';
import type { FrameLocator, Locator, Page } from 'playwright-core';
import { webviewFrame } from './browser';
import { packageVsix } from './vsix';

function runNode(args: string[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { cwd: ROOT, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`node ${args.join(' ')} failed: ${err.message}\n${stdout}${stderr}`));
      else resolve();
    });
  });
}

// Top-level entries never part of the extension. .tools/ matters most: vsce matches every file
// under the packaged folder against every ignore pattern, and code-server's ~15k files there make
// packaging in place take 30-45 s instead of 3.
const NOT_STAGED = new Set(['.git', '.tools', '.cache', 'test-results', 'node_modules']);

/**
 * Copies the repository minus NOT_STAGED into a temp folder, with node_modules linked (vsce lists
 * the production dependencies through npm) and without vscode:prepublish (already built).
 */
function stageExtension(): string {
  const stage = mkdtempSync(path.join(os.tmpdir(), 'p2pchat-vsix-'));
  for (const entry of readdirSync(ROOT)) {
    if (NOT_STAGED.has(entry)) continue;
    cpSync(path.join(ROOT, entry), path.join(stage, entry), { recursive: true });
  }
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(stage, 'node_modules'));
  const manifestPath = path.join(stage, 'package.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { scripts?: Record<string, string> };
  if (manifest.scripts) delete manifest.scripts['vscode:prepublish'];
  writeFileSync(manifestPath, JSON.stringify(manifest, null, 2) + '\n');
  return stage;
}

/**
 * vsce rewrites the README's relative links and images against the repository, and fails when it
 * cannot tell how (only GitHub and GitLab URLs are understood). For any other repository URL this
 * gives it an explicit base: `<repository>/raw/HEAD/`. Undefined when vsce can work it out itself.
 */
export function readmeBaseUrl(repository: string | { url?: string } | undefined): string | undefined {
  const url = typeof repository === 'string' ? repository : repository?.url;
  if (!url || /github\.com|gitlab\.com/i.test(url)) return undefined;
  return `${url.replace(/^git\+/, '').replace(/\.git$/, '').replace(/\/+$/, '')}/raw/HEAD/`;
}

/**
 * Builds the real extension (scripts/build.mjs, with --production when asked: that is what
 * vscode:prepublish runs) and packages it into .cache/p2p-chat-<version>.vsix from a staged copy.
 * Throws a plain explanation when the extension's entry point is not there yet.
 */
export async function buildP2pChatVsix(options: { production?: boolean } = {}): Promise<string> {
  const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
    main?: string;
    repository?: string | { url?: string };
  };
  await runNode([path.join(ROOT, 'scripts', 'build.mjs'), ...(options.production ? ['--production'] : [])], 180_000);
  const main = path.join(ROOT, manifest.main ?? 'dist/extension.js');
  if (!existsSync(main)) {
    throw new Error(`the build produced no ${path.relative(ROOT, main)}: the extension's entry point (extension/ui/extension.ts) is probably not written yet`);
  }
  const out = path.join(CACHE_DIR, `${manifest.name}-${manifest.version}.vsix`);
  const stage = stageExtension();
  try {
    // With dependencies: the webview's codicons ship from node_modules, which --no-dependencies
    // would leave out whatever .vscodeignore says.
    const baseUrl = readmeBaseUrl(manifest.repository);
    return await packageVsix(stage, out, {
      dependencies: true,
      fallbackIgnoreFile: path.join(__dirname, 'p2pChat.vscodeignore'),
      ...(baseUrl ? { baseUrl } : {}),
    });
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

export interface Rendezvous {
  readonly host: string;
  readonly port: number;
  /** "host:port", the value of the p2pChat.rendezvousServer setting. */
  readonly address: string;
  /** Whether it answered a STUN Binding request (false: alive, but that probe went unanswered). */
  readonly answeredStun: boolean;
  readonly process: GroupProcess;
  stop(): Promise<void>;
}

/** Sends STUN Binding requests until a success response with our transaction id comes back. */
function stunProbe(host: string, port: number, timeoutMs: number, alive: () => boolean): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket('udp4');
    const txid = randomBytes(12);
    const req = Buffer.alloc(20);
    req.writeUInt16BE(0x0001, 0); // Binding request
    req.writeUInt16BE(0, 2);
    req.writeUInt32BE(0x2112a442, 4); // magic cookie
    txid.copy(req, 8);
    let finished = false;
    const finish = (ok: boolean): void => {
      if (finished) return;
      finished = true;
      clearInterval(timer);
      clearTimeout(deadline);
      sock.close();
      resolve(ok);
    };
    sock.on('message', (msg) => {
      if (msg.length >= 20 && msg.readUInt16BE(0) === 0x0101 && msg.subarray(8, 20).equals(txid)) finish(true);
    });
    sock.on('error', () => undefined); // ICMP unreachable while the server is still binding
    const send = (): void => {
      if (!alive()) finish(false);
      else sock.send(req, port, host);
    };
    const timer = setInterval(send, 250);
    const deadline = setTimeout(() => finish(false), timeoutMs);
    sock.bind(0, '127.0.0.1', send);
  });
}

/** A free UDP port whose successor is free too: the rendezvous also binds port+1 (NAT probing). */
async function freeUdpPortPair(host: string): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = await freeUdpPort(host);
    if (port < 65535 && (await udpPortFree(host, port + 1))) return port;
  }
  throw new Error('no pair of adjacent free UDP ports found');
}

function udpPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket('udp4');
    sock.once('error', () => resolve(false));
    sock.bind(port, host, () => sock.close(() => resolve(true)));
  });
}

/**
 * Starts the project's rendezvous (dist/rendezvous.js, from scripts/build.mjs) on a free loopback
 * UDP port and waits until it answers STUN (or 5 s pass with it still alive).
 */
export async function startRendezvous(options: { host?: string; name?: string } = {}): Promise<Rendezvous> {
  const host = options.host ?? '127.0.0.1';
  const script = path.join(ROOT, 'dist', 'rendezvous.js');
  if (!existsSync(script)) {
    throw new Error(`${path.relative(ROOT, script)} does not exist: the rendezvous (rendezvous/cli.ts) is not written or not built yet (node scripts/build.mjs)`);
  }
  const port = await freeUdpPortPair(host);
  mkdirSync(RESULTS_DIR, { recursive: true });
  const logFile = path.join(RESULTS_DIR, `${options.name ?? 'rendezvous'}.log`);
  writeFileSync(logFile, `$ node ${script} --host ${host} --port ${port}\n`);
  const proc = spawnGroup(process.execPath, [script, '--host', host, '--port', String(port)], { env: process.env, cwd: ROOT, logFile });
  const answeredStun = await stunProbe(host, port, 5000, () => !proc.hasExited());
  if (proc.hasExited()) {
    throw new Error(`the rendezvous exited at start (${await proc.exited}):\n${proc.logTail()}`);
  }
  return { host, port, address: `${host}:${port}`, answeredStun, process: proc, stop: () => proc.stop() };
}

// ---- the chat panel, through the stable hooks media/main.ts documents ------------------------

/** The extension's id ("publisher.name") and its status bar item's DOM id. */
export const P2P_CHAT_EXTENSION_ID = 'p2p-chat.p2p-chat';
export const P2P_CHAT_STATUS_ITEM = `${P2P_CHAT_EXTENSION_ID}.p2pChat.status`;

/** The chat panel's document (the first visible webview of the page). */
export function chatPanel(page: Page): FrameLocator {
  return webviewFrame(page);
}

/** The transcript's message elements whose body contains `text`. */
export function chatMessage(page: Page, text: string): Locator {
  const panel = chatPanel(page);
  return panel.locator('#p2p-transcript .p2p-message').filter({ has: panel.locator('.p2p-body', { hasText: text }) });
}

/**
 * Types `text` into the composer and presses Enter, as a user does, then waits until one more of
 * our own messages is in the transcript (the host took it). Returns the new message's id.
 */
export async function sendChatMessage(page: Page, text: string, options: { timeoutMs?: number } = {}): Promise<string> {
  const panel = chatPanel(page);
  const own = panel.locator('#p2p-transcript .p2p-own .p2p-message[data-id]');
  const before = await own.count();
  const input = panel.locator('#p2p-input');
  await input.fill(text);
  await input.press('Enter');
  const added = own.nth(before);
  await added.waitFor({ timeout: options.timeoutMs ?? 10_000 });
  return (await added.getAttribute('data-id')) ?? '';
}

/** The texts of the transcript's text messages, in display order. */
export async function chatTexts(page: Page): Promise<string[]> {
  const bodies = chatPanel(page).locator('#p2p-transcript .p2p-message[data-kind="text"] .p2p-body');
  return (await bodies.allTextContents()).map((t) => t.trim());
}

/** The ids of every message of the transcript (text and snippets), in display order. */
export async function chatMessageIds(page: Page): Promise<string[]> {
  return chatPanel(page)
    .locator('#p2p-transcript .p2p-message[data-id]')
    .evaluateAll((els) => els.map((e) => e.getAttribute('data-id') ?? ''));
}

/**
 * Waits until the last of `expected` is shown, then checks that all of them are, in this order
 * (other messages may sit between them). Throws with the transcript when not.
 */
export async function waitForChatTexts(page: Page, expected: readonly string[], options: { timeoutMs?: number } = {}): Promise<string[]> {
  const last = expected[expected.length - 1];
  if (last !== undefined) {
    await chatPanel(page).locator('#p2p-transcript .p2p-message .p2p-body', { hasText: last }).first().waitFor({ timeout: options.timeoutMs ?? 15_000 });
  }
  const texts = await chatTexts(page);
  const at = expected.map((t) => texts.indexOf(t));
  const missing = expected.filter((_, i) => at[i] < 0);
  if (missing.length) throw new Error(`not in the transcript: ${JSON.stringify(missing)}; it shows ${JSON.stringify(texts)}`);
  for (let i = 1; i < at.length; i++) {
    if (at[i] <= at[i - 1]) throw new Error(`out of order: ${JSON.stringify(expected)}; the transcript shows ${JSON.stringify(texts)}`);
  }
  return texts;
}

/** The connection banner once it shows `state` (a ConnectionState kind: waiting, connected...). */
export async function waitForChatState(page: Page, state: string, options: { timeoutMs?: number } = {}): Promise<void> {
  await chatPanel(page).locator(`#p2p-banner[data-state="${state}"]`).waitFor({ timeout: options.timeoutMs ?? 30_000 });
}

/** The member list entry named `name`. */
export function chatMember(page: Page, name: string): Locator {
  const panel = chatPanel(page);
  return panel.locator('#p2p-members .p2p-member').filter({ has: panel.locator('.p2p-member-name', { hasText: name }) });
}

/**
 * After "Start a new room": the "Name the new room" box, pre-filled with a suggestion. Types `name` (if
 * given) and presses Enter, or presses Escape when `escape` (which keeps the suggestion). Returns the
 * name the room gets.
 */
export async function nameNewRoom(page: Page, name?: string, options: { escape?: boolean } = {}): Promise<string> {
  await page.locator('.quick-input-widget .quick-input-title', { hasText: 'Name the new room' }).waitFor({ timeout: 20_000 });
  const box = page.locator('.quick-input-widget .quick-input-box input');
  await box.waitFor({ state: 'visible', timeout: 10_000 });
  const suggestion = (await box.inputValue()).trim();
  if (options.escape) {
    await box.press('Escape');
    return suggestion;
  }
  if (name !== undefined) await box.fill(name);
  await box.press('Enter');
  return name ?? suggestion;
}

/** The Conversations view's rows (the P2P Chat sidebar), by their screen-reader labels. */
export function conversationRows(page: Page): Locator {
  return page.locator('.pane-body [aria-label="Conversations"] .monaco-list-row, .monaco-list[aria-label="Conversations"] .monaco-list-row');
}

/** The Conversations view's rows' screen-reader labels, top to bottom. */
export async function conversationLabels(page: Page): Promise<string[]> {
  return conversationRows(page).evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? ''));
}

/** The chat panel's header: the name of the conversation on screen. */
export async function roomHeader(page: Page): Promise<string> {
  return ((await chatPanel(page).locator('#p2p-room').textContent()) ?? '').trim();
}

/** Waits (10 s) until the composer holds exactly `text`: the draft of the conversation on screen. */
export async function waitForDraft(page: Page, text: string): Promise<void> {
  const input = chatPanel(page).locator('#p2p-input');
  const deadline = Date.now() + 10_000;
  let value = '';
  while (Date.now() < deadline) {
    value = await input.inputValue();
    if (value === text) return;
    await page.waitForTimeout(100);
  }
  throw new Error(`the composer shows ${JSON.stringify(value)}, not this conversation's draft ${JSON.stringify(text)}`);
}
