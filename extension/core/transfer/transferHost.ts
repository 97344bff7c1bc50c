// Joins file transfers to a running room (the I/O shell around TransferManager): feeds it the
// room's file frames and link changes, sends what it produces on each peer's link, and keeps one
// timer for its next deadline. Pieces are produced in bounded bursts and the event loop gets a turn
// between bursts, so acknowledgements and chat keep flowing while a file is sent.
import { monotonicNow, type UdpRoomHost } from '../net/udpRoomHost';
import { DeadlineTimer } from '../net/deadlineTimer';
import { FsTransferIo, prepareFile, recycleSourceBlocks } from './fsIo';
import { TransferManager, type TransferEvents, type TransferInfo } from './manager';
import type { FileFrame } from '../wire/fileFrames';

/** Received file frames handled per turn of the event loop (a piece: a copy, maybe a chunk's hash and write). */
const FRAMES_PER_TURN = 16;
/** Pieces produced per turn (the room then holds them as bulk until the socket takes them). */
const PIECES_PER_TURN = 2;

export interface TransferHostOptions {
  stateDir: string;
  maxBytes?: number;
  autoAcceptBytes?: number;
  autoAcceptDir?: string;
}

export class TransferHost {
  readonly manager: TransferManager;
  readonly io: FsTransferIo;
  // Due work runs in the turn's own slot after the socket's read loop (setImmediate), never from the timer
  // phase: there it would run before the read loop, and a chat message already waiting in the socket would wait
  // for a whole flush (up to 16 received pieces copied, hashed and written).
  private readonly timer = new DeadlineTimer(() => this.schedule(), monotonicNow);
  private immediate?: NodeJS.Immediate;
  private poller?: NodeJS.Timeout;
  private online = new Set<string>();
  private inbox: { peer: string; f: FileFrame; now: number }[] = [];
  private inboxHead = 0;
  private stopped = false;
  /** Peers that came up since the last look: `peerUp` hooks (e.g. offers queued for "everyone"). */
  onPeerUp?: (peer: string) => void;

  constructor(
    private readonly host: UdpRoomHost,
    opts: TransferHostOptions,
  ) {
    this.io = new FsTransferIo(opts.stateDir);
    this.manager = new TransferManager({ io: this.io, maxBytes: opts.maxBytes, autoAcceptBytes: opts.autoAcceptBytes, autoAcceptDir: opts.autoAcceptDir });
  }

  set events(e: TransferEvents) {
    this.manager.events = e;
  }

  /** Call after the room host started. */
  start(): void {
    // A burst of file pieces must not overflow the default ~200 KiB receive buffer before the
    // delay-based window notices the queue: ask for 4 MiB (Linux caps it at net.core.rmem_max).
    for (const set of [() => this.host.socket.setRecvBufferSize(4 << 20), () => this.host.socket.setSendBufferSize(4 << 20)]) {
      try {
        set();
      } catch {
        // not supported or not permitted: the window copes, with a few more resends
      }
    }
    this.manager.restore(this.io.load(), monotonicNow());
    this.host.room.files = {
      // Not handled here, inside the socket's read loop: a piece costs a hash and a disk write, and the
      // datagrams read after it in the same loop may hold a chat message. They are handled in the next
      // flush (after the read loop), a bounded number per turn.
      frame: (peer, f, now) => {
        this.inbox.push({ peer, f, now });
        this.schedule();
      },
    };
    // Link changes have no event of their own here: look twice a second (cheap), and on every flush.
    this.poller = setInterval(() => this.schedule(), 500);
    this.poller.unref?.();
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    this.timer.clear();
    if (this.poller) clearInterval(this.poller);
    if (this.immediate) clearImmediate(this.immediate);
    this.host.room.files = undefined;
  }

  /** Offers `file` to `peers` (default: every member whose link is up now). Returns the transfer ids. */
  async send(file: string, peers?: string[]): Promise<string[]> {
    const prepared = await prepareFile(file);
    const to = peers ?? this.host.room.verifiedPeers();
    const ids = to.map((p) => this.manager.offer(p, prepared, monotonicNow()));
    this.schedule();
    return ids;
  }

  accept(id: string, dir: string): void {
    this.manager.accept(id, dir, monotonicNow());
    this.schedule();
  }

  cancel(id: string): void {
    this.manager.cancel(id, monotonicNow());
    this.schedule();
  }

  peers(): string[] {
    return this.host.room.verifiedPeers();
  }

  list(): TransferInfo[] {
    return this.manager.list();
  }

  /** Coalesces: everything that arrived in this turn of the event loop is answered in one flush. */
  schedule(): void {
    if (this.stopped || this.immediate) return;
    this.immediate = setImmediate(() => {
      this.immediate = undefined;
      this.flush();
    });
  }

  private syncLinks(now: number): void {
    const up = new Set(this.host.room.verifiedPeers());
    for (const p of up) {
      const inner = this.host.room.linkFor(p)?.pathInnerBytes;
      if (inner) this.manager.setInnerBytes(p, inner);
      if (!this.online.has(p)) {
        this.manager.linkUp(p, now);
        this.onPeerUp?.(p);
      }
    }
    for (const p of this.online) if (!up.has(p)) this.manager.linkDown(p);
    this.online = up;
  }

  private flush(): void {
    if (this.stopped) return;
    let now = monotonicNow();
    this.syncLinks(now);
    // Received file frames, oldest first, at most a turn's worth of work; the rest next turn.
    const end = Math.min(this.inbox.length, this.inboxHead + FRAMES_PER_TURN);
    for (; this.inboxHead < end; this.inboxHead++) {
      const { peer, f, now: at } = this.inbox[this.inboxHead];
      this.manager.receive(peer, f, at);
    }
    if (this.inboxHead === this.inbox.length) {
      this.inbox = [];
      this.inboxHead = 0;
    }
    if (end > 0) now = monotonicNow();
    // New pieces only once the room has handed the last ones to the socket: the queue ahead of the
    // socket stays one turn deep (chat goes around it anyway: Room.takeOutgoing).
    const out = this.manager.poll(now, this.host.room.bulkPending > 0 ? 0 : PIECES_PER_TURN);
    for (const [peer, frames] of out) {
      if (!this.host.room.sendFileFrames(peer, frames, this.manager.innerBytes(peer), now)) this.manager.linkDown(peer);
    }
    // Every piece read above is sealed now: its source block may be refilled.
    recycleSourceBlocks();
    this.host.pump(true);
    if (this.manager.sendable || this.inboxHead < this.inbox.length) this.schedule();
    this.timer.noLaterThan(this.manager.nextWakeup());
  }
}
