// Node side of the webview browser tests: bundles media/main.ts with esbuild (same options as
// scripts/build.mjs), serves the exact HTML that extension/ui/webviewHtml.ts produces from a
// loopback HTTP server (plus the fake VS Code shell in page/), and drives headless Chromium.
import { CHROMIUM_ARGS } from '../e2e/rig/browser';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { webviewHtml } from '../../extension/ui/webviewHtml';
import type { HostToWebview, WebviewToHost } from '../../extension/shared/protocol';

export const ROOT = path.resolve(__dirname, '../..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** scripts/webviewBundles.mjs is an ES module (the build script's); loaded the way Node loads those. */
async function webviewBundles(outdir: string): Promise<esbuild.BuildOptions[]> {
  const url = pathToFileURL(path.join(ROOT, 'scripts/webviewBundles.mjs')).href;
  const mod = (await new Function('u', 'return import(u)')(url)) as { webviewBuilds(outdir: string): esbuild.BuildOptions[] };
  return mod.webviewBuilds(outdir);
}


export type Theme = 'light' | 'dark' | 'hc';

/** A fixed "now" so day dividers and times are deterministic: Fri 14 Mar 2025 15:30 UTC. */
export const NOW = Date.UTC(2025, 2, 14, 15, 30, 0);

export interface Harness {
  baseUrl: string;
  browser: Browser;
  bundleBytes: number;
  open(opts?: OpenOptions): Promise<ChatPage>;
  close(): Promise<void>;
}

export interface OpenOptions {
  theme?: Theme;
  /** Disable the page's CSP, to prove the sanitizer alone keeps peer content inert. */
  bypassCSP?: boolean;
  viewport?: { width: number; height: number };
  /** Install a fake clock at this instant (default NOW). */
  now?: number;
}

export interface ChatPage {
  page: Page;
  context: BrowserContext;
  /** URLs the page tried to load from anywhere but the harness server. */
  foreignRequests: string[];
  host(msg: HostToWebview): Promise<void>;
  posted(): Promise<WebviewToHost[]>;
  clearPosted(): Promise<void>;
  cspViolations(): Promise<unknown[]>;
  pwned(): Promise<unknown>;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.ttf': 'font/ttf',
  '.html': 'text/html; charset=utf-8',
};

export async function startHarness(): Promise<Harness> {
  // The same bundles the build ships (scripts/webviewBundles.mjs), kept in memory and served from here.
  const outdir = path.join(ROOT, 'dist-webview-test');
  const served: Record<string, Buffer> = {};
  for (const options of await webviewBundles(outdir)) {
    const built = await esbuild.build({ ...options, write: false, logLevel: 'silent' });
    for (const f of built.outputFiles) served[`/${path.relative(outdir, f.path)}`] = Buffer.from(f.contents);
  }
  const bundle = served['/main.js']!;

  const files: Record<string, () => Buffer> = {
    '/chat.css': () => readFileSync(path.join(ROOT, 'media/chat.css')),
    '/harness.js': () => readFileSync(path.join(ROOT, 'test/webview/page/harness.js')),
    '/vscode-defaults.css': () => readFileSync(path.join(ROOT, 'test/webview/page/vscode-defaults.css')),
    '/codicons/codicon.css': () => readFileSync(path.join(ROOT, 'node_modules/@vscode/codicons/dist/codicon.css')),
    '/codicons/codicon.ttf': () => readFileSync(path.join(ROOT, 'node_modules/@vscode/codicons/dist/codicon.ttf')),
  };
  for (const [url, bytes] of Object.entries(served)) files[url] = () => bytes;

  let origin = '';
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', origin);
    if (url.pathname === '/' || url.pathname === '/index.html') {
      res.writeHead(200, { 'content-type': TYPES['.html']!, 'cache-control': 'no-store' });
      res.end(pageHtml(origin));
      return;
    }
    const file = files[url.pathname];
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(url.pathname)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    res.end(file());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });

  return {
    baseUrl: origin,
    browser,
    bundleBytes: bundle.length,
    open: (opts = {}) => openChat(browser, origin, opts),
    close: async () => {
      await browser.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The extension's real HTML, with VS Code's default stylesheet and the fake API slotted in where VS Code puts them. */
function pageHtml(origin: string): string {
  const nonce = randomBytes(16).toString('base64');
  const html = webviewHtml({
    cspSource: origin,
    nonce,
    scriptUri: `${origin}/main.js`,
    styleUri: `${origin}/chat.css`,
    codiconsUri: `${origin}/codicons/codicon.css`,
  });
  return html
    .replace('<meta name="viewport"', `<link rel="stylesheet" href="${origin}/vscode-defaults.css" />\n    <meta name="viewport"`)
    .replace(`<script nonce="${nonce}"`, `<script nonce="${nonce}" src="${origin}/harness.js"></script>\n    <script nonce="${nonce}"`);
}

async function openChat(browser: Browser, origin: string, opts: OpenOptions): Promise<ChatPage> {
  const context = await browser.newContext({
    bypassCSP: opts.bypassCSP ?? false,
    viewport: opts.viewport ?? { width: 480, height: 720 },
    locale: 'en-US',
    timezoneId: 'UTC',
    deviceScaleFactor: 1,
    reducedMotion: 'reduce',
  });
  const foreignRequests: string[] = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(`${origin}/`)) return route.continue();
    foreignRequests.push(url);
    return route.abort();
  });
  const page = await context.newPage();
  await page.clock.install({ time: opts.now ?? NOW });
  await page.goto(`${origin}/?theme=${opts.theme ?? 'dark'}`);
  await page.waitForFunction(() => (globalThis as any).__posted?.some((m: { type: string }) => m.type === 'ready'));

  const chat: ChatPage = {
    page,
    context,
    foreignRequests,
    host: async (msg) => {
      await page.evaluate((m) => (globalThis as any).__host(m), msg);
    },
    posted: () => page.evaluate(() => (globalThis as any).__posted as WebviewToHost[]),
    clearPosted: () => page.evaluate(() => void ((globalThis as any).__posted.length = 0)),
    cspViolations: () => page.evaluate(() => (globalThis as any).__cspViolations as unknown[]),
    pwned: () => page.evaluate(() => (globalThis as any).__pwned),
    close: () => context.close(),
  };
  return chat;
}
