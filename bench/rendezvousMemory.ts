// Rendezvous memory per registered member: the room table's heap in-process (and the rate-limit
// state per distinct source), then a real server process filled over UDP, its RSS before and after.
import { bundle } from './lib/bundle';
import { rssBytes, startChild } from './lib/proc';
import { startRendezvousProcess } from './lib/servers';
import { bytes, fmt, sleep } from './lib/stats';
import type { BenchContext, BenchResult } from './lib/types';
import type { LoadSpec } from './children/loadgen';

export async function rendezvousMemory(ctx: BenchContext): Promise<BenchResult> {
  const members = 100_000;
  // Heap accounting in a fresh process, so nothing else this process allocated gets counted.
  const child = startChild(process.execPath, ['--expose-gc', bundle('bench/children/tableMemory.ts'), String(members)]);
  const heap = await child.waitFor((m) => typeof m.tableBytesPerMember === 'number', 120_000);
  await child.stop();

  // The server process, filled over loopback by stop-and-wait registrations.
  const fill = ctx.quick ? 10_000 : members;
  const server = await startRendezvousProcess();
  let rssIdle = 0;
  let rssFilled = 0;
  let filled = 0;
  let fillSeconds = 0;
  try {
    await sleep(300);
    rssIdle = rssBytes(server.pid);
    const spec: LoadSpec = { mode: 'fill', host: '127.0.0.1', port: server.port, rate: 0, sockets: 64, members: fill };
    const gen = startChild(process.execPath, [bundle('bench/children/loadgen.ts'), JSON.stringify(spec)]);
    try {
      const ready = await gen.waitFor((m) => m.ready === true, 240_000);
      filled = ready.members as number;
      fillSeconds = ready.setupSeconds as number;
      await sleep(300);
      rssFilled = rssBytes(server.pid);
    } finally {
      await gen.stop();
    }
  } finally {
    await server.stop();
  }
  const perMember = heap.tableBytesPerMember as number;
  const rssPerMember = (rssFilled - rssIdle) / filled;
  ctx.log(`table ${fmt(perMember)} B/member; server RSS ${bytes(rssIdle)} -> ${bytes(rssFilled)} with ${fmt(filled)} members (${fmt(rssPerMember)} B/member)`);
  return {
    id: 'memory',
    title: 'Rendezvous memory per member',
    method: `${fmt(members)} members in rooms of two registered straight into a RoomTable in a fresh process (heapUsed after forced GC, before and after), then as many distinct source endpoints through the SourceLimiter. Then the rendezvous server process (bundled from source) filled over loopback with ${fmt(fill)} cookie-verified registrations from 64 sockets; its RSS (/proc/<pid>/status) idle and filled.`,
    rows: [
      {
        what: `rendezvous memory per registered member (RoomTable heap, ${fmt(members)} members)`,
        figure: `${fmt(perMember)} B`,
        reference: '—',
      },
      {
        what: 'rate-limit state per distinct source endpoint (SourceLimiter heap)',
        figure: `${fmt(heap.limiterBytesPerSource as number)} B`,
        reference: '—',
      },
      {
        what: `server process RSS with ${fmt(filled)} members`,
        figure: `${bytes(rssFilled)} (${fmt(rssPerMember)} B per member over idle)`,
        reference: `idle ${bytes(rssIdle)}`,
      },
    ],
    details: [
      `- RoomTable: ${fmt(heap.members as number)} members in ${fmt(heap.rooms as number)} rooms hold ${bytes(heap.tableBytes as number)} of heap.`,
      `- Server filled with ${fmt(filled)} members in ${fmt(fillSeconds, 1)} s of stop-and-wait registration (${fmt(filled / fillSeconds)} registrations/s, 64 outstanding).`,
    ],
    raw: { heap, rssIdle, rssFilled, filled, fillSeconds },
  };
}
