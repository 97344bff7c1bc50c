// The rendezvous server: a thin I/O shell around the pure room table. Everything it sends goes
// through `send`, which enforces the anti-amplification rule in one place: a reply to a source that
// has not proven (with a valid cookie) that it receives at its address is never larger than the
// request that caused it. The only exception is the standard STUN Binding answer, which is kept
// minimal, limited per source on its own lane and accounted separately.
import * as dgram from 'node:dgram';
import { classify, MsgType, VERSION } from '../extension/core/wire/header';
import { Endpoint, endpointKey, normaliseAddress } from '../extension/core/wire/endpoint';
import { isPeerType } from '../extension/core/wire/peer';
import { isContactPeerType } from '../extension/core/wire/contactRequest';
import { decodeRendezvous, encodeRendezvous, ErrorCode, MAX_ERROR_TEXT, RendezvousMessage } from '../extension/core/wire/rendezvous';
import { CookieJar } from './cookie';
import { createLogger, Logger } from './log';
import { BucketSpec, SourceKey, sourceKey, SourceLimiter } from './rateLimit';
import { DEFAULT_ROOM_OPTIONS, Outgoing, RoomObserver, RoomTable, RoomTableStats, shortId } from './rooms';
import { encodeBindingSuccess, parseBindingRequest } from './stun';
import { TurnConfig, turnCredentials } from './turn';
import { decodeTopic, isTopicRequestType, isTopicType, MAX_TOPIC_REQUEST_BYTES } from '../extension/core/wire/topics';
import { TopicObserver, TopicOutgoing, TopicTable, TopicTableOptions, TopicTableStats } from './topics';
import type { TopicClusterHost } from './cluster/topicRegistry';
import { decodeMailbox, encodeMailbox, isMailboxRequestType, isMailboxType, MailboxErrorCode, MAX_MAILBOX_REQUEST_BYTES, signedPart } from '../extension/core/wire/mailbox';
import { MailboxLimits, MailboxService, MailboxStats } from './mailbox';
import type { Store } from './store/store';
import { decodeDirectory, DirectoryRequestMessage, encodeDirectory, isDirectoryRequestType, isDirectoryType } from '../extension/core/wire/directory';
import { Directory, DirectoryStats } from './directory';
import { MemoryStore } from './store/memoryStore';

export const DEFAULT_PORT = 7000;
/** The largest valid request (a register with a 64-byte name and 8 IPv6 candidates) is 302 bytes. */
export const MAX_REQUEST_BYTES = 512;
export const MAX_STUN_REQUEST_BYTES = 1500;
const ERROR_HEADER_BYTES = 5; // magic, version, type, code, text length

export interface RendezvousServerOptions {
  /** Main port (default 7000; 0 picks a free one). */
  port?: number;
  /** Probe port (default port+1, or a free one when port is 0). */
  probePort?: number;
  /** Bind address; default `::` (dual stack), falling back to 0.0.0.0 where IPv6 is missing. */
  host?: string;
  /** Sockets to use instead of creating them; bound here unless already bound. The server owns them from now on. */
  sockets?: { main: dgram.Socket; probe: dgram.Socket };
  maxMembersPerRoom?: number;
  maxRooms?: number;
  maxMembers?: number;
  maxMembersPerAddress?: number;
  /** Source endpoints whose rate state is remembered (LRU). */
  maxSources?: number;
  refreshSeconds?: number;
  /** Default expiry: three refresh intervals. */
  expiryMs?: number;
  rate?: BucketSpec;
  stunRate?: BucketSpec;
  stunGlobalRate?: BucketSpec;
  cookieEpochMs?: number;
  /** Fixed cookie key (tests); random per start otherwise. */
  cookieSecret?: Buffer;
  turn?: TurnConfig;
  logger?: Logger;
  /** Monotonic milliseconds: rate limits, expiry, cookie epochs. */
  now?: () => number;
  /** Wall-clock milliseconds: TURN credential expiry. */
  wallClock?: () => number;
  /** How often silent members are expired. */
  expiryIntervalMs?: number;
  /** Socket buffers; a burst of registrations must not overflow the kernel's default 208 KiB. */
  socketBufferBytes?: number;
  /** Shared state across instances (rendezvous/cluster/): told of every membership change. */
  cluster?: RoomObserver;
  /** Shared topics across instances (rendezvous/cluster/topicRegistry.ts): told of every local topic membership change. */
  topicCluster?: TopicObserver;
  /** Caps of the topic table (contacts' presence, DMs, request inboxes); refreshSeconds is shared. */
  topics?: Partial<Omit<TopicTableOptions, 'refreshSeconds'>>;
  /** Where mailboxes are kept (a FileStore under --data-dir survives restarts); default: in memory. */
  store?: Store;
  /** Mailbox limits, or false to refuse every mailbox request. */
  mailbox?: Partial<MailboxLimits> | false;
  /**
   * The account directory (opened by the caller on its store). Absent: the server keeps one in memory,
   * so accounts last as long as the process (the CLI opens a FileStore under --data-dir instead).
   */
  directory?: Directory;
}

