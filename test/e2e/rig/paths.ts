import * as path from 'node:path';

// Everything the rig writes for humans to look at (logs, screenshots) goes under test-results/,
// which is git-ignored; bulky caches go under .tools/ and .cache/.
export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const RESULTS_DIR = path.join(ROOT, 'test-results');
export const CACHE_DIR = path.join(ROOT, '.cache');

/** A file name safe for any filesystem, from a free-form label such as a test title. */
export function safeName(label: string): string {
  return label.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 120) || 'unnamed';
}
