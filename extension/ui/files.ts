// Sending and receiving files in the editor: the "Send to P2P Chat" command (Explorer context menu,
// several files, or a file picker), files dropped or pasted onto the chat panel (their bytes, or
// Explorer URIs), a card in the conversation on both sides (fileCards.ts computes what it shows;
// media/fileCard.ts draws it) with Save… / Open / Cancel, offers also shown as notifications, and
// VS Code's progress notification (with Cancel) for transfers that take a while. The transfer logic is
// core/transfer; this only asks the user and shows progress.
//
// Part of issue #15 §6: a file sent when nobody is connected is not lost (and never goes through the
// mailbox, which is for chat): members known to the room get an offer that waits until both sides
// are online; a room with nobody known yet keeps the card waiting and offers the file to the first
// member whose link comes up. Sent cards are kept in `transfers/<room>/cards.json` for restarts.
//
// Peer-supplied file names reach VS Code only through sinks.ts with InertText (core/inertText.ts):
// already reduced to a safe file name by core/transfer/names.ts, then defused (no links, no icons).
// Progress notification titles (withProgress has no sink yet) carry only sizes, never the name.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { TransferHost } from '../core/transfer/transferHost';
import { sessionCoreModule } from './lazyBundles';
import type { TransferInfo } from '../core/transfer/manager';
import { mimeFor } from '../core/transfer/fsIo';
import { safeFileName } from '../core/transfer/names';
import type { TranscriptEntry } from '../core/types';
import type { DroppedFile, FileStatus, HostToWebview } from '../shared/protocol';
import { fileEntry, incomingStatus, MAX_PREVIEW_BYTES, outgoingStatus, sniffImage, type OutgoingCard } from './fileCards';
import type { UdpRoomHost } from '../core/net/udpRoomHost';
import type { RoomSession } from './roomSession';
import { inert } from '../core/inertText';
import { notifyError, notifyInfo, notifyWarning } from './sinks';
import { DROPPED_KEEP_MS, sweepDropped, writeDropped } from './droppedFiles';

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

/** A finished send the transfer manager no longer knows (after a restart), as the card recorded it. */
function endedTransfer(card: OutgoingCard, id: string): TransferInfo | undefined {
  const how = card.ended?.[id];
  if (!how) return undefined;
  return { id, peer: '', direction: 'out', name: card.ref.name, mime: card.ref.mime, size: card.ref.size, status: how, bytes: how === 'done' ? card.ref.size : 0, rate: 0, wireBytes: 0 };
}

/** What the files UI needs of the rest of the window (app.ts). */
export interface FilesHost {
  /** Puts a card's entry into a room's transcript (the view if it is on screen, else its history). */
  addEntry(room: string, entry: TranscriptEntry): void;
  /** Posts to the chat webview when it is attached (and showing `room`). */
  post(room: string, m: Extract<HostToWebview, { type: 'fileStatus' | 'filePreview' }>): void;
  /** Our display name. */
  selfName(): string;
  selfId(): string;
}

/** Progress notifications only for transfers still running after this long. */
const LONG_TRANSFER_MS = 2000;

