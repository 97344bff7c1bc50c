// The transcript (role="log"): day markers, messages grouped by consecutive sender, delivery marks.
// Updates are incremental (append / replace / delivery) so long histories are not re-rendered per message.
import type { TranscriptEntry, WebviewToHost } from '../extension/shared/protocol';
import { bdi, clear, h, icon, srOnly } from './dom';
import { renderMarkdown } from './markdown';
import { avatar } from './members';
import { markPendingFences } from './lazyHighlight';
import { appendLinesInTasks, collapse, nextTask } from './longContent';
import { sanitizeMarkdownHtml } from './sanitize';
import type { FileCards } from './fileCard';
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
/** How many messages a window holds when (re)opening; more on request. */
export const RENDER_WINDOW = 300;
/** Drawn at once when (re)opening: about a screenful. The rest of the window follows a slice per task. */
const FIRST_PAINT = 30;
const PAINT_SLICE = 20;

/** Peer markdown as sanitized nodes; fenced code whose grammar is still loading is coloured when it arrives. */
function markdownFragment(text: string): DocumentFragment {
  const frag = sanitizeMarkdownHtml(renderMarkdown(text));
  markPendingFences(frag);
  return frag;
}

/** Up to this size an expanded message is rendered as markdown in one go; past it, as plain text a slice per task. */
const EXPAND_MARKDOWN_CHARS = 20_000;

/** A message's text: whole, or its first lines with a button for the rest (a pasted log must not freeze the panel). */
function textBody(text: string): Node {
  const c = collapse(text);
  if (!c) return markdownFragment(text);
  const part = h('div', { class: 'p2p-collapsed' }, markdownFragment(c.head));
  const more: HTMLButtonElement = h(
    'button',
    {
      class: 'p2p-button p2p-button-secondary p2p-expand',
      attrs: { type: 'button', 'data-testid': 'expand-message' },
      on: {
        click: () => {
          const log = part.closest<HTMLElement>('.p2p-transcript');
          if (text.length <= EXPAND_MARKDOWN_CHARS) {
            part.replaceChildren(markdownFragment(text));
          } else {
            const pre = h('pre', { class: 'p2p-long-text' });
            part.replaceChildren(pre);
            void appendLinesInTasks(pre, text);
          }
          more.remove();
          log?.focus({ preventScroll: true }); // the button had focus: keep keyboard users in the log
        },
      },
    },
    icon('unfold'),
    h('span', { text: `Show the whole message (${c.totalLines.toLocaleString('en-US')} lines)` }),
  );
  const frag = document.createDocumentFragment();
  frag.append(part, more);
  return frag;
}

const safeDate = (t: number): number => (Number.isFinite(t) && Math.abs(t) <= 8.64e15 ? t : 0);
const dayKey = (t: number): string => dayOf(safeDate(t));

export class TranscriptView {
  private entries: TranscriptEntry[] = [];
  private selfName = 'You';
  private readonly byId = new Map<string, HTMLElement>();
  private lastGroup: HTMLElement | undefined;
  /** Index of the first entry of the window; older ones wait behind the "Show earlier" button. */
  private shownFrom = 0;
  /** Index of the first entry actually drawn (≥ shownFrom while the window is still being filled in). */
  private drawnFrom = 0;
  /** Bumped by each reset or "Show earlier", so a fill still running for an older one stops. */
  private fillRun = 0;

  /** Inside the scroller; its size changes tell us when late layout moved the bottom. */
  private readonly content: HTMLElement;
  /** Follow new content (the user is at the bottom) rather than hold the scroll position. */
  private stick = true;
  /** Where scrollToEnd last left the view: a scrollTop above it means the user scrolled up. */
  private pinnedTop = 0;

