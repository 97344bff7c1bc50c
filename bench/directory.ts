// Directory throughput: what one server core spends on lookups and sign-ups, in-process (the same
// code path the server runs after the cookie: decode, Directory.handle, encode), with the memory store
// and with the crash-safe file store (fdatasync before each answer, group commit under concurrency).
// References from the same run: Ed25519 verifications per CPU-second (the floor a sign-up pays) and
// sequential fdatasync'd appends per second (what the file store pays without group commit).
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keyPairFromPrivate } from '../extension/core/noise';
import { signRecord } from '../extension/core/account/record';
import { signingKeyFromSeed, verify } from '../extension/core/account/signing';
import { decodeDirectory, DirectoryRequestMessage, encodeDirectory } from '../extension/core/wire/directory';
import { Directory } from '../rendezvous/directory';
import { FileStore } from '../rendezvous/store/fileStore';
import { MemoryStore } from '../rendezvous/store/memoryStore';
import type { Store } from '../rendezvous/store/store';
import * as dgram from 'node:dgram';
import { directoryCall } from '../extension/core/net/directoryCall';
import { bundle } from './lib/bundle';
import { cpuSeconds as processCpuSeconds, startChild } from './lib/proc';
import { RENDEZVOUS_BENCH_FLAGS } from './lib/servers';
import { fmt, sleep } from './lib/stats';
import type { BenchContext, BenchResult } from './lib/types';

const cpuSeconds = (start: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1e6;
};

function claims(n: number, offset: number): Buffer[] {
  const x = keyPairFromPrivate(Buffer.alloc(32, 7)).publicKey;
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const seed = Buffer.alloc(32);
    seed.writeUInt32BE(i + offset, 0);
    seed[31] = 1;
    const k = signingKeyFromSeed(seed);
    const record = signRecord({ version: 1n, handle: `user${i + offset}`, displayName: `User ${i}`, signingKey: k.publicKey, staticKey: x, requestToken: Buffer.alloc(16) }, k).bytes;
    out.push(encodeDirectory({ type: 'accountClaim', cookie: Buffer.alloc(16), requestId: i, record }));
  }
  return out;
}

