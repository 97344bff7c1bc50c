import type { Page } from 'playwright-core';

/**
 * A record of where the keyboard focus went in the workbench page (every focusin/focusout, window
 * focus/blur, and the quick input opening and closing), for the failure report: a quick input that
 * closes by itself was closed by something taking the focus, and this names it. Installed by
 * openEditor() as an init script, so it survives "Reload Window". Focus inside a webview's iframe
 * shows as the iframe element.
 */
export const FOCUS_LOG_SCRIPT = `(() => {
  if (window.top !== window) return; // the workbench only, not webviews' frames
  const log = [];
  const t0 = Date.now();
  const describe = (el) => {
    if (!el || el === window) return 'window';
    if (el === document) return 'document';
    if (!el.tagName) return String(el);
    const cls = (typeof el.className === 'string' ? el.className : '').split(/\\s+/).filter(Boolean).slice(0, 3).join('.');
    const label = (el.getAttribute && (el.getAttribute('aria-label') || el.getAttribute('title') || '')) || '';
    const owner = el.closest && el.closest('.quick-input-widget, .part, .pane-body, .editor-group-container, .notifications-toasts, .monaco-dialog-box');
    const where = owner && owner !== el ? ' in ' + (owner.classList[0] || owner.tagName.toLowerCase()) + (owner.id ? '#' + owner.id : '') : '';
    return el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (cls ? '.' + cls : '') + (label ? ' "' + label.slice(0, 50) + '"' : '') + where;
  };
  const add = (what) => {
    log.push('+' + String(Date.now() - t0).padStart(7) + 'ms ' + what);
    if (log.length > 400) log.splice(0, log.length - 400);
  };
  document.addEventListener('focusin', (e) => add('focusin  ' + describe(e.target)), true);
  document.addEventListener('focusout', (e) => add('focusout ' + describe(e.target) + ' -> ' + describe(e.relatedTarget)), true);
  window.addEventListener('focus', () => add('window focus'), true);
  window.addEventListener('blur', (e) => e.target === window && add('window blur'), true);
  let quickInputShown = false;
  setInterval(() => {
    const q = document.querySelector('.quick-input-widget');
    const shown = !!q && q.style.display !== 'none' && !q.inert && q.offsetParent !== null;
    if (shown !== quickInputShown) {
      quickInputShown = shown;
      const title = q && q.querySelector('.quick-input-title');
      const box = q && q.querySelector('.quick-input-box input');
      add('quick input ' + (shown ? 'shown' : 'hidden') + (title && title.textContent ? ' "' + title.textContent.slice(0, 40) + '"' : '') + (box ? ' box="' + String(box.value).slice(0, 40) + '"' : ''));
    }
  }, 20);
  Object.defineProperty(window, '__p2pFocusLog', { value: log });
})();`;

/** The last `n` focus events of a page (empty if the script is not there). */
export async function focusLog(page: Page, n = 40): Promise<string[]> {
  try {
    return await page.evaluate((count) => {
      const log = (globalThis as unknown as { __p2pFocusLog?: string[] }).__p2pFocusLog ?? [];
      return log.slice(-count);
    }, n);
  } catch {
    return [];
  }
}
