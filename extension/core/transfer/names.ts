// Turning a peer-supplied file name into one that is safe to create inside the folder the user chose.
// The sender is hostile input: `../../x`, `/etc/passwd`, `C:\x`, control and bidi characters, Windows
// reserved names (CON, NUL, COM1…), trailing dots and spaces, and names longer than file systems
// allow must all end up as one plain file name, never a path.
import * as path from 'node:path';

/** Bytes, not characters: ext4 and APFS limit a name to 255 bytes; keep room for " (99)" and ".part". */
export const MAX_SAFE_NAME_BYTES = 200;
const RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)(\..*)?$/i;
// C0/C1 controls, DEL, bidi overrides and isolates, zero-width characters, and the separators and
// characters Windows refuses in names.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff<>:"/\\|?*]/g;

function cutUtf8(s: string, maxBytes: number): string {
  if (Buffer.byteLength(s, 'utf8') <= maxBytes) return s;
  let out = '';
  let bytes = 0;
  for (const ch of s) {
    const n = Buffer.byteLength(ch, 'utf8');
    if (bytes + n > maxBytes) break;
    out += ch;
    bytes += n;
  }
  return out;
}

/** A single path component, never empty, never `.`/`..`, never a reserved device name. */
export function safeFileName(name: string, fallback = 'file'): string {
  // Only the last component counts: `a/b/../../c` names `c`, whichever separator the sender used.
  let s = String(name).normalize('NFC');
  const parts = s.split(/[/\\]/);
  s = parts[parts.length - 1] ?? '';
  s = s.replace(UNSAFE, '_');
  s = s.replace(/^[\s.]+/, (m) => (m.includes('.') ? '_' : '')); // no hidden or dot-only names
  s = s.replace(/[\s.]+$/, ''); // Windows drops trailing dots and spaces, which makes names collide
  if (!s) s = fallback;
  if (RESERVED.test(s)) s = `_${s}`;
  if (Buffer.byteLength(s, 'utf8') > MAX_SAFE_NAME_BYTES) {
    // Keep the extension (it decides what opens the file) and cut the stem.
    const ext = path.extname(s);
    const keepExt = ext.length > 1 && Buffer.byteLength(ext, 'utf8') <= 32 ? ext : '';
    s = cutUtf8(s.slice(0, s.length - keepExt.length), MAX_SAFE_NAME_BYTES - Buffer.byteLength(keepExt, 'utf8')) + keepExt;
    s = s.replace(/[\s.]+$/, '') || fallback;
  }
  return s;
}

/** `name`, or `stem (1).ext`, `stem (2).ext` … : the first that `taken` says is free. */
export function uniqueName(name: string, taken: (candidate: string) => boolean): string {
  if (!taken(name)) return name;
  const ext = path.extname(name);
  const stem = ext && ext !== name ? name.slice(0, -ext.length) : name;
  for (let i = 1; i < 10_000; i++) {
    const c = `${stem} (${i})${ext === name ? '' : ext}`;
    if (!taken(c)) return c;
  }
  throw new Error('no free file name');
}

/** The path of `name` inside `dir`, or an error if it would land anywhere else (defence in depth). */
export function insideFolder(dir: string, name: string): string {
  const root = path.resolve(dir);
  const full = path.resolve(root, name);
  if (path.dirname(full) !== root || path.basename(full) !== name) throw new Error(`refusing to write outside ${root}: ${JSON.stringify(name)}`);
  return full;
}
