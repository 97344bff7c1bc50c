import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { ROOT } from './paths';

export interface ToolPaths {
  /** The Node 24 binary code-server runs on. */
  node: string;
  /** That Node's distribution folder (bin/, include/node/). */
  nodeDir: string;
  /** code-server's JavaScript entry point, run with `node`. */
  codeServerEntry: string;
  chromium: string;
  nodeVersion: string;
  codeServerVersion: string;
}

let cached: ToolPaths | undefined;

/**
 * Runs scripts/tools.sh (instant when everything is cached, minutes on a new machine) and returns
 * the paths it recorded. The script is the single owner of the tools layout and versions.
 */
export function ensureTools(): ToolPaths {
  if (cached) return cached;
  execFileSync('bash', [path.join(ROOT, 'scripts', 'tools.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
  const file = path.join(process.env.P2P_TOOLS_DIR ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'p2p-chat', 'tools'), 'paths.json');
  cached = JSON.parse(readFileSync(file, 'utf8')) as ToolPaths;
  return cached;
}
