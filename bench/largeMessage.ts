// A 1 MiB snippet from Room.send() to the receiver's `message` event, against a raw dgram blast of
// the same bytes in 1100-byte datagrams (the size of the channel's inner packets) on loopback.
import * as dgram from 'node:dgram';
import { connectedPair } from './lib/hosts';
import { fmt, median, us } from './lib/stats';
import type { BenchContext, BenchResult } from './lib/types';

const SIZE = 1024 * 1024;
const CHUNK = 1100;

function snippetCode(): string {
  const line = `${'x'.repeat(78)}\n`; // 79 characters: no JSON escaping except the newline
  return line.repeat(Math.ceil(SIZE / line.length)).slice(0, SIZE);
}

async function bound(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  // Room for the whole megabyte in flight: a blast must not lose datagrams to the receive buffer.
  s.setRecvBufferSize(4 * 1024 * 1024);
  s.setSendBufferSize(4 * 1024 * 1024);
  return s;
}

/** All datagrams sent back to back; the clock stops when the last byte has arrived. */
async function rawBlast(): Promise<{ ms: number; cpuMs: number; lost: number }> {
  const a = await bound();
  const b = await bound();
  const port = b.address().port;
  const data = Buffer.from(snippetCode());
  const n = Math.ceil(data.length / CHUNK);
  try {
    let got = 0;
    let bytes = 0;
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const done = new Promise<number>((resolve) => {
      b.on('message', (m) => {
        got++;
        bytes += m.length;
        if (bytes >= data.length) resolve(performance.now());
      });
    });
    for (let i = 0; i < n; i++) a.send(data.subarray(i * CHUNK, Math.min(data.length, (i + 1) * CHUNK)), port, '127.0.0.1');
    const t1 = await Promise.race([done, new Promise<number>((r) => setTimeout(() => r(NaN), 5000))]);
    const c = process.cpuUsage(c0);
    return { ms: t1 - t0, cpuMs: (c.user + c.system) / 1000, lost: n - got };
  } finally {
    await new Promise<void>((r) => a.close(() => r()));
    await new Promise<void>((r) => b.close(() => r()));
  }
}

export async function largeMessage(ctx: BenchContext): Promise<BenchResult> {
  const runs = ctx.quick ? 2 : 5;
  const code = snippetCode();
  const pair = await connectedPair('memory');
  const room: number[] = [];
  const roomCpu: number[] = [];
  const raw: { ms: number; cpuMs: number; lost: number }[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      raw.push(await rawBlast());
      const got = new Promise<number>((resolve) => {
        pair.b.onMessage = (m, at) => {
          if (m.body.kind === 'snippet') resolve(at);
        };
      });
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      pair.a.host.room.send({ kind: 'snippet', snippet: { path: `big-${i}.txt`, language: 'plaintext', startLine: 1, endLine: 13274, code } }, t0);
      pair.a.host.pump();
      const t1 = await Promise.race([got, new Promise<number>((r) => setTimeout(() => r(NaN), 60_000))]);
      const c = process.cpuUsage(c0);
      room.push(t1 - t0);
      roomCpu.push((c.user + c.system) / 1000);
      // Let the acknowledgements settle before the next run.
      const sender = pair.a.host.room;
      const settle = performance.now() + 5000;
      while (sender.pendingMessages().length > 0 && performance.now() < settle) await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    await pair.close();
  }
  const roomMs = median(room);
  const rawMs = median(raw.map((r) => r.ms));
  const mbps = (ms: number) => SIZE / 1e6 / (ms / 1000);
  ctx.log(`1 MiB: room ${fmt(roomMs, 1)} ms (${fmt(mbps(roomMs), 1)} MB/s), raw ${fmt(rawMs, 1)} ms`);
  return {
    id: 'large',
    title: 'Large message (1 MiB snippet)',
    method: `A 1 MiB snippet (code of 79-character lines) from Room.send() to the receiver's \`message\` event, two Room hosts in one process on loopback, median of ${runs} runs; the ratio compares process CPU time, which other load on the shared cores disturbs less than wall-clock time. Reference: the same bytes blasted as ${CHUNK}-byte datagrams from one raw socket to another (receive buffer raised so none is lost), clock stopped at the last byte.`,
    rows: [
      {
        what: '1 MiB snippet: Room.send → delivered; process CPU (both ends)',
        figure: `${fmt(roomMs, 1)} ms (${fmt(mbps(roomMs), 1)} MB/s); CPU ${fmt(median(roomCpu), 1)} ms`,
        reference: `raw blast ${us(rawMs)} (${fmt(mbps(rawMs), 0)} MB/s); CPU ${us(median(raw.map((r) => r.cpuMs)))}`,
        ratio: median(roomCpu) / median(raw.map((r) => r.cpuMs)),
        ratioNote: '× raw CPU',
      },
    ],
    details: [
      `- Room runs, ms: ${room.map((x) => fmt(x, 1)).join(', ')}; process CPU during each (both ends), ms: ${roomCpu.map((x) => fmt(x, 1)).join(', ')} (median ${fmt(median(roomCpu), 1)} ms: the transfer is ${median(roomCpu) >= 0.8 * roomMs ? 'CPU-bound' : 'partly waiting'}).`,
      `- Raw blast runs, ms: ${raw.map((x) => `${fmt(x.ms, 2)}${x.lost ? ` (${x.lost} lost)` : ''}`).join(', ')}; CPU, ms: ${raw.map((x) => fmt(x.cpuMs, 1)).join(', ')}. Wall-clock time ratio: ${fmt(roomMs / rawMs, 1)}×.`,
    ],
    raw: { roomMs: room, roomCpuMs: roomCpu, raw },
  };
}
