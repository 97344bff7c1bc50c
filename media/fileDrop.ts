// Files onto the chat panel: dropped from the OS (their bytes), dragged from VS Code's Explorer or a
// tab (their URIs; the host checks each), or pasted from the clipboard (an image, usually). VS Code
// passes a drag to a webview only while Shift is held, which the composer's hint says.
//
// Bytes are read here and posted to the host in one `sendFiles` message per gesture; a file over
// MAX_DROP_BYTES is refused with a note pointing at the Explorer command, which streams from disk
// instead of holding the whole file in the page's memory twice.
import type { DroppedFile, WebviewToHost } from '../extension/shared/protocol';

export const MAX_DROP_BYTES = 256 * 1024 * 1024;
export const MAX_DROP_FILES = 32;

/** Types a drag from the OS or from VS Code carries when it holds files. */
const URI_TYPES = ['application/vnd.code.uri-list', 'text/uri-list'];

function hasFiles(dt: DataTransfer | null): boolean {
  if (!dt) return false;
  const types = [...dt.types];
  return types.includes('Files') || types.includes('resourceurls') || URI_TYPES.some((t) => types.includes(t));
}

/** URIs a VS Code drag names (uri-list: one per line, `#` lines are comments; resourceurls: a JSON array). */
export function droppedUris(dt: Pick<DataTransfer, 'getData'>): string[] {
  for (const t of URI_TYPES) {
    const text = dt.getData(t);
    if (text) return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  }
  try {
    const list = JSON.parse(dt.getData('resourceurls') || '[]') as unknown;
    if (Array.isArray(list)) return list.filter((u): u is string => typeof u === 'string');
  } catch {
    // not JSON: nothing usable
  }
  return [];
}

const EXT: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/gif': 'gif', 'image/webp': 'webp' };

/** A pasted screenshot comes as "image.png": give it a name that says when it was pasted. */
export function pastedName(f: Pick<File, 'name' | 'type'>, now: Date): string {
  if (f.name && !/^image\.(png|jpe?g|gif|webp)$/i.test(f.name)) return f.name;
  const stamp = now.toISOString().replace(/\.\d+Z$/, '').replace(/[-:]/g, '').replace('T', '-');
  return `pasted-${stamp}.${EXT[f.type] ?? 'png'}`;
}

export interface FileDropOptions {
  /** Shown while a drag with files is over the page. */
  overlay: HTMLElement;
  /** Where refusals and "sending…" are said (role=status). */
  note: HTMLElement;
  post: (m: WebviewToHost) => void;
  /** Only inside a room. */
  enabled: () => boolean;
}

export function installFileDrop(o: FileDropOptions): void {
  let internal = false; // a drag that started inside the page (a link, selected text) is not a file
  let noteTimer: ReturnType<typeof setTimeout> | undefined;
  const say = (text: string) => {
    o.note.textContent = text;
    o.note.hidden = text === '';
    if (noteTimer) clearTimeout(noteTimer);
    if (text) noteTimer = setTimeout(() => say(''), 6000);
  };
  const show = (on: boolean) => {
    o.overlay.hidden = !on;
  };

  async function sendFiles(files: File[], named: (f: File) => string): Promise<void> {
    if (!o.enabled()) {
      say('Join a room before sending files.');
      return;
    }
    const tooBig = files.filter((f) => f.size > MAX_DROP_BYTES);
    if (tooBig.length) {
      say(`${tooBig.map((f) => f.name || 'A file').join(', ')}: over ${MAX_DROP_BYTES / 1024 / 1024} MiB. Send large files with "Send to P2P Chat" in the Explorer.`);
    }
    const ok = files.filter((f) => f.size <= MAX_DROP_BYTES).slice(0, MAX_DROP_FILES);
    if (ok.length === 0) return;
    const out: DroppedFile[] = [];
    for (const f of ok) {
      try {
        out.push({ name: named(f), bytes: new Uint8Array(await f.arrayBuffer()) });
      } catch {
        say(`Could not read ${f.name || 'a file'} (a folder cannot be sent).`);
      }
    }
    if (out.length === 0) return;
    if (!tooBig.length) say(`Sending ${out.length === 1 ? out[0]!.name : `${out.length} files`}…`);
    o.post({ type: 'sendFiles', files: out });
  }

  document.addEventListener('dragstart', () => {
    internal = true;
  });
  document.addEventListener('dragend', () => {
    internal = false;
  });
  const over = (ev: DragEvent) => {
    if (internal || !hasFiles(ev.dataTransfer)) return;
    ev.preventDefault();
    if (ev.dataTransfer) ev.dataTransfer.dropEffect = 'copy';
    show(true);
  };
  document.addEventListener('dragenter', over);
  document.addEventListener('dragover', over);
  document.addEventListener('dragleave', (ev) => {
    // Leaving the page, not just moving between its elements.
    if (ev.relatedTarget === null) show(false);
  });
  document.addEventListener('drop', (ev) => {
    show(false);
    if (internal || !hasFiles(ev.dataTransfer)) return;
    ev.preventDefault();
    const dt = ev.dataTransfer!;
    const files = [...dt.files];
    if (files.length > 0) {
      void sendFiles(files, (f) => f.name || 'dropped-file');
      return;
    }
    const uris = droppedUris(dt).slice(0, MAX_DROP_FILES);
    if (uris.length === 0) return;
    if (!o.enabled()) {
      say('Join a room before sending files.');
      return;
    }
    say(`Sending ${uris.length === 1 ? 'a file' : `${uris.length} files`}…`);
    o.post({ type: 'sendUris', uris });
  });
  document.addEventListener('paste', (ev) => {
    const files = [...(ev.clipboardData?.files ?? [])];
    if (files.length === 0) return; // text pastes are the composer's
    ev.preventDefault();
    const now = new Date();
    void sendFiles(files, (f) => pastedName(f, now));
  });
}
