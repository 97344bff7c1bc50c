// A sans-I/O TURN client (RFC 8656 over UDP, long-term credentials): one allocation on one server.
// The socket is shared with rendezvous and peer traffic, so it never reads on its own: the owner
// passes every datagram from the server to `handle()` and calls `tick()` at `nextWakeup()`.
import { randomBytes } from 'node:crypto';
import { Endpoint, endpointKey, normaliseAddress } from '../wire/endpoint';
import {
  Attr,
  CHANNEL_MAX,
  CHANNEL_MIN,
  channelNumberValue,
  checkFingerprint,
  checkIntegrity,
  decodeChannelData,
  decodeErrorCode,
  decodeStun,
  decodeXorAddress,
  encodeChannelData,
  encodeStun,
  encodeXorAddress,
  getAttr,
  longTermKey,
  Method,
  readU32,
  requestedTransportValue,
  StunAttribute,
  StunClass,
  StunMessage,
  TXID_BYTES,
  u32Value,
} from './stunCodec';

export type TurnState = 'idle' | 'allocating' | 'allocated' | 'failed' | 'closed';

export interface TurnClientOptions {
  server: Endpoint;
  username: string;
  password: string;
  send(to: Endpoint, data: Buffer): void;
  /** Requested allocation lifetime; the server has the last word (coturn: default 600 s). */
  lifetimeSeconds?: number;
  software?: string;
  /** RFC 8489 §6.2.1: initial RTO 500 ms, doubled per retransmission, Rc = 7, final wait Rm = 16 RTOs. */
  rtoMs?: number;
  maxTransmissions?: number;
  /** What the server grants; TURN does not say it on the wire (RFC 8656: 300 s and 600 s). */
  permissionLifetimeSeconds?: number;
  channelLifetimeSeconds?: number;
  /** Bind a channel per peer (4 bytes of overhead instead of 36); default true. */
  useChannels?: boolean;
  /** Transaction ids; injectable so tests are reproducible. */
  random?: (n: number) => Buffer;
}

export interface TurnStats {
  requests: number;
  retransmissions: number;
  responses: number;
  dataIndicationsIn: number;
  channelDataIn: number;
  sendIndicationsOut: number;
  channelDataOut: number;
  dropped: number;
  lastDrop?: string;
  /** The owner's send() threw (say, its socket was closed); the datagram counts as lost. */
  sendErrors: number;
}

type TxKind = 'allocate' | 'refresh' | 'permission' | 'channel';

interface Transaction {
  kind: TxKind;
  method: number;
  attrs: StunAttribute[];
  authenticated: boolean;
  txid: Buffer;
  bytes: Buffer;
  transmissions: number;
  rto: number;
  nextAt: number;
  staleNonceRetries: number;
  /** Permission: the peer IP; channel: the peer endpoint key. */
  target?: string;
  /** XOR-PEER-ADDRESS is masked with the txid, so it is encoded afresh for every transaction. */
  peer?: Endpoint;
}

interface Permission {
  peer: Endpoint; // the endpoint permit() was first called with (the permission covers its IP)
  active: boolean;
  refreshAt: number;
  expiresAt: number;
  pending: boolean;
  /** When the CreatePermission now pending was first sent: the server's grant can be no older. */
  requestedAt: number;
}

interface Channel {
  peer: Endpoint;
  number: number;
  bound: boolean;
  refreshAt: number;
  expiresAt: number;
  pending: boolean;
}

const RM = 16;
const MAX_STALE_NONCE_RETRIES = 3;
const MAX_PAYLOAD = 65_507 - 64;

/** Refresh a grant a minute before it lapses, or at 3/4 of it when it is short. */
function refreshDelay(lifetimeMs: number): number {
  return lifetimeMs - Math.min(60_000, lifetimeMs / 4);
}

const txKey = (txid: Buffer) => txid.toString('hex');

export class TurnClient {
  onAllocated?: (relayed: Endpoint) => void;
  /** `fatal` is true when the allocation is gone (state 'failed'); false for a lost permission or channel. */
  onError?: (reason: string, fatal: boolean) => void;
  onPermitted?: (peer: Endpoint) => void;

