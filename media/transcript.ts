// The transcript (role="log"): day markers, messages grouped by consecutive sender, delivery marks.
// Updates are incremental (append / replace / delivery) so long histories are not re-rendered per message.
import type { TranscriptEntry, WebviewToHost } from '../extension/shared/protocol';
import { bdi, clear, h, icon, srOnly } from './dom';
import { renderMarkdown } from './markdown';
import { avatar } from './members';
import { sanitizeMarkdownHtml } from './sanitize';
import { renderSnippet } from './snippet';
import { cleanName, continuesGroup, deliveryView, groupTranscript } from './viewModel';

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });
const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' });
const dayFmt = new Intl.DateTimeFormat(undefined, { weekday: 'long', month: 'long', day: 'numeric' });
const dayYearFmt = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'long', day: 'numeric' });

/** Local calendar day, used both as the grouping key and to label the divider. */
export function dayOf(t: number): string {
  const d = new Date(t);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

function dayLabel(t: number, now: number): string {
  const day = dayOf(t);
  if (day === dayOf(now)) return 'Today';
  if (day === dayOf(now - 86_400_000)) return 'Yesterday';
  return new Date(t).getFullYear() === new Date(now).getFullYear() ? dayFmt.format(t) : dayYearFmt.format(t);
}

// Peers pick sentAt; Intl and Date throw outside ±8.64e15 ms.
/** How many messages are drawn at once when (re)opening; more on request. */
export const RENDER_WINDOW = 300;

const safeDate = (t: number): number => (Number.isFinite(t) && Math.abs(t) <= 8.64e15 ? t : 0);
const dayKey = (t: number): string => dayOf(safeDate(t));

export class TranscriptView {
  private entries: TranscriptEntry[] = [];
  private selfName = 'You';
  private readonly byId = new Map<string, HTMLElement>();
  private lastGroup: HTMLElement | undefined;
  /** Index of the first entry drawn; older ones wait behind the "Show earlier" button. */
  private shownFrom = 0;

  /** Inside the scroller; its size changes tell us when late layout moved the bottom. */
  private readonly content: HTMLElement;
  /** Follow new content (the user is at the bottom) rather than hold the scroll position. */
  private stick = true;

  constructor(
    private readonly el: HTMLElement,
    private readonly jump: HTMLButtonElement,
    private readonly post: (m: WebviewToHost) => void,
  ) {
    this.content = h('div', { class: 'p2p-log-content' });
    el.append(this.content);
    el.addEventListener('scroll', () => {
      this.stick = this.nearBottom();
      if (this.stick) this.jump.hidden = true;
    });
    // Off-screen groups are laid out lazily (content-visibility) and the panel resizes with the
    // composer: whenever heights settle, stay pinned to the bottom if that is where the user was.
    const follow = new ResizeObserver(() => {
      if (this.stick) this.scrollToEnd();
    });
    follow.observe(this.content);
    follow.observe(el);
    jump.addEventListener('click', () => {
      this.stick = true;
      this.scrollToEnd();
      this.jump.hidden = true;
      this.el.focus();
    });
  }

  reset(entries: readonly TranscriptEntry[], selfName: string, now: number): void {
    this.entries = [...entries];
    this.selfName = cleanName(selfName);
    this.shownFrom = Math.max(0, this.entries.length - RENDER_WINDOW);
    this.render(now);
    this.jump.hidden = true;
    this.stick = true;
    this.scrollToEnd();
  }

  /** Draw entries[shownFrom..]: reopening a panel on a long history renders one window, not all of it. */
  private render(now: number): void {
    this.byId.clear();
    this.lastGroup = undefined;
    clear(this.content);
    if (this.entries.length === 0) this.content.append(this.emptyState());
    if (this.shownFrom > 0) this.content.append(this.earlierButton(now));
    this.content.append(this.renderRange(this.shownFrom, this.entries.length, now));
  }

  private renderRange(from: number, to: number, now: number): DocumentFragment {
    const frag = document.createDocumentFragment();
    for (const block of groupTranscript(this.entries.slice(from, to), dayKey)) {
      if (block.kind === 'day') {
        frag.append(this.dayDivider(safeDate(block.at), now));
        continue;
      }
      const group = this.group(block.entries[0]!);
      block.entries.forEach((e, i) => group.append(this.message(e, i > 0)));
      frag.append(group);
      if (to === this.entries.length) this.lastGroup = group;
    }
    return frag;
  }

  /** Prepend the next window above what is drawn, keeping the drawn nodes so the view does not jump. */
  private showEarlier(now: number): void {
    const from = Math.max(0, this.shownFrom - RENDER_WINDOW);
    const fromBottom = this.el.scrollHeight - this.el.scrollTop;
    const keepLast = this.lastGroup;
    const older = this.renderRange(from, this.shownFrom, now);
    this.lastGroup = keepLast;
    this.content.querySelector('.p2p-earlier')?.remove();
    const firstDay = this.content.firstElementChild;
    if (firstDay instanceof HTMLElement && firstDay.dataset.day === dayKey(this.entries[this.shownFrom - 1]!.sentAt)) firstDay.remove();
    this.content.prepend(older);
    this.shownFrom = from;
    if (from > 0) this.content.prepend(this.earlierButton(now));
    this.stick = false;
    this.el.scrollTop = this.el.scrollHeight - fromBottom;
    // The button that had focus is gone; keep keyboard users in the log without scrolling it.
    this.el.focus({ preventScroll: true });
  }

  private earlierButton(now: number): HTMLElement {
    const n = Math.min(RENDER_WINDOW, this.shownFrom);
    return h(
      'div',
      { class: 'p2p-earlier' },
      h(
        'button',
        {
          id: 'p2p-earlier',
          class: 'p2p-button p2p-button-secondary',
          attrs: { type: 'button' },
          on: { click: () => this.showEarlier(now) },
        },
        icon('fold-up'),
        h('span', { text: `Show ${n} earlier message${n === 1 ? '' : 's'}` }),
      ),
    );
  }

  append(entry: TranscriptEntry, now: number): void {
    const stick = this.stick;
    const prev = this.entries[this.entries.length - 1];
    this.entries.push(entry);
    this.content.querySelector('.p2p-empty-transcript')?.remove();
    const t = safeDate(entry.sentAt);
    if (this.lastGroup && continuesGroup(prev, entry, dayKey)) {
      this.lastGroup.append(this.message(entry, true));
    } else {
      if (!prev || dayKey(prev.sentAt) !== dayKey(t)) this.content.append(this.dayDivider(t, now));
      const group = this.group(entry);
      group.append(this.message(entry, false));
      this.content.append(group);
      this.lastGroup = group;
    }
    if (stick || entry.own) {
      this.stick = true;
      this.scrollToEnd();
    } else {
      this.jump.hidden = false;
    }
  }

  /** The host re-sent a message we have: redraw it in place. */
  replace(entry: TranscriptEntry): void {
    const at = this.entries.findIndex((e) => e.id === entry.id);
    if (at < 0) return;
    this.entries[at] = entry;
    const old = this.byId.get(entry.id);
    if (!old) return; // not drawn (older than the window)
    const fresh = this.message(entry, old.classList.contains('p2p-continued'));
    old.replaceWith(fresh);
  }

  updateDelivery(entry: TranscriptEntry): void {
    const at = this.entries.findIndex((e) => e.id === entry.id);
    if (at >= 0) this.entries[at] = entry;
    const msg = this.byId.get(entry.id);
    const old = msg?.querySelector('.p2p-delivery');
    if (!msg || !entry.delivery) return;
    const mark = this.deliveryMark(entry.delivery);
    if (old) old.replaceWith(mark);
    else msg.querySelector('.p2p-meta')?.append(mark);
  }

  private nearBottom(): boolean {
    return this.el.scrollHeight - this.el.scrollTop - this.el.clientHeight < 48;
  }

  private scrollToEnd(): void {
    this.el.scrollTop = this.el.scrollHeight;
  }

  private emptyState(): HTMLElement {
    return h(
      'div',
      { class: 'p2p-empty-transcript' },
      icon('lock'),
      h('span', { class: 'p2p-empty-title', text: 'No messages yet' }),
      h('span', { class: 'p2p-empty-detail', text: 'Messages go straight to the people in this room, end-to-end encrypted.' }),
    );
  }

  private dayDivider(t: number, now: number): HTMLElement {
    const label = dayLabel(t, now);
    return h('div', { class: 'p2p-day', attrs: { role: 'separator', 'aria-label': label, 'data-day': dayKey(t) } }, h('span', { text: label }));
  }

  private displayName(e: TranscriptEntry): string {
    return e.own ? this.selfName : cleanName(e.fromName);
  }

  private group(first: TranscriptEntry): HTMLElement {
    const t = safeDate(first.sentAt);
    const name = this.displayName(first);
    return h(
      'div',
      { class: `p2p-group${first.own ? ' p2p-own' : ''}`, attrs: { 'data-from': first.from, 'data-testid': 'group' } },
      avatar(first.from, name, undefined, first.own),
      h(
        'div',
        { class: 'p2p-group-header' },
        bdi(name, 'p2p-sender'),
        first.own ? h('span', { class: 'p2p-you', text: '(you)' }) : null,
        h('time', { class: 'p2p-time', title: fullFmt.format(t), text: timeFmt.format(t), attrs: { datetime: new Date(t).toISOString() } }),
      ),
    );
  }

  private message(e: TranscriptEntry, continued: boolean): HTMLElement {
    const t = safeDate(e.sentAt);
    const body = h('div', { class: 'p2p-body', attrs: { dir: 'auto' } });
    if (e.body.kind === 'text') {
      body.append(sanitizeMarkdownHtml(renderMarkdown(e.body.text)));
    } else {
      if (e.body.text) body.append(sanitizeMarkdownHtml(renderMarkdown(e.body.text)));
      body.append(renderSnippet(e.body.snippet, this.post));
    }
    const meta = h('div', { class: 'p2p-meta' });
    if (continued) meta.append(h('time', { class: 'p2p-hover-time', title: fullFmt.format(t), text: timeFmt.format(t), attrs: { datetime: new Date(t).toISOString() } }));
    if (e.own && e.delivery) meta.append(this.deliveryMark(e.delivery));
    const el = h(
      'div',
      {
        class: `p2p-message${continued ? ' p2p-continued' : ''}`,
        attrs: { 'data-id': e.id, 'data-testid': 'message', 'data-kind': e.body.kind },
      },
      // Continuations have no visible header; give screen readers the sender and time anyway.
      continued ? srOnly(`${this.displayName(e)}, ${timeFmt.format(t)}: `) : null,
      body,
      meta,
    );
    this.byId.set(e.id, el);
    return el;
  }

  private deliveryMark(d: NonNullable<TranscriptEntry['delivery']>): HTMLElement {
    const v = deliveryView(d);
    return h('span', { class: 'p2p-delivery', title: v.label, attrs: { 'data-delivery': d } }, icon(v.icon), srOnly(v.label));
  }
}
