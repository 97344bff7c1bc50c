// An in-memory disk for TransferManager unit tests: part files are Buffers, state is a Map.
import type { PartFile } from '../../extension/core/transfer/incoming';
import type { StoredTransfer, TransferIo } from '../../extension/core/transfer/manager';
import { insideFolder, uniqueName } from '../../extension/core/transfer/names';

export class MemIo implements TransferIo {
  readonly state = new Map<string, StoredTransfer>();
  readonly files = new Map<string, Buffer>();
  readonly sources = new Map<string, Buffer>();
  free = Number.MAX_SAFE_INTEGER;
  bytesWritten = 0;

  save(key: string, value: StoredTransfer | undefined): void {
    if (value) this.state.set(key, JSON.parse(JSON.stringify(value)));
    else this.state.delete(key);
  }
  private partFile(p: string): PartFile {
    return {
      write: (offset, data) => {
        let f = this.files.get(p) ?? Buffer.alloc(0);
        if (f.length < offset + data.length) f = Buffer.concat([f, Buffer.alloc(offset + data.length - f.length)]);
        data.copy(f, offset);
        this.files.set(p, f);
        this.bytesWritten += data.length;
      },
      read: (offset, length) => {
        const f = this.files.get(p) ?? Buffer.alloc(0);
        const out = Buffer.alloc(length);
        f.copy(out, 0, offset, Math.min(f.length, offset + length));
        return out;
      },
    };
  }
  createPart(dir: string, idHex: string, safeName: string) {
    const partPath = insideFolder(dir, `.${safeName}.${idHex}.part`);
    if (!this.files.has(partPath)) this.files.set(partPath, Buffer.alloc(0));
    return { part: this.partFile(partPath), partPath };
  }
  reopenPart(partPath: string) {
    return this.files.has(partPath) ? this.partFile(partPath) : undefined;
  }
  freeBytes(): number {
    return this.free;
  }
  complete(partPath: string, dir: string, safeName: string): string {
    const name = uniqueName(safeName, (c) => this.files.has(insideFolder(dir, c)));
    const final = insideFolder(dir, name);
    this.files.set(final, this.files.get(partPath) ?? Buffer.alloc(0));
    this.files.delete(partPath);
    return final;
  }
  discard(partPath: string): void {
    this.files.delete(partPath);
  }
  openSource(path: string) {
    const b = this.sources.get(path);
    return b ? (offset: number, length: number) => b.subarray(offset, offset + length) : undefined;
  }
}
