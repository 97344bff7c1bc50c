// Files dropped or pasted onto the chat panel exist only as bytes in the webview, so they are written
// under the extension's storage (`outgoing/<random>/name`) and sent like any file. They must outlive the
// send (an offer waits for members who are offline, a transfer resumes after a restart, the sender's card
// opens the file), but not forever: a pasted screenshot a day would otherwise pile up unseen. Copies older
// than DROPPED_KEEP_MS are removed at start-up; a transfer still waiting on one then ends as "no longer
// available", as for any source file that was deleted.
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { safeFileName } from '../core/transfer/names';

export const DROPPED_KEEP_MS = 14 * 24 * 3600 * 1000;

/** Writes dropped files into a fresh folder under `root`; returns their paths (names made safe and distinct). */
export function writeDropped(root: string, files: { name: string; bytes: Uint8Array }[]): string[] {
  const dir = path.join(root, randomBytes(8).toString('hex'));
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const used = new Set<string>();
  const paths: string[] = [];
  for (const f of files) {
    let name = safeFileName(f.name, 'dropped-file');
    for (let i = 1; used.has(name); i++) name = `${i}-${safeFileName(f.name, 'dropped-file')}`;
    used.add(name);
    const p = path.join(dir, name);
    writeFileSync(p, f.bytes, { mode: 0o600 });
    paths.push(p);
  }
  return paths;
}

/** Removes drop folders under `root` last modified before `now - keepMs`; returns how many went. */
export function sweepDropped(root: string, now = Date.now(), keepMs = DROPPED_KEEP_MS): number {
  let removed = 0;
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return 0; // nothing dropped yet
  }
  for (const n of names) {
    if (!/^[0-9a-f]{16}$/.test(n)) continue; // only folders writeDropped made
    const dir = path.join(root, n);
    try {
      if (now - statSync(dir).mtimeMs < keepMs) continue;
      rmSync(dir, { recursive: true, force: true });
      removed++;
    } catch {
      // gone meanwhile, or not ours to remove: leave it
    }
  }
  return removed;
}
