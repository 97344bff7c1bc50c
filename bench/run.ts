// `npm run bench` (node -r tsx/cjs bench/run.ts): runs every benchmark, prints a Markdown table and
// writes docs/BENCHMARKS.md. Flags: --quick (about 30 s smoke run), --only id[,id] (a subset),
// --no-write (print only). Benchmarks run one after another, never in parallel: they share two cores.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { connectTime } from './connectTime';
import { throughput } from './throughput';
import { rendezvousLoad } from './rendezvousLoad';
import { largeMessage } from './largeMessage';
import { files } from './files';
import { rendezvousMemory } from './rendezvousMemory';
import { contactsBench } from './contacts';
import { rendezvousCluster } from './rendezvousCluster';
import { directoryBench } from './directory';
import { activation, extensionSize } from './extensionSize';
import { mailbox } from './mailbox';
import { webviewPerf } from './webviewPerf';
import { fillAnalysis } from './lib/analysis';
import { describeMachine } from './lib/machine';
import { ROOT } from './lib/proc';
import { fullReport, summaryTable } from './lib/report';
import type { Benchmark, BenchContext, BenchResult } from './lib/types';

const BENCHMARKS: { id: string; title: string; run: Benchmark }[] = [
  { id: 'connect', title: 'Connect time', run: connectTime },
  { id: 'throughput', title: 'Encrypted messages per second and latency', run: throughput },
  { id: 'large', title: 'Large message (1 MiB snippet)', run: largeMessage },
  { id: 'files', title: 'File transfer', run: files },
  { id: 'rendezvous', title: 'Rendezvous answers per CPU-second', run: rendezvousLoad },
  { id: 'memory', title: 'Rendezvous memory per member', run: rendezvousMemory },
  { id: 'contacts', title: 'Contacts: presence cost and topic memory', run: contactsBench },
  { id: 'mailbox', title: 'Mailbox deposits and fetches per CPU-second', run: mailbox },
  { id: 'cluster', title: 'Rendezvous with shared state (Redis)', run: rendezvousCluster },
  { id: 'directory', title: 'Directory lookups and sign-ups', run: directoryBench },
  { id: 'extension', title: 'Extension size', run: extensionSize },
  { id: 'activation', title: 'Activation time', run: activation },
  { id: 'webview', title: 'Chat panel responsiveness', run: webviewPerf },
];

function parseArgs(argv: string[]) {
  const quick = argv.includes('--quick');
  const write = !argv.includes('--no-write');
  const i = argv.indexOf('--only');
  const only = i >= 0 ? (argv[i + 1] ?? '').split(',').filter(Boolean) : undefined;
  const unknown = argv.filter((a, j) => a.startsWith('--') && !['--quick', '--no-write', '--only'].includes(a) && argv[j - 1] !== '--only');
  return { quick, write, only, unknown };
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (args.unknown.length) {
    process.stderr.write(`unknown flag(s): ${args.unknown.join(' ')}\nusage: npm run bench -- [--quick] [--only ${BENCHMARKS.map((b) => b.id).join(',')}] [--no-write]\n`);
    return 2;
  }
  const selected = args.only ? BENCHMARKS.filter((b) => args.only!.includes(b.id)) : BENCHMARKS;
  if (args.only && selected.length !== args.only.length) {
    process.stderr.write(`unknown benchmark id in --only; known: ${BENCHMARKS.map((b) => b.id).join(', ')}\n`);
    return 2;
  }
  const machine = describeMachine();
  const ctx: BenchContext = { quick: args.quick, root: ROOT, log: (l) => process.stderr.write(`  ${l}\n`) };
  const results: BenchResult[] = [];
  const t0 = performance.now();
  for (const b of selected) {
    process.stderr.write(`== ${b.title}\n`);
    const start = performance.now();
    let r: BenchResult;
    try {
      r = await b.run(ctx);
    } catch (err) {
      r = { id: b.id, title: b.title, method: '', rows: [], details: [], raw: {}, skipped: `failed: ${(err as Error).message.split('\n')[0]}` };
      process.stderr.write(`  FAILED: ${(err as Error).stack}\n`);
    }
    r.seconds = (performance.now() - start) / 1000;
    process.stderr.write(`  (${r.seconds.toFixed(1)} s)\n`);
    results.push(r);
  }
  const totalSeconds = (performance.now() - t0) / 1000;
  const command = `npm run bench${args.quick || args.only ? ' --' : ''}${args.quick ? ' --quick' : ''}${args.only ? ` --only ${args.only.join(',')}` : ''}`;
  process.stdout.write(`\n${summaryTable(results)}\n\n`);
  if (args.write) {
    const analysisFile = path.join(__dirname, 'analysis.md');
    // Figures the findings quote from this run are filled in from it ({{name}} placeholders).
    const analysis = existsSync(analysisFile) ? fillAnalysis(readFileSync(analysisFile, 'utf8'), results) : undefined;
    const file = path.join(ROOT, 'docs', 'BENCHMARKS.md');
    writeFileSync(file, fullReport({ machine, command, quick: args.quick, results, totalSeconds, analysis }));
    process.stderr.write(`wrote ${path.relative(process.cwd(), file)} (${totalSeconds.toFixed(0)} s)\n`);
  }
  return results.some((r) => r.skipped?.startsWith('failed')) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
