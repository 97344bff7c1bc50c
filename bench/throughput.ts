// Encrypted messages per second and their latency through two Room hosts in one process (one core),
// loopback, against a raw unencrypted dgram socket pair driven the same way: the ceiling.
// Two loads: a window of outstanding messages (throughput; latency then includes queueing), and one
// message at a time (latency as a person typing sees it). Room and raw alternate in short rounds so
// that load from other processes on the shared cores hits both alike; medians over the rounds.
import * as dgram from 'node:dgram';
import type { ChatMessage } from '../extension/core/types';
import { connectedPair } from './lib/hosts';
import { Flow, FlowResult } from './lib/flow';
import type { BenchContext, BenchResult, Row } from './lib/types';
import { fmt, median, si, us } from './lib/stats';

export const WINDOW = Number(process.env.BENCH_WINDOW ?? 64);
const TARGET_PER_SECOND = 50_000;

type Pair = Awaited<ReturnType<typeof connectedPair>>;

function textFor(i: number, size: number, filler: string): string {
  const head = `${i}:`;
  return head + filler.slice(0, Math.max(0, size - head.length));
}

function indexOf(m: ChatMessage): number {
  return m.body.kind === 'text' ? parseInt(m.body.text, 10) : -1;
}

export interface RoomFlowResult extends FlowResult {
  /** Datagrams both ways per delivered message. */
  datagramsPerMessage: number;
}

export async function roomFlow(pair: Pair, size: number, window: number, warmupMs: number, measureMs: number): Promise<RoomFlowResult> {
  const filler = 'x'.repeat(size);
  const room = pair.a.host.room;
  const flow = new Flow(
    {
      send: (i, now) => void room.send({ kind: 'text', text: textFor(i, size, filler) }, now),
      flush: () => pair.a.host.pump(),
    },
    window,
  );
  pair.b.onMessage = (m, at) => flow.delivered(indexOf(m), at);
  const count = () => pair.a.host.counters.datagramsOut + pair.b.host.counters.datagramsOut;
  const d0 = count();
  const r = await flow.run(warmupMs, measureMs);
  pair.b.onMessage = undefined;
  return { ...r, datagramsPerMessage: (count() - d0) / Math.max(1, flow.sentCount) };
}

async function bound(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return s;
}

export async function rawFlow(size: number, window: number, warmupMs: number, measureMs: number): Promise<FlowResult> {
  const a = await bound();
  const b = await bound();
  const port = b.address().port;
  try {
    const flow = new Flow(
      {
        send: (i) => {
          const buf = Buffer.alloc(size);
          buf.writeUInt32BE(i >>> 0, 0);
          a.send(buf, port, '127.0.0.1');
        },
        flush: () => undefined,
      },
      window,
    );
    b.on('message', (msg) => flow.delivered(msg.readUInt32BE(0), performance.now()));
    return await flow.run(warmupMs, measureMs);
  } finally {
    await new Promise<void>((r) => a.close(() => r()));
    await new Promise<void>((r) => b.close(() => r()));
  }
}

export interface Rounds<T> {
  room: T[];
  raw: FlowResult[];
}

/** min–max of the per-round ratios (each round's Room against the raw round just before it). */
function spread(xs: number[]): string {
  return xs.length > 1 ? `${fmt(Math.min(...xs), 2)}–${fmt(Math.max(...xs), 2)}` : fmt(xs[0] ?? NaN, 2);
}

function med<T>(xs: T[], f: (x: T) => number): number {
  return median(xs.map(f));
}

export async function alternate(
  pair: Pair,
  size: number,
  window: number,
  rounds: number,
  roomMs: number,
  rawMs: number,
  warmMs: number,
): Promise<Rounds<RoomFlowResult>> {
  const out: Rounds<RoomFlowResult> = { room: [], raw: [] };
  for (let i = 0; i < rounds; i++) {
    out.raw.push(await rawFlow(size, window, warmMs, rawMs));
    out.room.push(await roomFlow(pair, size, window, warmMs, roomMs));
  }
  return out;
}

