// What a suite needs from the machine, checked, never installed here: `test/run-all.sh` installs every
// Debian package of `test/apt-packages.txt` once, before the first suite. A missing tool is a failure with
// a message naming the package (under CI and off it): a skipped check is a check that did not happen.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** CI sets CI=true (GitHub, GitLab, most runners); there nothing may be skipped. */
export const UNDER_CI = /^(true|1|yes)$/i.test(process.env.CI ?? '');

export interface Tool {
  bin: string;
  pkg: string;
}

/** The executable's path on PATH (plus the sbin directories root's tools live in), or undefined. */
export function which(bin: string): string | undefined {
  const dirs = new Set([...(process.env.PATH ?? '').split(':'), '/usr/local/sbin', '/usr/sbin', '/sbin']);
  for (const d of dirs) {
    if (!d) continue;
    const p = path.join(d, bin);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** Throws, naming the Debian packages, when any tool is missing. */
export function requireTools(who: string, tools: readonly Tool[]): void {
  const missing = tools.filter((t) => !which(t.bin));
  if (missing.length === 0) return;
  const pkgs = [...new Set(missing.map((t) => t.pkg))];
  throw new Error(
    `${who}: needs ${missing.map((t) => t.bin).join(', ')} (Debian: ${pkgs.join(' ')}). ` +
      `test/run-all.sh installs everything in test/apt-packages.txt before the first suite; or run: apt-get install -y ${pkgs.join(' ')}`,
  );
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/**
 * For suites that need root (network namespaces, iptables). Under CI, not being root fails the suite;
 * elsewhere it is skipped, loudly, and test/run-all.sh counts and prints the skipped tests.
 */
export function needRoot(ctx: Mocha.Context, what: string): void {
  if (isRoot()) return;
  if (UNDER_CI) throw new Error(`${what} needs root (network namespaces, iptables); under CI it must run, not skip`);
  console.warn(`    ${what}: SKIPPED — needs root (network namespaces, iptables). CI runs as root.`);
  ctx.skip();
}
