// One encrypted, reliable link to one room member: punching, the Noise handshake, the transport
// session, keepalive and loss detection. Sans-I/O: the room feeds it decoded packets and ticks, and
// it hands datagrams to `ctx.send`. Nothing here trusts a packet before Noise has authenticated it.
import { HandshakeState, TransportCipher, type KeyPair } from '../noise';
import { ReliableChannel } from '../reliable';
import { Reader, Writer } from '../wire/bytes';
import { Endpoint, endpointKey, Route, sameEndpoint, sameRoute } from '../wire/endpoint';
import type { PathKind } from '../types';
import { decodePacket, encodePacket, encodePacketParts, frameSize, type FileFrame, type LinkFrame } from '../wire/frames';
import { HEADER_BYTES } from '../wire/header';
import { DATA_HEADER_BYTES, encodePeer, HELLO_MIN_BYTES, HINT_BYTES, MAX_BULK_INNER_BYTES, writeDataHeader, type PeerPacket } from '../wire/peer';
import { MAX_NAME_BYTES, NatFlags } from '../wire/rendezvous';
import { isLocalAddress } from './localPath';
import { punchDelay } from './punchSchedule';
import type { RandomSource } from './random';
import { BIRTHDAY, chooseStrategy, NatStrategy } from './natStrategy';

export const PATTERN = 'XXpsk3' as const;
/** A DM link, where both static keys are pinned in advance: two messages, data in the first. */
export const KK_PATTERN = 'KKpsk0' as const;
export const INNER_MTU = 1100;
/** A DM channel's first inner packet rides inside handshake message 1 beside 32 bytes of ephemeral key and a length. */
const KK_INNER_MTU = INNER_MTU - 64;
/** Message-1 ephemerals a DM responder remembers, so a replayed message 1 only gets the same reply again. */
const KK_SEEN_MAX = 64;
/** Inner packet sizes a path probe tries (core/wire/fileFrames FILE_PROBE); the largest echoed is used. */
const PROBE_SIZES = [16 * 1024, 8 * 1024];
/**
 * To a local address (this host, the LAN: localPath.ts) over a path this short, a probe also tries the
 * largest datagram UDP carries: a 64 KiB datagram costs the sender, the kernel and the receiver about as
 * much as a 16 KiB one, so file pieces cost a quarter of the per-datagram work (docs/BENCHMARKS.md). Not
 * on other paths: there a 64 KiB datagram is some 45 IP fragments, and losing any one loses all of it.
 * 20 ms rather than a LAN's 1–2: the round trip is measured through both event loops, which a busy
 * machine stretches.
 */
const BIG_PROBE_MAX_RTT_MS = 20;
const PROBE_DELAYS_MS = [50, 300, 1500];
const BIG_REPROBE_MS = 10_000;

export interface LinkContext {
  self: KeyPair;
  selfName(): string;
  selfHint: Buffer;
  psk: Buffer;
  prologue: Buffer;
  /**
   * A DM: the member's static key is pinned before the first packet, so the link runs KKpsk0 (two messages;
   * the initiator's queued data rides in message 1) instead of the room's XXpsk3.
   */
  kk?: boolean;
  keepaliveMs: number;
  lostAfterMs: number;
  punchTimeoutMs: number;
  allocIndex(link: PeerLink): number;
  releaseIndex(index: number): void;
  /** `ttl`: send this datagram with that IP TTL (the shell sets it on the socket for this one send). */
  send(to: Route, data: Buffer, ttl?: number): void;
  /**
   * A datagram carrying file pieces: queued behind everything `send` queues, and handed to the socket
   * a bounded number per turn (Room.takeOutgoing), so chat never waits behind a burst of bulk data.
   */
  sendBulk(to: Route, data: Buffer): void;
  /** Whether a TURN relay can be had (the rendezvous handed out credentials, or one is allocated). */
  relayAvailable(): boolean;
  /** Feature bits announced in our handshakes (docs/PROTOCOL.md §4.6; the room's app messages define them). Default 0. */
  features?: number;
  /** Our own NatFlags, as classified with the rendezvous's two ports. */
  selfNat(): number;
  /** Extra sockets the shell has opened so far (route indices 1..n). */
  extraSockets(): number;
  /** Queued reliable data waiting for the room's next flush. */
  markDirty(link: PeerLink): void;
  /** Room-wide spray budget: how many of `want` probes may go out now. */
  takeSprayBudget(want: number, now: number): number;
  /**
   * Where spray ports, probe tokens and Hello padding come from: node:crypto in the shells, a seeded
   * generator in the simulated network (test/helpers/simNet.ts), so those tests replay exactly.
   */
  random: RandomSource;
}


export interface LinkEvents {
  /** `carried`: the session took over the channel the room already queued into before it existed (KK initiator). */
  established(link: PeerLink, info: { first: boolean; carried?: boolean }): void;
  verified(link: PeerLink): void;
  message(link: PeerLink, payload: Buffer, now: number): void;
  acked(link: PeerLink, handle: number): void;
  ephemeral(link: PeerLink, payload: Buffer, now: number): void;
  /** A file-transfer frame (core/transfer); optional so rooms without transfers ignore them. */
  file?(link: PeerLink, frame: FileFrame, now: number): void;
  lost(link: PeerLink, reason: string): void;
  failed(link: PeerLink, reason: string): void;
  /** The session may be broken (unanswered data or pings, a changed address): fresh addresses would help. */
  suspect?(link: PeerLink, why: string): void;
}

export type LinkPhase = 'idle' | 'punching' | 'established' | 'failed' | 'closed';

export interface LinkStats {
  helloSent: number;
  handshakes: number;
  authFailures: number;
  identityMismatches: number;
  dataIn: number;
  dataOut: number;
  dropped: number;
  moved: number;
}

/** Exported as a type only so the hostile tests can inspect a live session (test/hostile/lib/rig.ts). */
export interface Session {
  transport: TransportCipher;
  channel: ReliableChannel;
  localIndex: number;
  remoteIndex: number;
  endpoint: Route;
  establishedAt: number;
  lastRecv: number;
  lastSend: number;
  /** Initiator only: message 3, resent until the responder proves it has the session. */
  confirm?: Buffer;
  confirmAttempt: number;
  confirmNextAt: number;
  /** Since when we have sent something that wants an answer (data, a ping) with nothing received after it. */
  awaitingSince?: number;
  /** While the path is suspected broken: when that started, and when the next probe of every candidate goes out. */
  suspectSince?: number;
  suspectProbeAt: number;
  suspectProbes: number;
  suspectWhy?: string;
  /** Reliable messages handed to the channel and not yet acknowledged. */
  unacked: number;
  /**
   * KK responder until the initiator's first data packet: message 1 may be a replay from a spoofed source, so
   * at most this many more bytes go to the session's address (three times what came in, as QUIC does); what
   * does not fit is held back and resent once the path is proven.
   */
  unprovenBudget?: number;
  heldBack?: boolean;
  /** Largest inner packet this path was shown to carry (a probe came back); INNER_MTU until then. */
  pathInner: number;
  /** What the peer announced in this session's handshake (§4.6): 0 for a version before feature bits. */
  remoteFeatures: number;
  /** The handshake's round trip, if measured: whether the path is short enough for the biggest probe. */
  handshakeRttMs?: number;
  /**
   * bigAt: when a file transfer may next try the biggest size again; bigSentAt: when it last did (its echo's
   * round trip is then the measurement: see maybeBigProbe).
   */
  probe: { token: number; attempts: number; nextAt: number; bigAt: number; bigSentAt: number };
}