  readonly stats: TurnStats = {
    requests: 0,
    retransmissions: 0,
    responses: 0,
    dataIndicationsIn: 0,
    channelDataIn: 0,
    sendIndicationsOut: 0,
    channelDataOut: 0,
    dropped: 0,
    sendErrors: 0,
  };

  private _state: TurnState = 'idle';
  private _relayed?: Endpoint;
  private _mapped?: Endpoint;
  private realm?: string;
  private nonce?: string;
  private key?: Buffer;
  private allocationRefreshAt = Infinity;
  private readonly server: Endpoint;
  private readonly rto: number;
  private readonly rc: number;
  private readonly permissionMs: number;
  private readonly channelMs: number;
  private readonly random: (n: number) => Buffer;
  private readonly transactions = new Map<string, Transaction>();
  private readonly permissions = new Map<string, Permission>(); // by peer IP
  private readonly channels = new Map<string, Channel>(); // by endpointKey(peer)
  private readonly channelsByNumber = new Map<number, Channel>();
  private nextChannel = CHANNEL_MIN;
  private readonly wanted: Endpoint[] = []; // permit() calls made before the allocation exists

  constructor(private readonly opts: TurnClientOptions) {
    this.server = { address: normaliseAddress(opts.server.address), port: opts.server.port };
    this.rto = opts.rtoMs ?? 500;
    this.rc = Math.max(1, opts.maxTransmissions ?? 7);
    this.permissionMs = (opts.permissionLifetimeSeconds ?? 300) * 1000;
    this.channelMs = (opts.channelLifetimeSeconds ?? 600) * 1000;
    this.random = opts.random ?? randomBytes;
  }

  get state(): TurnState {
    return this._state;
  }
  get relayedAddress(): Endpoint | undefined {
    return this._relayed;
  }
  get mappedAddress(): Endpoint | undefined {
    return this._mapped;
  }

  start(now: number): void {
    if (this._state !== 'idle') return;
    this._state = 'allocating';
    // The first Allocate carries no credentials: the 401 answer supplies the realm and nonce.
    this.request('allocate', Method.Allocate, this.allocateAttrs(), now, false);
  }

  isFromServer(from: Endpoint): boolean {
    return from.port === this.server.port && normaliseAddress(from.address) === this.server.address;
  }

  handle(data: Buffer, from: Endpoint, now: number): { peer: Endpoint; data: Buffer } | undefined {
    if (!this.isFromServer(from)) return this.drop('not from the TURN server');
    if (this._state === 'closed' || this._state === 'idle') return this.drop(`datagram while ${this._state}`);
    if (data.length >= 1 && data[0] >= 0x40 && data[0] <= 0x4f) return this.onChannelData(data);
    const d = decodeStun(data);
    if (!d.ok) return this.drop(d.error);
    const msg = d.value;
    if (msg.fingerprintAt !== undefined && !checkFingerprint(msg)) return this.drop('bad FINGERPRINT');
    if (msg.cls === StunClass.Indication) return msg.method === Method.Data ? this.onDataIndication(msg) : this.drop('unexpected indication');
    if (msg.cls === StunClass.Request) return this.drop('request from the server');
    this.onResponse(msg, now);
    return undefined;
  }

  permit(peer: Endpoint, now: number): void {
    if (this._state === 'failed' || this._state === 'closed') return;
    const p: Endpoint = { address: normaliseAddress(peer.address), port: peer.port };
    if (this._state !== 'allocated') {
      if (!this.wanted.some((w) => endpointKey(w) === endpointKey(p))) this.wanted.push(p);
      return;
    }
    if (!this.permissions.has(p.address)) {
      this.permissions.set(p.address, { peer: p, active: false, refreshAt: Infinity, expiresAt: 0, pending: false, requestedAt: now });
      this.sendPermission(p.address, now);
    }
    const key = endpointKey(p);
    if (this.opts.useChannels !== false && !this.channels.has(key) && this.nextChannel <= CHANNEL_MAX) {
      // Beyond 4096 peers the channels run out; Send indications still work.
      const ch: Channel = { peer: p, number: this.nextChannel++, bound: false, refreshAt: Infinity, expiresAt: 0, pending: false };
      this.channels.set(key, ch);
      this.channelsByNumber.set(ch.number, ch);
      this.sendChannelBind(key, now);
    }
  }

