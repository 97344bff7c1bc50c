// All file transfers of one room, sans-I/O: routes file frames to the transfer they belong to,
// answers frames for transfers it has forgotten, enforces the size cap and the accept rule, probes
// how large a datagram the path to each peer carries, and reports progress. The shell (fsIo.ts for
// the disk, transferHost.ts for the room) gives it frames, time and a disk; it gives back frames
// per peer. Files never go through a mailbox: an offer waits (persisted) until both sides are online.
import { randomBytes } from 'node:crypto';
import { CancelCode, PIECE_HEADER_BYTES, TRANSFER_ID_BYTES, type FileFrame, type FileOfferFrame } from '../wire/fileFrames';
import { IncomingTransfer, type IncomingSnapshot, type PartFile } from './incoming';
import { GIB, offerProblem, sha256, type Manifest } from './manifest';
import { safeFileName } from './names';
import { OutgoingTransfer } from './outgoing';

/** Inner packet size every path carries (the link's mtu). */
export const BASE_INNER_BYTES = 1100;

export interface TransferIo {
  /** Persistent state under `key`; undefined deletes it. */
  save(key: string, value: StoredTransfer | undefined): void;
  /** Creates the partial file for an accepted transfer inside `dir`. */
  createPart(dir: string, idHex: string, safeName: string): { part: PartFile; partPath: string };
  reopenPart(partPath: string): PartFile | undefined;
  freeBytes(dir: string): number | undefined;
  /** Renames the verified partial file to a free name in `dir`; returns the final path. */
  complete(partPath: string, dir: string, safeName: string): string;
  discard(partPath: string): void;
  /** A reader of the file the user offered, or undefined when it changed or vanished. */
  openSource(path: string, size: number, mtimeMs: number): ((offset: number, length: number) => Buffer) | undefined;
}

export type StoredTransfer =
  | { kind: 'out'; id: string; peer: string; path: string; name: string; mime: string; mtimeMs: number; size: number; chunkSize: number; sha256: string; hashes: string; done?: boolean }
  | { kind: 'in'; id: string; peer: string; offer: { name: string; mime: string; size: number; chunkSize: number; sha256: string; manifestSha256: string }; dir?: string; partPath?: string; snapshot?: IncomingSnapshot; done?: string };

export interface TransferInfo {
  id: string;
  peer: string;
  direction: 'in' | 'out';
  /** For incoming transfers the sanitised name (never the raw peer string). */
  name: string;
  mime: string;
  size: number;
  status: 'offered' | 'waiting' | 'active' | 'done' | 'cancelled';
  /** Bytes done: verified (incoming) or acknowledged (outgoing). */
  bytes: number;
  /** Recent rate, bytes per second. */
  rate: number;
  /** Seconds left at that rate, if known. */
  eta?: number;
  /** Final path of a received file. */
  path?: string;
  error?: string;
  cancelledByPeer?: boolean;
  /** Payload bytes sent (outgoing) or received (incoming), resends and duplicates included. */
  wireBytes: number;
  /** Incoming: payload bytes that were no use (already verified, never requested, already held). */
  waste?: { verified: number; unrequested: number; overlap: number };
}

export interface TransferEvents {
  /** An incoming offer waits for accept() or cancel(). */
  offered?(info: TransferInfo): void;
  /** Status changed (accepted, done, cancelled). */
  changed?(info: TransferInfo): void;
}

export interface TransferManagerOptions {
  io: TransferIo;
  /** Largest file accepted, bytes (default 2 GiB). */
  maxBytes?: number;
  /** Auto-accept offers up to this size into autoAcceptDir (default 0: ask). */
  autoAcceptBytes?: number;
  autoAcceptDir?: string;
  random?: (n: number) => Buffer;
  /** Receive window, bytes of chunks requested ahead. */
  windowBytes?: number;
  /** Extra free space to keep on the disk beyond the file (default 64 MiB). */
  freeMarginBytes?: number;
}

interface PeerPath {
  /** Largest inner packet the link to this peer carries (the link's path probe finds it). */
  innerBytes: number;
}

