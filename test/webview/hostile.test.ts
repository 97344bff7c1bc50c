// Peer content must stay inert. Runs the corpus twice: under the real CSP, and with the CSP
// bypassed, so the canary proves the sanitizer itself (not only the CSP) keeps scripts from running.
import assert from 'node:assert/strict';
import { LANGUAGE_NAMES } from '../../media/hljs/languages';
import type { MemberInfo } from '../../extension/core/types';
import type { TranscriptEntry } from '../../extension/shared/protocol';
import { NOW, startHarness, type ChatPage, type Harness } from './harness';
import { ALICE, init } from './fixtures';

const P = 'window.__pwned=1';
export const HOSTILE: string[] = [
  `<script>${P}</script>`,
  `<img src=x onerror="${P}">`,
  `<svg onload="${P}"></svg>`,
  `<svg><script>${P}</script></svg>`,
  `<iframe src="javascript:parent.__pwned=1"></iframe>`,
  `<iframe srcdoc="<script>parent.__pwned=1</script>"></iframe>`,
  `<object data="javascript:${P}"></object>`,
  `<embed src="data:text/html,<script>parent.__pwned=1</script>">`,
  `[click me](javascript:${P})`,
  `[click me](JaVaScRiPt:${P})`,
  `[tab trick](java\tscript:${P})`,
  `[entity trick](&#106;avascript:${P})`,
  `[hex entity](&#x6A;&#x61;&#x76;&#x61;script:${P})`,
  `[data](data:text/html;base64,PHNjcmlwdD5wYXJlbnQuX19wd25lZD0xPC9zY3JpcHQ+)`,
  `[vscode uri](vscode://file/etc/passwd)`,
  `[command uri](command:workbench.action.terminal.new)`,
  `[file uri](file:///etc/passwd)`,
  `[protocol-relative](//evil.example/x)`,
  `[relative](../../etc/passwd)`,
  `[angle dest](<javascript:${P}>)`,
  `<javascript:${P}>`,
  `<https://evil.example/"onmouseover="${P}>`,
  `javascript:${P}`,
  `[title trick](https://ok.example "t\\" onmouseover=\\"${P}")`,
  `![tracking pixel](https://evil.example/pixel.png)`,
  `![alt" onerror="${P}](https://evil.example/a.png)`,
  `![x](javascript:${P})`,
  `[![nested](https://evil.example/b.png)](javascript:${P})`,
  `<a href="javascript:${P}">raw anchor</a>`,
  `<div style="background:url(https://evil.example/css)">css bg</div>`,
  `<style>body{display:none} *{background:url(https://evil.example/s)}</style>`,
  `<link rel=stylesheet href=https://evil.example/x.css>`,
  `<meta http-equiv="refresh" content="0;url=javascript:${P}">`,
  `<base href="javascript:/">`,
  `<form action="javascript:${P}"><button>go</button></form>`,
  `<details open ontoggle="${P}">x</details>`,
  `<math><mtext><table><mglyph><style><img src=x onerror="${P}">`,
  `<noscript><p title="</noscript><img src=x onerror=${P}>">`,
  `<svg><a xlink:href="javascript:${P}"><text y="20">svg link</text></a></svg>`,
  `<!--><img src=x onerror=${P}>-->`,
  `&lt;script&gt;${P}&lt;/script&gt;`,
  `&#60;img src=x onerror=${P}&#62;`,
  '`<img src=x onerror=window.__pwned=1>` inline code',
  '```html\n<script>window.__pwned=1</script>\n<img src=x onerror="window.__pwned=1">\n```',
  '````\n```\n</code></pre><script>window.__pwned=1</script>\n```\n````',
  '```" onmouseover="window.__pwned=1\nfence info injection\n```',
  '```javascript</code><script>window.__pwned=1</script>\nalert(1)\n```',
  '> quote <img src=x onerror=window.__pwned=1>\n> > nested [x](javascript:window.__pwned=1)',
  '<textarea><img src=x onerror=window.__pwned=1></textarea>',
  '<x onclick="window.__pwned=1">unknown element</x>',
  '[ref link][r]\n\n[r]: javascript:window.__pwned=1',
  '| a | b |\n|---|---|\n| <img src=x onerror=window.__pwned=1> | [x](javascript:window.__pwned=1) |',
  'A'.repeat(20_000),
  `https://example.com/${'a'.repeat(5_000)}`,
  '\u202Egnp.exe \u2066isolate\u202C and \u200Fzero-width',
  '[https://good.example](https://evil.example/phish)',
];