interface Pending {
  hs: HandshakeState;
  localIndex: number;
  remoteIndex: number;
  reply: Buffer;
  createdAt: number;
}

const NEW_RESPONDER_MIN_GAP_MS = 50;
const IGNORE_HELLO_AFTER_ESTABLISH_MS = 3000;
/** How long a live session has to answer a ping before a punch from the peer is believed to mean it restarted. */
const RESTART_CHECK_MS = 1000;
/** Both kinds of Hello are exactly HELLO_MIN_BYTES, so answering a (forged) Hello with a Hello never amplifies. */
const HELLO_HEADER_BYTES = HEADER_BYTES + 4 + 2 * HINT_BYTES;
const HELLO_PADDING = HELLO_MIN_BYTES - HELLO_HEADER_BYTES - 32 - 16; // message 1 is e (32) and the padding, sealed (16)
const DIRECT_PROBE_INTERVAL_MS = 5000;
/** After a failed punch, retry at 5 s, 10 s, 20 s … at most every 2 minutes. */
const RETRY_BASE_MS = 5000;
const RETRY_MAX_MS = 120_000;
/**
 * The first punches of an attempt leave with this IP TTL: enough to cross our own NAT (opening our mapping
 * towards the peer) but not to reach the peer's. A router with no inbound filter (a Docker host, a VM gateway)
 * takes an unsolicited packet for itself and conntrack keeps that flow: the peer's own mapping then clashes and
 * gets another port. Once both sides have primed their mappings, full-TTL punches find them open.
 */
export const PRIME_TTL = 2;
/** Punch attempts 0 and 1 (at 0 and 40 ms) prime; full-TTL punches start at the third (120 ms). */
export const PRIME_ATTEMPTS = 2;
/** Data or a ping unanswered for this long (and at least 4 round trips) makes the path suspect: cheap to be wrong. */
const SUSPECT_AFTER_MS = 600;
/**
 * Probes of every candidate while suspect: at 0, 250, 500, 750, 1000, 1500, 2000, 2500 ms; no answer to any
 * within SUSPECT_LOST_MS means lost. Eight round trips: a live path at 20 % loss each way answers one of them
 * all but about once in 10^4.
 */
const SUSPECT_PROBE_DELAYS_MS = [250, 250, 250, 250, 500, 500, 500];
const SUSPECT_LOST_MS = 3000;

/**
 * The payload of XX messages 2 and 3 and of KK message 2: our name, then our feature bits (§4.6). Versions
 * before feature bits ignore what follows the name, and send nothing after it (read as features 0).
 */
export function namePayload(name: string, features: number): Buffer {
  return new Writer(MAX_NAME_BYTES + 2).str8(name, MAX_NAME_BYTES).u8(features).finish();
}

export function readNamePayload(payload: Buffer): { name?: string; features: number } {
  const r = new Reader(payload);
  const name = r.str8(MAX_NAME_BYTES, 'name');
  if (r.failed) return { features: 0 };
  return { name, features: r.remaining > 0 ? r.u8() : 0 };
}

export class PeerLink {
  readonly remoteId: Buffer;
  readonly remoteHex: string;
  readonly remoteHint: Buffer;
  /** The lower static key initiates, so simultaneous opens converge on one handshake. */
  readonly initiator: boolean;
  phase: LinkPhase = 'idle';
  remoteName: string;
  failure?: string;
  readonly stats: LinkStats = { helloSent: 0, handshakes: 0, authFailures: 0, identityMismatches: 0, dataIn: 0, dataOut: 0, dropped: 0, moved: 0 };

  private readonly candidates = new Map<string, Endpoint>();
  private session?: Session;
  private previous?: Session; // the session a re-handshake replaces, kept until the new one works
  private hs?: { state: HandshakeState; index: number; hello: Buffer };
  private pending?: Pending;
  /** KK initiator without a session: the channel messages queue in, whose first packet rides in message 1. */
  private early?: { channel: ReliableChannel; unacked: number };
  /** KK responder: message-1 ephemeral (hex) → the reply sent, for duplicates and replays (bounded). */
  private readonly kkAnswered = new Map<string, { reply: Buffer; remoteIndex: number }>();
  private lastResponderAt = -Infinity;
  private punchAttempt = 0;
  private nextPunchAt = Infinity;
  private punchDeadline = Infinity;
  private everEstablished = false;
  private pingToken = 1;
  private restartCheckAt = Infinity;
  private restartPingAt = 0;
  private readonly pings = new Map<number, number>();
  rttMs?: number;

  constructor(
    private readonly ctx: LinkContext,
    private readonly events: LinkEvents,
    remoteId: Buffer,
    remoteHint: Buffer,
    remoteName: string,
  ) {
    this.remoteId = Buffer.from(remoteId);
    this.remoteHex = remoteId.toString('hex');
    this.remoteHint = remoteHint;
    this.remoteName = remoteName;
    this.initiator = Buffer.compare(ctx.self.publicKey, remoteId) < 0;
  }

  get established(): boolean {
    return this.session !== undefined;
  }

  get kk(): boolean {
    return this.ctx.kk === true;
  }

  /** Messages may be queued before a session exists: they ride in handshake message 1 (KK initiator). */
  get acceptsEarly(): boolean {
    return this.kk && this.initiator && this.phase !== 'closed';
  }

  /**
   * The initiator completes Noise before the responder has checked the psk (message 3), so its side
   * is only trusted once an authenticated packet came back; the responder's is trusted at once.
   */
  get verified(): boolean {
    return this.session !== undefined && this.session.confirm === undefined;
  }

  get endpoint(): Route | undefined {
    return this.session?.endpoint;
  }

  /** What the rendezvous told us of the member's NAT and its public address. */
  remoteFlags = 0;
  reflexive?: Endpoint;
  private sprayStart = 0;
  private sprayed = 0;
  private nextSprayAt = Infinity;
  private readonly sprayedPorts = new Set<number>();

  get strategy(): NatStrategy {
    return chooseStrategy(this.ctx.selfNat(), this.remoteFlags);
  }

  /** The peer's TURN relay address, when it published one. */
  remoteRelay?: Endpoint;

