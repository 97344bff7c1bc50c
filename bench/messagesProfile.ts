// The throughput benchmark's 1 KB window-64 flow alone, in rounds alternating with the raw socket pair,
// optionally under the inspector (only the Room rounds sampled). Used to find what the 1 KB figure is made of.
//   node -r tsx/cjs bench/messagesProfile.ts [--size 1024] [--rounds 5] [--ms 2000] [--profile /tmp/m.cpuprofile]
//   node -r tsx/cjs bench/profile.ts /tmp/m.cpuprofile
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { connectedPair } from './lib/hosts';
import { rawFlow, roomFlow, WINDOW } from './throughput';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

async function main(): Promise<void> {
  const size = flag('size', 1024);
  const ms = flag('ms', 2000);
  const pair = await connectedPair('memory');
  const pi = process.argv.indexOf('--profile');
  const inspector = pi >= 0 ? new Session() : undefined;
  const post = (method: string, params?: object) =>
    new Promise<unknown>((res, rej) => inspector!.post(method, params ?? {}, (err, out) => (err ? rej(err) : res(out))));
  if (inspector) {
    inspector.connect();
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: 200 });
  }
  const ratios: number[] = [];
  try {
    for (let r = 0; r < flag('rounds', 5); r++) {
      const raw = await rawFlow(size, WINDOW, 300, ms / 2);
      if (inspector) await post('Profiler.start');
      const room = await roomFlow(pair, size, WINDOW, 300, ms);
      if (inspector) {
        const { profile } = (await post('Profiler.stop')) as { profile: unknown };
        writeFileSync(process.argv[pi + 1].replace(/(\.cpuprofile)?$/, r ? `.${r}.cpuprofile` : '.cpuprofile'), JSON.stringify(profile));
      }
      const ratio = room.perCpuSecond / raw.perCpuSecond;
      ratios.push(ratio);
      process.stdout.write(
        `round ${r}: room ${room.perSecond.toFixed(0)}/s ${room.perCpuSecond.toFixed(0)}/CPU-s (cpu ${(room.cpuShare * 100).toFixed(0)} %, ${room.datagramsPerMessage.toFixed(2)} dgram/msg, p50 ${room.p50Ms.toFixed(2)} ms); raw ${raw.perSecond.toFixed(0)}/s ${raw.perCpuSecond.toFixed(0)}/CPU-s; ratio ${ratio.toFixed(3)}\n`,
      );
    }
    const sorted = [...ratios].sort((a, b) => a - b);
    process.stdout.write(`median ratio ${sorted[Math.floor(sorted.length / 2)].toFixed(3)} (${sorted[0].toFixed(3)}–${sorted[sorted.length - 1].toFixed(3)})\n`);
  } finally {
    inspector?.disconnect();
    await pair.close();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
