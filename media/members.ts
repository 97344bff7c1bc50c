// Members list: presence, name, verified mark (unverified is a button that starts verification), path.
import type { MemberInfo } from '../extension/core/types';
import type { WebviewToHost } from '../extension/shared/protocol';
import { bdi, clear, h, icon, srOnly } from './dom';
import { colorIndex, initials, memberView, sortMembers } from './viewModel';

export const AVATAR_COLORS = 6;

export function avatar(peerId: string, name: string, presence?: string, self = false): HTMLElement {
  const el = h('span', {
    class: `p2p-avatar ${self ? 'p2p-avatar-self' : `p2p-avatar-${colorIndex(peerId, AVATAR_COLORS)}`}`,
    text: initials(name),
    attrs: { 'aria-hidden': 'true' },
  });
  if (presence) el.append(h('span', { class: 'p2p-presence', attrs: { 'data-presence': presence } }));
  return el;
}

export function renderMembers(
  list: HTMLElement,
  count: HTMLElement,
  members: readonly MemberInfo[],
  namedRoom: boolean,
  post: (m: WebviewToHost) => void,
): void {
  // Only while this page has the focus (see banner.ts): re-focusing the redrawn button would otherwise steal it.
  const focusedPeer = document.hasFocus() ? (document.activeElement as HTMLElement | null)?.closest?.('.p2p-member')?.getAttribute('data-peer-id') : undefined;
  clear(list);
  const views = sortMembers(members.map((m) => memberView(m, namedRoom)));
  const online = views.filter((v) => v.presence !== 'offline').length;
  count.textContent = views.length === online ? String(views.length) : `${online}/${views.length}`;
  count.title = `${online} of ${views.length} online`;

  if (views.length === 0) {
    list.append(h('li', { class: 'p2p-empty', text: 'No one else is here yet.' }));
    return;
  }
  for (const v of views) {
    const mark = v.verified
      ? h(
          'span',
          { class: 'p2p-verified', title: v.identityTitle, attrs: { 'data-testid': 'verified' } },
          icon('verified-filled'),
          srOnly('Verified'),
        )
      : h(
          'button',
          {
            class: 'p2p-verify',
            title: v.identityTitle,
            attrs: { type: 'button', 'data-testid': 'verify', 'aria-label': `Unverified: verify ${v.name}` },
            on: { click: () => post({ type: 'verifyPeer', peerId: v.peerId }) },
          },
          icon('unverified'),
          h('span', { text: 'Unverified' }),
        );
    const li = h(
      'li',
      {
        class: 'p2p-member',
        attrs: {
          'data-peer-id': v.peerId,
          'data-presence': v.presence,
          'data-verified': String(v.verified),
          'data-testid': 'member',
        },
      },
      avatar(v.peerId, v.name, v.presence),
      h('span', { class: 'p2p-member-main' }, bdi(v.name, 'p2p-member-name'), srOnly(`, ${v.presenceLabel}, `)),
      mark,
      h(
        'span',
        { class: 'p2p-path', title: v.pathTitle, attrs: { 'data-path': v.path ?? 'none' } },
        icon(v.path === 'relayed' ? 'cloud' : v.path === 'direct' ? 'arrow-swap' : 'debug-disconnect'),
        h('span', { text: v.pathLabel }),
      ),
    );
    list.append(li);
  }
  if (focusedPeer) {
    const again = Array.from(list.querySelectorAll<HTMLElement>('.p2p-member')).find((li) => li.dataset.peerId === focusedPeer);
    again?.querySelector<HTMLElement>('button')?.focus();
  }
}