  setRemoteNat(flags: number, reflexive: Endpoint, candidates: Endpoint[], now: number): void {
    const changed = flags !== this.remoteFlags;
    this.remoteFlags = flags;
    this.reflexive = reflexive;
    this.remoteRelay = flags & NatFlags.RelayCandidate && candidates.length ? candidates[candidates.length - 1] : undefined;
    if (changed) this.strategyChanged(now);
  }

  /** Relayed when we send through our own TURN allocation or to the peer's relay address. */
  get path(): PathKind {
    const ep = this.session?.endpoint;
    if (!ep) return 'direct';
    return ep.relay || (this.remoteRelay !== undefined && sameEndpoint(ep, this.remoteRelay)) ? 'relayed' : 'direct';
  }

  /**
   * NAT classes arrive a little after the first punches (probes take a round trip, and the peer's class
   * comes with its next registration): restart the strategy-specific part and give it a full timeout.
   */
  strategyChanged(now: number): void {
    if (this.phase === 'failed' && this.failedForMissingRelay && !this.needsMissingRelay) {
      this.startPunching(now); // e.g. our NAT was re-classified: a direct path is possible again
      return;
    }
    if (this.phase !== 'punching') return;
    if (this.needsMissingRelay) {
      this.failForMissingRelay(now);
      return;
    }
    this.sprayStart = now;
    this.sprayed = 0;
    this.sprayedPorts.clear();
    this.nextSprayAt = now;
    this.punchDeadline = Math.max(this.punchDeadline, now + this.ctx.punchTimeoutMs);
  }

  candidateList(): Endpoint[] {
    return [...this.candidates.values()];
  }

  /** New addresses from the rendezvous (or seen on the wire): punch them unless a session already works. */
  addCandidates(list: Endpoint[], now: number): void {
    let fresh = false;
    for (const c of list) {
      if (!this.candidates.has(endpointKey(c))) fresh = true;
      this.candidates.set(endpointKey(c), c);
    }
    // A failed link waits for its backoff unless there is somewhere new to try.
    if (this.phase === 'idle' || (this.phase === 'failed' && fresh)) this.startPunching(now);
    // Punching already: start the schedule over, so the new address is primed (low TTL) before full punches reach it.
    else if (this.phase === 'punching' && fresh && !this.session) this.reprime(now);
  }

  /** Both NATs symmetric: only a relay can help. True when there is none to be had. */
  get needsMissingRelay(): boolean {
    return this.strategy === 'relay' && !this.session && !this.remoteRelay && !this.ctx.relayAvailable();
  }

  private failedForMissingRelay = false;

  private failForMissingRelay(now: number): void {
    const who = this.remoteName || this.remoteHex.slice(0, 8);
    this.fail(
      now,
      `no direct path to ${who} is possible and the rendezvous server offers no relay: both of you are behind NATs that use a new port for every destination (symmetric NATs), so only a TURN relay on the rendezvous server could connect you`,
    );
    this.failedForMissingRelay = true;
  }

  private reprime(now: number): void {
    this.punchAttempt = 0;
    this.nextPunchAt = now;
    this.punchDeadline = Math.max(this.punchDeadline, now + this.ctx.punchTimeoutMs);
  }

  startPunching(now: number): void {
    if (this.phase === 'closed') return;
    this.failedForMissingRelay = false;
    this.phase = this.session ? 'established' : 'punching';
    this.failure = undefined;
    this.retryAt = Infinity;
    this.restartCheckAt = Infinity;
    this.punchAttempt = 0;
    this.nextPunchAt = now;
    this.punchDeadline = now + this.ctx.punchTimeoutMs;
    this.sprayStart = now;
    this.sprayed = 0;
    this.sprayedPorts.clear();
    this.nextSprayAt = now;
    if (this.needsMissingRelay) {
      // Known from both NAT classes at registration: say so now rather than after a punch timeout.
      this.failForMissingRelay(now);
      return;
    }
    if (this.initiator) this.newHandshake(now);
    this.tick(now);
  }

  private newHandshake(now: number): void {
    if (this.hs) this.ctx.releaseIndex(this.hs.index);
    if (this.kk) {
      this.newKkHandshake(now);
      return;
    }
    const state = new HandshakeState({ pattern: PATTERN, initiator: true, prologue: this.ctx.prologue, s: this.ctx.self, psk: this.ctx.psk });
    const index = this.ctx.allocIndex(this);
    const noise = state.writeMessage(Buffer.alloc(HELLO_PADDING)); // padding: see HELLO_MIN_BYTES
    this.hs = { state, index, hello: this.helloPacket(index, noise) };
  }

  /**
   * KKpsk0 message 1: es, ss and the psk are mixed before the payload is sealed, so the responder can open it
   * and knows it came from the pinned key. The payload is the channel's first inner packet (a length, the
   * packet, zero padding up to the Hello's fixed minimum size).
   */
  private newKkHandshake(now: number): void {
    const state = new HandshakeState({ pattern: KK_PATTERN, initiator: true, prologue: this.ctx.prologue, s: this.ctx.self, rs: this.remoteId, psk: this.ctx.psk });
    const index = this.ctx.allocIndex(this);
    if (!this.session) this.early ??= { channel: this.newChannel(), unacked: 0 };
    const packet = this.early && !this.session ? this.early.channel.poll(now)[0] : undefined;
    const inner = packet ?? Buffer.alloc(0);
    // len, the packet, our feature bits (§4.6: where older versions put zero padding), zero padding.
    const payload = Buffer.alloc(Math.max(HELLO_PADDING, 2 + inner.length + 1));
    payload.writeUInt16BE(inner.length, 0);
    inner.copy(payload, 2);
    payload[2 + inner.length] = this.ctx.features ?? 0;
    this.hs = { state, index, hello: this.helloPacket(index, state.writeMessage(payload)) };
  }

  private newChannel(rttMs?: number): ReliableChannel {
    const rtt = rttMs !== undefined && rttMs > 0 ? rttMs : undefined;
    return new ReliableChannel({ mtu: this.kk ? KK_INNER_MTU : INNER_MTU, ...(rtt ? { initialRto: Math.min(1000, Math.max(200, 3 * rtt)) } : {}) });
  }

  private helloPacket(sender: number, noise: Buffer): Buffer {
    return encodePeer({ type: 'hello', sender, senderHint: this.ctx.selfHint, receiverHint: this.remoteHint, noise });
  }

  private sendPunches(ttl: number | undefined): void {
    // The responder's punches only open its own NAT; they carry no handshake (index 0, random bytes).
    const packet = this.punchPacket();
    for (const c of this.candidates.values()) {
      this.ctx.send(c, packet, ttl);
      this.stats.helloSent++;
    }
    if (this.strategy === 'sockets' && this.reflexive) {
      // Each extra socket gets its own public port from our symmetric NAT: many lottery tickets.
      for (let via = 1; via <= this.ctx.extraSockets(); via++) {
        this.ctx.send({ ...this.reflexive, via }, packet);
        this.stats.helloSent++;
      }
    }
  }