  /** Stop refreshing the permission and channel for a peer (say, once a direct path is up); they lapse at the server. */
  forget(peer: Endpoint): void {
    const p: Endpoint = { address: normaliseAddress(peer.address), port: peer.port };
    const ch = this.channels.get(endpointKey(p));
    if (ch) {
      this.channels.delete(endpointKey(p));
      this.channelsByNumber.delete(ch.number);
    }
    const keepPermission = [...this.channels.values()].some((c) => c.peer.address === p.address);
    if (!keepPermission) this.permissions.delete(p.address);
    for (const [k, t] of this.transactions) {
      if ((t.kind === 'channel' && t.target === endpointKey(p)) || (t.kind === 'permission' && !keepPermission && t.target === p.address)) {
        this.transactions.delete(k);
      }
    }
    this.wanted.splice(0, this.wanted.length, ...this.wanted.filter((w) => endpointKey(w) !== endpointKey(p)));
  }

  isPermitted(peer: Endpoint, now: number): boolean {
    const perm = this.permissions.get(normaliseAddress(peer.address));
    return this._state === 'allocated' && !!perm && perm.active && now < perm.expiresAt;
  }

  /** True once ChannelBind succeeded: sendTo() then uses ChannelData. */
  hasChannel(peer: Endpoint, now: number): boolean {
    return this.boundChannel(peer, now) !== undefined;
  }

  sendTo(peer: Endpoint, data: Buffer, now: number): boolean {
    // A Send indication adds 36+ bytes and both must fit one UDP datagram.
    if (data.length > MAX_PAYLOAD || !this.isPermitted(peer, now)) return false;
    const ch = this.boundChannel(peer, now);
    if (ch) {
      this.stats.channelDataOut++;
      this.emit(encodeChannelData(ch.number, data));
      return true;
    }
    const txid = this.random(TXID_BYTES);
    const xor = encodeXorAddress(peer, txid);
    if (!xor) return false;
    this.stats.sendIndicationsOut++;
    const attrs = [
      { type: Attr.XorPeerAddress, value: xor },
      { type: Attr.Data, value: data },
    ];
    this.emit(encodeStun({ method: Method.Send, cls: StunClass.Indication, txid, attrs }, { fingerprint: true }));
    return true;
  }

  private boundChannel(peer: Endpoint, now: number): Channel | undefined {
    const ch = this.channels.get(endpointKey({ address: normaliseAddress(peer.address), port: peer.port }));
    return ch && ch.bound && now < ch.expiresAt && this.isPermitted(peer, now) ? ch : undefined;
  }

  tick(now: number): void {
    for (const [k, t] of [...this.transactions]) {
      if (now < t.nextAt || !this.transactions.has(k)) continue;
      if (t.transmissions >= this.rc) {
        this.transactions.delete(k);
        this.onTimeout(t);
        if (this.isDead()) return;
        continue;
      }
      this.stats.retransmissions++;
      this.transmit(t, now);
    }
    if (this._state !== 'allocated') return;
    if (now >= this.allocationRefreshAt) {
      this.allocationRefreshAt = Infinity; // rescheduled by the response
      this.request('refresh', Method.Refresh, this.lifetimeAttrs(), now, true);
    }
    for (const [ip, p] of this.permissions) if (!p.pending && now >= p.refreshAt) this.sendPermission(ip, now);
    for (const [key, c] of this.channels) if (!c.pending && now >= c.refreshAt) this.sendChannelBind(key, now);
  }