  constructor(
    private readonly el: HTMLElement,
    private readonly jump: HTMLButtonElement,
    private readonly post: (m: WebviewToHost) => void,
    /** Draws file cards (media/fileCard.ts); without it a file entry shows its name only. */
    private readonly files?: FileCards,
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
      // A scroll by the user whose scroll event has not arrived yet: the view is no longer where we pinned
      // it. Let it go instead of yanking it back to the bottom (the scroll event then sees it away from it).
      if (this.stick && this.el.scrollTop < this.pinnedTop - 1 && !this.nearBottom()) this.stick = false;
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

  /** Distance from the bottom, or undefined when following the newest messages. */
  scrollFromBottom(): number | undefined {
    return this.stick ? undefined : this.el.scrollHeight - this.el.scrollTop;
  }

  /** Back to where the user was in this conversation (after reset, which starts at the bottom). */
  restoreScroll(fromBottom: number | undefined): void {
    if (fromBottom === undefined) return;
    this.stick = false;
    this.el.scrollTop = Math.max(0, this.el.scrollHeight - fromBottom);
    this.stick = this.nearBottom();
    this.jump.hidden = this.stick;
  }

  reset(entries: readonly TranscriptEntry[], selfName: string, now: number): void {
    this.entries = [...entries];
    this.selfName = cleanName(selfName);
    this.shownFrom = Math.max(0, this.entries.length - RENDER_WINDOW);
    this.byId.clear();
    this.lastGroup = undefined;
    clear(this.content);
    if (this.entries.length === 0) this.content.append(this.emptyState());
    // The newest messages at once, the rest of the window above them a slice per task.
    this.drawnFrom = this.sliceStart(Math.max(this.shownFrom, this.entries.length - FIRST_PAINT), this.shownFrom);
    this.content.append(this.renderRange(this.drawnFrom, this.entries.length, now));
    void this.fillUp(now);
    this.jump.hidden = true;
    this.stick = true;
    this.scrollToEnd();
  }

  /**
   * Where a slice should start so that it does not cut a sender group in two (the group's header would show
   * twice): back to the group's first message, by at most one more slice, never before `floor`.
   */
  private sliceStart(from: number, floor: number): number {
    let at = from;
    const limit = Math.max(floor, from - PAINT_SLICE);
    const inGroup = (i: number) => continuesGroup(this.entries[i - 1], this.entries[i]!, dayKey);
    while (at > limit && inGroup(at)) at--;
    // Still inside a group at the limit: one longer than a slice, so cut where asked.
    return at > floor && inGroup(at) ? from : at;
  }

  /** Draws entries[shownFrom..drawnFrom) above what is drawn, PAINT_SLICE per task; a newer reset or request takes over. */
  private async fillUp(now: number): Promise<void> {
    const run = ++this.fillRun;
    this.content.querySelector('.p2p-earlier')?.remove();
    while (this.drawnFrom > this.shownFrom) {
      await nextTask();
      if (run !== this.fillRun) return;
      const to = this.drawnFrom;
      const from = this.sliceStart(Math.max(this.shownFrom, to - PAINT_SLICE), this.shownFrom);
      this.prependRange(from, to, now);
    }
    if (this.shownFrom > 0) this.content.prepend(this.earlierButton(now));
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

  /** Puts entries[from..to) above what is drawn (which starts at `to`), keeping what the user looks at in place. */
  private prependRange(from: number, to: number, now: number): void {
    const fromBottom = this.el.scrollHeight - this.el.scrollTop;
    const keepLast = this.lastGroup;
    const older = this.renderRange(from, to, now);
    this.lastGroup = keepLast;
    const firstDay = this.content.firstElementChild;
    if (firstDay instanceof HTMLElement && firstDay.dataset.day === dayKey(this.entries[to - 1]!.sentAt)) firstDay.remove();
    this.content.prepend(older);
    this.drawnFrom = from;
    if (this.stick) this.scrollToEnd();
    else this.el.scrollTop = this.el.scrollHeight - fromBottom;
  }

  /** The user asked for the next window above: its newest slice now, the rest a slice per task. */
  private showEarlier(now: number): void {
    this.shownFrom = Math.max(0, this.shownFrom - RENDER_WINDOW);
    this.stick = false;
    this.content.querySelector('.p2p-earlier')?.remove();
    this.prependRange(this.sliceStart(Math.max(this.shownFrom, this.drawnFrom - PAINT_SLICE), this.shownFrom), this.drawnFrom, now);
    void this.fillUp(now);
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
    this.pinnedTop = this.el.scrollTop;
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
      body.append(textBody(e.body.text));
    } else if (e.body.kind === 'file') {
      body.append(this.files ? this.files.render(e.body.file, e.own, this.displayName(e)) : h('span', { text: e.body.file.name }));
    } else {
      if (e.body.text) body.append(textBody(e.body.text));
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
