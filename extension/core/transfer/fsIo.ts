// The disk side of file transfers (the I/O shell; the decisions are in manager.ts): partial files in
// the folder the user chose, named `.NAME.ID.part` until the whole file is verified, then renamed to
// a free name; resume state as one small JSON file per transfer, replaced atomically.
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, statfsSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import * as path from 'node:path';
import type { PartFile } from './incoming';
import { chunkSizeFor, ManifestBuilder, type Manifest } from './manifest';
import type { StoredTransfer, TransferIo } from './manager';
import { insideFolder, safeFileName, uniqueName } from './names';

const SOURCE_BLOCK = 1024 * 1024;
const READ_BLOCK = 256 * 1024;

export class FsTransferIo implements TransferIo {
  private readonly fds = new Map<string, number>();

  constructor(private readonly stateDir: string) {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  }

  load(): StoredTransfer[] {
    const out: StoredTransfer[] = [];
    for (const f of readdirSync(this.stateDir)) {
      if (!f.endsWith('.json')) continue;
      try {
        out.push(JSON.parse(readFileSync(path.join(this.stateDir, f), 'utf8')) as StoredTransfer);
      } catch {
        // a torn or foreign file: ignore it
      }
    }
    return out;
  }

  save(key: string, value: StoredTransfer | undefined): void {
    const file = path.join(this.stateDir, `${key.replace(/[^a-z0-9-]/gi, '_')}.json`);
    if (value === undefined) {
      if (existsSync(file)) unlinkSync(file);
      return;
    }
    writeFileSync(`${file}.tmp`, JSON.stringify(value));
    renameSync(`${file}.tmp`, file);
  }

  private part(partPath: string, create: boolean): PartFile | undefined {
    let fd = this.fds.get(partPath);
    if (fd === undefined) {
      if (!create && !existsSync(partPath)) return undefined;
      fd = openSync(partPath, existsSync(partPath) ? 'r+' : 'w+', 0o600);
      this.fds.set(partPath, fd);
    }
    const f = fd;
    return {
      write: (offset, data) => {
        let done = 0;
        while (done < data.length) done += writeSync(f, data, done, data.length - done, offset + done);
      },
      read: (offset, length) => {
        const b = Buffer.alloc(length);
        let got = 0;
        while (got < length) {
          const n = readSync(f, b, got, length - got, offset + got);
          if (n === 0) break;
          got += n;
        }
        return b;
      },
    };
  }

  createPart(dir: string, idHex: string, safeName: string): { part: PartFile; partPath: string } {
    mkdirSync(dir, { recursive: true });
    const partPath = insideFolder(dir, `.${safeName.slice(0, 180)}.${idHex}.part`);
    return { part: this.part(partPath, true)!, partPath };
  }

  reopenPart(partPath: string): PartFile | undefined {
    return this.part(partPath, false);
  }

  freeBytes(dir: string): number | undefined {
    try {
      mkdirSync(dir, { recursive: true });
      const s = statfsSync(dir);
      return Number(s.bavail) * Number(s.bsize);
    } catch {
      return undefined;
    }
  }

  private close(partPath: string): void {
    const fd = this.fds.get(partPath);
    if (fd !== undefined) closeSync(fd);
    this.fds.delete(partPath);
  }

  complete(partPath: string, dir: string, safeName: string): string {
    this.close(partPath);
    const name = uniqueName(safeName, (c) => existsSync(path.join(dir, c)));
    const final = insideFolder(dir, name);
    renameSync(partPath, final);
    return final;
  }

  discard(partPath: string): void {
    this.close(partPath);
    try {
      unlinkSync(partPath);
    } catch {
      // already gone
    }
  }

  openSource(file: string, size: number, mtimeMs: number): ((offset: number, length: number) => Buffer) | undefined {
    try {
      const st = statSync(file);
      if (st.size !== size || Math.trunc(st.mtimeMs) !== Math.trunc(mtimeMs)) return undefined;
      return sourceReader(file);
    } catch {
      return undefined;
    }
  }
}

/** Sources that handed out blocks since the last recycleSourceBlocks(). */
const dirtySources = new Set<SourceBlocks>();
/** Closes a source's file once no transfer holds its reader any more (they drop it when they end). */
const closeWhenGone = new FinalizationRegistry<number>((fd) => {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
});

