// The throughput benchmark's 1 KB window-64 flow alone, in rounds alternating with the raw socket pair,
// optionally under the inspector (only the Room rounds sampled). Used to find what the 1 KB figure is made of.
//   node -r tsx/cjs bench/messagesProfile.ts [--size 1024] [--rounds 5] [--ms 2000] [--settle 2000] [--sender a|big|small] [--profile /tmp/m.cpuprofile]
//   node -r tsx/cjs bench/profile.ts /tmp/m.cpuprofile
import { connectedPair } from './lib/hosts';
import { Sampler } from './lib/sampler';
import { rawFlow, roomFlow, WINDOW } from './throughput';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

async function main(): Promise<void> {
  const size = flag('size', 1024);
  const ms = flag('ms', 2000);
  const made = await connectedPair('memory');
  // Path probes go out 50, 300 and 1500 ms after the link is up; let them finish on an idle link, so every run
  // measures the same inner packet size (a probe made while the flow queues may see a long RTT and skip 64 KiB).
  await new Promise((r) => setTimeout(r, flag('settle', 2000)));
  // The two sides may settle on different sizes; --sender big|small picks the side that sends (default: A).
  const innerOf = (from: typeof made.a, to: typeof made.a) => from.host.room.linkFor(to.host.room.selfId)?.pathInnerBytes ?? 0;
  const si = process.argv.indexOf('--sender');
  const want = si >= 0 ? process.argv[si + 1] : 'a';
  const swap = want === 'big' ? innerOf(made.b, made.a) > innerOf(made.a, made.b) : want === 'small' ? innerOf(made.b, made.a) < innerOf(made.a, made.b) : false;
  const pair = swap ? { ...made, a: made.b, b: made.a } : made;
  const sampler = new Sampler();
  const ratios: number[] = [];
  // The inner packet size each side's link has proven (path probes): how many messages share a datagram.
  const inner = () =>
    `sender ${innerOf(pair.a, pair.b)} B, receiver ${innerOf(pair.b, pair.a)} B`;
  try {
    for (let r = 0; r < flag('rounds', 5); r++) {
      const raw = await rawFlow(size, WINDOW, 300, ms / 2);
      await sampler.start();
      const room = await roomFlow(pair, size, WINDOW, 300, ms);
      await sampler.stop(sampler.file?.replace(/(\.cpuprofile)?$/, r ? `.${r}.cpuprofile` : '.cpuprofile'));
      const ratio = room.perCpuSecond / raw.perCpuSecond;
      ratios.push(ratio);
      process.stdout.write(
        `round ${r}: room ${room.perSecond.toFixed(0)}/s ${room.perCpuSecond.toFixed(0)}/CPU-s (cpu ${(room.cpuShare * 100).toFixed(0)} %, ${room.datagramsPerMessage.toFixed(2)} dgram/msg, p50 ${room.p50Ms.toFixed(2)} ms); raw ${raw.perSecond.toFixed(0)}/s ${raw.perCpuSecond.toFixed(0)}/CPU-s; ratio ${ratio.toFixed(3)}; inner ${inner()}\n`,
      );
    }
    const sorted = [...ratios].sort((a, b) => a - b);
    process.stdout.write(`median ratio ${sorted[Math.floor(sorted.length / 2)].toFixed(3)} (${sorted[0].toFixed(3)}–${sorted[sorted.length - 1].toFixed(3)})\n`);
  } finally {
    sampler.close();
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