interface RateMeter {
  at: number;
  bytes: number;
  rate: number;
}

export class TransferManager {
  events: TransferEvents = {};
  private readonly out = new Map<string, OutgoingTransfer>();
  private readonly incoming = new Map<string, IncomingTransfer>();
  private readonly stored = new Map<string, StoredTransfer>();
  private readonly finalPaths = new Map<string, string>();
  private readonly paths = new Map<string, PeerPath>();
  private readonly online = new Set<string>();
  private readonly pendingFrames = new Map<string, FileFrame[]>();
  private readonly meters = new Map<string, RateMeter>();
  private readonly random: (n: number) => Buffer;
  private readonly maxBytes: number;
  private lastNow = 0;

  constructor(private readonly opts: TransferManagerOptions) {
    this.random = opts.random ?? randomBytes;
    this.maxBytes = opts.maxBytes ?? 2 * GIB;
  }

  // ---- persistence ---------------------------------------------------------------------------

  /** Picks up where a previous run stopped: offers still to deliver, transfers half received. */
  restore(records: StoredTransfer[], now: number): void {
    for (const r of records) {
      try {
        if (r.kind === 'out') {
          if (r.done) continue;
          const read = this.opts.io.openSource(r.path, r.size, r.mtimeMs);
          if (!read) {
            this.opts.io.save(`out-${r.id}`, undefined);
            continue;
          }
          const manifest: Manifest = { size: r.size, chunkSize: r.chunkSize, sha256: Buffer.from(r.sha256, 'hex'), hashes: Buffer.from(r.hashes, 'base64'), manifestSha256: Buffer.alloc(0) };
          manifest.manifestSha256 = sha256(manifest.hashes);
          const t = new OutgoingTransfer({ id: Buffer.from(r.id, 'hex'), peer: r.peer, name: r.name, mime: r.mime, manifest, read, pnStart: this.random(4).readUInt32BE(0), pieceBytes: this.pieceBytes(r.peer), now });
          this.out.set(r.id, t);
          this.stored.set(`out-${r.id}`, r);
        } else {
          const o = r.offer;
          const offer: FileOfferFrame = { type: 'file-offer', id: Buffer.from(r.id, 'hex'), size: o.size, chunkSize: o.chunkSize, sha256: Buffer.from(o.sha256, 'hex'), manifestSha256: Buffer.from(o.manifestSha256, 'hex'), mime: o.mime, name: o.name };
          const t = new IncomingTransfer(r.peer, offer, this.opts.windowBytes);
          this.stored.set(`in-${r.id}`, r);
          if (r.done) {
            t.status = 'done';
            this.finalPaths.set(r.id, r.done);
            this.incoming.set(r.id, t);
            continue;
          }
          this.incoming.set(r.id, t);
          if (r.dir && r.partPath) {
            const part = this.opts.io.reopenPart(r.partPath);
            if (part) {
              t.accept(part, now, r.snapshot);
              this.afterIncoming(t, now);
            } else this.events.offered?.(this.info(t));
          }
        }
      } catch {
        // A damaged record is dropped rather than stopping the others.
      }
    }
  }

  private saveOut(t: OutgoingTransfer, extra: { path: string; mtimeMs: number } | undefined): void {
    const key = `out-${t.idHex}`;
    if (!t.active) {
      this.stored.delete(key);
      this.opts.io.save(key, undefined);
      return;
    }
    if (!extra) return;
    const m = t.manifest;
    const rec: StoredTransfer = { kind: 'out', id: t.idHex, peer: t.peer, path: extra.path, name: t.name, mime: t.mime, mtimeMs: extra.mtimeMs, size: m.size, chunkSize: m.chunkSize, sha256: m.sha256.toString('hex'), hashes: m.hashes.toString('base64') };
    this.stored.set(key, rec);
    this.opts.io.save(key, rec);
  }