  private punchPacket(): Buffer {
    return this.hs?.hello ?? this.helloPacket(0, this.ctx.random.bytes(HELLO_MIN_BYTES - HELLO_HEADER_BYTES));
  }

  /** The other half of the birthday method: probe random ports of the symmetric peer's public address, at a bounded rate. */
  private spray(now: number): void {
    if (this.strategy !== 'spray' || !this.reflexive || this.sprayed >= BIRTHDAY.sprayMaxPackets) {
      this.nextSprayAt = Infinity;
      return;
    }
    const due = Math.min(BIRTHDAY.sprayMaxPackets, Math.floor(((now - this.sprayStart) * BIRTHDAY.sprayPerSecond) / 1000) + 1);
    // The rate is a room-wide budget, shared by every link that sprays: many (or invented) symmetric
    // members must not multiply it.
    const allowed = this.sprayed + this.ctx.takeSprayBudget(due - this.sprayed, now);
    const packet = this.punchPacket();
    const span = BIRTHDAY.maxPort - BIRTHDAY.minPort + 1;
    while (this.sprayed < allowed && this.sprayedPorts.size < span) {
      const port = this.ctx.random.int(BIRTHDAY.minPort, BIRTHDAY.maxPort + 1);
      if (this.sprayedPorts.has(port)) continue;
      this.sprayedPorts.add(port);
      this.ctx.send({ address: this.reflexive.address, port }, packet);
      this.sprayed++;
      this.stats.helloSent++;
    }
    this.nextSprayAt = now + 20;
  }

  // ---- inbound -------------------------------------------------------------------------------

  onHello(p: Extract<PeerPacket, { type: 'hello' }>, from: Route, now: number): void {
    // Nothing in a Hello is authenticated: anyone who knows the room id can forge or replay one. So it is
    // answered at most once, with at most its own size, and never makes `from` a candidate: only an
    // authenticated packet does (install). Answering at once is still what lets a punch through a NAT.
    if (this.initiator) {
      if (this.session && now - this.session.establishedAt < IGNORE_HELLO_AFTER_ESTABLISH_MS) return;
      if (this.session && this.phase === 'established' && !this.hs) {
        // A responder only punches without a session: it may have restarted, or this is a replay.
        // Ask the live session first; only its silence starts a re-handshake (see tick).
        this.checkRestart(now);
        return;
      }
      if (!this.session && !this.hs) this.startPunching(now); // we had given up; the peer is back
      // A DM's message 1 carries data and outgrows the peer's punch: answer an unknown source with nothing
      // bigger than it sent (the scheduled punches reach every known candidate anyway).
      if (this.hs && this.hs.hello.length > HELLO_MIN_BYTES && !this.candidates.has(endpointKey(from))) return;
      if (this.hs) {
        this.lastHelloAt = now;
        this.ctx.send(from, this.hs.hello);
        this.stats.helloSent++;
      }
      return;
    }
    if (p.sender === 0) {
      // A punch from an initiator that has no handshake for us yet: one punch back opens our side.
      if (this.phase !== 'established') {
        this.ctx.send(from, this.punchPacket());
        this.stats.helloSent++;
      }
      return;
    }
    if (this.kk) {
      this.onKkHello(p, from, now);
      return;
    }
    if (this.pending && this.pending.remoteIndex === p.sender) {
      this.ctx.send(from, this.pending.reply); // our reply was lost: same bytes again
      return;
    }
    if (now - this.lastResponderAt < NEW_RESPONDER_MIN_GAP_MS) return; // each new one costs DH work
    this.lastResponderAt = now;
    const hs = new HandshakeState({ pattern: PATTERN, initiator: false, prologue: this.ctx.prologue, s: this.ctx.self, psk: this.ctx.psk });
    const read = hs.readMessage(p.noise);
    if (!read.ok) {
      this.stats.authFailures++;
      return;
    }
    const localIndex = this.ctx.allocIndex(this);
    const reply = encodePeer({ type: 'reply', sender: localIndex, receiver: p.sender, noise: hs.writeMessage(namePayload(this.ctx.selfName(), this.ctx.features ?? 0)) });
    if (this.pending) this.ctx.releaseIndex(this.pending.localIndex);
    this.pending = { hs, localIndex, remoteIndex: p.sender, reply, createdAt: now };
    this.ctx.send(from, reply);
  }

  /**
   * KK responder. Message 1 opens only under the pinned key and the pair's psk: it is authenticated, but not
   * fresh (anyone who saw it can send it again until our reply is used). So a repeat of an ephemeral we
   * answered gets the same reply bytes and nothing else, and the data it carries is whatever the channel
   * and the room's delivered-watermarks already suppress: a replay delivers nothing twice.
   */
  private onKkHello(p: Extract<PeerPacket, { type: 'hello' }>, from: Route, now: number): void {
    const e = p.noise.subarray(0, 32).toString('hex');
    const seen = this.kkAnswered.get(e);
    if (seen) {
      if (seen.remoteIndex === p.sender) this.ctx.send(from, seen.reply); // our reply was lost: same bytes again
      return;
    }
    if (now - this.lastResponderAt < NEW_RESPONDER_MIN_GAP_MS) return; // each new one costs DH work
    this.lastResponderAt = now;
    const hs = new HandshakeState({ pattern: KK_PATTERN, initiator: false, prologue: this.ctx.prologue, s: this.ctx.self, rs: this.remoteId, psk: this.ctx.psk });
    const read = hs.readMessage(p.noise);
    if (!read.ok) {
      // Another key than the pinned one, another psk, or tampering: KK proves both in message 1 and cannot
      // tell them apart, so it counts as the louder of the two.
      this.stats.identityMismatches++;
      return;
    }
    const inner = read.payload.length >= 2 ? read.payload.subarray(2, 2 + read.payload.readUInt16BE(0)) : undefined;
    if (!inner || inner.length !== (read.payload.length >= 2 ? read.payload.readUInt16BE(0) : -1)) {
      this.stats.dropped++;
      return;
    }
    const localIndex = this.ctx.allocIndex(this);
    const reply = encodePeer({ type: 'reply', sender: localIndex, receiver: p.sender, noise: hs.writeMessage(namePayload(this.ctx.selfName(), this.ctx.features ?? 0)) });
    this.kkAnswered.set(e, { reply, remoteIndex: p.sender });
    if (this.kkAnswered.size > KK_SEEN_MAX) this.kkAnswered.delete(this.kkAnswered.keys().next().value as string);
    this.ctx.send(from, reply);
    const features = read.payload.length > 2 + inner.length ? read.payload[2 + inner.length] : 0;
    this.install(TransportCipher.fromSplit(hs.split()), localIndex, p.sender, from, now, { features }, undefined, undefined, undefined, 3 * (HELLO_HEADER_BYTES + p.noise.length) - reply.length);
    const s = this.session!;
    if (inner.length) {
      const frames = decodePacket(inner);
      if (frames.ok) s.channel.receiveFrames(frames.value, now);
      else this.stats.dropped++;
    }
    // Acks what message 1 carried (and anything the room queued on establishing) at once.
    this.flush(now);
  }

