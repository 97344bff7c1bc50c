// A room's chat history on disk: one JSON record per line, appended as things happen, so a crash
// costs at most the line being written. Bounded: when the file holds too many records it is rewritten
// (atomically) with only the newest entries. Kept free of `vscode` so it is unit-tested with real files.
import { closeSync, fstatSync, ftruncateSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, writeFileSync, writeSync, appendFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DeliveryState, TranscriptBody, TranscriptEntry } from '../types';

/** History keeps transcript entries as the webview shows them. */
export type HistoryEntry = TranscriptEntry;

type HistoryRecord = { k: 'm'; e: HistoryEntry } | { k: 'd'; id: string; d: DeliveryState };

export interface HistoryOptions {
  /** Entries kept after a compaction. */
  maxEntries?: number;
  /** Records (messages and delivery updates) the file may hold before it is compacted; default 2 × maxEntries. */
  maxRecords?: number;
}

export const DEFAULT_MAX_ENTRIES = 2000;

// 'rejected' outranks 'delivered': a Reject that arrives after the ack still corrects the mark.
const DELIVERY_RANK: Record<DeliveryState, number> = { queued: 0, sent: 1, delivered: 2, rejected: 3 };

export function deliveryRank(d: DeliveryState | undefined): number {
  return d === undefined ? -1 : DELIVERY_RANK[d];
}

function isDelivery(v: unknown): v is DeliveryState {
  return v === 'queued' || v === 'sent' || v === 'delivered' || v === 'rejected';
}

function isPositiveLine(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1;
}

function validBody(v: unknown): TranscriptBody | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const b = v as Record<string, unknown>;
  if (b.kind === 'text' && typeof b.text === 'string') return { kind: 'text', text: b.text };
  if (b.kind === 'file' && typeof b.file === 'object' && b.file !== null) {
    // A file card (ui/fileCards.ts): its name was made safe before it was written, but check the shape.
    const f = b.file as Record<string, unknown>;
    if (typeof f.id !== 'string' || typeof f.name !== 'string' || typeof f.mime !== 'string') return undefined;
    if (typeof f.size !== 'number' || !Number.isFinite(f.size) || f.size < 0) return undefined;
    return { kind: 'file', file: { id: f.id, name: f.name, size: f.size, mime: f.mime } };
  }
  if (b.kind === 'snippet' && typeof b.snippet === 'object' && b.snippet !== null) {
    const s = b.snippet as Record<string, unknown>;
    if (
      typeof s.path !== 'string' ||
      typeof s.language !== 'string' ||
      typeof s.code !== 'string' ||
      !isPositiveLine(s.startLine) ||
      !isPositiveLine(s.endLine)
    ) {
      return undefined;
    }
    if (b.text !== undefined && typeof b.text !== 'string') return undefined;
    const snippet = { path: s.path, language: s.language, startLine: s.startLine, endLine: s.endLine, code: s.code };
    return b.text === undefined ? { kind: 'snippet', snippet } : { kind: 'snippet', snippet, text: b.text as string };
  }
  return undefined;
}

/** A history line is our own output, but the file may be damaged or edited: validate, never throw. */
export function decodeHistoryLine(line: string): HistoryRecord | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const r = v as Record<string, unknown>;
  if (r.k === 'd') return typeof r.id === 'string' && isDelivery(r.d) ? { k: 'd', id: r.id, d: r.d } : undefined;
  if (r.k !== 'm' || typeof r.e !== 'object' || r.e === null) return undefined;
  const e = r.e as Record<string, unknown>;
  const body = validBody(e.body);
  if (
    !body ||
    typeof e.id !== 'string' ||
    typeof e.from !== 'string' ||
    typeof e.fromName !== 'string' ||
    typeof e.own !== 'boolean' ||
    typeof e.sentAt !== 'number' ||
    !Number.isFinite(e.sentAt) ||
    (e.delivery !== undefined && !isDelivery(e.delivery))
  ) {
    return undefined;
  }
  const entry: HistoryEntry = { id: e.id, from: e.from, fromName: e.fromName, own: e.own, sentAt: e.sentAt, body };
  if (e.delivery !== undefined) entry.delivery = e.delivery as DeliveryState;
  return { k: 'm', e: entry };
}

export class HistoryStore {
  private readonly maxEntries: number;
  private readonly maxRecords: number;
  /** Records in the file, counted at load and on every append: compaction needs no re-read. */
  private records = 0;
  private loaded = false;
  /** Lines that could not be decoded at the last load (torn writes, damage). */
  skippedLines = 0;

  constructor(
    readonly file: string,
    opts: HistoryOptions = {},
  ) {
    this.maxEntries = Math.max(1, opts.maxEntries ?? DEFAULT_MAX_ENTRIES);
    this.maxRecords = Math.max(this.maxEntries + 1, opts.maxRecords ?? 2 * this.maxEntries);
  }