  private saveIn(t: IncomingTransfer, dir?: string, partPath?: string): void {
    const key = `in-${t.idHex}`;
    const prev = this.stored.get(key) as Extract<StoredTransfer, { kind: 'in' }> | undefined;
    if (t.status === 'cancelled') {
      this.stored.delete(key);
      this.opts.io.save(key, undefined);
      return;
    }
    const o = t.offer;
    const rec: StoredTransfer = {
      kind: 'in',
      id: t.idHex,
      peer: t.peer,
      offer: { name: o.name, mime: o.mime, size: o.size, chunkSize: o.chunkSize, sha256: o.sha256.toString('hex'), manifestSha256: o.manifestSha256.toString('hex') },
      ...(dir ?? prev?.dir ? { dir: dir ?? prev?.dir } : {}),
      ...(partPath ?? prev?.partPath ? { partPath: partPath ?? prev?.partPath } : {}),
      ...(t.accepted ? { snapshot: t.snapshot() } : {}),
      ...(this.finalPaths.has(t.idHex) ? { done: this.finalPaths.get(t.idHex) } : {}),
    };
    this.stored.set(key, rec);
    this.opts.io.save(key, rec);
  }

  // ---- the user's side -------------------------------------------------------------------------

  /**
   * Offer a file (the shell has read it once to build the manifest). Returns the transfer id. The
   * offer is repeated until the peer answers, and again whenever the link comes back.
   */
  offer(peer: string, file: { path: string; name: string; mime: string; mtimeMs: number; manifest: Manifest; read: (offset: number, length: number) => Buffer }, now: number): string {
    const id = this.random(TRANSFER_ID_BYTES);
    const t = new OutgoingTransfer({ id, peer, name: file.name, mime: file.mime, manifest: file.manifest, read: file.read, pnStart: this.random(4).readUInt32BE(0), pieceBytes: this.pieceBytes(peer), now });
    this.out.set(t.idHex, t);
    this.saveOut(t, { path: file.path, mtimeMs: file.mtimeMs });
    this.events.changed?.(this.info(t));
    return t.idHex;
  }

  /** Accept an incoming offer into `dir`. Throws with a reason the UI can show (no space, unknown id). */
  accept(id: string, dir: string, now: number): void {
    const t = this.incoming.get(id);
    if (!t || t.status !== 'offered') throw new Error('no such offer waiting');
    const free = this.opts.io.freeBytes(dir);
    const need = t.offer.size + (this.opts.freeMarginBytes ?? 64 * 1024 * 1024);
    if (free !== undefined && free < need) {
      this.cancelIncoming(t, CancelCode.NoSpace, 'not enough free disk space', now);
      throw new Error(`not enough free space in ${dir}: ${t.offer.size} bytes needed, ${free} free`);
    }
    const prev = this.stored.get(`in-${id}`) as Extract<StoredTransfer, { kind: 'in' }> | undefined;
    const { part, partPath } = this.opts.io.createPart(dir, id, safeFileName(t.offer.name));
    t.accept(part, now, prev?.snapshot);
    this.saveIn(t, dir, partPath);
    this.afterIncoming(t, now);
  }

  cancel(id: string, now: number, reason = 'cancelled'): void {
    const o = this.out.get(id);
    if (o && o.active) {
      o.cancel(CancelCode.User, reason, false);
      this.queue(o.peer, { type: 'file-cancel', id: o.id, code: CancelCode.User, reason });
      this.saveOut(o, undefined);
      this.events.changed?.(this.info(o));
    }
    const i = this.incoming.get(id);
    if (i && i.active) this.cancelIncoming(i, i.status === 'offered' ? CancelCode.Declined : CancelCode.User, reason, now);
  }

  private cancelIncoming(t: IncomingTransfer, code: number, reason: string, now: number): void {
    t.cancel(code, reason, false);
    this.queue(t.peer, { type: 'file-cancel', id: t.offer.id, code, reason });
    this.endIncoming(t, now);
  }

  private endIncoming(t: IncomingTransfer, now: number): void {
    const rec = this.stored.get(`in-${t.idHex}`) as Extract<StoredTransfer, { kind: 'in' }> | undefined;
    if (rec?.partPath) this.opts.io.discard(rec.partPath);
    this.saveIn(t);
    void now;
    this.events.changed?.(this.info(t));
  }

