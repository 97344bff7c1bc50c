import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freeTcpPort } from '../../helpers/freePort';
import { RESULTS_DIR, safeName } from './paths';
import { spawnGroup, type GroupProcess } from './processGroup';
import { ensureTools, type ToolPaths } from './tools';

export interface CodeServerOptions {
  /** Names the log file and the temp dir; distinct per instance, e.g. 'alice'. */
  name: string;
  /** .vsix files to install before the server starts. */
  vsix?: string[];
  /** A folder to open; created if missing. */
  workspace?: string;
  /** Extra user settings, merged over the rig's quiet defaults. */
  settings?: Record<string, unknown>;
  /** Extra environment for the server and the extension host it spawns. */
  env?: Record<string, string>;
  /** How long to wait for /healthz. */
  startTimeoutMs?: number;
  /** Keep the instance's temp dir after stop() (for post-mortems). */
  keepDir?: boolean;
}

export interface CodeServer {
  readonly name: string;
  readonly port: number;
  /** The editor's address; opens `workspace` when one was given. */
  readonly url: string;
  /** The instance's private root: home/, tmp/, data/ (user-data-dir), extensions/, config.yaml. */
  readonly dir: string;
  readonly userDataDir: string;
  readonly extensionsDir: string;
  /** code-server's own output; after stop(), VS Code's logs are copied to `<logFile minus .log>-logs/`. */
  readonly logFile: string;
  readonly process: GroupProcess;
  stop(): Promise<void>;
}

/** Quiet, deterministic editors: nothing phones home, nothing pops up over the test. */
export const DEFAULT_SETTINGS: Readonly<Record<string, unknown>> = {
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'security.workspace.trust.enabled': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'extensions.ignoreRecommendations': true,
  'chat.disableAIFeatures': true,
  'git.enabled': false,
};

const COMMON_FLAGS = [
  '--auth', 'none',
  '--disable-telemetry',
  '--disable-update-check',
  '--disable-workspace-trust',
  '--disable-getting-started-override',
  '--ignore-last-opened',
];

interface Layout {
  dir: string;
  home: string;
  tmp: string;
  userDataDir: string;
  extensionsDir: string;
  config: string;
}

function makeLayout(name: string): Layout {
  // Short paths under /tmp: VS Code puts unix sockets in some of these, and those are capped at 107 bytes.
  const dir = mkdtempSync(path.join(os.tmpdir(), `cs-${safeName(name).slice(0, 20)}-`));
  const layout: Layout = {
    dir,
    home: path.join(dir, 'home'),
    tmp: path.join(dir, 'tmp'),
    userDataDir: path.join(dir, 'data'),
    extensionsDir: path.join(dir, 'extensions'),
    config: path.join(dir, 'config.yaml'),
  };
  for (const d of [layout.home, layout.tmp, layout.userDataDir, layout.extensionsDir]) mkdirSync(d, { recursive: true });
  // The flags say the same; the file stops code-server from writing one with a password in it.
  writeFileSync(layout.config, 'auth: none\ncert: false\n');
  return layout;
}

