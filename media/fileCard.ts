// A file card in the transcript: name (text only: a peer chose it), size, type, an image preview,
// a progress bar with speed and time left, and Save… / Open / Cancel. The card is a transcript entry
// with a `file` body (drawn by transcript.ts through FileCards.render); what changes (progress,
// state, the preview) arrives as `fileStatus` / `filePreview` messages and is applied in place, so a
// focused button keeps its focus while the bar moves.
//
// The preview is a blob: URL made here from bytes the host sent after sniffing them as PNG, JPEG, GIF
// or WebP (never SVG); the CSP allows `img-src blob:` for exactly this. Nothing else becomes a URL.
import type { FileRef, FileStatus, PreviewMime, WebviewToHost } from '../extension/shared/protocol';
import { bdi, h, icon, srOnly } from './dom';
import { unsafeCharsRegExp } from '../extension/shared/invisibleChars';

/** A file name as the card shows it: text only, no invisible or bidi characters, one line, ≤ 255 characters. */
export function cleanFileName(name: string): string {
  const s = Array.from(name.replace(unsafeCharsRegExp(), '').replace(/\s+/g, ' ').trim());
  return s.length > 255 ? `${s.slice(0, 254).join('')}…` : s.join('') || 'file';
}

/** `1.5 MiB`: binary units, as the host's notifications write them. */
export function formatSize(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '?';
  if (n < 1024) return `${Math.round(n)} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** `42 s left`, `3 min left`, `1 h 5 min left`. */
export function formatEta(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  if (s < 60) return `${s} s left`;
  if (s < 3600) return `${Math.ceil(s / 60)} min left`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min left`;
}

/** The card's status line, in plain words (also what screen readers hear on a change of state). */
export function statusText(s: FileStatus | undefined, own: boolean): string {
  if (!s) return own ? 'Preparing…' : 'Waiting for the sender';
  switch (s.state) {
    case 'offered':
      return 'Nothing is saved until you choose Save.';
    case 'waiting':
      return s.direction === 'out' ? 'Waiting for the recipient (to come online, or to choose Save)' : 'Waiting for the sender to come back online';
    case 'active': {
      const parts = [`${formatSize(s.bytes)} of ${formatSize(s.total)}`];
      if (s.rate > 0) parts.push(`${formatSize(s.rate)}/s`);
      if (s.eta !== undefined && Number.isFinite(s.eta)) parts.push(formatEta(s.eta));
      return parts.join(' · ');
    }
    case 'done':
      if (s.direction === 'in') return 'Saved; its SHA-256 checked.';
      return s.recipients && s.recipients > 1 ? `Sent to ${s.received ?? s.recipients} of ${s.recipients} members.` : 'Sent.';
    case 'cancelled':
      return s.error ? `Stopped: ${s.error}` : 'Cancelled.';
    case 'gone':
      return 'No longer available in this editor.';
  }
}

function iconFor(mime: string): string {
  if (mime.startsWith('image/')) return 'file-media';
  if (mime === 'application/zip' || mime === 'application/gzip' || mime === 'application/x-tar') return 'file-zip';
  if (mime === 'application/pdf') return 'file-pdf';
  if (mime.startsWith('text/') || mime === 'application/json') return 'file-code';
  return 'file-binary';
}

interface CardParts {
  root: HTMLElement;
  name: string;
  own: boolean;
  direction: 'in' | 'out';
  status: HTMLElement;
  progress: HTMLProgressElement;
  previewBox: HTMLElement;
  save: HTMLButtonElement;
  open: HTMLButtonElement;
  cancel: HTMLButtonElement;
  lastSpoken?: string;
}

