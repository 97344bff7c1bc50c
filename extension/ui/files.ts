// Sending and receiving files in the editor: the "Send to P2P Chat" command (Explorer context menu,
// several files, or a file picker), offers shown as notifications with Save… / Decline, and VS Code's
// progress notification (with Cancel) on both sides. The transfer logic is core/transfer; this only
// asks the user and shows progress.
//
// Peer-supplied file names reach VS Code only through sinks.ts with InertText (core/inertText.ts):
// already reduced to a safe file name by core/transfer/names.ts, then defused (no links, no icons).
// Progress notification titles (withProgress has no sink yet) carry only sizes, never the name.
import { homedir } from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { TransferHost } from '../core/transfer/transferHost';
import { sessionCoreModule } from './lazyBundles';
import type { TransferInfo } from '../core/transfer/manager';
import type { UdpRoomHost } from '../core/net/udpRoomHost';
import type { RoomSession } from './roomSession';
import { inert } from '../core/inertText';
import { notifyError, notifyInfo, notifyWarning } from './sinks';

const SAVE = inert`Save…`;
const DECLINE = inert`Decline`;
const OPEN = inert`Open`;
const SHOW = inert`Show in Folder`;

export const SEND_FILE_COMMAND = 'p2pChat.sendFile';

function size(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

function eta(t: TransferInfo): string {
  const rate = t.rate > 0 ? `${size(t.rate)}/s` : '';
  const left = t.eta !== undefined ? `, ${Math.ceil(t.eta)} s left` : '';
  return `${size(t.bytes)} of ${size(t.size)}${rate ? ` at ${rate}` : ''}${left}`;
}

export class FileTransfersUi implements vscode.Disposable {
  /** One per room of the window (several conversations at once): a transfer goes on while another room is on screen. */
  private readonly hosts = new Map<UdpRoomHost, TransferHost>();
  private readonly timer: NodeJS.Timeout;
  private readonly watchers = new Map<string, () => void>();

  constructor(
    private readonly session: () => RoomSession | undefined,
    private readonly storageDir: string,
    private readonly log: vscode.LogOutputChannel,
    /** Every session of the window; `session` is the one on screen, which Send uses. */
    private readonly sessions: () => Iterable<RoomSession> = () => {
      const s = session();
      return s ? [s] : [];
    },
  ) {
    // The session's UDP host comes and goes (connect, reconnect, leave): follow it.
    this.timer = setInterval(() => this.attachAll(), 1000);
  }

  private settings() {
    const c = vscode.workspace.getConfiguration('p2pChat.files');
    return {
      maxBytes: c.get<number>('maxBytes', 2 * 1024 ** 3),
      autoAcceptBytes: c.get<number>('autoAcceptBytes', 0),
      folder: c.get<string>('downloadFolder', '') || path.join(homedir(), 'Downloads'),
    };
  }

  /** A TransferHost for each session's UDP host; those of rooms left (or reconnected) are stopped. */
  private attachAll(): void {
    const live = new Map<UdpRoomHost, RoomSession>();
    for (const s of this.sessions()) if (s.roomHost) live.set(s.roomHost, s);
    for (const [host, t] of this.hosts) {
      if (!live.has(host)) {
        t.stop();
        this.hosts.delete(host);
      }
    }
    for (const [host, s] of live) {
      if (this.hosts.has(host)) continue;
      const cfg = this.settings();
      // Loaded already: a UDP host exists only once a RoomSession ran (lazyBundles.ts).
      const t = new (sessionCoreModule().TransferHost)(host, {
        stateDir: path.join(this.storageDir, 'transfers', s.roomIdHex.slice(0, 32)),
        maxBytes: cfg.maxBytes,
        ...(cfg.autoAcceptBytes > 0 ? { autoAcceptBytes: cfg.autoAcceptBytes, autoAcceptDir: cfg.folder } : {}),
      });
      t.events = {
        offered: (info) => void this.onOffer(t, info),
        changed: (info) => this.onChanged(info),
      };
      t.start();
      this.hosts.set(host, t);
    }
  }

  /** The room on screen's transfers (Send offers to its members). */
  private attach(): TransferHost | undefined {
    this.attachAll();
    const host = this.session()?.roomHost;
    return host ? this.hosts.get(host) : undefined;
  }

  /** Whichever room's host carries this transfer. */
  private owner(id: string): TransferHost | undefined {
    for (const t of this.hosts.values()) if (t.manager.get(id)) return t;
    return undefined;
  }

  /** Explorer passes (clicked, allSelected); the palette passes nothing and gets a picker. */
  async send(uri?: vscode.Uri, uris?: vscode.Uri[]): Promise<string[]> {
    const t = this.attach();
    if (!t) {
      void notifyWarning(inert`Join a room before sending files.`);
      return [];
    }
    let files = (uris && uris.length ? uris : uri ? [uri] : []).filter((u) => u.scheme === 'file');
    if (files.length === 0) {
      files = (await vscode.window.showOpenDialog({ canSelectMany: true, openLabel: 'Send' })) ?? [];
    }
    if (t.peers().length === 0) void notifyInfo(inert`Nobody is connected yet: the files will be offered when someone is.`);
    const ids: string[] = [];
    for (const f of files) {
      try {
        const sent = await t.send(f.fsPath);
        ids.push(...sent);
        for (const id of sent) this.progress(id, `Sending a file (${size(t.manager.get(id)?.size ?? 0)})`);
      } catch (e) {
        void notifyError(inert`Cannot send ${path.basename(f.fsPath)}: ${(e as Error).message}`);
      }
    }
    return ids;
  }

  private async onOffer(t: TransferHost, info: TransferInfo): Promise<void> {
    const choice = await notifyInfo(inert`A room member offers a file: ${info.name} (${size(info.size)}, ${info.mime}).`, SAVE, DECLINE);
    if (![...this.hosts.values()].includes(t)) return; // the room was left meanwhile
    if (choice !== SAVE) {
      t.cancel(info.id);
      return;
    }
    const folder = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, defaultUri: vscode.Uri.file(this.settings().folder), openLabel: 'Save here' });
    if (!folder?.[0]) {
      t.cancel(info.id);
      return;
    }
    try {
      t.accept(info.id, folder[0].fsPath);
      this.progress(info.id, `Receiving a file (${size(info.size)})`);
    } catch (e) {
      void notifyError(inert`Cannot save the file: ${(e as Error).message}`);
    }
  }

  private onChanged(info: TransferInfo): void {
    this.watchers.get(info.id)?.();
    if (info.direction === 'in' && info.status === 'done' && info.path) {
      const file = vscode.Uri.file(info.path);
      void notifyInfo(inert`File received: ${path.basename(info.path)} (${size(info.size)}), its SHA-256 checked.`, OPEN, SHOW).then((c) => {
        if (c === OPEN) void vscode.commands.executeCommand('vscode.open', file);
        if (c === SHOW) void vscode.commands.executeCommand('revealFileInOS', file);
      });
    }
    if (info.status === 'cancelled' && info.error) this.log.info(`transfer ${info.id} stopped: ${info.error}${info.cancelledByPeer ? ' (by the peer)' : ''}`);
  }

  /** VS Code's progress notification, with Cancel, until the transfer ends. */
  private progress(id: string, title: string): void {
    void vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, (progress, token) => {
      return new Promise<void>((resolve) => {
        let shown = 0;
        const tick = () => {
          const info = this.owner(id)?.manager.get(id);
          if (!info || info.status === 'done' || info.status === 'cancelled') {
            clearInterval(timer);
            this.watchers.delete(id);
            resolve();
            return;
          }
          const pct = info.size > 0 ? (100 * info.bytes) / info.size : 0;
          progress.report({ increment: Math.max(0, pct - shown), message: info.status === 'waiting' ? 'waiting for the other side' : eta(info) });
          shown = Math.max(shown, pct);
        };
        const timer = setInterval(tick, 500);
        this.watchers.set(id, tick);
        token.onCancellationRequested(() => this.owner(id)?.cancel(id));
        tick();
      });
    });
  }

  dispose(): void {
    clearInterval(this.timer);
    for (const t of this.hosts.values()) t.stop();
    this.hosts.clear();
  }
}
