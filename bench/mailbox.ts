// The blind mailbox: deposits and fetches answered per CPU-second of the rendezvous process (with its
// crash-safe file store under --data-dir: fsync before every acknowledgement; the same server with the
// in-memory store is the same-run reference), and the bytes the store keeps per 100-byte message.
import * as dgram from 'node:dgram';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { bundle } from './lib/bundle';
import { cpuSeconds, startChild } from './lib/proc';
import { RENDEZVOUS_BENCH_FLAGS } from './lib/servers';
import { fmt, sleep } from './lib/stats';
import type { BenchContext, BenchResult } from './lib/types';
import { deriveRoomKeys } from '../extension/core/noise';
import { MailboxKeys, roomMailboxKeys, signRequest } from '../extension/core/mailbox/keys';
import { chatRecords, encodeContent, seal } from '../extension/core/mailbox/envelope';
import { encodeChat } from '../extension/core/room/appMessages';
import { decodeMailbox, encodeUnsignedRequest, UnsignedRequest } from '../extension/core/wire/mailbox';
import { decodeRendezvous } from '../extension/core/wire/rendezvous';
import { MailboxService } from '../rendezvous/mailbox';
import { FileStore } from '../rendezvous/store/fileStore';

const MAILBOX_FLAGS = ['--mailbox-rate', '1000000', '--mailbox-burst', '1000000', '--mailbox-max-items', '10000000', '--mailbox-max-bytes', '10000000000'];

interface Load {
  ops: number;
  cpu: number;
  wall: number;
}

async function cookieFor(sock: dgram.Socket, port: number, k: MailboxKeys): Promise<Buffer> {
  const probe = build(k, Buffer.alloc(16), { type: 'fetch', after: 0n });
  return new Promise((resolve) => {
    const retry = setInterval(() => sock.send(probe, port, '127.0.0.1'), 200);
    sock.once('message', (m) => {
      clearInterval(retry);
      const d = decodeRendezvous(m);
      resolve(d.ok && d.value.type === 'cookie' ? d.value.cookie : Buffer.alloc(16));
    });
    sock.send(probe, port, '127.0.0.1');
  });
}

function build(k: MailboxKeys, cookie: Buffer, body: { type: 'deposit'; envelope: Buffer } | { type: 'fetch'; after: bigint }): Buffer {
  const unsigned = { ...body, mailboxId: k.mailboxId, key: k.publicKey, cookie, nonce: randomBytes(8) } as UnsignedRequest;
  const head = encodeUnsignedRequest(unsigned);
  return Buffer.concat([head, signRequest(k.signing, head)]);
}

/** One server process: deposits, then fetches, from `sockets` sockets whose source ports are fixed. */
async function measure(ctx: BenchContext, dataDir: string | undefined, n: number): Promise<{ deposit: Load; fetch: Load; sample: number }> {
  const args = [bundle('rendezvous/cli.ts'), '--port', '0', '--host', '127.0.0.1', ...RENDEZVOUS_BENCH_FLAGS, ...MAILBOX_FLAGS, ...(dataDir ? ['--data-dir', dataDir] : [])];
  const server = startChild(process.execPath, args);
  try {
    const listening = await server.waitFor((m) => m.event === 'listening', 20_000);
    const port = listening.port as number;
    const sockets = 4;
    const keys = roomMailboxKeys(deriveRoomKeys(randomBytes(16)).psk, 20000);
    const room = roomMailboxKeys(deriveRoomKeys(randomBytes(16)).psk, 20000);
    // Envelopes as a 100-character message seals to (the storage row measures that exactly).
    const chat = encodeChat({ epoch: 1, seq: 1, sentAt: Date.now(), body: { kind: 'text', text: 'x'.repeat(100) } });
    const env = seal(room.sealKey, room.mailboxId, encodeContent({ sender: randomBytes(32), name: 'Bench', records: chatRecords(chat, 1, 1, 'Bench', 1024) }));
    // Cookies are per source endpoint: each measured socket fetches its own, then all requests are signed up front
    // (client CPU, outside the window).
    const socks = Array.from({ length: sockets }, () => dgram.createSocket('udp4'));
    await Promise.all(socks.map((s) => new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()))));
    const cookies = await Promise.all(socks.map((s) => cookieFor(s, port, keys)));
    const per = Math.ceil(n / sockets);
    const deposits = cookies.map((c) => Array.from({ length: per }, () => build(keys, c, { type: 'deposit', envelope: env })));
    const fetches = cookies.map((c) => Array.from({ length: per }, () => build(keys, c, { type: 'fetch', after: BigInt(Math.floor(Math.random() * per * sockets)) })));
    // The measured sockets must be the ones the cookies were issued to: reuse them.
    const run = async (reqs: Buffer[][]): Promise<Load> => {
      let done = 0;
      const total = reqs.reduce((a, r) => a + r.length, 0);
      let sample = 0;
      const cpu0 = cpuSeconds(server.pid);
      const t0 = performance.now();
      await new Promise<void>((resolve) => {
        socks.forEach((s, i) => {
          const q = reqs[i];
          let next = 0;
          const send = () => {
            if (next < q.length) s.send(q[next++], port, '127.0.0.1');
          };
          s.removeAllListeners('message');
          s.on('message', (m) => {
            const d = decodeMailbox(m);
            if (d.ok && (d.value.type === 'depositAck' || d.value.type === 'items')) sample++;
            if (++done === total) resolve();
            send();
          });
          for (let k = 0; k < 16; k++) send();
        });
      });
      const load = { ops: sample, cpu: cpuSeconds(server.pid) - cpu0, wall: (performance.now() - t0) / 1000 };
      return load;
    };
    await sleep(200);
    const deposit = await run(deposits);
    const fetch = await run(fetches);
    for (const s of socks) s.close();
    ctx.log(`${dataDir ? 'file store' : 'memory store'}: ${fmt(deposit.ops)} deposits in ${deposit.wall.toFixed(2)} s (${deposit.cpu.toFixed(2)} CPU-s), ${fmt(fetch.ops)} fetches in ${fetch.wall.toFixed(2)} s (${fetch.cpu.toFixed(2)} CPU-s)`);
    return { deposit, fetch, sample: env.length };
  } finally {
    await server.stop();
  }
}