export async function throughput(ctx: BenchContext): Promise<BenchResult> {
  // Full run: 5 rounds x 2 s of Room per size (10 s sustained in total); quick: 1 x 1 s.
  const rounds = ctx.quick ? 1 : 5;
  const roomMs = ctx.quick ? 1000 : 2000;
  const rawMs = ctx.quick ? 400 : 1000;
  const warm = 300;
  const rows: Row[] = [];
  const details: string[] = [];
  const raw: Record<string, unknown> = {};
  for (const size of [64, 1024]) {
    const label = size === 64 ? '64 B' : '1 KB';
    const pair = await connectedPair('memory');
    let load: Rounds<RoomFlowResult>;
    let single: Rounds<RoomFlowResult>;
    try {
      load = await alternate(pair, size, WINDOW, rounds, roomMs, rawMs, warm);
      single = await alternate(pair, size, 1, ctx.quick ? 1 : 3, roomMs / 2, rawMs / 2, warm);
    } finally {
      await pair.close();
    }
    const room = { rate: med(load.room, (r) => r.perSecond), perCpu: med(load.room, (r) => r.perCpuSecond), cpu: med(load.room, (r) => r.cpuShare), p50: med(load.room, (r) => r.p50Ms), p99: med(load.room, (r) => r.p99Ms), dpm: med(load.room, (r) => r.datagramsPerMessage) };
    const ref = { rate: med(load.raw, (r) => r.perSecond), perCpu: med(load.raw, (r) => r.perCpuSecond), cpu: med(load.raw, (r) => r.cpuShare), p50: med(load.raw, (r) => r.p50Ms), p99: med(load.raw, (r) => r.p99Ms) };
    const one = { p50: med(single.room, (r) => r.p50Ms), p99: med(single.room, (r) => r.p99Ms), rate: med(single.room, (r) => r.perSecond) };
    const oneRef = { p50: med(single.raw, (r) => r.p50Ms), p99: med(single.raw, (r) => r.p99Ms), rate: med(single.raw, (r) => r.perSecond) };
    ctx.log(`${label}: room ${si(room.rate)}/s = ${si(room.perCpu)} per CPU-s (cpu ${fmt(room.cpu * 100)} %), raw ${si(ref.rate)}/s = ${si(ref.perCpu)} per CPU-s; one at a time p50 room ${us(one.p50)}, raw ${us(oneRef.p50)}`);
    rows.push(
      {
        what: `encrypted ${label} messages per second (window ${WINDOW}); per CPU-second`,
        figure: `${si(room.rate)}/s; ${si(room.perCpu)}/CPU-s`,
        reference: `raw dgram ${si(ref.rate)}/s; ${si(ref.perCpu)}/CPU-s`,
        ratio: room.perCpu / ref.perCpu,
        ratioNote: `of raw (per CPU-s; rounds ${spread(load.room.map((r, i) => r.perCpuSecond / load.raw[i].perCpuSecond))})`,
        ...(size === 1024 ? { target: '≥ 0.4× raw', met: room.perCpu / ref.perCpu >= 0.4 } : {}),
        ...(size === 64 ? { target: `≥ ${si(TARGET_PER_SECOND)}/s`, met: room.rate >= TARGET_PER_SECOND } : {}),
      },
      {
        what: `${label} latency under that load, p50 / p99`,
        figure: `${us(room.p50)} / ${us(room.p99)}`,
        reference: `raw ${us(ref.p50)} / ${us(ref.p99)}`,
        ratio: room.p50 / ref.p50,
        ratioNote: '× raw p50',
      },
      {
        what: `${label} latency, one message at a time, p50 / p99`,
        figure: `${us(one.p50)} / ${us(one.p99)}`,
        reference: `raw ${us(oneRef.p50)} / ${us(oneRef.p99)}`,
        ratio: one.p50 / oneRef.p50,
        ratioNote: '× raw p50',
      },
    );
    details.push(
      `- ${label}, window ${WINDOW}: Room ${fmt(room.rate)} messages/s (median of ${rounds} rounds of ${fmt(roomMs / 1000, 1)} s), process CPU ${fmt(room.cpu * 100)} % of one core → ${fmt(room.perCpu)} messages per CPU-second; ${fmt(room.dpm, 2)} datagrams per message (both directions). Raw: ${fmt(ref.rate)} datagrams/s at ${fmt(ref.cpu * 100)} % CPU → ${fmt(ref.perCpu)} per CPU-second.`,
      `- ${label}, one at a time: Room ${fmt(one.rate)} round trips/s, raw ${fmt(oneRef.rate)}/s.`,
    );
    raw[`${size}`] = { load, single };
    if (size === 64) {
      // The store the extension and the terminal peer ship: a JSON file rewritten on every change.
      const filePair = await connectedPair('file');
      try {
        const f = await roomFlow(filePair, size, WINDOW, warm, roomMs / 2);
        ctx.log(`64 B with FileRoomStore: ${si(f.perSecond)}/s = ${si(f.perCpuSecond)} per CPU-s`);
        rows.push({
          what: `encrypted 64 B messages per second with the shipped FileRoomStore (window ${WINDOW}); per CPU-second`,
          figure: `${si(f.perSecond)}/s; ${si(f.perCpuSecond)}/CPU-s`,
          reference: `raw dgram ${si(ref.rate)}/s; ${si(ref.perCpu)}/CPU-s`,
          ratio: f.perCpuSecond / ref.perCpu,
          ratioNote: 'of raw (per CPU-s)',
        });
        details.push(`- 64 B with FileRoomStore (one round of ${fmt(roomMs / 2000, 1)} s): ${fmt(f.perSecond)} messages/s, ${fmt(f.perCpuSecond)} per CPU-second, p50 ${us(f.p50Ms)}, p99 ${us(f.p99Ms)}.`);
        raw.file64 = f;
      } finally {
        await filePair.close();
      }
    }
  }
  return {
    id: 'throughput',
    title: 'Encrypted messages per second and latency',
    method: `Two Room hosts (MemoryRoomStore, then once the shipped FileRoomStore) and the rendezvous in one Node process on loopback: one core for both ends. A text message of 64 or 1024 characters; the sender keeps ${WINDOW} messages outstanding (sent, not yet delivered) and refills once per event-loop turn; latency runs from Room.send() to the receiver's \`message\` event. The reference is a raw dgram socket pair in one process driven identically (unencrypted, unreliable: the ceiling). Room and raw alternate in rounds; medians. The ratio compares messages per CPU-second of the process, which other load on the shared cores disturbs far less than messages per wall-clock second.`,
    rows,
    details,
    raw,
  };
}