export class FileTransfersUi implements vscode.Disposable {
  /** One per room of the window (several conversations at once): a transfer goes on while another room is on screen. */
  private readonly hosts = new Map<UdpRoomHost, TransferHost>();
  private readonly rooms = new Map<TransferHost, string>();
  private readonly timer: NodeJS.Timeout;
  private readonly statusTimer: NodeJS.Timeout;
  private readonly watchers = new Map<string, () => void>();
  /** Sent files' cards by card id (all rooms), loaded from each room's cards.json as it attaches. */
  private readonly cards = new Map<string, OutgoingCard>();
  private readonly loadedRooms = new Set<string>();
  /** Last status posted per card, so only changes are posted. */
  private readonly posted = new Map<string, string>();
  private restoring = false;
  /** Incoming transfers whose card was added (or restored from disk with its card already in history). */
  private readonly carded = new Set<string>();
  host: FilesHost | undefined;

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
    // Old copies of dropped and pasted files (see droppedFiles.ts), before anything can offer one again.
    const swept = sweepDropped(path.join(storageDir, 'outgoing'));
    if (swept > 0) log.info(`removed ${swept} folder(s) of dropped files older than ${DROPPED_KEEP_MS / 86_400_000} days`);
    // The session's UDP host comes and goes (connect, reconnect, leave): follow it.
    this.timer = setInterval(() => this.attachAll(), 1000);
    // Cards' progress, twice a second while anything moves (a post only when a card changed).
    this.statusTimer = setInterval(() => this.postStatuses(), 500);
  }

  private settings() {
    const c = vscode.workspace.getConfiguration('p2pChat.files');
    return {
      maxBytes: c.get<number>('maxBytes', 2 * 1024 ** 3),
      autoAcceptBytes: c.get<number>('autoAcceptBytes', 0),
      folder: c.get<string>('downloadFolder', '') || path.join(homedir(), 'Downloads'),
    };
  }

  private stateDir(room: string): string {
    return path.join(this.storageDir, 'transfers', room.slice(0, 32));
  }

  // ---- sent cards on disk ----------------------------------------------------------------------

  private loadCards(room: string): void {
    if (this.loadedRooms.has(room)) return;
    this.loadedRooms.add(room);
    try {
      const list = JSON.parse(readFileSync(path.join(this.stateDir(room), 'cards.json'), 'utf8')) as OutgoingCard[];
      for (const c of Array.isArray(list) ? list : []) if (c && typeof c.id === 'string' && c.room === room) this.cards.set(c.id, c);
    } catch {
      // none yet, or damaged: cards of old sends then show as no longer available
    }
  }

  private saveCards(room: string): void {
    const dir = this.stateDir(room);
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const list = [...this.cards.values()].filter((c) => c.room === room).slice(-200);
      writeFileSync(path.join(dir, 'cards.json.tmp'), JSON.stringify(list));
      renameSync(path.join(dir, 'cards.json.tmp'), path.join(dir, 'cards.json'));
    } catch (e) {
      this.log.warn(`could not save the file cards: ${(e as Error).message}`);
    }
  }

  // ---- rooms -----------------------------------------------------------------------------------

  /** A TransferHost for each session's UDP host; those of rooms left (or reconnected) are stopped. */
  private attachAll(): void {
    const live = new Map<UdpRoomHost, RoomSession>();
    for (const s of this.sessions()) if (s.roomHost) live.set(s.roomHost, s);
    for (const [host, t] of this.hosts) {
      if (!live.has(host)) {
        t.stop();
        this.hosts.delete(host);
        this.rooms.delete(t);
      }
    }
    for (const [host, s] of live) {
      if (this.hosts.has(host)) continue;
      const cfg = this.settings();
      const room = s.roomIdHex;
      this.loadCards(room);
      // Loaded already: a UDP host exists only once a RoomSession ran (lazyBundles.ts).
      const t = new (sessionCoreModule().TransferHost)(host, {
        stateDir: this.stateDir(room),
        maxBytes: cfg.maxBytes,
        ...(cfg.autoAcceptBytes > 0 ? { autoAcceptBytes: cfg.autoAcceptBytes, autoAcceptDir: cfg.folder } : {}),
      });
      t.events = {
        offered: (info) => this.onOffer(t, info),
        changed: (info) => this.onChanged(t, info),
      };
      t.onPeerUp = (peer) => void this.onPeerUp(t, room, peer);
      this.hosts.set(host, t);
      this.rooms.set(t, room);
      this.restoring = true; // offers restored from disk already have their card
      try {
        t.start();
      } finally {
        this.restoring = false;
      }
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

  private transfer(id: string): TransferInfo | undefined {
    return this.owner(id)?.manager.get(id);
  }

  /** Members the room knows (online or not): an offer to one offline waits until both are online. */
  private members(t: TransferHost): string[] {
    const s = [...this.sessions()].find((x) => x.roomHost && this.hosts.get(x.roomHost) === t);
    const known = s?.roomHost?.room.members().map((m) => m.peerId) ?? [];
    return [...new Set([...known, ...t.peers()])];
  }

  private memberName(t: TransferHost, peer: string): string {
    const s = [...this.sessions()].find((x) => x.roomHost && this.hosts.get(x.roomHost) === t);
    return s?.roomHost?.room.members().find((m) => m.peerId === peer)?.name || `Peer ${peer.slice(0, 8)}`;
  }

  // ---- sending ---------------------------------------------------------------------------------

  /** Explorer passes (clicked, allSelected); the palette passes nothing and gets a picker. */
  async send(uri?: vscode.Uri, uris?: vscode.Uri[]): Promise<string[]> {
    if (!this.attach()) {
      void notifyWarning(inert`Join a room before sending files.`);
      return [];
    }
    let files = (uris && uris.length ? uris : uri ? [uri] : []).filter((u) => u.scheme === 'file');
    if (files.length === 0) {
      files = (await vscode.window.showOpenDialog({ canSelectMany: true, openLabel: 'Send' })) ?? [];
    }
    return this.sendPaths(files.map((f) => f.fsPath));
  }

  /**
   * Offers each file to the room on screen: one card per file. Returns the transfer ids started now
   * (none when nobody is known yet: the card waits for the first member to come online).
   */
  async sendPaths(paths: string[]): Promise<string[]> {
    const t = this.attach();
    const room = this.session()?.roomIdHex;
    if (!t || !room) {
      void notifyWarning(inert`Join a room before sending files.`);
      return [];
    }
    const ids: string[] = [];
    let nobody = false;
    for (const file of paths) {
      try {
        const st = statSync(file);
        if (!st.isFile()) throw new Error('not a file');
        if (st.size > this.settings().maxBytes) throw new Error(`larger than the p2pChat.files.maxBytes limit (${size(this.settings().maxBytes)})`);
        const peers = this.members(t);
        const card: OutgoingCard = {
          id: randomBytes(16).toString('hex'),
          room,
          path: path.resolve(file),
          ref: { id: '', name: safeFileName(path.basename(file)), size: st.size, mime: mimeFor(file) },
          transfers: [],
          peers: [],
        };
        card.ref.id = card.id;
        this.cards.set(card.id, card);
        this.host?.addEntry(room, fileEntry(card.ref, this.host.selfId(), this.host.selfName(), true, Date.now()));
        this.sendPreview(room, card.id, card.path);
        if (peers.length === 0) nobody = true;
        else await this.offerCard(t, card, peers);
        ids.push(...card.transfers);
        this.saveCards(room);
        this.postStatus(card.id);
      } catch (e) {
        void notifyError(inert`Cannot send ${path.basename(file)}: ${(e as Error).message}`);
      }
    }
    if (nobody) void notifyInfo(inert`Nobody is in the room yet: the file will be offered to the first member who connects.`);
    return ids;
  }

  private async offerCard(t: TransferHost, card: OutgoingCard, peers: string[]): Promise<void> {
    const fresh = peers.filter((p) => !card.peers.includes(p));
    if (fresh.length === 0 || card.cancelled) return;
    card.peers.push(...fresh);
    const sent = await t.send(card.path, fresh);
    card.transfers.push(...sent);
    for (const id of sent) this.progress(id, `Sending a file (${size(card.ref.size)})`);
  }

  /** A member's link came up: a card sent to an empty room is offered now (once per member). */
  private async onPeerUp(t: TransferHost, room: string, peer: string): Promise<void> {
    for (const card of this.cards.values()) {
      if (card.room !== room || card.cancelled || card.transfers.length > 0 || card.peers.includes(peer)) continue;
      try {
        await this.offerCard(t, card, [peer]);
        this.saveCards(room);
        this.postStatus(card.id);
      } catch (e) {
        card.cancelled = true;
        this.saveCards(room);
        this.log.warn(`could not offer ${card.ref.name}: ${(e as Error).message}`);
        this.postStatus(card.id);
      }
    }
  }

  /** Files dropped from the OS or pasted: written under the extension's storage, then sent like any file. */
  async sendDropped(files: DroppedFile[]): Promise<string[]> {
    return this.sendPaths(writeDropped(path.join(this.storageDir, 'outgoing'), files));
  }

  /** URIs dragged from VS Code (Explorer, tabs): local files only; in a remote window they name this machine's files. */
  async sendUris(uris: string[]): Promise<string[]> {
    const paths: string[] = [];
    for (const raw of uris) {
      let u: vscode.Uri;
      try {
        u = vscode.Uri.parse(raw, true);
      } catch {
        continue;
      }
      const p = u.scheme === 'file' ? u.fsPath : u.scheme === 'vscode-remote' ? u.path : undefined;
      if (!p) continue;
      try {
        if (statSync(p).isFile()) paths.push(p);
      } catch {
        // vanished, or not ours to read
      }
    }
    if (paths.length === 0) {
      void notifyWarning(inert`Only files can be sent (not folders, not remote resources).`);
      return [];
    }
    return this.sendPaths(paths);
  }

  // ---- receiving -------------------------------------------------------------------------------

  private onOffer(t: TransferHost, info: TransferInfo): void {
    this.ensureCard(t, info);
    this.postStatus(info.id);
    void this.askOffer(t, info);
  }

  /**
   * The card of a received file, once: at its offer, or at its first change when it was taken without
   * asking (p2pChat.files.autoAcceptBytes). Transfers restored from disk already have theirs in history.
   */
  private ensureCard(t: TransferHost, info: TransferInfo): void {
    if (info.direction !== 'in' || this.carded.has(info.id)) return;
    this.carded.add(info.id);
    const room = this.rooms.get(t);
    if (!room || this.restoring) return;
    this.host?.addEntry(room, fileEntry({ id: info.id, name: info.name, size: info.size, mime: info.mime }, info.peer, this.memberName(t, info.peer), false, Date.now()));
  }

  private async askOffer(t: TransferHost, info: TransferInfo): Promise<void> {
    const choice = await notifyInfo(inert`A room member offers a file: ${info.name} (${size(info.size)}, ${info.mime}).`, SAVE, DECLINE);
    if (![...this.hosts.values()].includes(t)) return; // the room was left meanwhile
    if (t.manager.get(info.id)?.status !== 'offered') return; // answered on the card meanwhile
    if (choice === SAVE) await this.save(info.id);
    else if (choice === DECLINE) t.cancel(info.id);
  }

  /** Save… : the folder dialog (at p2pChat.files.downloadFolder), then accept. Nothing is written before. */
  async save(id: string): Promise<void> {
    const t = this.owner(id);
    const info = t?.manager.get(id);
    if (!t || !info || info.status !== 'offered') return;
    const folder = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, defaultUri: vscode.Uri.file(this.settings().folder), openLabel: 'Save here' });
    if (!folder?.[0]) return; // the offer stays on its card: Save again, or Decline
    if (t.manager.get(id)?.status !== 'offered') return;
    try {
      t.accept(id, folder[0].fsPath);
      this.postStatus(id);
      this.progress(id, `Receiving a file (${size(info.size)})`);
    } catch (e) {
      void notifyError(inert`Cannot save the file: ${(e as Error).message}`);
    }
  }

  private onChanged(t: TransferHost, info: TransferInfo): void {
    this.watchers.get(info.id)?.();
    this.ensureCard(t, info);
    const room = this.rooms.get(t);
    if (info.direction === 'in' && info.status === 'done' && info.path) {
      if (room) this.sendPreview(room, info.id, info.path);
      const file = vscode.Uri.file(info.path);
      void notifyInfo(inert`File received: ${path.basename(info.path)} (${size(info.size)}), its SHA-256 checked.`, OPEN, SHOW).then((c) => {
        if (c === OPEN) void vscode.commands.executeCommand('vscode.open', file);
        if (c === SHOW) void vscode.commands.executeCommand('revealFileInOS', file);
      });
    }
    if (info.direction === 'out' && (info.status === 'done' || info.status === 'cancelled')) {
      // The transfer manager forgets finished sends at the next start: the card remembers how they ended.
      const card = this.cards.get(this.cardOf(info));
      if (card) {
        card.ended = { ...card.ended, [info.id]: info.status };
        this.saveCards(card.room);
      }
    }
    if (info.status === 'cancelled' && info.error) this.log.info(`transfer ${info.id} stopped: ${info.error}${info.cancelledByPeer ? ' (by the peer)' : ''}`);
    this.postStatus(this.cardOf(info));
  }

  // ---- card buttons ----------------------------------------------------------------------------

  action(id: string, action: 'save' | 'open' | 'cancel'): void {
    if (action === 'save') void this.save(id);
    else if (action === 'open') this.open(id);
    else this.cancelCard(id);
  }

  private open(id: string): void {
    const card = this.cards.get(id);
    const p = card ? card.path : this.transfer(id)?.path;
    if (!p || !existsSync(p)) {
      void notifyWarning(inert`That file is no longer there.`);
      return;
    }
    void vscode.commands.executeCommand('vscode.open', vscode.Uri.file(p));
  }

  private cancelCard(id: string): void {
    const card = this.cards.get(id);
    if (card) {
      card.cancelled = true;
      for (const tid of card.transfers) this.owner(tid)?.cancel(tid);
      this.saveCards(card.room);
    } else {
      this.owner(id)?.cancel(id);
    }
    this.postStatus(id);
  }

  // ---- card state to the webview ---------------------------------------------------------------

  private cardOf(info: TransferInfo): string {
    if (info.direction === 'in') return info.id;
    for (const c of this.cards.values()) if (c.transfers.includes(info.id)) return c.id;
    return info.id;
  }

  /** The live state of the cards among these transcript entries (the controller's init asks). */
  statuses(entries: readonly TranscriptEntry[]): FileStatus[] {
    const out: FileStatus[] = [];
    for (const e of entries) if (e.body.kind === 'file') out.push(this.status(e.body.file.id, e.own));
    return out;
  }

  private status(id: string, own: boolean): FileStatus {
    const card = this.cards.get(id);
    if (card) return outgoingStatus(card, card.transfers.map((t) => this.transfer(t) ?? endedTransfer(card, t)), existsSync(card.path));
    if (own) return { id, direction: 'out', state: 'gone', bytes: 0, total: 0, rate: 0, canOpen: false };
    const info = this.transfer(id);
    return incomingStatus(id, info?.path && !existsSync(info.path) ? { ...info, path: undefined } : info);
  }

  private roomOfCard(id: string): string | undefined {
    const card = this.cards.get(id);
    if (card) return card.room;
    const t = this.owner(id);
    return t ? this.rooms.get(t) : undefined;
  }

  private postStatus(id: string): void {
    const room = this.roomOfCard(id);
    if (!room || !this.host) return;
    const s = this.status(id, this.cards.has(id));
    const json = JSON.stringify(s);
    if (this.posted.get(id) === json) return;
    this.posted.set(id, json);
    this.host.post(room, { type: 'fileStatus', status: s });
  }

  private postStatuses(): void {
    for (const c of this.cards.values()) if (c.transfers.some((t) => this.transfer(t)?.status === 'active')) this.postStatus(c.id);
    for (const t of this.hosts.values()) for (const i of t.list()) if (i.direction === 'in' && i.status === 'active') this.postStatus(i.id);
  }

  /** A new webview (or a new init): everything is posted again, previews included. */
  viewAttached(room: string | undefined, entries: readonly TranscriptEntry[]): void {
    this.posted.clear();
    if (!room) return;
    const files = entries.filter((e) => e.body.kind === 'file').slice(-20);
    for (const e of files) {
      if (e.body.kind !== 'file') continue;
      const id = e.body.file.id;
      const p = this.cards.get(id)?.path ?? this.transfer(id)?.path;
      const done = this.cards.has(id) || this.transfer(id)?.status === 'done';
      if (p && done) this.sendPreview(room, id, p);
    }
  }

  /** An image's bytes for its card, if it is small enough and really is PNG, JPEG, GIF or WebP. */
  private sendPreview(room: string, id: string, file: string): void {
    try {
      const st = statSync(file);
      if (!st.isFile() || st.size > MAX_PREVIEW_BYTES || st.size < 8) return;
      const bytes = readFileSync(file);
      const mime = sniffImage(bytes);
      if (mime) this.host?.post(room, { type: 'filePreview', id, mime, bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length) });
    } catch {
      // gone or unreadable: no preview
    }
  }

  /** VS Code's progress notification, with Cancel, for a transfer still running after a moment. */
  private progress(id: string, title: string): void {
    setTimeout(() => {
      const info = this.transfer(id);
      if (!info || info.status === 'done' || info.status === 'cancelled') return;
      this.showProgress(id, title);
    }, LONG_TRANSFER_MS).unref?.();
  }

  private showProgress(id: string, title: string): void {
    void vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, (progress, token) => {
      return new Promise<void>((resolve) => {
        let shown = 0;
        const tick = () => {
          const info = this.transfer(id);
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
    clearInterval(this.statusTimer);
    for (const t of this.hosts.values()) t.stop();
    this.hosts.clear();
  }
}