  onReply(p: Extract<PeerPacket, { type: 'reply' }>, from: Route, now: number): void {
    const s = this.session;
    if (s && s.remoteIndex === p.sender && s.confirm) {
      this.ctx.send(from, s.confirm); // our confirm was lost and the responder retried
      return;
    }
    if (!this.hs || this.hs.index !== p.receiver) return;
    const { state, index } = this.hs;
    const read = state.readMessage(p.noise);
    if (!read.ok) {
      // KK: message 2 opens only under the pinned key (ee, se), so a failure is an identity question.
      if (this.kk) this.stats.identityMismatches++;
      else this.stats.authFailures++;
      this.newHandshake(now); // a failed read poisons the state; later replies need a fresh one
      return;
    }
    if (this.kk) {
      // KKpsk0 is complete after message 2 and proved the pinned key (ee, se): no message 3.
      this.hs = undefined;
      const early = this.session ? undefined : this.early;
      this.early = undefined;
      this.install(TransportCipher.fromSplit(state.split()), index, p.sender, from, now, readNamePayload(read.payload), undefined, now - this.lastHelloAt, early);
      // Tells the responder the session works even when we have nothing else to say.
      this.sendFrames([{ type: 'ping', token: this.nextPing(now) }], now);
      return;
    }
    if (!state.remoteStatic || !state.remoteStatic.equals(this.remoteId)) {
      this.stats.identityMismatches++;
      this.newHandshake(now);
      return;
    }
    const peer = readNamePayload(read.payload);
    const confirm = encodePeer({ type: 'confirm', sender: index, receiver: p.sender, noise: state.writeMessage(namePayload(this.ctx.selfName(), this.ctx.features ?? 0)) });
    this.hs = undefined;
    this.ctx.send(from, confirm);
    this.install(TransportCipher.fromSplit(state.split()), index, p.sender, from, now, peer, confirm, now - this.lastHelloAt);
    this.flush(now);
  }

  onConfirm(p: Extract<PeerPacket, { type: 'confirm' }>, from: Route, now: number): void {
    const s = this.session;
    if (s && s.localIndex === p.receiver && s.remoteIndex === p.sender) {
      this.sendFrames([{ type: 'ping', token: this.nextPing(now) }], now); // duplicate: prove again we have it
      return;
    }
    const pending = this.pending;
    if (!pending || pending.localIndex !== p.receiver || pending.remoteIndex !== p.sender) return;
    const read = pending.hs.readMessage(p.noise);
    this.pending = undefined;
    if (!read.ok) {
      // Wrong psk (not in this room) or tampering: the psk is only checked here, in message 3.
      this.stats.authFailures++;
      this.ctx.releaseIndex(pending.localIndex);
      return;
    }
    if (!pending.hs.remoteStatic || !pending.hs.remoteStatic.equals(this.remoteId)) {
      this.stats.identityMismatches++;
      this.ctx.releaseIndex(pending.localIndex);
      return;
    }
    this.install(TransportCipher.fromSplit(pending.hs.split()), pending.localIndex, pending.remoteIndex, from, now, readNamePayload(read.payload), undefined, now - pending.createdAt);
    // Tells the initiator to stop resending message 3 even when we have nothing to say yet.
    this.sendFrames([{ type: 'ping', token: this.nextPing(now) }], now);
    this.flush(now);
  }

  onData(p: Extract<PeerPacket, { type: 'data' }>, from: Route, now: number): void {
    let s = this.session;
    if (!s || s.localIndex !== p.receiver) {
      s = this.previous && this.previous.localIndex === p.receiver ? this.previous : undefined;
      if (!s) return;
    }
    const plain = s.transport.open(p.counter, p.ciphertext);
    if (!plain) {
      this.stats.dropped++;
      return;
    }
    this.stats.dataIn++;
    s.lastRecv = now;
    if (s.unprovenBudget !== undefined) {
      // The initiator answered on this session: message 1 was not a replay from elsewhere.
      s.unprovenBudget = undefined;
      this.candidates.set(endpointKey(s.endpoint), s.endpoint);
      if (s.heldBack) s.channel.retransmitNow(now);
      s.heldBack = false;
    }
    // The path works from the peer to us; data still unacknowledged starts its clock again, and if the path was
    // in doubt, what waits for an ack is resent now rather than at its backed-off timer.
    s.awaitingSince = s.unacked > 0 ? now : undefined;
    if (s.suspectSince !== undefined && s.unacked > 0) s.channel.retransmitNow(now);
    s.suspectSince = undefined;
    s.suspectProbeAt = Infinity;
    if (s === this.session) {
      if (s.confirm) {
        s.confirm = undefined;
        this.events.verified(this);
      }
      if (this.previous) this.retire(this.previous);
      if (!sameRoute(from, s.endpoint)) {
        // Only an authenticated packet may move the session: NAT rebinding, a new network. What is still
        // unacknowledged went to the old address: resend it now, not at the backed-off retransmission timer.
        s.endpoint = from;
        this.candidates.set(endpointKey(from), from);
        this.stats.moved++;
        s.channel.retransmitNow(now);
      }
    }
    const frames = decodePacket(plain, true); // plain is fresh from the decipher and never reused
    if (!frames.ok) {
      this.stats.dropped++;
      return;
    }
    s.channel.receiveFrames(frames.value, now); // link frames come back through onLinkFrame
    this.flush(now);
  }

  private onLinkFrame(f: LinkFrame, s: Session, now: number): void {
    switch (f.type) {
      case 'ping':
        this.sendFramesOn(s, [{ type: 'pong', token: f.token }], now);
        break;
      case 'pong': {
        const sentAt = this.pings.get(f.token);
        if (sentAt !== undefined) {
          this.rttMs = now - sentAt;
          this.pings.delete(f.token);
        }
        break;
      }
      case 'ephemeral':
        this.events.ephemeral(this, f.payload, now);
        break;
      case 'close':
        this.close(now, `peer closed: ${f.reason}`, false);
        break;
      case 'file-probe':
        this.onPathProbe(f, s, now);
        break;
      default:
        this.events.file?.(this, f, now);
    }
  }