/** The environment of an instance: its own HOME and TMPDIR, Node 24 first, nothing inherited that steers VS Code. */
function instanceEnv(tools: ToolPaths, layout: Layout, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    // VSCODE_* (when the tests run inside an editor's terminal) would attach to that editor;
    // NODE_OPTIONS may carry tsx/mocha loaders that Node 24 should not load into code-server.
    if (k.startsWith('VSCODE_') || k.startsWith('ELECTRON_') || k === 'NODE_OPTIONS' || k.startsWith('npm_')) continue;
    env[k] = v;
  }
  return {
    ...env,
    HOME: layout.home,
    TMPDIR: layout.tmp,
    XDG_CONFIG_HOME: path.join(layout.home, '.config'),
    XDG_DATA_HOME: path.join(layout.home, '.local', 'share'),
    XDG_CACHE_HOME: path.join(layout.home, '.cache'),
    PATH: `${path.join(tools.nodeDir, 'bin')}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    // An empty service URL disables the extension gallery: no marketplace lookups leave the machine.
    EXTENSIONS_GALLERY: JSON.stringify({ serviceUrl: '' }),
    ...extra,
  };
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const out = `${stdout}${stderr}`;
      if (err) reject(new Error(`${path.basename(file)} ${args.join(' ')} failed: ${err.message}\n${out}`));
      else resolve(out);
    });
  });
}

async function waitForHealthz(port: number, proc: GroupProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = 'no answer';
  while (Date.now() < deadline) {
    if (proc.hasExited()) {
      throw new Error(`code-server exited before it was healthy (${await proc.exited}):\n${proc.logTail()}`);
    }
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
      lastError = `HTTP ${res.status}`;
    } catch (err) {
      lastError = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 200)); // polling interval, not synchronisation
  }
  throw new Error(`code-server on port ${port} not healthy after ${timeoutMs} ms (${lastError}):\n${proc.logTail()}`);
}

/**
 * Installs `vsix` into a fresh, private code-server and starts it on a free loopback port.
 * Always call stop() (an after hook); the process group is also killed if this process exits.
 */
export async function startCodeServer(options: CodeServerOptions): Promise<CodeServer> {
  const tools = ensureTools();
  const layout = makeLayout(options.name);
  mkdirSync(RESULTS_DIR, { recursive: true });
  const logFile = path.join(RESULTS_DIR, `code-server-${safeName(options.name)}.log`);
  writeFileSync(logFile, '');
  const env = instanceEnv(tools, layout, options.env);
  const dirFlags = ['--user-data-dir', layout.userDataDir, '--extensions-dir', layout.extensionsDir, '--config', layout.config];

  const settings = { ...DEFAULT_SETTINGS, ...(options.settings ?? {}) };
  mkdirSync(path.join(layout.userDataDir, 'User'), { recursive: true });
  writeFileSync(path.join(layout.userDataDir, 'User', 'settings.json'), JSON.stringify(settings, null, 2));
  // code-server's window is a remote one: a "machine"-scoped setting is read only from the remote
  // (Machine) settings and silently ignored in User settings, so write both.
  mkdirSync(path.join(layout.userDataDir, 'Machine'), { recursive: true });
  writeFileSync(path.join(layout.userDataDir, 'Machine', 'settings.json'), JSON.stringify(settings, null, 2));

  try {
    for (const vsix of options.vsix ?? []) {
      const out = await run(tools.node, [tools.codeServerEntry, ...dirFlags, '--install-extension', vsix], env, 120_000);
      writeFileSync(logFile, `$ code-server --install-extension ${vsix}\n${out}\n`, { flag: 'a' });
      if (!/successfully installed/i.test(out)) throw new Error(`installing ${vsix} did not report success:\n${out}`);
    }
    if (options.workspace) mkdirSync(options.workspace, { recursive: true });

    const port = await freeTcpPort();
    const args = [tools.codeServerEntry, ...dirFlags, ...COMMON_FLAGS, '--bind-addr', `127.0.0.1:${port}`];
    if (options.workspace) args.push(options.workspace);
    writeFileSync(logFile, `$ node ${args.join(' ')}\n`, { flag: 'a' });
    const proc = spawnGroup(tools.node, args, { env, cwd: layout.home, logFile });
    const stop = async (): Promise<void> => {
      await proc.stop();
      // VS Code's own logs (extension host, each extension's output channel) outlive the instance.
      const logsDir = path.join(RESULTS_DIR, `code-server-${safeName(options.name)}-logs`);
      rmSync(logsDir, { recursive: true, force: true });
      try {
        cpSync(path.join(layout.userDataDir, 'logs'), logsDir, { recursive: true });
      } catch {
        // No logs written (the server died early): the main log file says why.
      }
      if (!options.keepDir) rmSync(layout.dir, { recursive: true, force: true });
    };
    try {
      await waitForHealthz(port, proc, options.startTimeoutMs ?? 60_000);
    } catch (err) {
      await stop();
      throw err;
    }
    const url = `http://127.0.0.1:${port}/${options.workspace ? `?folder=${encodeURIComponent(options.workspace)}` : ''}`;
    return {
      name: options.name,
      port,
      url,
      dir: layout.dir,
      userDataDir: layout.userDataDir,
      extensionsDir: layout.extensionsDir,
      logFile,
      process: proc,
      stop,
    };
  } catch (err) {
    if (!options.keepDir) rmSync(layout.dir, { recursive: true, force: true });
    throw err;
  }
}