/** Client-to-server types, the only ones ever answered. A foreign version is answered only for these numbers. */
const REQUEST_TYPES = new Set<number>([
  MsgType.Register,
  MsgType.Leave,
  MsgType.Probe,
  MsgType.AccountClaim,
  MsgType.AccountUpdate,
  MsgType.AccountRotate,
  MsgType.AccountDelete,
  MsgType.AccountLookup,
  0x30, // topicRegister (track d2)
  0x31, // topicLeave
]);
const isRendezvousType = (t: number) => (t >= MsgType.Register && t <= MsgType.ProbeReply) || isTopicType(t);

export const DEFAULT_RATE: BucketSpec = { perSecond: 20, burst: 40 };
export const DEFAULT_STUN_RATE: BucketSpec = { perSecond: 10, burst: 20 };
export const DEFAULT_MAX_SOURCES = 100_000;

export interface BoundPorts {
  host: string;
  port: number;
  probePort: number;
}

export type DropReason =
  | 'unknown' // first byte is neither ours nor STUN
  | 'channelData'
  | 'rateLimited'
  | 'stunRateLimited'
  | 'oversized'
  | 'malformed'
  | 'unsupportedVersion'
  | 'peerPacket' // a peer-to-peer packet sent to the rendezvous
  | 'wrongPort' // anything but probe/STUN on the probe port
  | 'unexpectedType' // a server-to-client message sent to the server
  | 'stunMalformed'
  | 'stunNotBinding'
  | 'leaveUnknown';

export interface ServerStats {
  uptimeMs: number;
  rooms: number;
  members: number;
  sources: number;
  sourceEvictions: number;
  table: RoomTableStats;
  topics: TopicTableStats;
  received: { datagrams: number; bytes: number; byType: Record<string, number> };
  sent: { datagrams: number; bytes: number; byType: Record<string, number>; errors: number };
  /** Our own protocol, to and from sources that had not proven their address. bytesOut <= bytesIn always. */
  unverified: { requests: number; bytesIn: number; bytesOut: number };
  /** STUN Binding answers: the documented exception, reported on their own. */
  stun: { requests: number; bytesIn: number; answers: number; bytesOut: number };
  cookiesIssued: number;
  drops: Record<DropReason, number>;
  /** Replies not sent: would have been larger than an unverified request, or too many errors. */
  suppressed: { wouldAmplify: number; errorRateLimited: number };
  mailbox?: MailboxStats;
  directory?: DirectoryStats;
}

type Role = 'main' | 'probe';

interface Cause {
  sock: dgram.Socket;
  /** Size of the datagram being answered (0 for pushes, which go only to proven members). */
  requestBytes: number;
  verified: boolean;
  stun?: boolean;
  source: Endpoint;
  key: SourceKey;
}

function zeroDrops(): Record<DropReason, number> {
  return {
    unknown: 0,
    channelData: 0,
    rateLimited: 0,
    stunRateLimited: 0,
    oversized: 0,
    malformed: 0,
    unsupportedVersion: 0,
    peerPacket: 0,
    wrongPort: 0,
    unexpectedType: 0,
    stunMalformed: 0,
    stunNotBinding: 0,
    leaveUnknown: 0,
  };
}

function bindSocket(sock: dgram.Socket, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    sock.once('error', onError);
    sock.bind({ port, address: host, exclusive: true }, () => {
      sock.off('error', onError);
      resolve();
    });
  });
}