/** Bytes on disk per message: 1,000 sealed 100-character messages through the service into a FileStore. */
async function storageBytes(): Promise<{ perMessage: number; envelope: number; files: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'p2p-bench-mailbox-'));
  try {
    const store = await FileStore.open(dir);
    const svc = new MailboxService(store, { rate: { perSecond: 1e9, burst: 1e9 } });
    const k = roomMailboxKeys(deriveRoomKeys(randomBytes(16)).psk, 20000);
    const sender = randomBytes(32);
    let envelope = 0;
    for (let i = 0; i < 1000; i++) {
      const chat = encodeChat({ epoch: 7, seq: i + 1, sentAt: Date.now(), body: { kind: 'text', text: randomBytes(50).toString('hex') } });
      const env = seal(k.sealKey, k.mailboxId, encodeContent({ sender, name: 'Ada Lovelace', records: chatRecords(chat, 7, i + 1, 'Ada Lovelace', 1024) }));
      envelope = env.length;
      const unsigned: UnsignedRequest = { type: 'deposit', mailboxId: k.mailboxId, key: k.publicKey, cookie: Buffer.alloc(16), nonce: randomBytes(8), envelope: env };
      const head = encodeUnsignedRequest(unsigned);
      const sig = signRequest(k.signing, head);
      const r = await svc.handle({ ...unsigned, sig }, head, 'bench', i, Date.now());
      if (!r || decodeMailbox(r).ok === false) throw new Error('deposit failed');
    }
    await store.close();
    const files = readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
    return { perMessage: files / 1000, envelope, files };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function mailbox(ctx: BenchContext): Promise<BenchResult> {
  const n = ctx.quick ? 2000 : 20_000;
  const dir = mkdtempSync(join(tmpdir(), 'p2p-bench-mailbox-'));
  let file;
  let memory;
  try {
    memory = await measure(ctx, undefined, n);
    file = await measure(ctx, dir, n);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const storage = await storageBytes();
  const per = (l: Load) => l.ops / Math.max(l.cpu, 1e-3);
  return {
    id: 'mailbox',
    title: 'Mailbox deposits and fetches per CPU-second',
    method: `The rendezvous process (bundled from source, rate limits and quotas opened wide) answering ${fmt(n)} signed, cookie-verified deposits of one sealed 100-character message (${memory.sample}-byte envelope) from 4 sockets with 16 requests outstanding each, then as many fetches from random cursors (each answer: as many envelopes as fit 1,200 bytes); its CPU time (/proc/<pid>/stat) over each phase. Once with --data-dir (FileStore: append + fsync before each acknowledgement), once with the in-memory store (the same-run reference). Storage: 1,000 sealed 100-character messages deposited through MailboxService into a FileStore, the directory's size after close.`,
    rows: [
      {
        what: 'mailbox deposits acknowledged per CPU-second (crash-safe file store, fsync before the ack)',
        figure: `${fmt(per(file.deposit))}/CPU-s`,
        reference: `in-memory store ${fmt(per(memory.deposit))}/CPU-s`,
        ratio: per(file.deposit) / per(memory.deposit),
        ratioNote: 'of the in-memory store',
      },
      {
        what: 'mailbox fetches answered per CPU-second (file store)',
        figure: `${fmt(per(file.fetch))}/CPU-s`,
        reference: `in-memory store ${fmt(per(memory.fetch))}/CPU-s`,
        ratio: per(file.fetch) / per(memory.fetch),
        ratioNote: 'of the in-memory store',
      },
      {
        what: 'mailbox storage per 100-character message (file store, on disk)',
        figure: `${fmt(storage.perMessage)} B`,
        reference: `the sealed envelope ${storage.envelope} B; plaintext 100 B`,
        ratio: storage.perMessage / 100,
        ratioNote: '× the plaintext',
      },
    ],
    details: [
      `- File store: ${fmt(file.deposit.ops)} deposits in ${file.deposit.wall.toFixed(2)} s wall, ${file.deposit.cpu.toFixed(2)} CPU-s (${fmt(file.deposit.ops / file.deposit.wall)}/s wall); ${fmt(file.fetch.ops)} fetches in ${file.fetch.wall.toFixed(2)} s wall, ${file.fetch.cpu.toFixed(2)} CPU-s.`,
      `- In-memory store: ${fmt(memory.deposit.ops)} deposits in ${memory.deposit.wall.toFixed(2)} s wall, ${memory.deposit.cpu.toFixed(2)} CPU-s; ${fmt(memory.fetch.ops)} fetches in ${memory.fetch.wall.toFixed(2)} s wall, ${memory.fetch.cpu.toFixed(2)} CPU-s.`,
      `- Storage: ${fmt(storage.files)} bytes for 1,000 messages; each envelope ${storage.envelope} B (29 B AEAD framing, 32 B sender id, the name, the chat record with its 17-byte header and JSON body).`,
    ],
    raw: { n, file, memory, storage },
  };
}
