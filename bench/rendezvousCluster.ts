// Registrations per CPU-second of one rendezvous instance sharing state through a real Redis,
// against the embedded single instance in the same run, and Redis's own CPU per registration.
// Both servers get the same register load (members joined before the window, cookie-verified
// refreshes in it, each answered with a welcome) and `--refresh 1`, so the Redis instance's batched
// renewal of every member runs inside each measured window and is counted, on its side and Redis's.
import { RedisProcess } from '../test/helpers/redis';
import { measureLoad, type ServerLoad } from './rendezvousLoad';
import { startRendezvousProcess } from './lib/servers';
import { fmt, si } from './lib/stats';
import type { BenchContext, BenchResult } from './lib/types';

const TARGET = 0.85;

export async function rendezvousCluster(ctx: BenchContext): Promise<BenchResult> {
  const rate = Number(process.env.BENCH_RZ_RATE ?? 20_000);
  const rounds = ctx.quick ? 1 : 3;
  const opts = { rate, warmupMs: ctx.quick ? 500 : 1000, measureMs: ctx.quick ? 1500 : 3000, members: ctx.quick ? 500 : 2000, sockets: 8 };
  const redis = await RedisProcess.start();
  const all: { kind: 'embedded' | 'redis'; r: ServerLoad }[] = [];
  // Topics (contacts' presence): 200 clients in pairs sharing 56 topics each (11,200 memberships), each refresh
  // datagram acknowledges 56 topic registrations; the Redis instance renews all of them once a second.
  const topicOpts = { ...opts, rate: Math.round(rate / 4), members: 200 };
  const topicRuns: { kind: 'embedded' | 'redis'; r: ServerLoad }[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      // A fresh pair of processes per round (members join in each round's setup); alternated.
      for (const kind of ['embedded', 'redis'] as const) {
        const server = await startRendezvousProcess([], ['--refresh', '1', ...(kind === 'redis' ? ['--redis', redis.url] : [])]);
        try {
          const r = await measureLoad(server, 'register', { ...opts, ...(kind === 'redis' ? { extraPids: [redis.pid!] } : {}) });
          ctx.log(`${kind}: ${si(r.answersPerCpuSecond)} registrations/CPU-s (server CPU ${fmt(r.serverCpuShare * 100)} %${r.extraCpuSeconds !== undefined ? `, Redis ${fmt((r.extraCpuSeconds / r.windowSeconds) * 100)} %` : ''})`);
          all.push({ kind, r });
        } finally {
          await server.stop();
        }
      }
      for (const kind of ['embedded', 'redis'] as const) {
        const server = await startRendezvousProcess([], ['--refresh', '1', ...(kind === 'redis' ? ['--redis', redis.url] : [])]);
        try {
          const r = await measureLoad(server, 'topics', { ...topicOpts, ...(kind === 'redis' ? { extraPids: [redis.pid!] } : {}) });
          ctx.log(`${kind} topics: ${si(r.answersPerCpuSecond * 56)} topic registrations/CPU-s (answered ${fmt(r.answeredShare * 100, 1)} % of ${si(r.sentInWindow)}, server CPU ${fmt(r.serverCpuShare * 100)} %${r.extraCpuSeconds !== undefined ? `, Redis ${fmt((r.extraCpuSeconds / r.windowSeconds) * 100)} %` : ''})`);
          topicRuns.push({ kind, r });
        } finally {
          await server.stop();
        }
      }
    }
  } finally {
    await redis.destroy();
  }
  const median = (kind: string) => {
    const rs = all.filter((x) => x.kind === kind).map((x) => x.r).sort((a, b) => a.answersPerCpuSecond - b.answersPerCpuSecond);
    return rs[(rs.length - 1) >> 1];
  };
  const emb = median('embedded');
  const red = median('redis');
  const topicMedian = (kind: string) => {
    const rs = topicRuns.filter((x) => x.kind === kind).map((x) => x.r).sort((a, b) => a.answersPerCpuSecond - b.answersPerCpuSecond);
    return rs[(rs.length - 1) >> 1];
  };
  const tEmb = topicMedian('embedded');
  const tRed = topicMedian('redis');
  const tRatio = tRed.answersPerCpuSecond / tEmb.answersPerCpuSecond;
  const tRedisCpuPerReg = (tRed.extraCpuSeconds ?? 0) / Math.max(1, tRed.answers * 56);
  const ratio = red.answersPerCpuSecond / emb.answersPerCpuSecond;
  const redisCpuPerReg = (red.extraCpuSeconds ?? 0) / Math.max(1, red.answers);
  return {
    id: 'cluster',
    title: 'Rendezvous with shared state (Redis)',
    method: `One rendezvous process with --redis (a real redis-server 7.0 on loopback, AOF everysec) and the embedded single instance, each offered ${fmt(rate)} register refreshes/s by one load-generator process (${opts.members} members in rooms of two, joined before the window; --refresh 1 so the batched renewal of every member runs inside the ${opts.measureMs / 1000} s window); ${rounds} round${rounds > 1 ? 's' : ''} alternating, median reported. Server CPU from /proc/<pid>/stat; Redis CPU likewise over the same window.`,
    rows: [
      {
        what: 'rendezvous with Redis: registrations answered per CPU-second, one instance',
        figure: `${si(red.answersPerCpuSecond)}/CPU-s`,
        reference: `embedded single instance ${si(emb.answersPerCpuSecond)}/CPU-s`,
        ratio,
        ratioNote: '× embedded',
        target: `≥ ${TARGET}× embedded`,
        met: ratio >= TARGET,
      },
      {
        what: 'Redis CPU per registration (renewals batched once per refresh period)',
        figure: `${fmt(redisCpuPerReg * 1e6, 2)} µs`,
        reference: `rendezvous CPU per registration ${fmt((1 / red.answersPerCpuSecond) * 1e6, 2)} µs`,
        ratio: redisCpuPerReg * red.answersPerCpuSecond,
        ratioNote: '× the instance’s own CPU',
      },
      {
        what: 'rendezvous with Redis: topic registrations answered per CPU-second (56 per datagram), one instance',
        figure: `${si(tRed.answersPerCpuSecond * 56)}/CPU-s`,
        reference: `embedded single instance ${si(tEmb.answersPerCpuSecond * 56)}/CPU-s`,
        ratio: tRatio,
        ratioNote: '× embedded',
        target: `≥ ${TARGET}× embedded`,
        met: tRatio >= TARGET,
      },
      {
        what: 'Redis CPU per topic registration (renewals batched once per refresh period)',
        figure: `${fmt(tRedisCpuPerReg * 1e9, 1)} ns`,
        reference: `rendezvous CPU per topic registration ${fmt((1 / (tRed.answersPerCpuSecond * 56)) * 1e9, 1)} ns`,
        ratio: tRedisCpuPerReg * tRed.answersPerCpuSecond * 56,
        ratioNote: '× the instance’s own CPU',
      },
    ],
    details: [
      '| server | answers | answered | server CPU | Redis CPU | answers per CPU-s |',
      '|---|---|---|---|---|---|',
      ...[
        ['embedded', emb],
        ['with Redis', red],
      ].map(([name, r]) => {
        const x = r as ServerLoad;
        return `| ${name} | ${fmt(x.answers)} in ${fmt(x.windowSeconds, 1)} s | ${fmt(x.answeredShare * 100, 1)} % | ${fmt(x.serverCpuSeconds, 2)} s | ${x.extraCpuSeconds !== undefined ? `${fmt(x.extraCpuSeconds, 3)} s` : '—'} | ${fmt(x.answersPerCpuSecond)} |`;
      }),
      ...[
        ['embedded, topics', tEmb],
        ['with Redis, topics', tRed],
      ].map(([name, r]) => {
        const x = r as ServerLoad;
        return `| ${name} | ${fmt(x.answers)} acks (× 56 topics) in ${fmt(x.windowSeconds, 1)} s | ${fmt(x.answeredShare * 100, 1)} % | ${fmt(x.serverCpuSeconds, 2)} s | ${x.extraCpuSeconds !== undefined ? `${fmt(x.extraCpuSeconds, 3)} s` : '—'} | ${fmt(x.answersPerCpuSecond)} |`;
      }),
      '',
      `Topics: ${topicOpts.members} clients in pairs, 56 shared topics per pair (${(topicOpts.members / 2) * 56 * 2} memberships), ${fmt(topicOpts.rate)} refresh datagrams/s offered.`,
      `All rounds: ${['embedded', 'redis'].map((k) => `${k} ${all.filter((x) => x.kind === k).map((x) => si(x.r.answersPerCpuSecond)).join(' / ')}`).join('; ')}.`,
    ],
    raw: { results: all, topics: topicRuns },
  };
}
