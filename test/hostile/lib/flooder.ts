// A flood from another thread, as it would come from another host: sent from the victim's own event
// loop it would only measure how fast that loop both sends and receives. Bounded in count and time.
import { Worker } from 'node:worker_threads';

export interface FloodJob {
  port: number;
  pool: Buffer[];
  total: number;
}

export interface FloodResult {
  sent: number;
  sentBytes: number;
  /** Bytes that came back to the flooding sockets: the victims' answers to the flood. */
  backBytes: number;
  backDatagrams: number;
  ms: number;
}

const SOURCE = `
const dgram = require('node:dgram');
const { parentPort, workerData } = require('node:worker_threads');
const { jobs, perTick, tickMs, deadlineMs } = workerData;
(async () => {
  const open = () => new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.on('error', () => {});
    s.bind(0, '127.0.0.1', () => resolve(s));
  });
  const socks = [];
  for (let i = 0; i < jobs.length * 2; i++) socks.push(await open());
  let backBytes = 0, backDatagrams = 0;
  for (const s of socks) s.on('message', (b) => { backBytes += b.length; backDatagrams++; });
  parentPort.postMessage({ type: 'started' });
  const t0 = performance.now();
  let sent = 0, sentBytes = 0;
  const done = jobs.map(() => 0);
  let left = jobs.reduce((n, j) => n + j.total, 0);
  while (left > 0 && performance.now() - t0 < deadlineMs) {
    for (let j = 0; j < jobs.length; j++) {
      const job = jobs[j];
      for (let k = 0; k < perTick && done[j] < job.total; k++) {
        const d = job.pool[done[j] % job.pool.length];
        socks[j * 2 + (done[j] & 1)].send(d, job.port, '127.0.0.1');
        done[j]++; sent++; left--; sentBytes += d.length;
      }
    }
    await new Promise((r) => setTimeout(r, tickMs));
  }
  const ms = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 300));
  for (const s of socks) s.close();
  parentPort.postMessage({ type: 'done', sent, sentBytes, backBytes, backDatagrams, ms });
})();
`;

export interface Flood {
  started: Promise<void>;
  done: Promise<FloodResult>;
  finished(): boolean;
  stop(): Promise<void>;
}

export function flood(jobs: FloodJob[], o: { perTick: number; tickMs: number; deadlineMs: number }): Flood {
  const worker = new Worker(SOURCE, { eval: true, workerData: { jobs, ...o } });
  let finished = false;
  let onStarted!: () => void;
  const started = new Promise<void>((r) => (onStarted = r));
  const done = new Promise<FloodResult>((resolve, reject) => {
    worker.on('message', (m: { type: string } & FloodResult) => {
      if (m.type === 'started') onStarted();
      else {
        finished = true;
        resolve(m);
      }
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (!finished) reject(new Error(`flooder exited with ${code}`));
    });
  });
  done.catch(() => undefined);
  return {
    started,
    done,
    finished: () => finished,
    stop: async () => {
      await worker.terminate();
    },
  };
}