  /**
   * Path probes: a padded FILE_PROBE is answered by a small echo naming its size; an echo of our own
   * probe proves this path carries datagrams that large (loopback, most LANs; fragments that get
   * through). Chat then packs many messages per datagram and files use big pieces. Unconfirmed sizes
   * are never used, so a path that drops fragments simply keeps the default.
   */
  private onPathProbe(f: Extract<LinkFrame, { type: 'file-probe' }>, s: Session, now: number): void {
    if (!f.echo) {
      this.sendFramesOn(s, [{ type: 'file-probe', token: f.token, echo: true, size: f.size }], now);
      return;
    }
    if (f.token !== s.probe.token || f.size <= s.pathInner) return;
    // The biggest size only over a short path: known before the probe went, or shown by its own round trip.
    if (f.size > PROBE_SIZES[0] && !this.shortLocalPath(s) && !(now - s.probe.bigSentAt < BIG_PROBE_MAX_RTT_MS)) return;
    s.pathInner = f.size;
    s.channel.setMtu(f.size);
  }

  private sendProbes(s: Session, now: number): void {
    s.probe.attempts++;
    s.probe.nextAt = s.probe.attempts < PROBE_DELAYS_MS.length ? now + PROBE_DELAYS_MS[s.probe.attempts] : Infinity;
    // A relayed path pays the relay per byte and TURN servers cap datagram sizes: keep the default there.
    if (this.path === 'relayed') return;
    const sizes = this.shortLocalPath(s) ? [MAX_BULK_INNER_BYTES, ...PROBE_SIZES] : PROBE_SIZES;
    for (const size of sizes) {
      if (size <= s.pathInner) continue;
      this.transmit(s, encodePacket([{ type: 'file-probe', token: s.probe.token, echo: false, size }]), now);
    }
  }

  private shortLocalPath(s: Session): boolean {
    // The smallest round trip seen, not the smoothed one: a busy event loop inflates samples, never shortens
    // them. Less the peer's ACK delay, which a lone chat message's ACK always has (up to 25 ms).
    const rtt = Math.min(s.channel.stats.minPathRtt, s.handshakeRttMs ?? Infinity);
    return rtt < BIG_PROBE_MAX_RTT_MS && isLocalAddress(s.endpoint.address);
  }

  /**
   * A file transfer to a local address still on smaller pieces tries the biggest size once more (at most every
   * BIG_REPROBE_MS): the session's own probes run only in its first 1.5 s, and a link that comes up while the
   * editor starts sees round trips of tens of ms through its busy event loop, so a LAN or same-host link would
   * otherwise keep 16 KiB pieces, four times the per-datagram work, for its whole life. A file transfer alone
   * gives the channel no round-trip samples, so this probe's own echo is the measurement (onPathProbe).
   */
  private maybeBigProbe(s: Session, now: number): void {
    if (s.pathInner >= MAX_BULK_INNER_BYTES || s.probe.nextAt !== Infinity || now < s.probe.bigAt || this.path === 'relayed') return;
    // Armed before the address is looked at: this runs for every batch of file frames, and a WAN path's
    // transfer should parse its address once per BIG_REPROBE_MS, not once per batch.
    s.probe.bigAt = now + BIG_REPROBE_MS;
    if (!isLocalAddress(s.endpoint.address)) return;
    s.probe.bigSentAt = now;
    // Bulk, like the pieces around it: a chat message typed meanwhile goes first.
    this.transmit(s, encodePacket([{ type: 'file-probe', token: s.probe.token, echo: false, size: MAX_BULK_INNER_BYTES }]), now, true);
  }

  /** Largest inner packet the current path carries (INNER_MTU until a probe showed more). */
  get pathInnerBytes(): number {
    return this.session?.pathInner ?? INNER_MTU;
  }

  /**
   * The feature bits the peer announced in the current session's handshake (§4.6); 0 without a session. What
   * send() queues goes on this session, so a message encoded for these bits reaches the peer that announced them.
   */
  get remoteFeatures(): number {
    return this.session?.remoteFeatures ?? 0;
  }

  // ---- session -------------------------------------------------------------------------------

  private install(
    transport: TransportCipher,
    localIndex: number,
    remoteIndex: number,
    endpoint: Route,
    now: number,
    peer: { name?: string; features: number },
    confirm?: Buffer,
    handshakeRttMs?: number,
    early?: { channel: ReliableChannel; unacked: number },
    unprovenBudget?: number,
  ): void {
    if (this.session) {
      if (this.previous) this.retire(this.previous);
      this.previous = this.session;
    }
    // The handshake just measured the path: start the retransmission timer from it rather than RFC 6298's
    // blind 1 s, so a first message lost on a lossy link is resent in a few round trips.
    const channel = early?.channel ?? this.newChannel(handshakeRttMs);
    const session: Session = {
      transport,
      channel,
      localIndex,
      remoteIndex,
      endpoint,
      establishedAt: now,
      lastRecv: now,
      lastSend: now,
      confirm,
      confirmAttempt: 0,
      confirmNextAt: confirm ? now + punchDelay(2) : Infinity,
      unacked: early?.unacked ?? 0,
      unprovenBudget,
      suspectProbeAt: Infinity,
      suspectProbes: 0,
      pathInner: INNER_MTU,
      remoteFeatures: peer.features,
      handshakeRttMs,
      probe: { token: this.ctx.random.int(0, 2 ** 32 - 1), attempts: 0, nextAt: now + PROBE_DELAYS_MS[0], bigAt: 0, bigSentAt: -Infinity },
    };
    channel.onMessage = (m: Buffer) => this.events.message(this, m, session.lastRecv);
    channel.onAcked = (h: number) => {
      session.unacked = Math.max(0, session.unacked - 1);
      if (session.unacked === 0) session.awaitingSince = undefined; // acks arrive inside a received packet
      this.events.acked(this, h);
    };
    channel.onLinkFrame = (f: LinkFrame, t: number) => this.onLinkFrame(f, session, t);
    // A peer that breaks the stream's rules gets a fresh session, not a crash.
    channel.onError = (e) => {
      if (this.session === session) this.lose(session.lastRecv, `protocol error from peer: ${e.message}`);
    };
    this.session = session;
    if (peer.name) this.remoteName = peer.name;
    this.stats.handshakes++;
    this.phase = 'established';
    this.failure = undefined;
    this.nextPunchAt = Infinity;
    this.punchDeadline = Infinity;
    this.nextSprayAt = Infinity;
    this.nextDirectProbeAt = now + DIRECT_PROBE_INTERVAL_MS;
    this.failures = 0;
    this.retryAt = Infinity;
    const first = !this.everEstablished;
    this.everEstablished = true;
    // An unproven source (a KK message 1 may be a replay) becomes a candidate only once proven (onData).
    if (unprovenBudget === undefined) this.candidates.set(endpointKey(endpoint), endpoint);
    if (early && early.unacked > 0) session.awaitingSince = now;
    this.events.established(this, { first, carried: early !== undefined });
    if (!this.initiator || !confirm) this.events.verified(this);
  }

  private retire(s: Session): void {
    this.ctx.releaseIndex(s.localIndex);
    if (this.previous === s) this.previous = undefined;
  }

