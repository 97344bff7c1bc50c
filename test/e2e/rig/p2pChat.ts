import { execFile } from 'node:child_process';
import * as dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freeUdpPort } from './freePort';
import { CACHE_DIR, RESULTS_DIR, ROOT } from './paths';
import { spawnGroup, type GroupProcess } from './processGroup';
import { packageVsix } from './vsix';

function runNode(args: string[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { cwd: ROOT, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`node ${args.join(' ')} failed: ${err.message}\n${stdout}${stderr}`));
      else resolve();
    });
  });
}

// Top-level entries never part of the extension. .tools/ matters most: vsce matches every file
// under the packaged folder against every ignore pattern, and code-server's ~15k files there make
// packaging in place take 30-45 s instead of 3.
const NOT_STAGED = new Set(['.git', '.tools', '.cache', 'test-results', 'node_modules']);

/**
 * Copies the repository minus NOT_STAGED into a temp folder, with node_modules linked (vsce lists
 * the production dependencies through npm) and without vscode:prepublish (already built).
 */
function stageExtension(): string {
  const stage = mkdtempSync(path.join(os.tmpdir(), 'p2pchat-vsix-'));
  for (const entry of readdirSync(ROOT)) {
    if (NOT_STAGED.has(entry)) continue;
    cpSync(path.join(ROOT, entry), path.join(stage, entry), { recursive: true });
  }
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(stage, 'node_modules'));
  const manifestPath = path.join(stage, 'package.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { scripts?: Record<string, string> };
  if (manifest.scripts) delete manifest.scripts['vscode:prepublish'];
  writeFileSync(manifestPath, JSON.stringify(manifest, null, 2) + '\n');
  return stage;
}

/**
 * Builds the real extension (scripts/build.mjs, with --production when asked: that is what
 * vscode:prepublish runs) and packages it into .cache/p2p-chat-<version>.vsix from a staged copy.
 * Throws a plain explanation when the extension's entry point is not there yet.
 */
export async function buildP2pChatVsix(options: { production?: boolean } = {}): Promise<string> {
  const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string; main?: string };
  await runNode([path.join(ROOT, 'scripts', 'build.mjs'), ...(options.production ? ['--production'] : [])], 180_000);
  const main = path.join(ROOT, manifest.main ?? 'dist/extension.js');
  if (!existsSync(main)) {
    throw new Error(`the build produced no ${path.relative(ROOT, main)}: the extension's entry point (extension/ui/extension.ts) is probably not written yet`);
  }
  const out = path.join(CACHE_DIR, `${manifest.name}-${manifest.version}.vsix`);
  const stage = stageExtension();
  try {
    // With dependencies: the webview's codicons ship from node_modules, which --no-dependencies
    // would leave out whatever .vscodeignore says.
    return await packageVsix(stage, out, { dependencies: true, fallbackIgnoreFile: path.join(__dirname, 'p2pChat.vscodeignore') });
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

export interface Rendezvous {
  readonly host: string;
  readonly port: number;
  /** "host:port", the value of the p2pChat.rendezvousServer setting. */
  readonly address: string;
  /** Whether it answered a STUN Binding request (false: alive, but that probe went unanswered). */
  readonly answeredStun: boolean;
  readonly process: GroupProcess;
  stop(): Promise<void>;
}

/** Sends STUN Binding requests until a success response with our transaction id comes back. */
function stunProbe(host: string, port: number, timeoutMs: number, alive: () => boolean): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket('udp4');
    const txid = randomBytes(12);
    const req = Buffer.alloc(20);
    req.writeUInt16BE(0x0001, 0); // Binding request
    req.writeUInt16BE(0, 2);
    req.writeUInt32BE(0x2112a442, 4); // magic cookie
    txid.copy(req, 8);
    let finished = false;
    const finish = (ok: boolean): void => {
      if (finished) return;
      finished = true;
      clearInterval(timer);
      clearTimeout(deadline);
      sock.close();
      resolve(ok);
    };
    sock.on('message', (msg) => {
      if (msg.length >= 20 && msg.readUInt16BE(0) === 0x0101 && msg.subarray(8, 20).equals(txid)) finish(true);
    });
    sock.on('error', () => undefined); // ICMP unreachable while the server is still binding
    const send = (): void => {
      if (!alive()) finish(false);
      else sock.send(req, port, host);
    };
    const timer = setInterval(send, 250);
    const deadline = setTimeout(() => finish(false), timeoutMs);
    sock.bind(0, '127.0.0.1', send);
  });
}

/** A free UDP port whose successor is free too: the rendezvous also binds port+1 (NAT probing). */
async function freeUdpPortPair(host: string): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = await freeUdpPort(host);
    if (port < 65535 && (await udpPortFree(host, port + 1))) return port;
  }
  throw new Error('no pair of adjacent free UDP ports found');
}

function udpPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket('udp4');
    sock.once('error', () => resolve(false));
    sock.bind(port, host, () => sock.close(() => resolve(true)));
  });
}

/**
 * Starts the project's rendezvous (dist/rendezvous.js, from scripts/build.mjs) on a free loopback
 * UDP port and waits until it answers STUN (or 5 s pass with it still alive).
 */
export async function startRendezvous(options: { host?: string; name?: string } = {}): Promise<Rendezvous> {
  const host = options.host ?? '127.0.0.1';
  const script = path.join(ROOT, 'dist', 'rendezvous.js');
  if (!existsSync(script)) {
    throw new Error(`${path.relative(ROOT, script)} does not exist: the rendezvous (rendezvous/cli.ts) is not written or not built yet (node scripts/build.mjs)`);
  }
  const port = await freeUdpPortPair(host);
  mkdirSync(RESULTS_DIR, { recursive: true });
  const logFile = path.join(RESULTS_DIR, `${options.name ?? 'rendezvous'}.log`);
  writeFileSync(logFile, `$ node ${script} --host ${host} --port ${port}\n`);
  const proc = spawnGroup(process.execPath, [script, '--host', host, '--port', String(port)], { env: process.env, cwd: ROOT, logFile });
  const answeredStun = await stunProbe(host, port, 5000, () => !proc.hasExited());
  if (proc.hasExited()) {
    throw new Error(`the rendezvous exited at start (${await proc.exited}):\n${proc.logTail()}`);
  }
  return { host, port, address: `${host}:${port}`, answeredStun, process: proc, stop: () => proc.stop() };
}
