// Profile one loopback file transfer (the files benchmark's first half, without the NAT lab), then
// print the functions with the largest self and inclusive time. Used to find what the files figure is made of.
//   node -r tsx/cjs bench/filesProfile.ts [--mib 100] [--runs 1] [--profile /tmp/files.cpuprofile] [--cc]
//   node -r tsx/cjs bench/profile.ts /tmp/files.cpuprofile
// --profile samples only the transfers (not the setup: module loading, writing the random file).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from './lib/hosts';
import { Sampler } from './lib/sampler';
import { transferPair } from './lib/transferPair';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

async function main(): Promise<void> {
  const size = flag('mib', 100) * 1024 * 1024;
  const dir = mkdtempSync(join(tmpdir(), 'p2p-files-prof-'));
  const file = join(dir, 'payload.bin');
  writeFileSync(file, randomBytes(size));
  const { pair, ta, tb, close } = await transferPair(dir);
  try {
    await until(() => (pair.a.host.room.linkFor(ta.peers()[0])?.pathInnerBytes ?? 0) > 2000, 5000, 'path probe');
    const sampler = new Sampler();
    await sampler.start();
    for (let r = 0; r < flag('runs', 1); r++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const [id] = await ta.send(file);
      const probe = process.argv.includes('--cc')
        ? setInterval(() => {
            const o = [...((ta.manager as unknown as { out: Map<string, { cc: { cwnd: number; srtt?: number; baseRtt: number; queueMs: number; targetMs: number } }> }).out.values())][0];
            if (o) process.stdout.write(`  cwnd ${(o.cc.cwnd / 1024).toFixed(0)} KiB srtt ${o.cc.srtt?.toFixed(2)} base ${o.cc.baseRtt.toFixed(2)} queue ${o.cc.queueMs.toFixed(2)} target ${o.cc.targetMs}\n`);
          }, 200)
        : undefined;
      await until(() => ta.manager.get(id)?.status === 'done', 300_000, 'file delivered');
      if (probe) clearInterval(probe);
      const c = process.cpuUsage(c0);
      const ms = performance.now() - t0;
      const cpu = (c.user + c.system) / 1e6;
      const info = ta.manager.get(id)!;
      process.stdout.write(`${(size / 1e6 / (ms / 1000)).toFixed(0)} MB/s wall, ${(size / 1e6 / cpu).toFixed(0)} MB/s per CPU-s (user ${(c.user / 1e3).toFixed(0)} ms, sys ${(c.system / 1e3).toFixed(0)} ms), resent ${(((info.wireBytes - size) / size) * 100).toFixed(2)} %, datagrams a→b ${pair.a.host.counters.datagramsOut} b→a ${pair.b.host.counters.datagramsOut}\n`);
      const got = tb.list().find((t) => t.id === id)!;
      rmSync(got.path!);
    }
    await sampler.stop();
    sampler.close();
  } finally {
    await close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
