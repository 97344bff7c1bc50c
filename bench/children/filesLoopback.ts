// The loopback half of the files benchmark, in a fresh process of its own, bundled as the extension is: the
// heap V8 collects during the transfer is then the transfer's, not the tsx loader's nor whatever the benchmarks
// before it left behind (in such a process V8 ran a full collection every 25-40 ms of the transfer; here a few
// per 100 MiB: docs/BENCHMARKS.md). The references (AEAD ceiling, SHA-256, minimal pipeline) run in the same
// process as the transfer.
//   node filesLoopback.js '{"sizeMiB":100,"runs":3,"ceilingMs":1000}'  → one JSON line on stdout
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PIECE_HEADER_BYTES } from '../../extension/core/wire/fileFrames';
import { until } from '../lib/hosts';
import { nodePipeline } from '../lib/nodePipeline';
import { transferPair } from '../lib/transferPair';

export interface LoopbackSpec {
  sizeMiB: number;
  runs: number;
  /** How long each ceiling measurement runs. */
  ceilingMs: number;
}

export interface LoopbackRun {
  ms: number;
  cpuMs: number;
  resent: number;
  ceiling: number;
  bigCeiling: number;
  sha: number;
  pipeline: number;
  /** Full (mark-compact) collections during the transfer (PerformanceObserver 'gc', major). */
  majorGcs: number;
  idle: number[];
  busy: number[];
}

export interface LoopbackResult {
  execArgv: string[];
  pieceBytes: number;
  datagramBytes: number;
  runs: LoopbackRun[];
}

const MIB = 1024 * 1024;
export const CEILING_PACKET = 16 * 1024;

/** Bytes per CPU-second through seal + open of `packet`-byte messages on this thread. */
function aeadCeiling(ms: number, packet = CEILING_PACKET): number {
  const key = randomBytes(32);
  const msg = randomBytes(packet);
  const nonce = Buffer.alloc(12);
  let n = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    for (let i = 0; i < 64; i++, n++) {
      nonce.writeUInt32LE(n, 4);
      const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
      const ct = c.update(msg);
      c.final(); // a stream cipher: nothing more comes out (no copy of ct here: this is the ceiling)
      const tag = c.getAuthTag();
      const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
      d.setAuthTag(tag);
      d.update(ct);
      d.final();
    }
  }
  const c = process.cpuUsage(c0);
  return (n * packet) / ((c.user + c.system) / 1e6);
}

/** Bytes per CPU-second of SHA-256 (every file byte is hashed once on each side: core/transfer/manifest.ts). */
function shaPasses(ms: number): number {
  const msg = randomBytes(256 * 1024);
  let n = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    for (let i = 0; i < 8; i++, n++) createHash('sha256').update(msg).digest();
  }
  const c = process.cpuUsage(c0);
  return (n * msg.length) / ((c.user + c.system) / 1e6);
}

export async function measureLoopback(spec: LoopbackSpec): Promise<LoopbackResult> {
  const size = spec.sizeMiB * MIB;
  const dir = mkdtempSync(join(tmpdir(), 'p2p-bench-files-'));
  const file = join(dir, 'payload.bin');
  writeFileSync(file, randomBytes(size));
  const wantSha = createHash('sha256').update(readFileSync(file)).digest('hex');
  const { pair, ta, tb, close } = await transferPair(dir);
  let majorGcs = 0;
  // Mark-compacts: NODE_PERFORMANCE_GC_MAJOR (4), one per "Mark-Compact" line of node --trace-gc.
  const gcs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if ((e as { detail?: { kind?: number } }).detail?.kind === 4) majorGcs++;
  });
  gcs.observe({ entryTypes: ['gc'] });
  const result: LoopbackResult = { execArgv: process.execArgv, pieceBytes: 0, datagramBytes: 0, runs: [] };
  try {
    const chatOnce = async (i: number): Promise<number> => {
      const text = `${i}:${'x'.repeat(1020)}`;
      const got = new Promise<number>((resolve) => {
        pair.b.onMessage = (m, at) => {
          if (m.body.kind === 'text' && m.body.text === text) resolve(at);
        };
      });
      const t0 = performance.now();
      pair.a.host.room.send({ kind: 'text', text }, t0);
      pair.a.host.pump();
      return (await got) - t0;
    };
    for (let r = 0; r < spec.runs; r++) {
      const ceiling = aeadCeiling(spec.ceilingMs);
      const bigCeiling = aeadCeiling(spec.ceilingMs, 52 * 1024);
      const sha = shaPasses(spec.ceilingMs / 2);
      const idle: number[] = [];
      for (let i = 0; i < 30; i++) idle.push(await chatOnce(i));
      const busy: number[] = [];
      const gc0 = majorGcs;
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const [id] = await ta.send(file);
      // Chat while the file moves: one message at a time, paced so that it samples the whole transfer.
      let chatting = true;
      const chat = (async () => {
        for (let i = 0; chatting; i++) {
          busy.push(await chatOnce(1000 + i));
          await new Promise((res) => setTimeout(res, 20));
        }
      })();
      await until(() => ta.manager.get(id)?.status === 'done', 300_000, 'file delivered');
      const ms = performance.now() - t0;
      const c = process.cpuUsage(c0);
      chatting = false;
      await chat;
      await new Promise((res) => setImmediate(res)); // the observer hears of the last collections
      const info = ta.manager.get(id)!;
      const got = tb.list().find((t) => t.id === id)!;
      if (createHash('sha256').update(readFileSync(got.path!)).digest('hex') !== wantSha) throw new Error('received file differs');
      rmSync(got.path!);
      // The same required work with no protocol around it, cut into the pieces this path used.
      const inner = pair.a.host.room.linkFor(ta.peers()[0])?.pathInnerBytes ?? 1100;
      const maxPiece = inner - PIECE_HEADER_BYTES - 32;
      result.pieceBytes = Math.ceil((256 * 1024) / Math.ceil((256 * 1024) / maxPiece));
      result.datagramBytes = inner + 31;
      const pipeline = (await nodePipeline(file, size, result.pieceBytes, join(dir, 'pipeline.out'))).bytesPerCpuSecond;
      // The chat probes' CPU is in there too; they are a few dozen small messages.
      result.runs.push({ ms, cpuMs: (c.user + c.system) / 1000, resent: (info.wireBytes - size) / size, ceiling, bigCeiling, sha, pipeline, majorGcs: majorGcs - gc0, idle, busy });
    }
  } finally {
    gcs.disconnect();
    await close();
    rmSync(dir, { recursive: true, force: true });
  }
  return result;
}

if (require.main === module) {
  measureLoopback(JSON.parse(process.argv[2]) as LoopbackSpec).then(
    (r) => {
      process.stdout.write(`${JSON.stringify({ loopback: r })}\n`);
      process.exit(0);
    },
    (err: Error) => {
      process.stderr.write(`${err.stack ?? err}\n`);
      process.exit(1);
    },
  );
}