/** The blocks of one source file: the current one, the ones handed out since the last recycle, and spares. */
class SourceBlocks {
  /** The current block's whole buffer, and the part of it the last read filled. */
  whole: Buffer = Buffer.alloc(0);
  block: Buffer = Buffer.alloc(0);
  blockAt = -1;
  handedOut: Buffer[] = [];
  spare: Buffer[] = [];

  recycle(): void {
    for (const b of this.handedOut) if (this.spare.length < 4 && b.length === READ_BLOCK) this.spare.push(b);
    this.handedOut = [];
  }
}

/**
 * The end of a turn in which file pieces were read and sealed: every piece handed out since the last call
 * is now ciphertext in a datagram, so the read blocks behind them can be filled again. Only the transfer
 * host calls this, after its flush has sealed what the manager's poll produced; without it, blocks are
 * simply never reused (one 256 KiB buffer per block for the collector, as before).
 */
export function recycleSourceBlocks(): void {
  for (const s of dirtySources) s.recycle();
  dirtySources.clear();
}

/**
 * Reads a file in 256 KiB blocks; pieces are slices of the block (no copy per piece). Not larger: the
 * read is one task on the event loop, and a chat message arriving meanwhile waits for it. A block is
 * refilled only after recycleSourceBlocks() says the slices taken from it were sealed.
 */
export function sourceReader(file: string): (offset: number, length: number) => Buffer {
  const fd = openSync(file, 'r');
  const size = fstatSync(fd).size;
  const s = new SourceBlocks();
  const read = (offset: number, length: number): Buffer => {
    if (s.blockAt < 0 || offset < s.blockAt || offset + length > s.blockAt + s.block.length) {
      if (s.whole.length > 0) s.handedOut.push(s.whole);
      s.blockAt = offset;
      const n = Math.max(0, Math.min(Math.max(READ_BLOCK, length), size - offset));
      const whole = n <= READ_BLOCK ? (s.spare.pop() ?? Buffer.allocUnsafe(READ_BLOCK)) : Buffer.allocUnsafe(n);
      let got = 0;
      while (got < n) {
        const r = readSync(fd, whole, got, n - got, offset + got);
        if (r === 0) break;
        got += r;
      }
      s.whole = whole;
      s.block = whole.subarray(0, got);
    }
    // The current block is handed out too: it is refilled only when a later read moves past it.
    dirtySources.add(s);
    return s.block.subarray(offset - s.blockAt, offset - s.blockAt + length);
  };
  closeWhenGone.register(read, fd);
  return read;
}

const MIME: Record<string, string> = {
  '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.gif': 'image/gif', '.webp': 'image/webp',
  '.txt': 'text/plain', '.log': 'text/plain', '.md': 'text/markdown', '.json': 'application/json',
  '.patch': 'text/x-diff', '.diff': 'text/x-diff', '.zip': 'application/zip', '.gz': 'application/gzip',
  '.tar': 'application/x-tar', '.pdf': 'application/pdf', '.csv': 'text/csv', '.html': 'text/html',
};

export function mimeFor(file: string): string {
  return MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

export interface PreparedFile {
  path: string;
  name: string;
  mime: string;
  mtimeMs: number;
  manifest: Manifest;
  read: (offset: number, length: number) => Buffer;
}

/**
 * Reads the file once to build its manifest; the file is read again as pieces are sent. Asynchronous reads
 * into one reused buffer: the event loop stays free between blocks, and a 2 GiB file does not become 2 GiB
 * of buffers for the collector (as a read stream's fresh block per read would).
 */
export async function prepareFile(file: string): Promise<PreparedFile> {
  const st = statSync(file);
  if (!st.isFile()) throw new Error(`${file} is not a file`);
  const b = new ManifestBuilder(chunkSizeFor(st.size));
  const fh = await open(file, 'r');
  try {
    const block = Buffer.allocUnsafe(SOURCE_BLOCK);
    for (let at = 0; ; ) {
      const { bytesRead } = await fh.read(block, 0, block.length, at);
      if (bytesRead === 0) break;
      b.update(block.subarray(0, bytesRead));
      at += bytesRead;
    }
  } finally {
    await fh.close();
  }
  const manifest = b.finish();
  if (manifest.size !== st.size) throw new Error(`${file} changed while it was read`);
  return { path: path.resolve(file), name: safeFileName(path.basename(file)), mime: mimeFor(file), mtimeMs: st.mtimeMs, manifest, read: sourceReader(file) };
}
