// The public contact page (/@handle) in Debian's Chromium, served by the rendezvous's real HTTP
// port: it renders, hostile account data stays text (no script runs, none is even in the DOM),
// the CSP forbids scripts, and both the "Add in VS Code" link and the QR code (decoded from a
// screenshot with jsQR) carry the contact link.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chromium, type Browser } from 'playwright-core';
import jsQR from 'jsqr';
import { PNG } from 'pngjs';
import { CHROMIUM_ARGS } from '../e2e/rig/browser';
import { ContactCard } from '../../rendezvous/contactPage';
import { HttpFace } from '../../rendezvous/http';
import { silentLogger } from '../../rendezvous/log';
import { createMetrics } from '../../rendezvous/metrics';
import { RendezvousServer } from '../../rendezvous/server';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const HOSTILE_NAME = `<script>window.pwned=1</script><img src=x onerror="window.pwned=2">\u202eevil"' & <b>bold</b>`;
const contactLink = `p2pchat:contact:${randomBytes(120).toString('base64url')}`;
const addUri = `vscode://p2p-chat.p2p-chat/contact?link=${encodeURIComponent(contactLink)}`;

describe('contact page /@handle in Chromium', function () {
  this.timeout(60_000);
  let server: RendezvousServer;
  let face: HttpFace;
  let base: string;
  let browser: Browser;
  const cards: Record<string, ContactCard> = {
    alice: { handle: 'alice', address: 'alice@chat.example.org', displayName: 'Alice Example', fingerprint: '1234 5678 9abc def0 1234 5678 9abc def0', addUri },
    mallory: { handle: 'mallory', displayName: HOSTILE_NAME, fingerprint: '<svg onload=window.pwned=3>', addUri },
    // A directory returning a link of another scheme: the page shows no button rather than a live javascript: link.
    eve: { handle: 'eve', displayName: 'Eve', fingerprint: 'ff', addUri: 'javascript:window.pwned=4' },
  };

  before(async () => {
    server = new RendezvousServer({ port: 0, host: '127.0.0.1', logger: silentLogger });
    await server.start();
    face = new HttpFace({
      host: '127.0.0.1',
      port: 0,
      server,
      metrics: createMetrics({ server }),
      contacts: async (h) => cards[h],
    });
    base = `http://127.0.0.1:${(await face.start()).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  });

  after(async () => {
    await browser?.close();
    await face?.stop();
    await server?.stop();
  });

  async function open(handle: string) {
    const context = await browser.newContext({ viewport: { width: 600, height: 900 } });
    const page = await context.newPage();
    const csp: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) csp.push(m.text());
    });
    const res = await page.goto(`${base}/@${handle}`);
    return { page, context, res: res!, csp };
  }

  it('renders name, handle, fingerprint; the link and the QR code both carry the contact link', async () => {
    const { page, context, res } = await open('alice');
    try {
      assert.equal(res.status(), 200);
      assert.match(res.headers()['content-security-policy'], /default-src 'none'/);
      assert.doesNotMatch(res.headers()['content-security-policy'], /script-src/);
      assert.equal(await page.textContent('#name'), 'Alice Example');
      assert.equal(await page.textContent('#handle'), 'alice@chat.example.org');
      assert.equal(await page.textContent('#fingerprint'), cards.alice.fingerprint);
      const href = await page.getAttribute('#add', 'href');
      assert.equal(href, addUri);
      assert.equal(new URL(href!).searchParams.get('link'), contactLink);
      // The QR code as the browser drew it: screenshot → PNG → jsQR.
      const shot = await page.locator('#qr svg').screenshot();
      const png = PNG.sync.read(shot);
      const code = jsQR(new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.length), png.width, png.height);
      assert.ok(code, 'a QR code was found in the screenshot');
      assert.equal(code.data, addUri);
      assert.equal(new URL(code.data).searchParams.get('link'), contactLink);
      // The inline style is allowed by its hash: the button is styled (not the default link colour).
      const bg = await page.$eval('#add', (el) => getComputedStyle(el).backgroundColor);
      assert.equal(bg, 'rgb(31, 63, 143)');
    } finally {
      await context.close();
    }
  });

  it('hostile account data stays text: no script in the DOM, none runs, bidi controls removed', async () => {
    const { page, context, res, csp } = await open('mallory');
    try {
      assert.equal(res.status(), 200);
      assert.equal(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned), undefined);
      assert.equal(await page.locator('script').count(), 0);
      assert.equal(await page.locator('img').count(), 0);
      assert.equal(await page.locator('#name b').count(), 0);
      assert.equal(await page.textContent('#name'), HOSTILE_NAME.replace('\u202e', ''));
      assert.equal(await page.textContent('#fingerprint'), '<svg onload=window.pwned=3>');
      assert.equal(await page.locator('[onerror],[onload]').count(), 0);
      assert.deepEqual(csp, [], 'nothing even tried to break the CSP');
      assert.match(await page.title(), /^<script>.* on P2P Chat$/);
    } finally {
      await context.close();
    }
  });

  it('a link that is not ours is not shown; unknown and malformed handles are 404', async () => {
    const { page, context } = await open('eve');
    try {
      assert.equal(await page.locator('#add').count(), 0);
      assert.equal(await page.locator('a').count(), 0);
      assert.equal(await page.locator('#qr').count(), 0);
    } finally {
      await context.close();
    }
    for (const h of ['nobody', '%3Cscript%3E', 'a/b', '..%2F..%2Fetc', '%E0%A4%A', 'x'.repeat(5000), '%00alice', 'alice%0d%0aSet-Cookie:%20x=1']) {
      const r = await fetch(`${base}/@${h}`);
      assert.equal(r.status, 404, h);
      assert.doesNotMatch(await r.text(), /script/i);
    }
  });
});
