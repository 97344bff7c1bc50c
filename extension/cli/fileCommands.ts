// File transfers in the terminal peer: `--send FILE` (repeatable) or `p2p-chat send INVITE FILE…`
// offers files to every member as their link comes up; `--accept-files DIR` takes every offer
// into DIR; otherwise offers are listed and taken with `/accept ID [DIR]`, refused with `/cancel ID`.
// `/send PATH` offers a file from the prompt. With --json every step is an event line.
import { resolve } from 'node:path';
import { TransferHost } from '../core/transfer/transferHost';
import type { TransferInfo } from '../core/transfer/manager';
import type { UdpRoomHost } from '../core/net/udpRoomHost';

type Printer = (event: string, fields: Record<string, unknown>, human: string) => void;

export interface FileCliOptions {
  stateDir: string;
  send: string[];
  acceptDir?: string;
  maxBytes?: number;
  out: Printer;
  inert: (s: string) => string;
}

function mib(n: number): string {
  return `${(n / 1048576).toFixed(1)} MiB`;
}

function fields(t: TransferInfo): Record<string, unknown> {
  return { id: t.id, peer: t.peer, direction: t.direction, name: t.name, mime: t.mime, size: t.size, status: t.status, bytes: t.bytes, wireBytes: t.wireBytes, ...(t.waste ? { waste: t.waste } : {}), rate: Math.round(t.rate), ...(t.eta !== undefined ? { eta: Math.round(t.eta) } : {}), ...(t.path ? { path: t.path } : {}), ...(t.error ? { error: t.error, byPeer: t.cancelledByPeer } : {}) };
}

export class FileCli {
  readonly transfers: TransferHost;
  private readonly sentTo = new Map<string, Set<string>>();
  private readonly progressTimer: NodeJS.Timeout;
  private readonly last = new Map<string, string>();
  private readonly lastProgress = new Map<string, { step: number; at: number }>();
  private failures = 0;

  constructor(host: UdpRoomHost, private readonly o: FileCliOptions) {
    this.transfers = new TransferHost(host, { stateDir: o.stateDir, maxBytes: o.maxBytes, ...(o.acceptDir ? { autoAcceptBytes: Number.MAX_SAFE_INTEGER, autoAcceptDir: resolve(o.acceptDir) } : {}) });
    this.transfers.events = {
      offered: (t) => o.out('file-offer', fields(t), `[file offered by ${t.peer.slice(0, 8)}: ${o.inert(t.name)} (${mib(t.size)}, ${t.mime}) — /accept ${t.id} [DIR] or /cancel ${t.id}]`),
      changed: (t) => this.report(t),
    };
    this.transfers.onPeerUp = (peer) => {
      for (const f of o.send) void this.offer(f, peer);
    };
    // Progress every 5 % (checked every 100 ms), and at least every 500 ms while active: a fast transfer must
    // not go from a third to done between two reports (scripts act on "half way", the resume tests among them).
    this.progressTimer = setInterval(() => {
      const now = Date.now();
      for (const t of this.transfers.list()) {
        if (t.status !== 'active') continue;
        const step = t.size > 0 ? Math.floor((t.bytes * 20) / t.size) : 0;
        const last = this.lastProgress.get(t.id);
        if (last && last.step === step && now - last.at < 500) continue;
        this.lastProgress.set(t.id, { step, at: now });
        o.out('file-progress', fields(t), '');
      }
    }, 100);
    this.progressTimer.unref?.();
  }

  start(): void {
    this.transfers.start();
  }

  private report(t: TransferInfo): void {
    const key = `${t.status}`;
    if (this.last.get(t.id) === key) return;
    this.last.set(t.id, key);
    if (t.status === 'done') this.o.out('file-done', fields(t), t.direction === 'in' ? `[received ${this.o.inert(t.name)} → ${t.path}]` : `[sent ${t.name}]`);
    else if (t.status === 'cancelled') {
      if (t.direction === 'out') this.failures++;
      this.o.out('file-cancelled', fields(t), `[transfer of ${this.o.inert(t.name)} stopped: ${this.o.inert(t.error ?? 'cancelled')}]`);
    } else this.o.out('file-status', fields(t), '');
  }

  private async offer(file: string, peer: string): Promise<void> {
    let peers = this.sentTo.get(file);
    if (!peers) this.sentTo.set(file, (peers = new Set()));
    if (peers.has(peer)) return;
    peers.add(peer);
    try {
      const ids = await this.transfers.send(file, [peer]);
      for (const id of ids) this.o.out('file-offered', { id, peer, file }, `[offering ${file} to ${peer.slice(0, 8)}]`);
    } catch (e) {
      this.failures++;
      this.o.out('file-error', { file, error: (e as Error).message }, `[cannot send ${file}: ${(e as Error).message}]`);
    }
  }

  /** Handles `/send`, `/accept`, `/cancel`, `/files`; false for anything else (a chat line). */
  handleLine(line: string): boolean {
    const m = /^\/(send|accept|cancel|files)(?:\s+(.*))?$/.exec(line.trim());
    if (!m) return false;
    const arg = (m[2] ?? '').trim();
    try {
      if (m[1] === 'send') {
        if (!arg) throw new Error('usage: /send PATH');
        this.o.send.push(arg);
        for (const p of this.transfers.peers()) void this.offer(arg, p);
      } else if (m[1] === 'accept') {
        const [id, dir] = arg.split(/\s+/);
        this.transfers.accept(id, resolve(dir ?? this.o.acceptDir ?? '.'));
      } else if (m[1] === 'cancel') {
        this.transfers.cancel(arg);
      } else {
        for (const t of this.transfers.list()) this.o.out('file-status', fields(t), `${t.id} ${t.direction} ${t.status} ${this.o.inert(t.name)} ${mib(t.bytes)}/${mib(t.size)}`);
      }
    } catch (e) {
      this.o.out('file-error', { error: (e as Error).message }, `[${(e as Error).message}]`);
    }
    return true;
  }

  /** Outgoing offers not yet finished (the peer lingers for them at the end of input). */
  busy(): boolean {
    if (this.o.send.length > 0 && this.sentTo.size < this.o.send.length) return true;
    return this.transfers.list().some((t) => t.direction === 'out' && (t.status === 'waiting' || t.status === 'active'));
  }

  get failed(): number {
    return this.failures;
  }

  stop(): void {
    clearInterval(this.progressTimer);
    this.transfers.stop();
  }
}