  nextWakeup(): number {
    let next = Infinity;
    for (const t of this.transactions.values()) next = Math.min(next, t.nextAt);
    if (this._state !== 'allocated') return next;
    next = Math.min(next, this.allocationRefreshAt);
    for (const p of this.permissions.values()) if (!p.pending) next = Math.min(next, p.refreshAt);
    for (const c of this.channels.values()) if (!c.pending) next = Math.min(next, c.refreshAt);
    return next;
  }

  close(_now: number): void {
    if (this._state === 'closed') return;
    const wasAllocated = this._state === 'allocated';
    this.reset('closed');
    if (!wasAllocated) return;
    // Best effort, sent once: the allocation times out at the server anyway if this is lost.
    const txid = this.random(TXID_BYTES);
    const attrs = [{ type: Attr.Lifetime, value: u32Value(0) }];
    this.emit(this.encodeRequest({ method: Method.Refresh, attrs, txid, authenticated: true }));
  }

  // --- requests -----------------------------------------------------------------------------

  private allocateAttrs(): StunAttribute[] {
    return [{ type: Attr.RequestedTransport, value: requestedTransportValue() }, ...this.lifetimeAttrs()];
  }

  private lifetimeAttrs(): StunAttribute[] {
    const l = this.opts.lifetimeSeconds;
    return l === undefined ? [] : [{ type: Attr.Lifetime, value: u32Value(l) }];
  }

  private sendPermission(ip: string, now: number): void {
    const p = this.permissions.get(ip)!;
    p.pending = true;
    p.requestedAt = now;
    this.request('permission', Method.CreatePermission, [], now, true, ip, p.peer);
  }

  private sendChannelBind(key: string, now: number): void {
    const c = this.channels.get(key)!;
    c.pending = true;
    const attrs = [{ type: Attr.ChannelNumber, value: channelNumberValue(c.number) }];
    this.request('channel', Method.ChannelBind, attrs, now, true, key, c.peer);
  }

  private request(kind: TxKind, method: number, attrs: StunAttribute[], now: number, authenticated: boolean, target?: string, peer?: Endpoint): void {
    const txid = this.random(TXID_BYTES);
    const t: Transaction = { kind, method, attrs, authenticated, txid, bytes: Buffer.alloc(0), transmissions: 0, rto: this.rto, nextAt: now, staleNonceRetries: 0, target, peer };
    t.bytes = this.encodeRequest(t);
    this.transactions.set(txKey(txid), t);
    this.stats.requests++;
    this.transmit(t, now);
  }

  private transmit(t: Transaction, now: number): void {
    t.transmissions++;
    // After the last transmission, wait Rm initial RTOs for an answer before giving up.
    t.nextAt = now + (t.transmissions >= this.rc ? RM * this.rto : t.rto);
    t.rto *= 2;
    this.emit(t.bytes);
  }

  private encodeRequest(t: Pick<Transaction, 'method' | 'attrs' | 'txid' | 'authenticated' | 'peer'>): Buffer {
    const { method, txid, authenticated } = t;
    const body = [...t.attrs];
    if (t.peer) body.push({ type: Attr.XorPeerAddress, value: encodeXorAddress(t.peer, txid) ?? Buffer.alloc(0) });
    if (this.opts.software) body.unshift({ type: Attr.Software, value: Buffer.from(this.opts.software.slice(0, 127), 'utf8') });
    if (authenticated && this.key) {
      body.push(
        { type: Attr.Username, value: Buffer.from(this.opts.username, 'utf8') },
        { type: Attr.Realm, value: Buffer.from(this.realm ?? '', 'utf8') },
        { type: Attr.Nonce, value: Buffer.from(this.nonce ?? '', 'utf8') },
      );
    }
    return encodeStun({ method, cls: StunClass.Request, txid, attrs: body }, { integrityKey: authenticated ? this.key : undefined, fingerprint: true });
  }

  /** Same request, new transaction id, current nonce: for 401 and 438 answers. */
  private resend(t: Transaction, now: number, authenticated: boolean): void {
    const txid = this.random(TXID_BYTES);
    const next: Transaction = { ...t, txid, authenticated, transmissions: 0, rto: this.rto, nextAt: now };
    next.bytes = this.encodeRequest(next);
    this.transactions.set(txKey(txid), next);
    this.stats.requests++;
    this.transmit(next, now);
  }