const PREVIEW_MIMES = new Set<string>(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

export class FileCards {
  private readonly statuses = new Map<string, FileStatus>();
  private readonly previews = new Map<string, string>();
  /** Drawn cards by id (a card is drawn once per transcript render; the newest element wins). */
  private readonly cards = new Map<string, CardParts>();

  constructor(private readonly post: (m: WebviewToHost) => void) {}

  /** A new `init`: every status again; previews of cards not in it are let go. */
  reset(statuses: readonly FileStatus[] | undefined, ids: ReadonlySet<string>): void {
    this.statuses.clear();
    for (const s of statuses ?? []) this.statuses.set(s.id, s);
    for (const [id, url] of this.previews) {
      if (ids.has(id)) continue;
      URL.revokeObjectURL(url);
      this.previews.delete(id);
    }
    this.cards.clear();
  }

  update(status: FileStatus): void {
    this.statuses.set(status.id, status);
    const parts = this.cards.get(status.id);
    if (parts && parts.root.isConnected) this.apply(parts);
  }

  setPreview(id: string, mime: PreviewMime, bytes: Uint8Array): void {
    if (!PREVIEW_MIMES.has(mime)) return;
    const old = this.previews.get(id);
    if (old) URL.revokeObjectURL(old);
    const copy = new Uint8Array(bytes.byteLength);
    copy.set(bytes);
    this.previews.set(id, URL.createObjectURL(new Blob([copy.buffer], { type: mime })));
    const parts = this.cards.get(id);
    if (parts && parts.root.isConnected) this.applyPreview(parts, id);
  }

  status(id: string): FileStatus | undefined {
    return this.statuses.get(id);
  }

  /** The card for a transcript entry's file. `fromName` is the sender's (cleaned) name. */
  render(file: FileRef, own: boolean, fromName: string): HTMLElement {
    const name = cleanFileName(file.name);
    const direction = own ? 'out' : 'in';
    const button = (cls: string, text: string, codicon: string, label: string, action: 'save' | 'open' | 'cancel', secondary: boolean) =>
      h(
        'button',
        {
          class: `p2p-button${secondary ? ' p2p-button-secondary' : ''} ${cls}`,
          attrs: { type: 'button', 'aria-label': label, 'data-testid': `file-${action}` },
          on: {
            // As with a snippet's Open: a mouse press must not focus the webview just before an editor opens.
            mousedown: (ev) => action === 'open' && ev.preventDefault(),
            click: () => this.post({ type: 'fileAction', id: file.id, action }),
          },
        },
        icon(codicon),
        h('span', { text }),
      );
    const save = button('p2p-file-save', 'Save…', 'save', `Save ${name} (${formatSize(file.size)}) from ${fromName}`, 'save', false);
    const open = button('p2p-file-open', 'Open', 'go-to-file', `Open ${name}`, 'open', true);
    const cancel = button('p2p-file-cancel', 'Cancel', 'close', `Cancel the transfer of ${name}`, 'cancel', true);
    const progress = h('progress', { class: 'p2p-file-bar', attrs: { max: '1', value: '0', 'aria-label': `Transfer of ${name}` } });
    const status = h('span', { class: 'p2p-file-status', attrs: { 'aria-live': 'polite' } });
    const previewBox = h('div', { class: 'p2p-file-preview' });
    previewBox.hidden = true;
    const root = h(
      'figure',
      {
        class: 'p2p-file',
        attrs: { 'data-testid': 'file-card', 'data-file-id': file.id, 'data-direction': direction, role: 'group', 'aria-label': `File ${name}, ${formatSize(file.size)}` },
      },
      h(
        'figcaption',
        { class: 'p2p-file-header' },
        icon(iconFor(file.mime), 'p2p-file-icon'),
        h('span', { class: 'p2p-file-title' }, bdi(name, 'p2p-file-name'), h('span', { class: 'p2p-file-meta', text: `${formatSize(file.size)} · ${cleanFileName(file.mime).slice(0, 80)}` })),
      ),
      previewBox,
      h('div', { class: 'p2p-file-progress' }, progress, status),
      h('div', { class: 'p2p-file-actions' }, save, open, cancel, srOnly(own ? 'You sent this file.' : `${fromName} offered this file.`)),
    );
    const parts: CardParts = { root, name, own, direction, status, progress, previewBox, save, open, cancel };
    this.cards.set(file.id, parts);
    this.apply(parts);
    this.applyPreview(parts, file.id);
    return root;
  }

  private apply(p: CardParts): void {
    const id = p.root.dataset.fileId!;
    const s = this.statuses.get(id);
    const state = s?.state ?? (p.own ? 'waiting' : 'gone');
    p.root.dataset.state = state;
    const text = statusText(s ?? (p.own ? undefined : { id, direction: 'in', state: 'gone', bytes: 0, total: 0, rate: 0, canOpen: false }), p.own);
    if (p.status.textContent !== text) {
      // Progress ticks are not read out one by one: only a change of state is (aria-live on the line).
      p.status.setAttribute('aria-live', p.lastSpoken === state ? 'off' : 'polite');
      p.lastSpoken = state;
      p.status.textContent = text;
    }
    const moving = state === 'active' || state === 'waiting';
    p.progress.hidden = !moving; // done: the status line says so; the full bar would only add noise
    const total = s?.total ?? 0;
    p.progress.max = total > 0 ? total : 1;
    p.progress.value = state === 'done' ? p.progress.max : Math.min(s?.bytes ?? 0, p.progress.max);
    p.progress.setAttribute('aria-valuetext', text);
    const show = {
      save: p.direction === 'in' && state === 'offered',
      open: s?.canOpen === true,
      cancel: state === 'offered' || state === 'waiting' || state === 'active',
    };
    p.cancel.querySelector('span:not(.codicon)')!.textContent = state === 'offered' ? 'Decline' : 'Cancel';
    p.cancel.setAttribute('aria-label', state === 'offered' ? `Decline ${p.name}` : `Cancel the transfer of ${p.name}`);
    const focused = document.activeElement;
    let lostFocus = false;
    for (const k of ['save', 'open', 'cancel'] as const) {
      const b = p[k];
      if (!show[k] && focused === b) lostFocus = true;
      b.hidden = !show[k];
    }
    // The button that had focus went away (Save pressed, transfer ended): keep keyboard users on the card.
    if (lostFocus) {
      const next = [p.open, p.cancel, p.save].find((b) => !b.hidden);
      if (next) next.focus({ preventScroll: true });
      else {
        p.root.tabIndex = -1;
        p.root.focus({ preventScroll: true });
      }
    }
  }

  private applyPreview(p: CardParts, id: string): void {
    const url = this.previews.get(id);
    if (!url) {
      p.previewBox.hidden = true;
      p.previewBox.replaceChildren();
      return;
    }
    const img = h('img', { class: 'p2p-file-image', attrs: { alt: `Preview of ${p.name}`, src: url, decoding: 'async', draggable: 'false' } });
    p.previewBox.replaceChildren(img);
    p.previewBox.hidden = false;
  }
}
