// File transfer: a 100 MiB file between two Room hosts with TransferHosts in one process (one core
// for both ends, loopback, real disk), against the same run's ChaCha20-Poly1305 seal+open throughput
// of one core at the size of the pieces' datagrams (the encryption ceiling: every byte is sealed once
// and opened once). Then chat latency, one 1 KB message at a time, idle and while a file is moving.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { TransferHost } from '../extension/core/transfer/transferHost';
import { PIECE_HEADER_BYTES } from '../extension/core/wire/fileFrames';
import { nodePipeline } from './lib/nodePipeline';
import { connectedPair, until } from './lib/hosts';
import { fmt, median, percentile, us } from './lib/stats';
import type { BenchContext, BenchResult } from './lib/types';

const MIB = 1024 * 1024;
const PACKET = 16 * 1024;

/** Bytes per CPU-second through seal + open of PACKET-byte messages on this thread. */
function aeadCeiling(ms: number, packet = PACKET): number {
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

/**
 * Bytes per CPU-second of SHA-256: the transfer's design hashes every file byte twice, once on each side
 * (the sender's manifest, the receiver's running check; core/transfer/manifest.ts).
 */
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

/** min–max of a few ratios, for the spread over runs. */
function spread(xs: number[], digits = 2): string {
  return xs.length > 1 ? `${fmt(Math.min(...xs), digits)}–${fmt(Math.max(...xs), digits)}` : fmt(xs[0] ?? NaN, digits);
}

interface NatFiles {
  rateBytesPerSecond: number;
  single: { steadyBytesPerSecond: number; fractionOfRate: number };
  shared: { aBytesPerSecond: number; a2BytesPerSecond: number; fairness: number; total: number };
}

/** The NAT-lab half: test/nat/files.test.ts (root only: namespaces, iptables, tc tbf) writes its figures. */
function natLab(ctx: BenchContext): NatFiles | string {
  if (process.getuid?.() !== 0) return 'not run: the NAT lab needs root';
  if (process.env.BENCH_NO_NAT) return 'not run: BENCH_NO_NAT was set';
  const out = join(ctx.root, 'test-results', 'nat-files.json');
  rmSync(out, { force: true });
  const r = spawnSync(process.execPath, [join(ctx.root, 'node_modules/mocha/bin/mocha.js'), 'test/nat/files.test.ts'], { cwd: ctx.root, encoding: 'utf8', timeout: 600_000 });
  if (!existsSync(out)) return `not run: ${(r.stdout + r.stderr).split('\n').filter(Boolean).slice(-3).join(' ')}`;
  const j = JSON.parse(readFileSync(out, 'utf8')) as NatFiles;
  if (!j.single || !j.shared) return `incomplete: ${(r.stdout + r.stderr).split('\n').filter((l) => /Error|✘|failing/.test(l)).slice(0, 2).join(' ')}`;
  return j;
}

export async function files(ctx: BenchContext): Promise<BenchResult> {
  const size = (ctx.quick ? 32 : 100) * MIB;
  const runs = ctx.quick ? 1 : 3;
  const dir = mkdtempSync(join(tmpdir(), 'p2p-bench-files-'));
  const file = join(dir, 'payload.bin');
  writeFileSync(file, randomBytes(size));
  const wantSha = createHash('sha256').update(readFileSync(file)).digest('hex');
  const pair = await connectedPair('memory');
  const ta = new TransferHost(pair.a.host, { stateDir: join(dir, 'state-a') });
  const tb = new TransferHost(pair.b.host, { stateDir: join(dir, 'state-b'), autoAcceptBytes: Number.MAX_SAFE_INTEGER, autoAcceptDir: join(dir, 'in') });
  ta.start();
  tb.start();
  const ceilings: number[] = [];
  const bigCeilings: number[] = [];
  const hashRates: number[] = [];
  const idleRuns: number[][] = [];
  const busyRuns: number[][] = [];
  const transfers: { ms: number; cpuMs: number; resent: number }[] = [];
  const pipelines: number[] = [];
  let pieceBytes = 0;
  let datagramBytes = 0;
  const idle: number[] = [];
  const busy: number[] = [];
  try {
    await until(() => ta.peers().length === 1 && tb.peers().length === 1, 5000, 'transfer hosts see the link');
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
    for (let r = 0; r < runs; r++) {
      ceilings.push(aeadCeiling(ctx.quick ? 300 : 1000));
      bigCeilings.push(aeadCeiling(ctx.quick ? 300 : 1000, 52 * 1024));
      hashRates.push(shaPasses(ctx.quick ? 200 : 500));
      const idleRun: number[] = [];
      const busyRun: number[] = [];
      idleRuns.push(idleRun);
      busyRuns.push(busyRun);
      for (let i = 0; i < 30; i++) idleRun.push(await chatOnce(i));
      idle.push(...idleRun);
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const [id] = await ta.send(file);
      // Chat while the file moves: one message at a time, paced so that it samples the whole transfer.
      let chatting = true;
      const chat = (async () => {
        for (let i = 0; chatting; i++) {
          busyRun.push(await chatOnce(1000 + i));
          await new Promise((res) => setTimeout(res, 20));
        }
      })();
      await until(() => ta.manager.get(id)?.status === 'done', 300_000, 'file delivered');
      const ms = performance.now() - t0;
      const c = process.cpuUsage(c0);
      chatting = false;
      await chat;
      busy.push(...busyRun);
      const info = ta.manager.get(id)!;
      const got = tb.list().find((t) => t.id === id)!;
      if (createHash('sha256').update(readFileSync(got.path!)).digest('hex') !== wantSha) throw new Error('received file differs');
      rmSync(got.path!);
      // The chat probes' CPU is in there too; they are a few dozen small messages.
      transfers.push({ ms, cpuMs: (c.user + c.system) / 1000, resent: (info.wireBytes - size) / size });
      // The same required work with no protocol around it, cut into the pieces this path used.
      const inner = pair.a.host.room.linkFor(ta.peers()[0])?.pathInnerBytes ?? 1100;
      const maxPiece = inner - PIECE_HEADER_BYTES - 32;
      pieceBytes = Math.ceil(256 * 1024 / Math.ceil(256 * 1024 / maxPiece));
      datagramBytes = inner + 31;
      pipelines.push((await nodePipeline(file, size, pieceBytes, join(dir, 'pipeline.out'))).bytesPerCpuSecond);
    }
  } finally {
    ta.stop();
    tb.stop();
    await pair.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const nat = natLab(ctx);
  const cpuMs = median(transfers.map((t) => t.cpuMs));
  const wallMs = median(transfers.map((t) => t.ms));
  const perCpu = size / (cpuMs / 1000);
  const ceiling = median(ceilings);
  // Each run against its own ceiling (the machine's load moves both alike), then the spread.
  const runRatios = transfers.map((t, i) => size / (t.cpuMs / 1000) / ceilings[i]);
  // Against the same run's minimal Node pipeline (bench/lib/nodePipeline.ts): what Node itself allows.
  const pipelineRatios = transfers.map((t, i) => size / (t.cpuMs / 1000) / pipelines[i]);
  const pipelineCeilingRatios = pipelines.map((p, i) => p / ceilings[i]);
  const chatRatios = busyRuns.map((b, i) => median(b) / median(idleRuns[i]));
  const mbs = (x: number) => `${fmt(x / 1e6, 0)} MB/s`;
  const idleP50 = median(idle);
  const busyP50 = median(busy);
  ctx.log(`file ${mbs(size / (wallMs / 1000))} wall, ${mbs(perCpu)} per CPU-s; ceiling ${mbs(ceiling)}; chat p50 idle ${us(idleP50)} busy ${us(busyP50)}`);
  return {
    id: 'files',
    title: 'File transfer',
    method: `A ${size / MIB} MiB file of random bytes from one TransferHost to another (two Room hosts in one process on loopback, so one core carries both ends; read from and written to the temp directory's disk; SHA-256 of the result checked), median of ${runs} run(s). Per CPU-second = file bytes / process CPU time. Ceiling: the same run's ChaCha20-Poly1305 seal + open of ${PACKET / 1024} KiB messages on this thread (node:crypto), bytes per CPU-second (16 KiB, the largest size \`openssl speed\` reports: every file byte is sealed once and opened once). The second reference is the same run's minimal Node pipeline (bench/lib/nodePipeline.ts): the work no implementation of this protocol in Node can skip (SHA-256 once per side, seal, send, receive, open, read and write the disk), with nothing else. Each run's ratio is taken against that run's own references (spread in parentheses). Chat latency: one 1 KB text message at a time from Room.send() to the receiver's message event, 30 idle, then every 20 ms while the file moves.`,
    rows: [
      {
        what: `file transfer ${size / MIB} MiB, loopback: per CPU-second (both ends on one core); wall clock`,
        figure: `${mbs(perCpu)} per CPU-s; ${mbs(size / (wallMs / 1000))} wall`,
        reference: `ChaCha20-Poly1305 seal+open ${mbs(ceiling)} per CPU-s`,
        ratio: median(runRatios),
        ratioNote: `of the ceiling (runs: ${spread(runRatios)})`,
        target: '≥ 0.5× ceiling',
        met: median(runRatios) >= 0.5,
      },
      {
        what: `the same transfer against a minimal Node pipeline doing only the required work (hash the file, read, seal ${fmt(pieceBytes / 1024, 1)} KiB pieces one per datagram, send, receive, open, hash, write; no protocol)`,
        figure: `${mbs(perCpu)} per CPU-s`,
        reference: `pipeline ${mbs(median(pipelines))} per CPU-s (itself ${spread(pipelineCeilingRatios)} of the ceiling)`,
        ratio: median(pipelineRatios),
        ratioNote: `of the pipeline (runs: ${spread(pipelineRatios)})`,
      },
      {
        what: '1 KB chat latency during that transfer, p50 / p99',
        figure: `${us(busyP50)} / ${us(percentile(busy, 99))}`,
        reference: `idle ${us(idleP50)} / ${us(percentile(idle, 99))}`,
        ratio: busyP50 / idleP50,
        ratioNote: `× idle p50 (runs: ${spread(chatRatios)})`,
        target: '≤ 2× idle',
        met: busyP50 <= 2 * idleP50,
      },
      ...(typeof nat === 'string'
        ? []
        : [
            {
              what: 'file transfer, NAT lab: 50 ms per WAN link (RTT ≈ 200 ms), uplink limited by tc tbf; steady rate from 25 % on',
              figure: `${fmt(nat.single.steadyBytesPerSecond / 1e6, 2)} MB/s`,
              reference: `tbf rate ${fmt(nat.rateBytesPerSecond / 1e6, 2)} MB/s`,
              ratio: nat.single.fractionOfRate,
              ratioNote: 'of the rate',
              target: '≥ 0.8× rate',
              met: nat.single.fractionOfRate >= 0.8,
            },
            {
              what: 'two concurrent transfers from two hosts behind that NAT: each one\'s rate while both run',
              figure: `${fmt(nat.shared.aBytesPerSecond / 1e6, 2)} and ${fmt(nat.shared.a2BytesPerSecond / 1e6, 2)} MB/s (together ${fmt(nat.shared.total * 100, 0)} % of the rate)`,
              reference: `fair share ${fmt(nat.rateBytesPerSecond / 2e6, 2)} MB/s each`,
              ratio: nat.shared.fairness,
              ratioNote: 'smaller / larger share',
            },
          ]),
    ],
    details: [
      `- Transfers: ${transfers.map((t) => `${fmt(t.ms, 0)} ms wall, ${fmt(t.cpuMs, 0)} ms CPU, ${fmt(t.resent * 100, 2)} % resent`).join('; ')}.`,
      `- Ceiling runs: ${ceilings.map((c) => mbs(c)).join(', ')}; SHA-256: ${hashRates.map((c) => mbs(c)).join(', ')}; per-run ratio to the ceiling ${runRatios.map((r) => fmt(r, 3)).join(', ')}.`,
      `- Datagrams on this path: ${datagramBytes} bytes (the 64 KiB path probe on loopback), pieces of ${pieceBytes} bytes. Seal+open at that size is cheaper per byte than at 16 KiB: ${mbs(median(bigCeilings))} per CPU-s, against which the transfer is ${fmt(median(transfers.map((t, i) => size / (t.cpuMs / 1000) / bigCeilings[i])), 2)}.`,
      `- Minimal Node pipeline runs: ${pipelines.map((p) => mbs(p)).join(', ')}; the transfer against it ${pipelineRatios.map((r) => fmt(r, 3)).join(', ')}.`,
      `- Chat p50 per run, during / idle: ${busyRuns.map((b, i) => `${us(median(b))} / ${us(median(idleRuns[i]))}`).join('; ')}.`,
      `- Chat during transfers: ${busy.length} messages, p50 ${us(busyP50)}, p90 ${us(percentile(busy, 90))}, max ${us(Math.max(...busy))}; idle: ${idle.length}, p50 ${us(idleP50)}.`,
      typeof nat === 'string' ? `- NAT lab: ${nat}.` : `- NAT lab (test/nat/files.test.ts): cone NATs, delay-forwarder 50 ms each way on both WAN links, \`tc qdisc add dev wan0 root tbf rate ${nat.rateBytesPerSecond * 8 / 1e6}mbit burst 32kbit latency 400ms\` on natA; a 12 MiB file hostA → hostB, then 12 MiB each from hostA and hostA2 at once. Rates are file bytes per second at the receiver (the tbf also carries IP/UDP/fragment headers, about 2 %).`,
    ],
    raw: { transfers, ceilings, bigCeilings, hashRates, pipelines, pieceBytes, idle, busy, runRatios, pipelineRatios, chatRatios },
  };
}