  list(): TransferInfo[] {
    return [...[...this.out.values()].map((t) => this.info(t)), ...[...this.incoming.values()].map((t) => this.info(t))];
  }

  get(id: string): TransferInfo | undefined {
    const t = this.out.get(id) ?? this.incoming.get(id);
    return t ? this.info(t) : undefined;
  }

  /** Stats of an outgoing transfer's window (bench, tests). */
  outgoing(id: string): OutgoingTransfer | undefined {
    return this.out.get(id);
  }

  private info(t: OutgoingTransfer | IncomingTransfer): TransferInfo {
    const meter = this.meters.get(t.idHex);
    if (t instanceof OutgoingTransfer) {
      const status = t.status === 'offering' || t.status === 'held' ? 'waiting' : t.status === 'sending' ? 'active' : t.status;
      const rate = meter?.rate ?? 0;
      const left = t.manifest.size - t.bytesAcked;
      return {
        id: t.idHex, peer: t.peer, direction: 'out', name: t.name, mime: t.mime, size: t.manifest.size, status, bytes: t.bytesAcked, rate,
        ...(rate > 0 && status === 'active' ? { eta: left / rate } : {}),
        ...(t.cancelReason ? { error: t.cancelReason.reason, cancelledByPeer: t.cancelReason.byPeer } : {}),
        wireBytes: t.bytesSent,
      };
    }
    const status: TransferInfo['status'] = t.status === 'offered' ? 'offered' : t.status === 'done' ? 'done' : t.status === 'cancelled' ? 'cancelled' : 'active';
    const rate = meter?.rate ?? 0;
    const path = this.finalPaths.get(t.idHex);
    return {
      id: t.idHex, peer: t.peer, direction: 'in', name: safeFileName(t.offer.name), mime: safeMime(t.offer.mime), size: t.offer.size, status, bytes: t.status === 'done' ? t.offer.size : t.bytesVerified, rate,
      ...(rate > 0 && status === 'active' ? { eta: (t.offer.size - t.bytesVerified) / rate } : {}),
      ...(path ? { path } : {}),
      ...(t.cancelReason ? { error: t.cancelReason.reason, cancelledByPeer: t.cancelReason.byPeer } : {}),
      wireBytes: t.bytesReceived,
      waste: { ...t.waste },
    };
  }

  // ---- the network side ------------------------------------------------------------------------

  /** The link to `peer` is (again) verified: probe its path, repeat offers, resume requests. */
  linkUp(peer: string, now: number): void {
    this.online.add(peer);
    for (const t of this.out.values()) if (t.peer === peer) t.linkUp(now);
    for (const t of this.incoming.values()) {
      if (t.peer !== peer) continue;
      if (t.accepted) t.resumeRequests(now);
      else if (t.status === 'offered') this.queue(peer, { type: 'file-held', id: t.offer.id });
    }
  }

  linkDown(peer: string): void {
    this.online.delete(peer);
  }

  private path(peer: string): PeerPath {
    let p = this.paths.get(peer);
    if (!p) {
      p = { innerBytes: BASE_INNER_BYTES };
      this.paths.set(peer, p);
    }
    return p;
  }

  /** Largest inner packet the path to `peer` is known to carry. */
  innerBytes(peer: string): number {
    return this.path(peer).innerBytes;
  }

  /** The link's path probe found that `peer`'s path carries inner packets of `bytes`: cut new pieces to fit. */
  setInnerBytes(peer: string, bytes: number): void {
    const p = this.path(peer);
    if (bytes === p.innerBytes) return;
    p.innerBytes = bytes;
    for (const t of this.out.values()) if (t.peer === peer) t.setPieceBytes(this.pieceBytes(peer));
  }

  private pieceBytes(peer: string): number {
    return this.path(peer).innerBytes - PIECE_HEADER_BYTES - 32; // room for an ACK frame riding along
  }

  private queue(peer: string, f: FileFrame): void {
    let q = this.pendingFrames.get(peer);
    if (!q) this.pendingFrames.set(peer, (q = []));
    q.push(f);
  }

