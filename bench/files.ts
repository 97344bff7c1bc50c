// File transfer: a 100 MiB file between two Room hosts with TransferHosts in one process (one core for
// both ends, loopback, real disk: bench/children/filesLoopback.ts, in a fresh process), against the same
// run's ChaCha20-Poly1305 seal+open throughput of one core (the encryption ceiling: every byte is sealed
// once and opened once) and a minimal Node pipeline. Then chat latency, one 1 KB message at a time, idle and
// while a file is moving; and the NAT-lab half.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { CEILING_PACKET, type LoopbackResult, type LoopbackSpec } from './children/filesLoopback';
import { bundle } from './lib/bundle';
import { startChild } from './lib/proc';
import { fmt, median, percentile, us } from './lib/stats';
import type { BenchContext, BenchResult } from './lib/types';

const MIB = 1024 * 1024;
async function loopback(ctx: BenchContext): Promise<LoopbackResult> {
  const spec: LoopbackSpec = { sizeMiB: ctx.quick ? 32 : 100, runs: ctx.quick ? 1 : 3, ceilingMs: ctx.quick ? 300 : 1000 };
  const child = startChild(process.execPath, [bundle('bench/children/filesLoopback.ts'), JSON.stringify(spec)]);
  try {
    const m = await child.waitFor((x) => typeof x.loopback === 'object', 900_000);
    return m.loopback as LoopbackResult;
  } finally {
    await child.stop();
  }
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
  const plain = await loopback(ctx);
  const size = (ctx.quick ? 32 : 100) * MIB;
  const nat = natLab(ctx);
  const perCpuOf = (r: { cpuMs: number }) => size / (r.cpuMs / 1000);
  const runs = plain.runs;
  const perCpu = median(runs.map(perCpuOf));
  const wallMs = median(runs.map((t) => t.ms));
  const ceiling = median(runs.map((r) => r.ceiling));
  // Each run against its own ceiling (the machine's load moves both alike), then the spread.
  const runRatios = runs.map((r) => perCpuOf(r) / r.ceiling);
  // Against the same run's minimal Node pipeline (bench/lib/nodePipeline.ts): what Node itself allows.
  const pipelineRatios = runs.map((r) => perCpuOf(r) / r.pipeline);
  const pipelineCeilingRatios = runs.map((r) => r.pipeline / r.ceiling);
  const chatRatios = runs.map((r) => median(r.busy) / median(r.idle));
  const idle = runs.flatMap((r) => r.idle);
  const busy = runs.flatMap((r) => r.busy);
  const mbs = (x: number) => `${fmt(x / 1e6, 0)} MB/s`;
  const idleP50 = median(idle);
  const busyP50 = median(busy);
  ctx.log(`file ${mbs(size / (wallMs / 1000))} wall, ${mbs(perCpu)} per CPU-s; ceiling ${mbs(ceiling)}; chat p50 idle ${us(idleP50)} busy ${us(busyP50)}`);
  return {
    id: 'files',
    title: 'File transfer',
    method: `A ${size / MIB} MiB file of random bytes from one TransferHost to another (two Room hosts in one fresh process on loopback, bench/children/filesLoopback.ts bundled by esbuild as the extension is, so one core carries both ends; read from and written to the temp directory's disk; SHA-256 of the result checked), median of ${runs.length} run(s). Per CPU-second = file bytes / process CPU time (all threads, the collector's helpers included). Ceiling: the same run's ChaCha20-Poly1305 seal + open of ${CEILING_PACKET / 1024} KiB messages on this thread (node:crypto), bytes per CPU-second (16 KiB, the largest size \`openssl speed\` reports: every file byte is sealed once and opened once). The second reference is the same run's minimal Node pipeline (bench/lib/nodePipeline.ts): the work no implementation of this protocol in Node can skip (SHA-256 once per side, seal, send, receive, open, read and write the disk), with nothing else. Ceiling, SHA-256 and pipeline run in the same process as the transfer. Each run's ratio is taken against that run's own references (spread in parentheses). Chat latency: one 1 KB text message at a time from Room.send() to the receiver's message event, 30 idle, then every 20 ms while the file moves.`,
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
        what: `the same transfer against a minimal Node pipeline doing only the required work (hash the file, read, seal ${fmt(plain.pieceBytes / 1024, 1)} KiB pieces one per datagram, send, receive, open, hash, write; no protocol)`,
        figure: `${mbs(perCpu)} per CPU-s`,
        reference: `pipeline ${mbs(median(runs.map((r) => r.pipeline)))} per CPU-s (itself ${spread(pipelineCeilingRatios)} of the ceiling)`,
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
      `- Transfers: ${runs.map((t) => `${fmt(t.ms, 0)} ms wall, ${fmt(t.cpuMs, 0)} ms CPU, ${fmt(t.resent * 100, 2)} % resent, ${t.majorGcs} full collections`).join('; ')}.`,
      `- Ceiling runs: ${runs.map((r) => mbs(r.ceiling)).join(', ')}; SHA-256: ${runs.map((r) => mbs(r.sha)).join(', ')}; per-run ratio to the ceiling ${runRatios.map((r) => fmt(r, 3)).join(', ')}.`,
      `- Datagrams on this path: ${plain.datagramBytes} bytes (the 64 KiB path probe on loopback), pieces of ${plain.pieceBytes} bytes. Seal+open at that size is cheaper per byte than at 16 KiB: ${mbs(median(runs.map((r) => r.bigCeiling)))} per CPU-s, against which the transfer is ${fmt(median(runs.map((r) => perCpuOf(r) / r.bigCeiling)), 2)}.`,
      `- Minimal Node pipeline runs: ${runs.map((r) => mbs(r.pipeline)).join(', ')}; the transfer against it ${pipelineRatios.map((r) => fmt(r, 3)).join(', ')}.`,
      `- Chat p50 per run, during / idle: ${runs.map((r) => `${us(median(r.busy))} / ${us(median(r.idle))}`).join('; ')}.`,
      `- Chat during transfers: ${busy.length} messages, p50 ${us(busyP50)}, p90 ${us(percentile(busy, 90))}, max ${us(Math.max(...busy))}; idle: ${idle.length}, p50 ${us(idleP50)}.`,
      typeof nat === 'string' ? `- NAT lab: ${nat}.` : `- NAT lab (test/nat/files.test.ts): cone NATs, delay-forwarder 50 ms each way on both WAN links, \`tc qdisc add dev wan0 root tbf rate ${nat.rateBytesPerSecond * 8 / 1e6}mbit burst 32kbit latency 400ms\` on natA; a 12 MiB file hostA → hostB, then 12 MiB each from hostA and hostA2 at once. Rates are file bytes per second at the receiver (the tbf also carries IP/UDP/fragment headers, about 2 %).`,
    ],
    raw: { plain, runRatios, pipelineRatios, chatRatios },
  };
}
