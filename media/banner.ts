// The connection banner: one plain-words line per ConnectionState, with Retry / Connect when useful.
import type { ConnectionState } from '../extension/core/types';
import type { WebviewToHost } from '../extension/shared/protocol';
import { clear, h, icon } from './dom';
import { bannerFor } from './viewModel';

export function renderBanner(el: HTMLElement, state: ConnectionState, post: (m: WebviewToHost) => void): void {
  const v = bannerFor(state);
  // Only while this page has the focus: a document keeps its activeElement after the focus left the
  // webview, and focusing the new button then would pull the focus back from the editor (or a quick pick).
  const hadFocus = document.hasFocus() && el.contains(document.activeElement);
  clear(el);
  el.dataset.state = state.kind;
  el.dataset.tone = v.tone;
  if (state.kind === 'connected') el.dataset.path = state.path;
  else delete el.dataset.path;
  // Errors interrupt; progress is announced politely.
  el.setAttribute('role', v.tone === 'error' ? 'alert' : 'status');
  el.className = `p2p-banner p2p-banner-${v.tone}`;

  const text = h('div', { class: 'p2p-banner-text' }, h('span', { class: 'p2p-banner-title', text: v.title }));
  if (v.detail) text.append(h('span', { class: 'p2p-banner-detail', text: v.detail }));
  el.append(icon(v.icon, `p2p-banner-icon${v.spin ? ' codicon-modifier-spin' : ''}`), text);

  if (v.action) {
    const message = v.action.message;
    const button = h(
      'button',
      {
        id: message === 'retry' ? 'p2p-retry' : 'p2p-connect',
        class: 'p2p-button',
        attrs: { type: 'button', 'data-testid': message },
        on: { click: () => post({ type: message }) },
      },
      icon(message === 'retry' ? 'refresh' : 'plug'),
      h('span', { text: v.action.label }),
    );
    el.append(button);
    if (hadFocus) button.focus();
  }
}