const HOSTILE_NAMES = ['<img src=x onerror=window.__pwned=1>', '\u202EecilA', 'x'.repeat(500), '<script>window.__pwned=1</script>'];

function corpus(): { transcript: TranscriptEntry[]; members: MemberInfo[] } {
  const transcript: TranscriptEntry[] = HOSTILE.map((text, i) => ({
    id: `h${i}`,
    from: `${ALICE.slice(0, 60)}${String(i % 3).padStart(4, '0')}`,
    fromName: HOSTILE_NAMES[i % HOSTILE_NAMES.length]!,
    own: false,
    sentAt: NOW - (HOSTILE.length - i) * 1000,
    body: { kind: 'text', text },
  }));
  transcript.push({
    id: 'snip',
    from: ALICE,
    fromName: '"><svg onload=window.__pwned=1>',
    own: false,
    sentAt: NOW,
    body: {
      kind: 'snippet',
      text: '<img src=x onerror=window.__pwned=1> see [this](javascript:window.__pwned=1)',
      snippet: {
        path: '"><img src=x onerror=window.__pwned=1>/\u202Etxt.exe',
        language: '"><script>window.__pwned=1</script>',
        startLine: 1e300,
        endLine: -5,
        code: '</code></pre><script>window.__pwned=1</script><img src=x onerror="window.__pwned=1">',
      },
    },
  });
  const members: MemberInfo[] = HOSTILE_NAMES.map((name, i) => ({
    peerId: `"><img src=x onerror=window.__pwned=1>${i}`,
    name,
    presence: 'online',
    path: 'direct',
    fingerprint: '<script>window.__pwned=1</script>',
  }));
  return { transcript, members };
}