function isBound(sock: dgram.Socket): boolean {
  try {
    sock.address();
    return true;
  } catch {
    return false;
  }
}

export class RendezvousServer {
  private readonly opts: RendezvousServerOptions;
  private readonly now: () => number;
  private readonly wallClock: () => number;
  private readonly log: Logger;
  private table!: RoomTable;
  private topicTable!: TopicTable;
  private cookies!: CookieJar;
  private limiter!: SourceLimiter;
  private main?: dgram.Socket;
  private probe?: dgram.Socket;
  private timer?: NodeJS.Timeout;
  /** Sockets that need IPv4 destinations written as IPv4-mapped IPv6. */
  private readonly v6Sockets = new WeakSet<dgram.Socket>();
  private startedAt = 0;
  private stoppedAt?: number;
  private bound?: BoundPorts;
  private counters = RendezvousServer.freshCounters();
  /** Outlives restarts of this instance, like its store. */
  readonly mailbox?: MailboxService;
  private lastPurge = 0;
  private directory?: Directory;

  constructor(opts: RendezvousServerOptions = {}) {
    this.opts = opts;
    this.now = opts.now ?? (() => performance.timeOrigin + performance.now());
    this.wallClock = opts.wallClock ?? Date.now;
    this.log = opts.logger ?? createLogger();
    if (opts.mailbox !== false) this.mailbox = new MailboxService(opts.store ?? new MemoryStore(), opts.mailbox ?? {});
    this.reset();
  }

  private static freshCounters() {
    return {
      rxDatagrams: 0,
      rxBytes: 0,
      rxByType: {} as Record<string, number>,
      txDatagrams: 0,
      txBytes: 0,
      txByType: {} as Record<string, number>,
      sendErrors: 0,
      unverifiedRequests: 0,
      unverifiedIn: 0,
      unverifiedOut: 0,
      stunRequests: 0,
      stunIn: 0,
      stunAnswers: 0,
      stunOut: 0,
      cookiesIssued: 0,
      wouldAmplify: 0,
      errorRateLimited: 0,
      drops: zeroDrops(),
    };
  }

  /** Every start is a fresh server: new cookie key, empty rooms, as after a process restart. */
  private reset(): void {
    const o = this.opts;
    const turn = o.turn;
    this.table = new RoomTable({
      maxMembersPerRoom: o.maxMembersPerRoom ?? DEFAULT_ROOM_OPTIONS.maxMembersPerRoom,
      maxRooms: o.maxRooms ?? DEFAULT_ROOM_OPTIONS.maxRooms,
      maxMembers: o.maxMembers ?? DEFAULT_ROOM_OPTIONS.maxMembers,
      maxMembersPerAddress: o.maxMembersPerAddress ?? DEFAULT_ROOM_OPTIONS.maxMembersPerAddress,
      refreshSeconds: o.refreshSeconds ?? DEFAULT_ROOM_OPTIONS.refreshSeconds,
      ...(o.expiryMs !== undefined ? { expiryMs: o.expiryMs } : {}),
      ...(turn ? { turn: (peerId: Buffer) => turnCredentials(turn, peerId, this.wallClock()) } : {}),
      ...(o.cluster ? { observer: o.cluster } : {}),
    });
    this.topicTable = new TopicTable({
      ...o.topics,
      refreshSeconds: o.refreshSeconds ?? DEFAULT_ROOM_OPTIONS.refreshSeconds,
      ...(turn ? { turn: (clientId: Buffer) => turnCredentials(turn, clientId, this.wallClock()) } : {}),
      ...(o.topicCluster ? { observer: o.topicCluster } : {}),
    });
    this.cookies = new CookieJar({ ...(o.cookieSecret ? { secret: o.cookieSecret } : {}), epochMs: o.cookieEpochMs, maxRemembered: o.maxSources ?? DEFAULT_MAX_SOURCES });
    this.limiter = new SourceLimiter(
      {
        p2p: o.rate ?? DEFAULT_RATE,
        stun: o.stunRate ?? DEFAULT_STUN_RATE,
        maxSources: o.maxSources ?? DEFAULT_MAX_SOURCES,
        ...(o.stunGlobalRate ? { stunGlobal: o.stunGlobalRate } : {}),
      },
      this.now(),
    );
    this.counters = RendezvousServer.freshCounters();
  }

