// File cards, drop and paste in the chat webview (headless Chromium, the real CSP): what the card
// shows in each state, keyboard and screen-reader access, image previews from sniffed bytes only,
// hostile names as inert text, and the messages a drop or a paste posts.
import assert from 'node:assert/strict';
import type { FileStatus, TranscriptEntry, WebviewToHost } from '../../extension/shared/protocol';
import { NOW, startHarness, type ChatPage, type Harness } from './harness';
import { ALICE, SELF, entry, init, pngBytes } from './fixtures';

const IN_ID = 'aa'.repeat(16);
const OUT_ID = 'bb'.repeat(16);

function card(id: string, name: string, own: boolean, size = 3 * 1024 * 1024 + 17, mime = 'application/octet-stream', at = NOW - 60_000): TranscriptEntry {
  return { id: `file:${id}`, from: own ? SELF : ALICE, fromName: own ? 'Me' : 'Alice', own, sentAt: at, body: { kind: 'file', file: { id, name, size, mime } } };
}

function status(id: string, over: Partial<FileStatus> = {}): FileStatus {
  return { id, direction: 'in', state: 'offered', bytes: 0, total: 3 * 1024 * 1024 + 17, rate: 0, canOpen: false, ...over };
}

describe('file cards in the chat webview', function () {
  this.timeout(30_000);
  let h: Harness;
  let chat: ChatPage;
  before(async () => {
    h = await startHarness();
  });
  after(async () => h?.close());
  beforeEach(async () => {
    chat = await h.open();
  });
  afterEach(async () => {
    const violations = await chat.cspViolations();
    const pwned = await chat.pwned();
    await chat.close();
    assert.deepEqual(violations, [], 'CSP violations');
    assert.equal(pwned, undefined, 'script ran');
    assert.deepEqual(chat.foreignRequests, [], 'requests outside the harness');
  });

  const $ = (sel: string) => chat.page.locator(sel);
  const posted = async <T extends WebviewToHost['type']>(type: T) => (await chat.posted()).filter((m): m is Extract<WebviewToHost, { type: T }> => m.type === type);
  /** Host → webview with a Uint8Array (page.evaluate would turn it into a plain object). */
  const preview = (id: string, mime: string, bytes: Uint8Array) =>
    chat.page.evaluate(([i, m, b]) => (globalThis as any).__host({ type: 'filePreview', id: i, mime: m, bytes: new Uint8Array(b as number[]) }), [id, mime, Array.from(bytes)] as const);

  it('an incoming offer: name, size, type, Save… and Decline; keyboard reaches them; nothing else', async () => {
    await chat.host(init({ transcript: [entry('m1', ALICE, 'Alice', NOW - 120_000, 'here is the log'), card(IN_ID, 'build.log', false, 3 * 1024 * 1024 + 17, 'text/plain')], files: [status(IN_ID)] }));
    const c = $(`.p2p-file[data-file-id="${IN_ID}"]`);
    assert.equal(await c.getAttribute('data-state'), 'offered');
    assert.equal(await c.getAttribute('data-direction'), 'in');
    assert.equal(await c.getAttribute('role'), 'group');
    assert.equal(await c.getAttribute('aria-label'), 'File build.log, 3.0 MiB');
    assert.equal(await c.locator('.p2p-file-name').textContent(), 'build.log');
    assert.equal(await c.locator('.p2p-file-meta').textContent(), '3.0 MiB · text/plain');
    assert.match((await c.locator('.p2p-file-status').textContent()) ?? '', /Nothing is saved until you choose Save/);
    assert.equal(await c.locator('[data-testid="file-save"]').isVisible(), true);
    assert.equal(await c.locator('[data-testid="file-open"]').isVisible(), false);
    assert.equal(await c.locator('[data-testid="file-cancel"]').textContent(), 'Decline');
    assert.equal(await c.locator('[data-testid="file-save"]').getAttribute('aria-label'), 'Save build.log (3.0 MiB) from Alice');
    assert.equal(await c.locator('[data-testid="file-cancel"]').getAttribute('aria-label'), 'Decline build.log');
    // In a message of its own kind, in the sender's group, with the sender named.
    assert.equal(await $(`.p2p-message[data-id="file:${IN_ID}"]`).getAttribute('data-kind'), 'file');

    // Keyboard: Tab from the transcript reaches Save…, Enter presses it.
    await chat.clearPosted();
    await $('#p2p-transcript').focus();
    let reached = false;
    for (let i = 0; i < 10 && !reached; i++) {
      await chat.page.keyboard.press('Tab');
      reached = await chat.page.evaluate(() => (globalThis as any).document.activeElement?.dataset?.testid === 'file-save');
    }
    assert.ok(reached, 'Tab reaches Save…');
    await chat.page.keyboard.press('Enter');
    await chat.page.keyboard.press('Tab');
    await chat.page.keyboard.press('Space'); // Decline, by keyboard too
    assert.deepEqual(await posted('fileAction'), [
      { type: 'fileAction', id: IN_ID, action: 'save' },
      { type: 'fileAction', id: IN_ID, action: 'cancel' },
    ]);
  });

  it('progress: bar, speed and time left; the focused Cancel keeps focus while it moves; Open when saved', async () => {
    await chat.host(init({ transcript: [card(IN_ID, 'video.mp4', false, 100 * 1024 * 1024, 'video/mp4')], files: [status(IN_ID, { state: 'active', total: 100 * 1024 * 1024, bytes: 0 })] }));
    const c = $(`.p2p-file[data-file-id="${IN_ID}"]`);
    await c.locator('[data-testid="file-cancel"]').focus();
    for (const pct of [10, 35, 60]) {
      await chat.host({ type: 'fileStatus', status: status(IN_ID, { state: 'active', total: 100 * 1024 * 1024, bytes: pct * 1024 * 1024, rate: 4 * 1024 * 1024, eta: (100 - pct) / 4 }) });
      assert.equal(await c.locator('.p2p-file-bar').evaluate((e: any) => e.value), pct * 1024 * 1024);
      assert.equal(await c.locator('.p2p-file-bar').evaluate((e: any) => e.max), 100 * 1024 * 1024);
      assert.equal(await chat.page.evaluate(() => (globalThis as any).document.activeElement?.dataset?.testid), 'file-cancel', 'focus stays on Cancel');
    }
    assert.equal(await c.locator('.p2p-file-status').textContent(), '60.0 MiB of 100.0 MiB · 4.0 MiB/s · 10 s left');
    assert.equal(await c.locator('.p2p-file-bar').getAttribute('aria-valuetext'), '60.0 MiB of 100.0 MiB · 4.0 MiB/s · 10 s left');
    assert.equal(await c.locator('.p2p-file-bar').getAttribute('aria-label'), 'Transfer of video.mp4');
    // Progress ticks are not read out one by one; a change of state is.
    assert.equal(await c.locator('.p2p-file-status').getAttribute('aria-live'), 'off');

    await chat.host({ type: 'fileStatus', status: status(IN_ID, { state: 'done', total: 100 * 1024 * 1024, bytes: 100 * 1024 * 1024, canOpen: true }) });
    assert.equal(await c.getAttribute('data-state'), 'done');
    assert.equal(await c.locator('.p2p-file-status').textContent(), 'Saved; its SHA-256 checked.');
    assert.equal(await c.locator('.p2p-file-status').getAttribute('aria-live'), 'polite');
    assert.equal(await c.locator('[data-testid="file-cancel"]').isVisible(), false);
    assert.equal(await c.locator('[data-testid="file-open"]').isVisible(), true);
    // Cancel went away with focus on it: focus moved to Open, not to the page's body.
    assert.equal(await chat.page.evaluate(() => (globalThis as any).document.activeElement?.dataset?.testid), 'file-open');
    await chat.clearPosted();
    await chat.page.keyboard.press('Enter');
    assert.deepEqual(await posted('fileAction'), [{ type: 'fileAction', id: IN_ID, action: 'open' }]);
  });

  it('our own card: waiting for the recipient, then sent; Open and Cancel', async () => {
    await chat.host(init({ transcript: [card(OUT_ID, 'patch.diff', true, 2048, 'text/x-diff')], files: [status(OUT_ID, { direction: 'out', state: 'waiting', total: 2048, canOpen: true, recipients: 0, received: 0 })] }));
    const c = $(`.p2p-file[data-file-id="${OUT_ID}"]`);
    assert.equal(await c.getAttribute('data-direction'), 'out');
    assert.match((await c.locator('.p2p-file-status').textContent()) ?? '', /Waiting for the recipient/);
    assert.equal(await c.locator('[data-testid="file-save"]').isVisible(), false);
    assert.equal(await c.locator('[data-testid="file-open"]').isVisible(), true);
    assert.equal(await c.locator('[data-testid="file-cancel"]').textContent(), 'Cancel');
    await chat.host({ type: 'fileStatus', status: status(OUT_ID, { direction: 'out', state: 'done', total: 4096, bytes: 4096, canOpen: true, recipients: 2, received: 2 }) });
    assert.equal(await c.locator('.p2p-file-status').textContent(), 'Sent to 2 of 2 members.');
    await chat.host({ type: 'fileStatus', status: status(OUT_ID, { direction: 'out', state: 'cancelled', error: 'declined or cancelled by the recipient', canOpen: true }) });
    assert.equal(await c.locator('.p2p-file-status').textContent(), 'Stopped: declined or cancelled by the recipient');
  });

  it('an image preview from sniffed bytes (blob: under the CSP); other types and SVG are refused', async () => {
    await chat.host(init({ transcript: [card(IN_ID, 'shot.png', false, 100, 'image/png'), card(OUT_ID, 'logo.svg', true, 100, 'image/svg+xml')], files: [status(IN_ID, { state: 'done', canOpen: true }), status(OUT_ID, { direction: 'out', state: 'done', canOpen: true })] }));
    const c = $(`.p2p-file[data-file-id="${IN_ID}"]`);
    assert.equal(await c.locator('img').count(), 0, 'no preview before the host sends one');
    await preview(IN_ID, 'image/png', pngBytes());
    const img = c.locator('img.p2p-file-image');
    await img.waitFor();
    assert.match((await img.getAttribute('src')) ?? '', /^blob:/);
    assert.equal(await img.getAttribute('alt'), 'Preview of shot.png');
    await chat.page.waitForFunction((id) => (globalThis as any).document.querySelector(`.p2p-file[data-file-id="${id}"] img`)?.naturalWidth === 2, IN_ID);
    // An SVG "preview" is not in the protocol: dropped before it reaches the card.
    const svg = new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg" onload="window.__pwned=1"><script>window.__pwned=1</script></svg>');
    await preview(OUT_ID, 'image/svg+xml', svg);
    await preview(OUT_ID, 'text/html', svg);
    assert.equal(await $(`.p2p-file[data-file-id="${OUT_ID}"] img`).count(), 0);
  });

  for (const bypassCSP of [false, true]) {
  it(`hostile file names and types render as inert text${bypassCSP ? ' (CSP bypassed: the rendering alone keeps them inert)' : ''}`, async () => {
    if (bypassCSP) {
      await chat.close();
      chat = await h.open({ bypassCSP: true });
    }
    const names = [
      '<img src=x onerror=window.__pwned=1>.png',
      '<script>window.__pwned=1</script>',
      '[click](command:workbench.action.terminal.new)',
      'invoice\u202Egpj.exe',
      '"><svg onload=window.__pwned=1>',
      '../../etc/passwd',
      'a\u0000b\u0007c\u200Bd.txt',
      'x'.repeat(600),
    ];
    const transcript = names.map((n, i) => card(String(i + 1).repeat(2).padStart(32, 'c'), n, i % 2 === 0, 10, i === 1 ? '<img src=x onerror=window.__pwned=1>' : 'text/plain'));
    await chat.host(init({ transcript, files: transcript.map((e) => status((e.body as { file: { id: string } }).file.id, { direction: e.own ? 'out' : 'in', state: e.own ? 'waiting' : 'offered', canOpen: e.own })) }));
    const shown = await $('.p2p-file-name').allTextContents();
    assert.equal(shown.length, names.length);
    assert.equal(shown[0], '<img src=x onerror=window.__pwned=1>.png');
    assert.equal(shown[1], '<script>window.__pwned=1</script>');
    assert.equal(shown[2], '[click](command:workbench.action.terminal.new)');
    assert.equal(shown[3], 'invoicegpj.exe', 'bidi override removed');
    assert.equal(shown[6], 'abcd.txt', 'controls and zero-width removed');
    assert.ok(shown[7]!.length <= 255);
    assert.equal(await $('.p2p-file img, .p2p-file script, .p2p-file svg, .p2p-file a').count(), 0, 'no markup from names');
    assert.equal(await $('.p2p-file-meta').nth(1).textContent(), '10 B · <img src=x onerror=window.__pwned=1>');
  });
  }

  it('files dropped from the OS, dragged from the Explorer, or pasted are posted to the host', async () => {
    await chat.host(init());
    await chat.clearPosted();
    assert.match((await $('#p2p-drop-hint').textContent()) ?? '', /Hold Shift to drop files/);
    // Two files from the OS: a drag over shows the overlay, the drop posts their bytes.
    await chat.page.evaluate(() => {
      const g = globalThis as any;
      const dt = new g.DataTransfer();
      dt.items.add(new g.File(['hello'], 'a.txt', { type: 'text/plain' }));
      dt.items.add(new g.File([new Uint8Array([1, 2, 3])], 'b.bin'));
      g.document.querySelector('#p2p-transcript').dispatchEvent(new g.DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
      g.__overlayShown = !g.document.querySelector('#p2p-drop-overlay').hidden;
      g.document.querySelector('#p2p-transcript').dispatchEvent(new g.DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    assert.equal(await chat.page.evaluate(() => (globalThis as any).__overlayShown), true);
    await chat.page.waitForFunction(() => (globalThis as any).__posted.some((m: any) => m.type === 'sendFiles'));
    const dropped = await chat.page.evaluate(() => (globalThis as any).__posted.filter((m: any) => m.type === 'sendFiles').map((m: any) => m.files.map((f: any) => [f.name, f.bytes instanceof Uint8Array, Array.from(f.bytes)])));
    assert.deepEqual(dropped, [[['a.txt', true, [104, 101, 108, 108, 111]], ['b.bin', true, [1, 2, 3]]]]);
    assert.equal(await $('#p2p-drop-overlay').isVisible(), false);

    // From VS Code's Explorer: URIs, no bytes.
    await chat.clearPosted();
    await chat.page.evaluate(() => {
      const g = globalThis as any;
      const dt = new g.DataTransfer();
      dt.setData('text/uri-list', 'file:///work/a.txt\r\n# comment\r\nfile:///work/b.txt');
      g.document.body.dispatchEvent(new g.DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    assert.deepEqual(await posted('sendUris'), [{ type: 'sendUris', uris: ['file:///work/a.txt', 'file:///work/b.txt'] }]);

    // A pasted screenshot gets a name that says when it was pasted; text pastes are left alone.
    await chat.clearPosted();
    await chat.page.evaluate(() => {
      const g = globalThis as any;
      const dt = new g.DataTransfer();
      dt.items.add(new g.File([new Uint8Array([0x89, 0x50, 0x4e, 0x47])], 'image.png', { type: 'image/png' }));
      g.document.querySelector('#p2p-input').dispatchEvent(new g.ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
      const text = new g.DataTransfer();
      text.setData('text/plain', 'just text');
      g.document.querySelector('#p2p-input').dispatchEvent(new g.ClipboardEvent('paste', { clipboardData: text, bubbles: true, cancelable: true }));
    });
    await chat.page.waitForFunction(() => (globalThis as any).__posted.some((m: any) => m.type === 'sendFiles'));
    const pasted = await chat.page.evaluate(() => (globalThis as any).__posted.filter((m: any) => m.type === 'sendFiles').map((m: any) => m.files.map((f: any) => f.name)));
    assert.equal(pasted.length, 1);
    assert.match(pasted[0][0], /^pasted-20250314-153\d{3}\.png$/); // the page's clock starts at NOW and runs

    // The composer's button asks the host for a file picker.
    await chat.clearPosted();
    await $('#p2p-attach').click();
    assert.deepEqual(await posted('pickFiles'), [{ type: 'pickFiles' }]);
    assert.equal(await $('#p2p-attach').getAttribute('aria-label'), 'Send files to the room');
  });

  it('outside a room a drop is refused with a note, and nothing is posted', async () => {
    await chat.host(init({ room: undefined }));
    await chat.clearPosted();
    await chat.page.evaluate(() => {
      const g = globalThis as any;
      const dt = new g.DataTransfer();
      dt.items.add(new g.File(['x'], 'a.txt'));
      g.document.body.dispatchEvent(new g.DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    await $('#p2p-file-note').waitFor();
    assert.match((await $('#p2p-file-note').textContent()) ?? '', /Join a room/);
    assert.deepEqual(await posted('sendFiles'), []);
  });

  it('malformed file messages are ignored (the card stays as it was)', async () => {
    await chat.host(init({ transcript: [card(IN_ID, 'a.txt', false)], files: [status(IN_ID)] }));
    for (const bad of [
      { type: 'fileStatus', status: { ...status(IN_ID), state: 'exploded' } },
      { type: 'fileStatus', status: { ...status(IN_ID), bytes: -1 } },
      { type: 'fileStatus', status: { ...status(IN_ID), bytes: 'lots' } },
      { type: 'filePreview', id: IN_ID, mime: 'image/png', bytes: [1, 2, 3] },
    ]) {
      await chat.page.evaluate((m) => (globalThis as any).__host(m), bad as any);
    }
    assert.equal(await $(`.p2p-file[data-file-id="${IN_ID}"]`).getAttribute('data-state'), 'offered');
    assert.equal(await $(`.p2p-file img`).count(), 0);
  });
});