const ALLOWED_HREF = /^(?:https?:\/\/[^\s/?#]+|mailto:[^\s]+@)/i;

describe('hostile peer content', function () {
  this.timeout(60_000);
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => h?.close());

  it('has at least 30 hostile messages in the corpus', () => {
    assert.ok(HOSTILE.length >= 30, String(HOSTILE.length));
  });

  for (const bypassCSP of [false, true]) {
    describe(bypassCSP ? 'with the CSP bypassed (sanitizer alone)' : 'under the CSP', () => {
      let chat: ChatPage;
      before(async () => {
        chat = await h.open({ bypassCSP });
        const { transcript, members } = corpus();
        // half arrives in init, half live, since both paths render
        const half = Math.floor(transcript.length / 2);
        await chat.host(init({ transcript: transcript.slice(0, half), members }));
        for (const e of transcript.slice(half)) await chat.host({ type: 'message', entry: e });
        await chat.host({ type: 'typing', peerId: 'x', name: '<img src=x onerror=window.__pwned=1>', typing: true });
        // give any error/load handlers a chance to fire
        await chat.page.clock.runFor(500);
        await chat.page.evaluate(() => new Promise((r) => (globalThis as any).requestAnimationFrame(() => r(null))));
      });
      after(async () => chat?.close());

      it('renders every message (nothing dropped) and runs no script', async () => {
        assert.equal(await chat.page.locator('.p2p-message').count(), HOSTILE.length + 1);
        assert.equal(await chat.pwned(), undefined);
      });

      it('leaves no event-handler attributes, scripts, frames, objects or style anywhere in the app', async () => {
        const found = await chat.page.evaluate(() => {
          const d = (globalThis as any).document;
          const app = d.getElementById('p2p-app');
          const all: any[] = Array.from(app.querySelectorAll('*'));
          const handlers = all.flatMap((el) => Array.from(el.attributes as ArrayLike<any>).filter((a) => /^on/i.test(a.name)).map((a) => `${el.tagName}[${a.name}]`));
          const banned = app.querySelectorAll('script,iframe,object,embed,img,svg,math,style,link,meta,base,form,input,textarea:not(#p2p-input),video,audio,source,frame,frameset,x,details:not(#p2p-members-section),noscript,template');
          const styled = all.filter((el) => el.hasAttribute('style') && el.id !== 'p2p-input').map((el) => el.tagName);
          const srcs = all.filter((el) => el.hasAttribute('src') || el.hasAttribute('srcdoc') || el.hasAttribute('xlink:href') || el.hasAttribute('action')).map((el) => el.tagName);
          const scripts = Array.from(d.querySelectorAll('script')).map((s: any) => new URL(s.src || 'inline:', d.baseURI).pathname);
          return { handlers, banned: Array.from(banned).map((e: any) => e.tagName), styled, srcs, scripts };
        });
        assert.deepEqual(found.handlers, []);
        assert.deepEqual(found.banned, []);
        assert.deepEqual(found.styled, []);
        assert.deepEqual(found.srcs, []);
        // Ours only: the harness, main.js, and highlight.js's engine and grammars as they were needed.
        const grammars = new RegExp(`^/hljs/(?:core|${LANGUAGE_NAMES.join('|')})\\.js$`);
        const others = found.scripts.filter((s: string) => s !== '/harness.js' && s !== '/main.js');
        assert.equal(found.scripts.length - others.length, 2, 'the harness and main.js, once each');
        for (const s of others) assert.match(s, grammars);
      });

      it('keeps only http(s)/mailto links, with the destination visible', async () => {
        const links = await chat.page.locator('#p2p-transcript a').evaluateAll((as: any[]) =>
          as.map((a) => ({ href: a.getAttribute('href'), title: a.getAttribute('title'), rel: a.getAttribute('rel'), text: a.textContent })),
        );
        assert.ok(links.length >= 3, 'legitimate links survive');
        for (const l of links) {
          if (l.href === null) continue; // neutralised anchor: plain text
          assert.match(l.href, ALLOWED_HREF, JSON.stringify(l));
          assert.equal(l.title, l.href, 'title shows the real destination');
          assert.equal(l.rel, 'noopener noreferrer');
        }
        const phish = links.find((l) => l.text === 'https://good.example');
        assert.equal(phish?.title, 'https://evil.example/phish');
      });

      it('shows markup as text rather than dropping it', async () => {
        const text = (id: string) => chat.page.locator(`.p2p-message[data-id="${id}"] .p2p-body`).textContent();
        assert.match((await text('h0')) ?? '', /<script>window\.__pwned=1<\/script>/);
        assert.match((await text('h1')) ?? '', /<img src=x onerror=/);
        assert.match((await text(`h${HOSTILE.indexOf('&lt;script&gt;window.__pwned=1&lt;/script&gt;')}`)) ?? '', /<script>/);
        const snippet = chat.page.locator('.p2p-message[data-id="snip"] .p2p-snippet');
        assert.match((await snippet.locator('.p2p-snippet-code').textContent()) ?? '', /<\/code><\/pre><script>/);
        assert.match((await snippet.locator('.p2p-snippet-lang').textContent()) ?? '', /<script>/);
        assert.equal(await snippet.getAttribute('data-language'), 'plaintext');
      });

      it('never loads remote resources (images, CSS)', async () => {
        assert.deepEqual(chat.foreignRequests, []);
        assert.ok((await chat.page.locator('.p2p-image-link').count()) >= 2, 'images shown as links/labels');
      });

      it('contains long lines and bidi overrides', async () => {
        const overflow = await chat.page.locator('#p2p-transcript').evaluate((e: any) => e.scrollWidth - e.clientWidth);
        assert.ok(overflow <= 0, `horizontal overflow ${overflow}px`);
        const names = await chat.page.locator('.p2p-sender').allTextContents();
        assert.ok(names.every((n) => !/[\u202A-\u202E\u2066-\u2069\u200E\u200F]/.test(n)), 'no bidi controls in names');
        assert.ok(names.every((n) => Array.from(n).length <= 48), 'names are bounded');
        const isolation = await chat.page.locator('.p2p-body').first().evaluate((e: any) => getComputedStyle(e).unicodeBidi);
        assert.equal(isolation, 'isolate');
        assert.equal(await chat.page.locator('#p2p-typing').textContent(), '<img src=x onerror=window.__pwned=1> is typing…');
      });

      it('is still clean after hovering and clicking through the transcript', async () => {
        const bodies = chat.page.locator('.p2p-message .p2p-body');
        const n = await bodies.count();
        for (let i = 0; i < n; i += 5) await bodies.nth(i).hover({ force: true }).catch(() => undefined);
        // clicking a link with an allowed scheme would navigate away: only click neutralised anchors
        const dead = chat.page.locator('#p2p-transcript a:not([href])');
        for (let i = 0; i < (await dead.count()); i++) await dead.nth(i).click({ force: true });
        await chat.page.clock.runFor(200);
        assert.equal(await chat.pwned(), undefined);
        assert.equal(new URL(chat.page.url()).pathname, '/');
        if (!bypassCSP) assert.deepEqual(await chat.cspViolations(), [], 'nothing even tried to break the CSP');
      });
    });
  }
});
