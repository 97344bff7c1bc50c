// Profile the bundled rendezvous under register load (the benchmark's load generator), then print the
// functions with the largest self time. Used to find what the rendezvous bench's figure is made of.
//   node -r tsx/cjs bench/rendezvousProfile.ts [--rate 20000] [--rounds 3] [--top 40]
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { summarise } from './profile';
import { measureLoad } from './rendezvousLoad';
import { startRendezvousProcess } from './lib/servers';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'p2p-rz-prof-'));
  try {
    const server = await startRendezvousProcess(['--cpu-prof', `--cpu-prof-dir=${dir}`]);
    for (let i = 0; i < flag('rounds', 3); i++) {
      const r = await measureLoad(server, 'register', { rate: flag('rate', 20_000), warmupMs: 500, measureMs: 2000, members: 2000, sockets: 8 });
      console.log(`registers: ${Math.round(r.answersPerCpuSecond)} per CPU-second, server CPU ${(r.serverCpuShare * 100).toFixed(0)} %, answered ${(r.answeredShare * 100).toFixed(1)} %`);
    }
    await server.stop(); // SIGTERM: the server exits cleanly and Node writes the profile
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error(`no profile written in ${dir}`);
    const { functions } = summarise(path.join(dir, file));
    console.log('self %  incl %  function');
    for (const f of [...functions].sort((a, b) => b.selfShare - a.selfShare).slice(0, flag('top', 40))) {
      console.log(`${(f.selfShare * 100).toFixed(1).padStart(6)} ${(f.totalShare * 100).toFixed(1).padStart(7)}  ${f.name}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