async function serve(dir: Directory, datagrams: Buffer[], concurrency: number): Promise<{ cpu: number; wall: number; ok: number }> {
  const src = { address: '127.0.0.1', key: 1 };
  let ok = 0;
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const worker = async () => {
    while (next < datagrams.length) {
      const d = decodeDirectory(datagrams[next++]);
      if (!d.ok) throw new Error(d.error);
      const r = await dir.handle(d.value as DirectoryRequestMessage, src, 0);
      encodeDirectory(r);
      if (r.type === 'accountFound' || (r.type === 'accountResult' && r.status === 0)) ok++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { cpu: cpuSeconds(cpu0), wall: (performance.now() - t0) / 1000, ok };
}

/**
 * The rendezvous process over loopback UDP: `accounts` sign-ups, then closed-loop lookups (with a valid
 * cookie) from 8 sockets, 32 in flight each, for `seconds`; answers per CPU-second of the server process.
 */
async function overUdp(ctx: BenchContext, seconds: number): Promise<{ lookupsPerCpu: number; answers: number; serverCpu: number; signupsPerCpu: number }> {
  const dataDir = fs.mkdtempSync(join(tmpdir(), 'p2p-bench-udp-'));
  const child = startChild(process.execPath, [
    bundle('rendezvous/cli.ts'), '--port', '0', '--host', '127.0.0.1', ...RENDEZVOUS_BENCH_FLAGS,
    '--data-dir', join(dataDir, 'store'), '--lookup-rate', '100000000', '--signup-rate', '1000000',
  ]);
  try {
    const listening = await child.waitFor((m) => m.event === 'listening', 20_000);
    const port = listening.port as number;
    const accounts = 200;
    const x = keyPairFromPrivate(Buffer.alloc(32, 7)).publicKey;
    const cpuA = processCpuSeconds(child.pid);
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        for (let i = w; i < accounts; i += 8) {
          const seed = Buffer.alloc(32, 3);
          seed.writeUInt32BE(i, 0);
          const k = signingKeyFromSeed(seed);
          const record = signRecord({ version: 1n, handle: `udp${i}`, displayName: 'U', signingKey: k.publicKey, staticKey: x, requestToken: Buffer.alloc(16) }, k);
          const r = await directoryCall({ host: '127.0.0.1', port }, { kind: 'claim', record }, { timeoutMs: 10_000 });
          if (!r.outcome.ok) throw new Error(`sign-up over UDP failed: ${r.outcome.message}`);
        }
      }),
    );
    const signupCpu = processCpuSeconds(child.pid) - cpuA;
    const socks = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const s = dgram.createSocket('udp4');
        await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
        return s;
      }),
    );
    let answers = 0;
    let counting = false;
    let stop = false;
    try {
      await Promise.all(
        socks.map(
          (s, w) =>
            new Promise<void>((resolve) => {
              let cookie = Buffer.alloc(16);
              let id = 0;
              const send = () => s.send(encodeDirectory({ type: 'accountLookup', cookie, requestId: id++, handle: `udp${(w * 31 + id) % accounts}` }), port, '127.0.0.1');
              s.on('message', (m) => {
                if (m[2] === 0x02) {
                  cookie = Buffer.from(m.subarray(3, 19));
                  for (let i = 0; i < 32; i++) send();
                  return resolve();
                }
                if (m[2] === 0x26 && counting) answers++;
                if (!stop) send();
              });
              send();
            }),
        ),
      );
      await sleep(300); // warm-up
      const cpu0 = processCpuSeconds(child.pid);
      counting = true;
      await sleep(seconds * 1000);
      counting = false;
      const serverCpu = processCpuSeconds(child.pid) - cpu0;
      stop = true;
      ctx.log(`over UDP: ${fmt(answers)} lookups answered in ${seconds} s, server CPU ${serverCpu.toFixed(2)} s`);
      return { lookupsPerCpu: answers / serverCpu, answers, serverCpu, signupsPerCpu: accounts / signupCpu };
    } finally {
      socks.forEach((s) => s.close());
    }
  } finally {
    await child.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

const open = (store: Store) => Directory.open(store, { maxAccounts: 10_000_000, signupRate: { perSecond: 1e9, burst: 1e9 }, lookupRate: { perSecond: 1e9, burst: 1e9 } });

export async function directoryBench(ctx: BenchContext): Promise<BenchResult> {
  const n = ctx.quick ? 2_000 : 20_000;
  ctx.log(`signing ${fmt(n)} records…`);
  const signups = claims(n, 0);

  // Reference: raw Ed25519 verification, the unavoidable cost of a sign-up.
  const rec = signRecord({ version: 1n, handle: 'ref', displayName: '', signingKey: signingKeyFromSeed(Buffer.alloc(32, 1)).publicKey, staticKey: Buffer.alloc(32, 9), requestToken: Buffer.alloc(16) }, signingKeyFromSeed(Buffer.alloc(32, 1)));
  const msg = Buffer.concat([Buffer.from('p2p-chat account record v1\0'), rec.bytes.subarray(0, rec.bytes.length - 64)]);
  const v0 = process.cpuUsage();
  for (let i = 0; i < n; i++) verify(rec.signingKey, msg, rec.signature);
  const verifyPerCpu = n / cpuSeconds(v0);

  const mem = await open(new MemoryStore());
  const s1 = await serve(mem, signups, 1);
  if (s1.ok !== n) throw new Error(`only ${s1.ok} of ${n} sign-ups succeeded`);
  const lookups = Array.from({ length: n * 5 }, (_, i) => encodeDirectory({ type: 'accountLookup', cookie: Buffer.alloc(16), requestId: i, handle: `user${i % n}` }));
  const l1 = await serve(mem, lookups, 1);
  if (l1.ok !== lookups.length) throw new Error('lookups failed');

  // File store: sign-ups with fsync, 64 in flight (group commit), then lookups (served from memory).
  const dirPath = fs.mkdtempSync(join(tmpdir(), 'p2p-bench-dir-'));
  let f1: { cpu: number; wall: number; ok: number };
  let fl: { cpu: number; wall: number; ok: number };
  let fsyncPerSecond = 0;
  let fileLookups: Buffer[] = [];
  const fileN = ctx.quick ? 1_000 : 5_000;
  try {
    const store = await FileStore.open(join(dirPath, 'store'));
    const fdir = await open(store);
    f1 = await serve(fdir, signups.slice(0, fileN), 64);
    fileLookups = lookups.filter((_, i) => i % n < fileN);
    fl = await serve(fdir, fileLookups, 1);
    if (fl.ok !== fileLookups.length) throw new Error('file-store lookups failed');
    await store.close();
    // Reference: sequential appends of a sign-up-sized frame, each fdatasync'd.
    const fd = fs.openSync(join(dirPath, 'ref.log'), 'a');
    const frame = Buffer.alloc(260, 1);
    const m = ctx.quick ? 100 : 500;
    const t0 = performance.now();
    for (let i = 0; i < m; i++) {
      fs.writeSync(fd, frame);
      fs.fdatasyncSync(fd);
    }
    fsyncPerSecond = m / ((performance.now() - t0) / 1000);
    fs.closeSync(fd);
  } finally {
    fs.rmSync(dirPath, { recursive: true, force: true });
  }
  const udp = await overUdp(ctx, ctx.quick ? 2 : 5);
  const signupPerCpu = n / s1.cpu;
  const lookupPerCpu = lookups.length / l1.cpu;
  const fileSignupPerSecond = fileN / f1.wall;
  ctx.log(`memory: ${fmt(signupPerCpu)} sign-ups/CPU-s, ${fmt(lookupPerCpu)} lookups/CPU-s; Ed25519 verify ${fmt(verifyPerCpu)}/CPU-s; file: ${fmt(fileSignupPerSecond)} sign-ups/s (fsync ${fmt(fsyncPerSecond)}/s)`);
  return {
    id: 'directory',
    title: 'Directory lookups and sign-ups',
    method: `The rendezvous process (bundled, --data-dir) over loopback UDP: 200 sign-ups through directoryCall, then lookups with a valid cookie from 8 sockets, 32 in flight each; CPU of the server process from /proc. Then in-process, the server's path after the cookie (decode, Directory.handle, encode): ${fmt(n)} distinct sign-ups then ${fmt(lookups.length)} lookups against the memory store, one at a time; then ${fmt(fileN)} sign-ups against the file store with 64 in flight (each answer waits for its fdatasync; group commit) and lookups. CPU-seconds from process.cpuUsage. References in the same run: Ed25519 verifications per CPU-second, and sequential 260-byte appends each followed by fdatasync.`,
    rows: [
      {
        what: 'directory lookups answered per server CPU-second (rendezvous process, loopback UDP, file store)',
        figure: fmt(udp.lookupsPerCpu),
        reference: `${fmt(lookupPerCpu)} in-process (no sockets)`,
        ratio: udp.lookupsPerCpu / lookupPerCpu,
        ratioNote: 'of the in-process figure',
      },
      { what: 'durable sign-ups per server CPU-second (rendezvous process over UDP, cookie round trip, fsync each)', figure: fmt(udp.signupsPerCpu), reference: '—' },
      { what: 'directory lookups per CPU-second, in-process (decode, Directory.handle, encode)', figure: fmt(lookupPerCpu), reference: '—' },
      {
        what: 'directory sign-ups per CPU-second (memory store)',
        figure: fmt(signupPerCpu),
        reference: `${fmt(verifyPerCpu)} Ed25519 verifies/CPU-s`,
        ratio: signupPerCpu / verifyPerCpu,
        ratioNote: 'of the bare signature check',
      },
      {
        what: 'durable sign-ups per second (file store, fsync before each answer, 64 in flight)',
        figure: fmt(fileSignupPerSecond),
        reference: `${fmt(fsyncPerSecond)} sequential fsync'd appends/s`,
        ratio: fileSignupPerSecond / fsyncPerSecond,
        ratioNote: '× sequential (group commit)',
      },
    ],
    details: [
      `File store: ${fmt(fileN / f1.cpu)} sign-ups per CPU-second; lookups ${fmt(fileLookups.length / fl.cpu)} per CPU-second.`,
    ],
    raw: { udp, n, signupPerCpu, lookupPerCpu, verifyPerCpu, fileSignupPerSecond, fsyncPerSecond, fileSignupPerCpu: fileN / f1.cpu },
  };
}