  // --- responses ----------------------------------------------------------------------------

  private onResponse(msg: StunMessage, now: number): void {
    const t = this.transactions.get(txKey(msg.txid));
    if (!t) return void this.drop('response to no pending transaction');
    if (msg.method !== t.method) return void this.drop('response method does not match the request');
    if (t.authenticated && this.key) {
      // Success must prove the server knows the key; 401/438 cannot (the key may be what is wrong).
      if (msg.integrityAt !== undefined ? !checkIntegrity(msg, this.key) : msg.cls === StunClass.Success) {
        return void this.drop('response fails MESSAGE-INTEGRITY');
      }
    }
    this.transactions.delete(txKey(msg.txid));
    this.stats.responses++;
    if (msg.cls === StunClass.Success) this.onSuccess(t, msg, now);
    else this.onErrorResponse(t, msg, now);
  }

  private onSuccess(t: Transaction, msg: StunMessage, now: number): void {
    switch (t.kind) {
      case 'allocate': {
        const relayed = decodeXorAddress(getAttr(msg, Attr.XorRelayedAddress), msg.txid);
        if (!relayed) return this.fail('Allocate success without a usable XOR-RELAYED-ADDRESS');
        this._relayed = relayed;
        this._mapped = decodeXorAddress(getAttr(msg, Attr.XorMappedAddress), msg.txid);
        this._state = 'allocated';
        this.scheduleRefresh(msg, now);
        this.onAllocated?.(relayed);
        for (const p of this.wanted.splice(0)) if (this._state === 'allocated') this.permit(p, now);
        return;
      }
      case 'refresh':
        return this.scheduleRefresh(msg, now);
      case 'permission': {
        const p = this.permissions.get(t.target!);
        if (!p) return;
        const first = !p.active;
        Object.assign(p, { active: true, pending: false, expiresAt: now + this.permissionMs, refreshAt: now + refreshDelay(this.permissionMs) });
        if (first) this.onPermitted?.(p.peer);
        return;
      }
      case 'channel': {
        const c = this.channels.get(t.target!);
        if (!c) return;
        Object.assign(c, { bound: true, pending: false, expiresAt: now + this.channelMs, refreshAt: now + refreshDelay(this.channelMs) });
        return;
      }
    }
  }

  private scheduleRefresh(msg: StunMessage, now: number): void {
    const seconds = readU32(getAttr(msg, Attr.Lifetime)) ?? 600;
    this.allocationRefreshAt = now + refreshDelay(Math.max(1, seconds) * 1000);
  }

  private onErrorResponse(t: Transaction, msg: StunMessage, now: number): void {
    const err = decodeErrorCode(getAttr(msg, Attr.ErrorCode));
    const code = err?.code ?? 0;
    const what = `${err ? `${err.code} ${err.reason}` : 'error without ERROR-CODE'}`;
    const realm = getAttr(msg, Attr.Realm)?.toString('utf8');
    const nonce = getAttr(msg, Attr.Nonce)?.toString('utf8');
    if (code === 401 && !t.authenticated && realm !== undefined && nonce !== undefined) {
      this.realm = realm;
      this.nonce = nonce;
      this.key = longTermKey(this.opts.username, realm, this.opts.password);
      return this.resend(t, now, true);
    }
    if (code === 438 && nonce !== undefined && t.staleNonceRetries < MAX_STALE_NONCE_RETRIES) {
      this.nonce = nonce;
      if (realm !== undefined && realm !== this.realm) {
        this.realm = realm;
        this.key = longTermKey(this.opts.username, realm, this.opts.password);
      }
      t.staleNonceRetries++;
      return this.resend(t, now, true);
    }
    const name = { allocate: 'Allocate', refresh: 'Refresh', permission: 'CreatePermission', channel: 'ChannelBind' }[t.kind];
    if (code === 401) {
      return this.fail(`TURN server ${endpointKey(this.server)} refused the credentials for "${this.opts.username}" (${what}): wrong password, or the credential has expired`);
    }
    if (t.kind === 'allocate' || t.kind === 'refresh') return this.fail(`TURN ${name} failed: ${what}`);
    this.lose(t, `TURN ${name} for ${t.target} failed: ${what}`);
  }