  /**
   * Queue a reliable message; undefined when there is no session (the caller's outbox keeps it). The link keeps
   * `payload` as it is (no copy): the caller must not change it afterwards.
   */
  send(payload: Buffer, now: number): number | undefined {
    const s = this.session;
    if (!s && this.acceptsEarly) {
      // KK initiator before the session: queue in the channel the session will take over (see newKkHandshake).
      this.early ??= { channel: this.newChannel(), unacked: 0 };
      this.early.unacked++;
      return this.early.channel.send(payload, now, true);
    }
    if (!s) return undefined;
    const handle = s.channel.send(payload, now, true);
    s.unacked++;
    s.awaitingSince ??= now; // unacknowledged data is a liveness question (see tick)
    // Not flushed here: the room flushes once per batch, so messages sent together share datagrams.
    this.ctx.markDirty(this);
    return handle;
  }

  sendEphemeral(payload: Buffer, now: number): void {
    if (this.session) this.sendFrames([{ type: 'ephemeral', payload }], now);
  }

  /**
   * File frames, outside the reliable channel (so a lost piece never delays a chat message), packed
   * into inner packets of at most `maxInner` bytes. False when there is no session to carry them.
   */
  sendFileFrames(frames: readonly FileFrame[], maxInner: number, now: number): boolean {
    const s = this.session;
    if (!s) return false;
    this.maybeBigProbe(s, now);
    // A packet with a piece in it is bulk (queued behind chat); acks and requests alone are not.
    let batch: FileFrame[] = [];
    let size = 0;
    let bulk = false;
    for (const f of frames) {
      const n = frameSize(f);
      if (size + n > maxInner && batch.length) {
        this.transmit(s, encodePacketParts(batch), now, bulk);
        batch = [];
        size = 0;
        bulk = false;
      }
      batch.push(f);
      size += n;
      if (f.type === 'file-piece') bulk = true;
    }
    if (batch.length) this.transmit(s, encodePacketParts(batch), now, bulk);
    return this.session === s;
  }

  private checkRestart(now: number): void {
    if (this.restartCheckAt !== Infinity) return;
    this.restartPingAt = now;
    this.restartCheckAt = now + RESTART_CHECK_MS;
    this.sendFrames([{ type: 'ping', token: this.nextPing(now) }], now);
  }

  private nextPing(now: number): number {
    const token = this.pingToken++ >>> 0;
    this.pings.set(token, now);
    if (this.pings.size > 16) this.pings.delete(this.pings.keys().next().value as number);
    return token;
  }

  private sendFrames(frames: LinkFrame[], now: number): void {
    if (this.session) this.sendFramesOn(this.session, frames, now);
  }

  private sendFramesOn(s: Session, frames: LinkFrame[], now: number): void {
    for (const packet of s.channel.poll(now, frames)) this.transmit(s, packet, now);
  }

  private transmit(s: Session, plain: Buffer | Buffer[], now: number, bulk = false): void {
    if (s.transport.exhausted) {
      this.lose(now, 'transport keys used up');
      return;
    }
    if (!this.sealTo(s, s.endpoint, plain, bulk)) return;
    s.lastSend = now;
    this.stats.dataOut++;
  }

  /** Seal and send one inner packet on a session, within an unproven session's byte budget (see Session). */
  private sealTo(s: Session, to: Route, plain: Buffer | Buffer[], bulk = false): boolean {
    const parts = Array.isArray(plain) ? plain : [plain];
    if (s.unprovenBudget !== undefined) {
      let plainBytes = 0;
      for (const p of parts) plainBytes += p.length;
      const size = DATA_HEADER_BYTES + plainBytes + 16; // data header (receiver, counter), the tag
      if (size > s.unprovenBudget) {
        s.heldBack = true; // the channel counts it as sent: resent once the path is proven (onData)
        return false;
      }
      s.unprovenBudget -= size;
    }
    // One allocation per datagram: header, ciphertext and tag sealed straight into it (no plaintext
    // packet, no concatenation of ciphertext and tag, no re-encoding of the header around them).
    const sealed = s.transport.sealParts(parts, DATA_HEADER_BYTES);
    const datagram = writeDataHeader(sealed.datagram, s.remoteIndex, sealed.counter);
    if (bulk) this.ctx.sendBulk(to, datagram);
    else this.ctx.send(to, datagram);
    return true;
  }

  flush(now: number): void {
    const s = this.session;
    if (!s) return;
    for (const packet of s.channel.poll(now)) this.transmit(s, packet, now);
  }

  tick(now: number): void {
    if (this.phase === 'closed') return;
    if (this.phase === 'failed' && now >= this.retryAt) {
      this.retryAt = Infinity;
      this.startPunching(now);
      return;
    }
    if (now >= this.restartCheckAt) {
      this.restartCheckAt = Infinity;
      if (this.session && this.session.lastRecv <= this.restartPingAt) this.startPunching(now);
    }
    if (this.phase === 'punching' || (this.hs && this.session)) {
      if (now >= this.punchDeadline) {
        if (!this.session) {
          this.fail(now);
          return;
        }
        this.nextPunchAt = Infinity; // re-handshake gave up; the old session still works
        this.punchDeadline = Infinity;
        if (this.hs) this.ctx.releaseIndex(this.hs.index);
        this.hs = undefined;
      } else {
        if (now >= this.nextPunchAt) {
          this.lastHelloAt = now;
          // The first punches only prime our own NAT (see PRIME_TTL); the rest go all the way.
          this.sendPunches(this.punchAttempt < PRIME_ATTEMPTS ? PRIME_TTL : undefined);
          this.punchAttempt++;
          this.nextPunchAt = now + punchDelay(this.punchAttempt);
        }
        if (!this.session && now >= this.nextSprayAt) this.spray(now);
      }
    }
    const s = this.session;
    if (!s) return;
    if (s.confirm && now - s.establishedAt >= this.ctx.punchTimeoutMs) {
      // Only the responder checks the psk; silence after message 3 means it refused us.
      this.retire(s);
      this.session = undefined;
      this.fail(now, 'the peer never confirmed the handshake (a different room secret, or a peer impersonation)');
      return;
    }
    if (s.confirm && now >= s.confirmNextAt) {
      this.ctx.send(s.endpoint, s.confirm);
      s.confirmAttempt++;
      s.confirmNextAt = now + punchDelay(2 + s.confirmAttempt);
    }
    if (now >= s.probe.nextAt && !s.confirm) this.sendProbes(s, now);
    this.flush(now);
    if (now - s.lastRecv >= this.ctx.lostAfterMs) {
      this.lose(now, `no packets for ${Math.round((now - s.lastRecv) / 1000)} s`);
      return;
    }
    if (s.suspectSince === undefined && s.awaitingSince !== undefined && now >= s.awaitingSince + this.suspectAfterMs()) {
      this.suspect(now, s.unacked > 0 ? 'messages unacknowledged' : 'a ping unanswered');
    }
    if (s.suspectSince !== undefined) {
      if (now - s.suspectSince >= SUSPECT_LOST_MS) {
        // Not the keepalive loss timeout: a path that stopped answering while we waited for it is gone now.
        this.lose(now, `the path stopped answering (${s.suspectWhy}; ${s.suspectProbes} probes of every known address unanswered)`);
        return;
      }
      if (now >= s.suspectProbeAt) this.probeCandidates(s, now);
    }
    if (this.path === 'relayed' && now >= this.nextDirectProbeAt) this.probeDirect(s, now);
    // Keep NAT mappings and the peer's loss timer alive; probe faster once the peer has gone quiet.
    const quiet = now - s.lastRecv >= this.ctx.keepaliveMs; // ">=": the same instant nextWakeup() promised
    if (now - s.lastSend >= this.ctx.keepaliveMs || (quiet && now - s.lastSend >= this.ctx.keepaliveMs / 4)) {
      this.sendFrames([{ type: 'ping', token: this.nextPing(now) }], now);
      s.awaitingSince ??= now; // a keepalive is answered by a pong: its silence is news
    }
  }