  get ports(): BoundPorts | undefined {
    return this.bound;
  }

  async start(): Promise<BoundPorts> {
    if (this.main) throw new Error('already started');
    if (this.bound && this.opts.sockets) throw new Error('injected sockets are closed by stop(); create a new server');
    if (this.bound) this.reset();
    const o = this.opts;
    // A restart of the same instance keeps the ports it had, even ones the system picked.
    const port = this.bound?.port ?? o.port ?? DEFAULT_PORT;
    const probePort = this.bound?.probePort ?? o.probePort ?? (port === 0 ? 0 : port + 1);
    let host = o.host ?? '::';
    const open = async (h: string) => {
      const make = () => dgram.createSocket(h.includes(':') ? { type: 'udp6', ipv6Only: false } : { type: 'udp4' });
      const main = o.sockets?.main ?? make();
      const probe = o.sockets?.probe ?? make();
      try {
        if (!isBound(main)) await bindSocket(main, port, h);
        if (!isBound(probe)) await bindSocket(probe, probePort, h);
      } catch (err) {
        if (!o.sockets) for (const s of [main, probe]) s.close();
        throw err;
      }
      return { main, probe };
    };
    let socks: { main: dgram.Socket; probe: dgram.Socket };
    try {
      socks = await open(host);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (o.host !== undefined || o.sockets || (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL')) throw err;
      host = '0.0.0.0';
      socks = await open(host);
    }
    this.directory = o.directory ?? this.directory ?? (await Directory.open(new MemoryStore(), {}, this.now()));
    this.main = socks.main;
    this.probe = socks.probe;
    for (const [sock, role] of [
      [socks.main, 'main'],
      [socks.probe, 'probe'],
    ] as const) {
      const size = o.socketBufferBytes ?? 4 * 1024 * 1024;
      try {
        sock.setRecvBufferSize(size);
        sock.setSendBufferSize(size);
      } catch {
        // Capped by net.core.rmem_max/wmem_max or unsupported: the defaults still work, with more loss under bursts.
      }
      if (sock.address().family === 'IPv6') this.v6Sockets.add(sock);
      sock.on('message', (buf, rinfo) => this.onDatagram(role, sock, buf, rinfo));
      sock.on('error', (err) => this.log.warn('socket-error', { role, error: err.message }));
    }
    this.startedAt = this.now();
    this.stoppedAt = undefined;
    this.timer = setInterval(() => this.tick(), o.expiryIntervalMs ?? 1000);
    this.timer.unref();
    this.bound = { host, port: socks.main.address().port, probePort: socks.probe.address().port };
    this.log.info('listening', {
      ...this.bound,
      refreshSeconds: this.table.refreshSeconds,
      maxMembersPerRoom: o.maxMembersPerRoom ?? DEFAULT_ROOM_OPTIONS.maxMembersPerRoom,
      turn: o.turn ? `${endpointKey(o.turn.server)} ttl ${o.turn.ttlSeconds}s` : 'off',
    });
    return this.bound;
  }

  /** Close both sockets without sending anything: clients notice the silence or the new cookie. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const socks = [this.main, this.probe].filter((s): s is dgram.Socket => !!s);
    this.main = this.probe = undefined;
    if (socks.length) this.stoppedAt = this.now();
    await Promise.all(
      socks.map(
        (s) =>
          new Promise<void>((resolve) => {
            try {
              s.close(() => resolve());
            } catch {
              resolve();
            }
          }),
      ),
    );
  }

  stats(): ServerStats {
    const c = this.counters;
    const table = this.table.stats();
    return {
      uptimeMs: this.bound ? (this.stoppedAt ?? this.now()) - this.startedAt : 0,
      rooms: table.rooms,
      members: table.members,
      sources: this.limiter.size,
      sourceEvictions: this.limiter.evictions,
      table,
      topics: this.topicTable.stats(),
      received: { datagrams: c.rxDatagrams, bytes: c.rxBytes, byType: { ...c.rxByType } },
      sent: { datagrams: c.txDatagrams, bytes: c.txBytes, byType: { ...c.txByType }, errors: c.sendErrors },
      unverified: { requests: c.unverifiedRequests, bytesIn: c.unverifiedIn, bytesOut: c.unverifiedOut },
      stun: { requests: c.stunRequests, bytesIn: c.stunIn, answers: c.stunAnswers, bytesOut: c.stunOut },
      cookiesIssued: c.cookiesIssued,
      drops: { ...c.drops },
      suppressed: { wouldAmplify: c.wouldAmplify, errorRateLimited: c.errorRateLimited },
      ...(this.mailbox ? { mailbox: { ...this.mailbox.stats, refused: { ...this.mailbox.stats.refused } } } : {}),
      ...(this.directory ? { directory: this.directory.stats() } : {}),
    };
  }

  /** Whether both sockets are open (for /healthz). */
  get listening(): boolean {
    return this.main !== undefined && this.probe !== undefined;
  }

  /** Member expiry in ms, as the table applies it (shared state renews on this scale). */
  get refreshSeconds(): number {
    return this.table.refreshSeconds;
  }

  // ---- for shared state across instances (rendezvous/cluster/): read the table, push to members here.

  localMembers(roomKey: string) {
    return this.table.localMembers(roomKey);
  }

  localRoomKeys(): Iterable<string> {
    return this.table.roomKeys();
  }

  /** Send to a member registered here: its endpoint was proven by a cookie, like any push. */
  push(to: Endpoint, bytes: Buffer, label: string): void {
    if (!this.main) return;
    this.send({ sock: this.main, requestBytes: 0, verified: true, source: to, key: sourceKey(to.address, to.port) }, bytes, label);
  }

  /** The topic table as the topic registry sees it (always the current table: a restart makes a new one). */
  topicHost(): TopicClusterHost {
    return {
      localTopics: () => this.topicTable.localTopics(),
      localMembers: (t) => this.topicTable.localMembers(t),
      hasLocalMembers: (t) => this.topicTable.hasLocalMembers(t),
      remoteFields: (t) => this.topicTable.remoteFields(t),
      remoteUpsert: (t, f, k, p) => this.topicTable.remoteUpsert(t, f, k, p),
      remoteRemove: (t, f) => this.topicTable.remoteRemove(t, f),
      dropRemote: () => this.topicTable.dropRemote(),
      // Only ever to members registered here: their endpoints were proven by a cookie.
      push: (out) => {
        if (this.main) this.deliverTopic(out, this.main);
      },
    };
  }

  /** Expire silent members now (the timer calls this every second). */
  tick(): void {
    const now = this.now();
    const out = this.table.expire(now);
    if (out.length && this.main) this.deliver(out, this.main);
    const gone = this.topicTable.expire(now);
    if (gone.length && this.main) this.deliverTopic(gone, this.main);
    if (this.mailbox && now - this.lastPurge >= 60_000) {
      this.lastPurge = now;
      void this.mailbox.purge(this.wallClock());
    }
  }

  private drop(reason: DropReason): void {
    this.counters.drops[reason]++;
  }

  private onDatagram(role: Role, sock: dgram.Socket, buf: Buffer, rinfo: dgram.RemoteInfo): void {
    const c = this.counters;
    c.rxDatagrams++;
    c.rxBytes += buf.length;
    const kind = classify(buf);
    if (kind === 'unknown') return this.drop('unknown');
    if (kind === 'channeldata') return this.drop('channelData');
    const now = this.now();
    // IPv4 sockets report plain dotted addresses; only IPv6 ones can carry IPv4-mapped forms.
    const source: Endpoint = { address: rinfo.family === 'IPv4' ? rinfo.address : normaliseAddress(rinfo.address), port: rinfo.port };
    const key = sourceKey(source.address, source.port);
    if (kind === 'stun') return this.onStun(sock, buf, source, key, now);

    // From here on: our protocol. Only requests are ever answered, in any version: answering a
    // server-to-client message or a peer packet could start an endless exchange between two
    // servers (or a server and a peer) that an attacker introduced to each other by spoofing.
    const type = buf[2];
    if (buf[1] === VERSION && isMailboxType(type)) return this.onMailbox(role, sock, buf, source, key, now);
    if (buf[1] === VERSION) {
      if (isPeerType(type) || isContactPeerType(type)) return this.drop('peerPacket');
      if (!REQUEST_TYPES.has(type) && isRendezvousType(type)) return this.drop('unexpectedType');
      if (isDirectoryType(type) && !isDirectoryRequestType(type)) return this.drop('unexpectedType');
    }
    const cause: Cause = { sock, requestBytes: buf.length, verified: false, source, key };
    const answerable = buf[1] === VERSION || REQUEST_TYPES.has(type);
    if (!this.limiter.allow(key, 'p2p', now)) {
      this.drop('rateLimited');
      c.unverifiedRequests++;
      c.unverifiedIn += buf.length;
      if (answerable) this.sendError(cause, now, ErrorCode.RateLimited, 'rate limited');
      return;
    }
    if (buf.length > (isTopicRequestType(type) ? MAX_TOPIC_REQUEST_BYTES : MAX_REQUEST_BYTES)) {
      this.drop('oversized');
      c.unverifiedRequests++;
      c.unverifiedIn += buf.length;
      return this.sendError(cause, now, ErrorCode.Malformed, 'datagram too large');
    }
    if (buf[1] === VERSION && isTopicRequestType(type)) {
      if (role === 'probe') return this.drop('wrongPort');
      return this.onTopic(cause, buf, now);
    }
    if (buf[1] === VERSION && isDirectoryType(type)) return this.onDirectory(role, buf, cause, now);
    const d = decodeRendezvous(buf);
    const typeName = d.ok ? d.value.type : 'invalid';
    c.rxByType[typeName] = (c.rxByType[typeName] ?? 0) + 1;
    if (!d.ok) {
      c.unverifiedRequests++;
      c.unverifiedIn += buf.length;
      if ('version' in d && d.version !== undefined) {
        this.drop('unsupportedVersion');
        if (answerable) this.sendError(cause, now, ErrorCode.UnsupportedVersion, `server speaks version ${VERSION}`);
        return;
      }
      this.drop('malformed');
      return this.sendError(cause, now, ErrorCode.Malformed, d.error);
    }
    const m = d.value;
    if (role === 'probe' && m.type !== 'probe') return this.drop('wrongPort');
    switch (m.type) {
      case 'probe':
        c.unverifiedRequests++;
        c.unverifiedIn += buf.length;
        this.send(cause, encodeRendezvous({ type: 'probeReply', txid: m.txid, observed: source }), 'probeReply');
        return;
      case 'register':
      case 'leave': {
        if (!this.passCookie(cause, buf, m.cookie, now)) return;
        if (m.type === 'register') {
          const r = this.table.register(now, source, m);
          if (this.log.enabled('debug')) {
            this.log.debug('register', { room: shortId(m.roomId), peer: shortId(m.peerId), status: r.status, from: endpointKey(source) });
          }
          this.deliver(r.out, sock, cause);
          // Joined here while the instances cannot share rooms: say so once, after the welcome.
          if (r.status === 'joined' && this.opts.cluster?.available && !this.opts.cluster.available()) {
            this.sendError(cause, now, ErrorCode.SharedStateUnavailable, 'instances cannot share rooms now: members on other instances are out of reach');
          }
        } else {
          const r = this.table.leave(now, source, m.roomId, m.peerId);
          if (r.status !== 'left') this.drop('leaveUnknown');
          if (this.log.enabled('debug')) this.log.debug('leave', { room: shortId(m.roomId), peer: shortId(m.peerId), status: r.status });
          this.deliver(r.out, sock, cause);
        }
        return;
      }
      default:
        // Never answer a server-to-client message: two servers (or a spoofed pair) would ping-pong.
        return this.drop('unexpectedType');
    }
  }

  /**
   * The gate every request passes before any work: a source without a valid cookie gets one (never more bytes
   * than it sent) and its request stops here; with one, the request is verified and may be answered in full.
   */
  private passCookie(cause: Cause, buf: Buffer, cookie: Uint8Array, now: number): boolean {
    if (this.cookies.verify(now, cause.source, cookie, cause.key)) {
      cause.verified = true;
      return true;
    }
    const c = this.counters;
    c.unverifiedRequests++;
    c.unverifiedIn += buf.length;
    c.cookiesIssued++;
    this.send(cause, encodeRendezvous({ type: 'cookie', cookie: this.cookies.issue(now, cause.source) }), 'cookie');
    return false;
  }

  /** Topic register/leave (rendezvous/topics.ts): the same cookie and amplification rules as rooms. */
  private onTopic(cause: Cause, buf: Buffer, now: number): void {
    const c = this.counters;
    const d = decodeTopic(buf);
    const typeName = d.ok ? d.value.type : 'invalid';
    c.rxByType[typeName] = (c.rxByType[typeName] ?? 0) + 1;
    if (!d.ok || (d.value.type !== 'topicRegister' && d.value.type !== 'topicLeave')) {
      c.unverifiedRequests++;
      c.unverifiedIn += buf.length;
      this.drop('malformed');
      return this.sendError(cause, now, ErrorCode.Malformed, d.ok ? 'not a request' : d.error);
    }
    const m = d.value;
    const source = cause.source;
    if (!this.passCookie(cause, buf, m.cookie, now)) return;
    if (m.type === 'topicRegister') {
      this.deliverTopic(this.topicTable.register(now, source, m), cause.sock, cause);
    } else {
      const r = this.topicTable.leave(now, source, m.clientId, m.topics);
      if (!r.known) this.drop('leaveUnknown');
      this.deliverTopic(r.out, cause.sock, cause);
    }
  }

  private deliverTopic(out: TopicOutgoing[], sock: dgram.Socket, cause?: Cause): void {
    for (const o of out) {
      const toRequester = cause && o.to.port === cause.source.port && o.to.address === cause.source.address;
      const via: Cause = toRequester
        ? cause!
        : { sock: this.main ?? sock, requestBytes: 0, verified: true, source: o.to, key: sourceKey(o.to.address, o.to.port) };
      this.send(via, o.bytes, o.type);
    }
  }

  /**
   * Mailbox requests: their own size cap (a deposit carries an envelope) and rate (in the service);
   * answered with more than a cookie or a short error only once the cookie proves the source's address.
   */
  private onMailbox(role: Role, sock: dgram.Socket, buf: Buffer, source: Endpoint, key: SourceKey, now: number): void {
    const c = this.counters;
    const cause: Cause = { sock, requestBytes: buf.length, verified: false, source, key };
    if (!isMailboxRequestType(buf[2])) return this.drop('unexpectedType');
    if (role === 'probe') return this.drop('wrongPort');
    if (buf.length > MAX_MAILBOX_REQUEST_BYTES) {
      c.unverifiedRequests++;
      c.unverifiedIn += buf.length;
      return this.drop('oversized');
    }
    const d = decodeMailbox(buf);
    const typeName = d.ok ? d.value.type : 'invalid';
    c.rxByType[typeName] = (c.rxByType[typeName] ?? 0) + 1;
    if (!d.ok || (d.value.type !== 'deposit' && d.value.type !== 'fetch' && d.value.type !== 'delete')) {
      c.unverifiedRequests++;
      c.unverifiedIn += buf.length;
      this.drop('malformed');
      return this.sendError(cause, now, ErrorCode.Malformed, d.ok ? 'not a request' : d.error);
    }
    const m = d.value;
    if (!this.passCookie(cause, buf, m.cookie, now)) return;
    if (!this.mailbox) {
      this.send(cause, encodeMailbox({ type: 'mailboxError', nonce: m.nonce, code: MailboxErrorCode.Unavailable, detail: 0 }), 'mailboxError');
      return;
    }
    this.mailbox.handle(m, signedPart(buf), key, now, this.wallClock()).then(
      (reply) => {
        // The answer may come after a stop(): a closed socket sends nothing.
        if (reply && sock === this.main) this.send(cause, reply, reply[2] === 0x46 ? 'mailboxError' : m.type);
      },
      (err: Error) => this.log.warn('mailbox-error', { error: err.message }),
    );
  }

  /**
   * Directory requests: the cookie first (a source that has not proven its address gets only the
   * 19-byte cookie, smaller than any request), then the directory's answer, which may be larger
   * (a lookup's signed record) because the source is now verified.
   */
  private onDirectory(role: Role, buf: Buffer, cause: Cause, now: number): void {
    const c = this.counters;
    if (role === 'probe') return this.drop('wrongPort');
    const d = decodeDirectory(buf);
    const typeName = d.ok ? d.value.type : 'invalid';
    c.rxByType[typeName] = (c.rxByType[typeName] ?? 0) + 1;
    if (!d.ok) {
      c.unverifiedRequests++;
      c.unverifiedIn += buf.length;
      this.drop('malformed');
      return this.sendError(cause, now, ErrorCode.Malformed, d.error);
    }
    const m = d.value as DirectoryRequestMessage;
    if (!this.passCookie(cause, buf, m.cookie, now)) return;
    const directory = this.directory;
    const sock = cause.sock;
    if (!directory) return;
    void directory.handle(m, { address: cause.source.address, key: cause.key }, now).then((reply) => {
      // The answer may come after a stop(): a closed socket sends nothing.
      if (sock !== this.main) return;
      if (this.log.enabled('debug')) this.log.debug('directory', { request: m.type, reply: reply.type, status: reply.type === 'accountResult' ? reply.status : 0 });
      this.send(cause, encodeDirectory(reply), reply.type);
    }, (err: unknown) => this.log.error('directory-failed', { request: m.type, error: (err as Error).message }));
  }

  private onStun(sock: dgram.Socket, buf: Buffer, source: Endpoint, key: SourceKey, now: number): void {
    const c = this.counters;
    c.stunRequests++;
    c.stunIn += buf.length;
    if (!this.limiter.allow(key, 'stun', now)) return this.drop('stunRateLimited');
    if (buf.length > MAX_STUN_REQUEST_BYTES) return this.drop('oversized');
    const p = parseBindingRequest(buf);
    if (!p.ok) return this.drop(p.notBinding ? 'stunNotBinding' : 'stunMalformed');
    const cause: Cause = { sock, requestBytes: buf.length, verified: false, stun: true, source, key };
    this.send(cause, encodeBindingSuccess(p.transactionId, source, p.fingerprint), 'stunBinding');
  }

  /**
   * Table output: replies to the requester go back through the socket it used (with its cause),
   * pushes to other members leave from the main socket; their endpoints were proven when they registered.
   */
  private deliver(out: Outgoing[], sock: dgram.Socket, cause?: Cause): void {
    for (const o of out) {
      const toRequester = cause && o.to.port === cause.source.port && o.to.address === cause.source.address;
      const via: Cause = toRequester
        ? cause!
        : { sock: this.main ?? sock, requestBytes: 0, verified: true, source: o.to, key: sourceKey(o.to.address, o.to.port) };
      this.send(via, o.bytes ?? encodeRendezvous(o.message), o.message.type);
    }
  }

  private sendError(cause: Cause, now: number, code: ErrorCode, text: string): void {
    // Fit the text to the request rather than skip the reply: the code is what clients act on.
    const room = cause.verified ? MAX_ERROR_TEXT : Math.min(MAX_ERROR_TEXT, cause.requestBytes - ERROR_HEADER_BYTES);
    if (room < 0) return void this.counters.wouldAmplify++;
    if (!this.limiter.mayError(cause.key, now)) return void this.counters.errorRateLimited++;
    let message = text;
    while (Buffer.byteLength(message) > room) message = message.slice(0, -1);
    this.send(cause, encodeRendezvous({ type: 'error', code, message } satisfies RendezvousMessage), 'error');
  }

  /** The one place a datagram leaves the server. */
  private send(cause: Cause, payload: Buffer, label: string): boolean {
    const c = this.counters;
    if (!cause.verified && !cause.stun && payload.length > cause.requestBytes) {
      c.wouldAmplify++;
      return false;
    }
    let address = cause.source.address;
    const v6socket = this.v6Sockets.has(cause.sock);
    if (!address.includes(':')) {
      if (v6socket) address = `::ffff:${address}`;
    } else if (!v6socket) {
      c.sendErrors++;
      return false;
    }
    if (cause.stun) {
      c.stunAnswers++;
      c.stunOut += payload.length;
    } else if (!cause.verified) {
      c.unverifiedOut += payload.length;
    }
    c.txDatagrams++;
    c.txBytes += payload.length;
    c.txByType[label] = (c.txByType[label] ?? 0) + 1;
    try {
      // No callback on purpose: without one Node tries a synchronous sendto first and allocates no
      // request object, which is most of the cost of an answer. Asynchronous failures go uncounted.
      cause.sock.send(payload, cause.source.port, address);
    } catch {
      c.sendErrors++;
      return false;
    }
    return true;
  }
}