  private onTimeout(t: Transaction): void {
    const name = { allocate: 'Allocate', refresh: 'Refresh', permission: 'CreatePermission', channel: 'ChannelBind' }[t.kind];
    const waited = ((2 ** (this.rc - 1) - 1 + RM) * this.rto) / 1000;
    const reason = `TURN server ${endpointKey(this.server)} did not answer ${name} (${this.rc} transmissions over ${waited} s)`;
    if (t.kind === 'allocate' || t.kind === 'refresh') this.fail(reason);
    else this.lose(t, reason);
  }

  /** A permission or channel that could not be installed or refreshed: forget it, keep the allocation. */
  private lose(t: Transaction, reason: string): void {
    if (t.kind === 'permission') this.permissions.delete(t.target!);
    const c = t.kind === 'channel' ? this.channels.get(t.target!) : undefined;
    if (c) {
      this.channels.delete(t.target!);
      this.channelsByNumber.delete(c.number);
    }
    this.onError?.(reason, false);
  }

  // --- data ---------------------------------------------------------------------------------

  private onDataIndication(msg: StunMessage): { peer: Endpoint; data: Buffer } | undefined {
    if (this._state !== 'allocated') return this.drop('Data indication without an allocation');
    const peer = decodeXorAddress(getAttr(msg, Attr.XorPeerAddress), msg.txid);
    const data = getAttr(msg, Attr.Data);
    if (!peer || !data) return this.drop('Data indication without peer or data');
    // The server only relays from permitted IPs; anything else is spoofed or stale.
    const perm = this.permissions.get(peer.address);
    if (!perm) return this.drop('Data indication from a peer without permission');
    if (!perm.active) {
      // The server relays only from permitted addresses, so it has our CreatePermission even though its answer is
      // still on its way (or was lost and is being retransmitted). Without this, the peer's first packets through the
      // relay could not be answered until then: each lost answer cost the handshake a retransmission round.
      // A forged indication gains nothing: at worst our Send indications are dropped by the server, as before.
      perm.active = true;
      perm.expiresAt = perm.requestedAt + this.permissionMs;
      this.onPermitted?.(perm.peer);
    }
    this.stats.dataIndicationsIn++;
    return { peer, data };
  }

  private onChannelData(buf: Buffer): { peer: Endpoint; data: Buffer } | undefined {
    if (this._state !== 'allocated') return this.drop('ChannelData without an allocation');
    const d = decodeChannelData(buf);
    if (!d.ok) return this.drop(d.error);
    const ch = this.channelsByNumber.get(d.value.channel);
    if (!ch) return this.drop('ChannelData on an unbound channel');
    this.stats.channelDataIn++;
    return { peer: ch.peer, data: d.value.data };
  }

  private emit(data: Buffer): void {
    // handle() and tick() must not throw into the owner's receive loop; a lost datagram is already handled.
    try {
      this.opts.send(this.server, data);
    } catch {
      this.stats.sendErrors++;
    }
  }

  // --- failure ------------------------------------------------------------------------------

  private drop(reason: string): undefined {
    this.stats.dropped++;
    this.stats.lastDrop = reason;
    return undefined;
  }

  private isDead(): boolean {
    return this._state === 'failed' || this._state === 'closed';
  }

  private fail(reason: string): void {
    if (this.isDead()) return;
    this.reset('failed');
    this.onError?.(reason, true);
  }

  private reset(state: TurnState): void {
    this._state = state;
    this.transactions.clear();
    this.permissions.clear();
    this.channels.clear();
    this.channelsByNumber.clear();
    this.wanted.length = 0;
    this.allocationRefreshAt = Infinity;
  }
}