  private suspectAfterMs(): number {
    return Math.max(SUSPECT_AFTER_MS, 4 * (this.rttMs ?? 0));
  }

  /**
   * The path may be broken (a NAT mapping changed: ours, or the peer's). Probe the session's address and every
   * candidate with authenticated pings (any answer moves the session there), and ask the room for fresh
   * addresses. `news`: a new address to try arrived, which restarts the window. No answer within
   * SUSPECT_LOST_MS means lost: re-punch from scratch, with whatever strategy the NATs need now.
   */
  suspect(now: number, why: string, news = false): void {
    const s = this.session;
    if (!s || this.phase === 'closed') return;
    if (s.suspectSince !== undefined && !news) return;
    s.suspectSince = now;
    s.suspectWhy = why;
    s.suspectProbes = 0;
    this.probeCandidates(s, now);
    this.events.suspect?.(this, why);
  }

  private probeCandidates(s: Session, now: number): void {
    const targets = new Map<string, Route>([[endpointKey(s.endpoint), s.endpoint]]);
    for (const c of this.candidates.values()) targets.set(endpointKey(c), c);
    for (const to of targets.values()) {
      for (const packet of s.channel.poll(now, [{ type: 'ping', token: this.nextPing(now) }])) this.sealTo(s, to, packet);
    }
    s.lastSend = now;
    s.suspectProbeAt = s.suspectProbes < SUSPECT_PROBE_DELAYS_MS.length ? now + SUSPECT_PROBE_DELAYS_MS[s.suspectProbes] : Infinity;
    s.suspectProbes++;
  }

  private nextDirectProbeAt = 0;

  /**
   * While relayed, keep trying the direct path: an authenticated ping to every direct candidate. If one
   * gets through, the peer moves its session to that address (authenticated packets move sessions),
   * its traffic then arrives directly, and ours follows.
   */
  private probeDirect(s: Session, now: number): void {
    this.nextDirectProbeAt = now + DIRECT_PROBE_INTERVAL_MS;
    for (const c of this.candidates.values()) {
      if ((c as Route).relay || (this.remoteRelay && sameEndpoint(c, this.remoteRelay))) continue;
      for (const packet of s.channel.poll(now, [{ type: 'ping', token: this.nextPing(now) }])) this.sealTo(s, c, packet);
    }
  }

  nextWakeup(): number {
    let t = Math.min(this.nextPunchAt, this.punchDeadline, this.restartCheckAt, this.session ? Infinity : this.nextSprayAt);
    if (this.phase === 'failed') t = Math.min(t, this.retryAt);
    const s = this.session;
    if (s) {
      t = Math.min(t, s.confirm ? s.confirmNextAt : Infinity, s.lastRecv + this.ctx.lostAfterMs, s.lastSend + this.ctx.keepaliveMs, s.confirm ? Infinity : s.probe.nextAt); // tick probes only once confirmed
      if (s.suspectSince !== undefined) t = Math.min(t, s.suspectProbeAt, s.suspectSince + SUSPECT_LOST_MS);
      else if (s.awaitingSince !== undefined) t = Math.min(t, s.awaitingSince + this.suspectAfterMs());
      if (this.path === 'relayed') t = Math.min(t, this.nextDirectProbeAt);
      if (s.lastRecv + this.ctx.keepaliveMs < t) t = Math.min(t, Math.max(s.lastRecv + this.ctx.keepaliveMs, s.lastSend + this.ctx.keepaliveMs / 4));
      const w = s.channel.nextWakeup();
      if (w !== undefined) t = Math.min(t, w);
    }
    return t;
  }

  private lose(now: number, reason: string): void {
    const s = this.session;
    if (!s) return;
    this.retire(s);
    this.session = undefined;
    if (this.previous) this.retire(this.previous);
    this.events.lost(this, reason);
    this.startPunching(now);
  }

  private failures = 0;
  private retryAt = Infinity;
  private lastHelloAt = 0;

  private fail(now: number, why?: string): void {
    this.phase = 'failed';
    this.failedForMissingRelay = false;
    // Try again later on our own, backing off: the peer may come back without the rendezvous telling us.
    this.failures++;
    this.retryAt = now + Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (this.failures - 1));
    this.nextSprayAt = Infinity;
    this.nextPunchAt = Infinity;
    this.punchDeadline = Infinity;
    if (this.hs) this.ctx.releaseIndex(this.hs.index);
    this.hs = undefined;
    const tried = this.candidateList().map(endpointKey).join(', ') || 'none';
    const how = this.strategy === 'plain' ? '' : `; strategy ${this.strategy}${this.sprayed ? `, ${this.sprayed} ports probed` : ''}${this.strategy === 'sockets' ? `, ${this.ctx.extraSockets()} extra sockets` : ''}`;
    this.failure = why ?? `no answer from ${this.remoteName || this.remoteHex.slice(0, 8)} within ${Math.round(this.ctx.punchTimeoutMs / 1000)} s (tried ${tried}${how})`;
    void now;
    this.events.failed(this, this.failure);
  }

  /** Leave: tell the peer (best effort), forget keys. */
  close(now: number, reason: string, notify = true): void {
    if (this.phase === 'closed') return;
    if (notify && this.session) this.sendFrames([{ type: 'close', code: 0, reason }], now);
    for (const s of [this.session, this.previous]) if (s) this.ctx.releaseIndex(s.localIndex);
    if (this.hs) this.ctx.releaseIndex(this.hs.index);
    if (this.pending) this.ctx.releaseIndex(this.pending.localIndex);
    const wasUp = this.session !== undefined;
    this.session = this.previous = this.hs = this.pending = this.early = undefined;
    this.phase = 'closed';
    this.nextPunchAt = this.punchDeadline = Infinity;
    if (wasUp && !notify) this.events.lost(this, reason);
  }
}