  receive(peer: string, f: FileFrame, now: number): void {
    this.lastNow = now;
    if (f.type === 'file-probe') return; // the link answers path probes itself
    const idHex = f.id.toString('hex');
    const o = this.out.get(idHex);
    if (o) {
      if (o.peer !== peer) return; // ids are per sender: another member cannot touch our transfer
      if (f.type === 'file-piece' || f.type === 'file-offer') return;
      const before = o.status;
      o.receive(f, now);
      if (o.status !== before) {
        if (!o.active) this.saveOut(o, undefined);
        this.events.changed?.(this.info(o));
      } else if (!o.active && f.type !== 'file-cancel' && f.type !== 'file-done') {
        this.queue(peer, { type: 'file-cancel', id: o.id, code: CancelCode.User, reason: 'cancelled' });
      }
      return;
    }
    const i = this.incoming.get(idHex);
    if (i) {
      if (i.peer !== peer) return;
      if (f.type === 'file-offer') {
        // The sender repeats its offer: it restarted, or the link came back.
        if (i.status === 'offered') this.queue(peer, { type: 'file-held', id: i.offer.id });
        else if (i.accepted) i.resumeRequests(now);
        else if (i.status === 'done') this.queue(peer, { type: 'file-done', id: i.offer.id });
        else this.queue(peer, { type: 'file-cancel', id: i.offer.id, code: i.cancelReason?.code ?? CancelCode.User, reason: 'cancelled' });
        return;
      }
      if (!i.active) {
        if (f.type === 'file-piece') this.queue(peer, i.status === 'done' ? { type: 'file-done', id: i.offer.id } : { type: 'file-cancel', id: i.offer.id, code: CancelCode.User, reason: 'cancelled' });
        return;
      }
      const before = i.status;
      i.receive(f, now);
      if (i.status !== before) this.afterIncoming(i, now);
      return;
    }
    if (f.type === 'file-offer') {
      this.onOffer(peer, f, now);
      return;
    }
    // A transfer we know nothing of (forgotten, or never ours): tell the other side to stop.
    if (f.type !== 'file-cancel' && f.type !== 'file-done' && f.type !== 'file-held') {
      this.queue(peer, { type: 'file-cancel', id: f.id, code: CancelCode.Unknown, reason: 'unknown transfer' });
    }
  }

  private onOffer(peer: string, f: FileOfferFrame, now: number): void {
    const problem = offerProblem(f);
    if (problem) {
      this.queue(peer, { type: 'file-cancel', id: f.id, code: CancelCode.Error, reason: problem });
      return;
    }
    const t = new IncomingTransfer(peer, f, this.opts.windowBytes);
    this.incoming.set(t.idHex, t);
    if (f.size > this.maxBytes) {
      t.cancel(CancelCode.TooLarge, `larger than the ${this.maxBytes}-byte limit`, false);
      this.queue(peer, { type: 'file-cancel', id: f.id, code: CancelCode.TooLarge, reason: 'too large' });
      this.events.changed?.(this.info(t));
      return;
    }
    this.saveIn(t);
    this.queue(peer, { type: 'file-held', id: f.id });
    const auto = this.opts.autoAcceptBytes ?? 0;
    if (auto > 0 && f.size <= auto && this.opts.autoAcceptDir) {
      try {
        this.accept(t.idHex, this.opts.autoAcceptDir, now);
        this.events.changed?.(this.info(t));
        return;
      } catch {
        return; // accept() cancelled it and said why
      }
    }
    this.events.offered?.(this.info(t));
  }