  /** The history in order, delivery updates folded in, at most maxEntries (the newest). */
  load(): HistoryEntry[] {
    this.loaded = true;
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      this.records = 0;
      this.skippedLines = 0;
      return [];
    }
    this.repairTornTail(text);
    const { entries, records, skipped } = fold(text);
    this.records = records;
    this.skippedLines = skipped;
    return entries.length > this.maxEntries ? entries.slice(entries.length - this.maxEntries) : entries;
  }

  append(entry: HistoryEntry): void {
    this.write({ k: 'm', e: entry });
  }

  updateDelivery(id: string, delivery: DeliveryState): void {
    this.write({ k: 'd', id, d: delivery });
  }

  /** Empties the history (the file stays, so a concurrent append cannot resurrect old lines). */
  clear(): void {
    mkdirSync(dirname(this.file), { recursive: true });
    writeFileSync(this.file, '', { mode: 0o600 });
    this.records = 0;
    this.loaded = true;
  }

  /** Deletes the file entirely. */
  remove(): void {
    rmSync(this.file, { force: true });
    this.records = 0;
  }

  get recordCount(): number {
    return this.records;
  }

  private write(record: HistoryRecord): void {
    if (!this.loaded) this.load(); // counts the records and repairs a torn tail before appending after it
    mkdirSync(dirname(this.file), { recursive: true });
    appendFileSync(this.file, JSON.stringify(record) + '\n', { mode: 0o600 });
    this.records++;
    if (this.records > this.maxRecords) this.compact();
  }

  /** Rewrites the file with the newest maxEntries entries, their delivery state folded in. */
  compact(): void {
    let text = '';
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      return;
    }
    const { entries } = fold(text);
    const keep = entries.length > this.maxEntries ? entries.slice(entries.length - this.maxEntries) : entries;
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, keep.map((e) => JSON.stringify({ k: 'm', e }) + '\n').join(''), { mode: 0o600 });
    renameSync(tmp, this.file);
    this.records = keep.length;
  }

  /**
   * A crash mid-append leaves a last line without its newline. Appending after it would glue the next
   * record onto the fragment and lose both, so the fragment is cut off first.
   */
  private repairTornTail(text: string): void {
    if (text.length === 0 || text.endsWith('\n')) return;
    const fragment = text.slice(text.lastIndexOf('\n') + 1);
    const complete = decodeHistoryLine(fragment) !== undefined; // whole record, only its newline missing
    const keepBytes = Buffer.byteLength(text.slice(0, text.lastIndexOf('\n') + 1), 'utf8');
    let fd: number | undefined;
    try {
      fd = openSync(this.file, 'r+');
      // Only cut if the file still is what we read: another writer may have completed the line meanwhile.
      const size = fstatSync(fd).size;
      if (size === Buffer.byteLength(text, 'utf8')) {
        const last = Buffer.alloc(1);
        readSync(fd, last, 0, 1, size - 1);
        if (last[0] !== 0x0a) {
          if (complete) writeSync(fd, '\n', size);
          else ftruncateSync(fd, keepBytes);
        }
      }
    } catch {
      // Read-only or vanished: loading still works, the next append may lose the fragment's neighbour.
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }
}

function fold(text: string): { entries: HistoryEntry[]; records: number; skipped: number } {
  const byId = new Map<string, HistoryEntry>();
  const order: string[] = [];
  const early = new Map<string, DeliveryState>(); // updates seen before their message (after a compaction race)
  let records = 0;
  let skipped = 0;
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (const line of lines) {
    if (line.trim() === '') continue;
    const r = decodeHistoryLine(line);
    if (!r) {
      skipped++;
      continue;
    }
    records++;
    if (r.k === 'm') {
      const prev = byId.get(r.e.id);
      const entry = { ...r.e };
      const pending = early.get(entry.id);
      const best = [prev?.delivery, pending, entry.delivery].reduce<DeliveryState | undefined>(
        (a, b) => (deliveryRank(b) > deliveryRank(a) ? b : a),
        undefined,
      );
      if (entry.own && best) entry.delivery = best;
      if (!prev) order.push(entry.id);
      byId.set(entry.id, entry);
      early.delete(entry.id);
    } else {
      const e = byId.get(r.id);
      if (!e) {
        if (deliveryRank(r.d) > deliveryRank(early.get(r.id))) early.set(r.id, r.d);
      } else if (e.own && deliveryRank(r.d) > deliveryRank(e.delivery)) {
        e.delivery = r.d;
      }
    }
  }
  return { entries: order.map((id) => byId.get(id)!), records, skipped };
}
