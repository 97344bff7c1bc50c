// The least a Node process can spend moving a file over an encrypted UDP path on loopback: the work our
// transfer protocol requires of every byte and nothing else. The sender hashes the file once (SHA-256,
// as the manifest needs), then reads it in 256 KiB blocks and seals each piece into its own datagram
// (one ChaCha20-Poly1305 cipher object per datagram, as node:crypto requires) sent as header, ciphertext
// and tag without concatenating them; the receiver opens each datagram, hashes it (the running SHA-256
// its checks need) and writes it at its offset. No framing, acknowledgements, loss recovery, congestion
// control, resume state or event-loop fairness: those are what the real transfer adds. Both ends in one
// process, like the files benchmark, so the CPU time is comparable.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import * as dgram from 'node:dgram';
import { closeSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';

export async function nodePipeline(file: string, size: number, pieceBytes: number, outFile: string): Promise<{ bytesPerCpuSecond: number; wallMs: number }> {
  const key = randomBytes(32);
  const a = dgram.createSocket('udp4');
  const b = dgram.createSocket('udp4');
  await new Promise<void>((r) => b.bind(0, '127.0.0.1', r));
  await new Promise<void>((r) => a.bind(0, '127.0.0.1', r));
  for (const set of [() => b.setRecvBufferSize(8 << 20), () => a.setSendBufferSize(8 << 20)]) {
    try {
      set();
    } catch {
      // the window below keeps the buffer from overflowing anyway
    }
  }
  const port = b.address().port;
  const out = openSync(outFile, 'w');
  const src = openSync(file, 'r');
  const received = createHash('sha256');
  let got = 0;
  let inflight = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  try {
    const manifest = createHash('sha256');
    const block = Buffer.allocUnsafe(1 << 20);
    for (let off = 0; off < size; ) {
      const n = readSync(src, block, 0, Math.min(block.length, size - off), off);
      if (n <= 0) break;
      manifest.update(block.subarray(0, n));
      off += n;
    }
    manifest.digest();
    const done = new Promise<void>((resolve) => {
      b.on('message', (m) => {
        const nonce = Buffer.alloc(12);
        m.copy(nonce, 4, 0, 8);
        const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
        d.setAuthTag(m.subarray(m.length - 16));
        const plain = d.update(m.subarray(16, m.length - 16));
        d.final();
        received.update(plain);
        writeSync(out, plain, 0, plain.length, Number(m.readBigUInt64BE(8)));
        got += plain.length;
        inflight--;
        if (got >= size) resolve();
      });
    });
    let off = 0;
    let counter = 0n;
    let read = Buffer.alloc(0);
    let readAt = 0;
    const pump = () => {
      while (off < size && inflight < 32) {
        const len = Math.min(pieceBytes, size - off);
        if (off + len > readAt + read.length) {
          read = Buffer.allocUnsafe(Math.min(256 * 1024, size - off));
          readSync(src, read, 0, read.length, off);
          readAt = off;
        }
        const head = Buffer.allocUnsafe(16);
        head.writeBigUInt64BE(counter, 0);
        head.writeBigUInt64BE(BigInt(off), 8);
        const nonce = Buffer.alloc(12);
        head.copy(nonce, 4, 0, 8);
        const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
        const body = c.update(read.subarray(off - readAt, off - readAt + len));
        c.final();
        a.send([head, body, c.getAuthTag()], port, '127.0.0.1');
        counter++;
        off += len;
        inflight++;
      }
      if (off < size) setImmediate(pump);
    };
    pump();
    let timer: NodeJS.Timeout | undefined;
    // Loopback with an 8 MiB buffer and 32 datagrams in flight does not drop; if it ever did, say so rather than hang.
    await Promise.race([done, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`node pipeline: ${got} of ${size} bytes arrived (a datagram was dropped)`)), 120_000)))]);
    clearTimeout(timer);
    received.digest();
  } finally {
    closeSync(out);
    closeSync(src);
    a.close();
    b.close();
    unlinkSync(outFile);
  }
  const c = process.cpuUsage(c0);
  return { bytesPerCpuSecond: size / ((c.user + c.system) / 1e6), wallMs: performance.now() - t0 };
}