  /** After a state change of an incoming transfer: finish, clean up, persist, report. */
  private afterIncoming(t: IncomingTransfer, now: number): void {
    if (t.status === 'done' && t.complete && !this.finalPaths.has(t.idHex)) {
      const rec = this.stored.get(`in-${t.idHex}`) as Extract<StoredTransfer, { kind: 'in' }> | undefined;
      try {
        const final = this.opts.io.complete(rec!.partPath!, rec!.dir!, safeFileName(t.offer.name));
        this.finalPaths.set(t.idHex, final);
        this.queue(t.peer, { type: 'file-done', id: t.offer.id });
        this.saveIn(t);
      } catch (e) {
        t.status = 'receiving';
        t.cancel(CancelCode.Error, `cannot save: ${(e as Error).message}`, false);
        this.queue(t.peer, { type: 'file-cancel', id: t.offer.id, code: CancelCode.Error, reason: 'receiver could not save' });
        this.endIncoming(t, now);
        return;
      }
    } else if (t.status === 'cancelled') {
      if (!t.cancelReason?.byPeer) this.queue(t.peer, { type: 'file-cancel', id: t.offer.id, code: t.cancelReason?.code ?? CancelCode.Error, reason: t.cancelReason?.reason ?? 'cancelled' });
      this.endIncoming(t, now);
      return;
    } else {
      this.saveIn(t);
    }
    this.events.changed?.(this.info(t));
  }

  /**
   * Frames to send now, per peer. `canSend(peer)` says whether the link is up; frames for a peer
   * that is down wait (control frames) or are simply not produced (pieces).
   */
  poll(now: number, maxPiecesPerTransfer = 64): Map<string, FileFrame[]> {
    this.lastNow = now;
    const result = new Map<string, FileFrame[]>();
    const take = (peer: string): FileFrame[] => {
      let a = result.get(peer);
      if (!a) result.set(peer, (a = []));
      return a;
    };
    for (const [peer, frames] of this.pendingFrames) {
      if (!this.online.has(peer)) continue;
      take(peer).push(...frames);
      this.pendingFrames.delete(peer);
    }
    let persist = false;
    for (const t of this.incoming.values()) {
      if (!t.accepted || !this.online.has(t.peer)) continue;
      const before = t.bytesVerified;
      t.poll(now, take(t.peer));
      if (t.bytesVerified !== before) persist = true;
      this.meter(t.idHex, t.bytesVerified, now);
    }
    for (const t of this.out.values()) {
      if (!t.active || !this.online.has(t.peer)) continue;
      t.poll(now, take(t.peer), maxPiecesPerTransfer);
      this.meter(t.idHex, t.bytesAcked, now);
    }
    if (persist && now - this.lastSaveAt >= 1000) {
      this.lastSaveAt = now;
      for (const t of this.incoming.values()) if (t.accepted) this.saveIn(t);
    }
    for (const [peer, frames] of result) if (frames.length === 0) result.delete(peer);
    return result;
  }

  private lastSaveAt = 0;

  private meter(id: string, bytes: number, now: number): void {
    let m = this.meters.get(id);
    if (!m) {
      this.meters.set(id, { at: now, bytes, rate: 0 });
      return;
    }
    const dt = now - m.at;
    if (dt < 250) return;
    const r = ((bytes - m.bytes) * 1000) / dt;
    m.rate = m.rate === 0 ? r : 0.7 * m.rate + 0.3 * r;
    m.at = now;
    m.bytes = bytes;
  }

  /** True when some transfer could send more right now (the shell polls again without waiting for a timer). */
  get sendable(): boolean {
    for (const t of this.out.values()) if (this.online.has(t.peer) && t.sendable) return true;
    for (const q of this.pendingFrames.keys()) if (this.online.has(q)) return true;
    return false;
  }

  private anyActive(): boolean {
    for (const o of this.out.values()) if (o.status === 'sending') return true;
    for (const i of this.incoming.values()) if (i.accepted) return true;
    return false;
  }

  nextWakeup(): number {
    let t = Infinity;
    for (const o of this.out.values()) if (this.online.has(o.peer)) t = Math.min(t, o.nextWakeup());
    for (const i of this.incoming.values()) if (this.online.has(i.peer)) t = Math.min(t, i.nextWakeup());
    for (const q of this.pendingFrames.keys()) if (this.online.has(q)) t = Math.min(t, this.lastNow);
    // Progress meters and the periodic save want a look now and then while anything moves.
    if (this.anyActive()) t = Math.min(t, this.lastNow + 250);
    return t;
  }
}

/** A MIME type as shown to the user: only `type/subtype` characters, else a neutral default. */
export function safeMime(m: string): string {
  return /^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$/i.test(m) ? m.toLowerCase() : 'application/octet-stream';
}
