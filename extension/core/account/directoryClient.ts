// One directory request, sans I/O: what to send and when, what an answer means. The shell (the
// terminal peer, the extension, directoryCall.ts) moves datagrams and calls `tick` at `nextWakeup`.
//
//  - The first send carries the cookie we have (or zeros); a `cookie` answer makes us resend at once
//    with the fresh one (at most a few times: a server that keeps refusing it is broken or lying).
//  - Silence: resend after 250 ms, 500 ms, 1 s, 2 s, 2 s … until `timeoutMs` (every request is
//    idempotent on the server: the same signed bytes again succeed without changing anything).
//  - A lookup's record is verified here, completely (signature, the handle asked for, versions and keys
//    pinned earlier): a directory that answers with anything else is reported as `unverified`, never
//    as a result.
import { randomBytes } from 'node:crypto';
import { decodeDirectory, DIRECTORY_STATUS_NAMES, DirectoryRequestMessage, DirectoryStatus, encodeDirectory, isDirectoryType } from '../wire/directory';
import { decodeRendezvous, COOKIE_BYTES, ErrorCode } from '../wire/rendezvous';
import { AccountDeletion, AccountRecord, AccountRotation, encodeRotation, RecordExpectations, verifyRecord } from './record';

export type DirectoryOp =
  | { kind: 'claim'; record: AccountRecord }
  | { kind: 'update'; record: AccountRecord }
  | { kind: 'rotate'; rotation: AccountRotation }
  | { kind: 'delete'; deletion: AccountDeletion }
  | { kind: 'lookup'; handle: string; expect?: RecordExpectations };

export type DirectoryOutcome =
  | { ok: true; kind: 'done'; version: bigint; message: string }
  | { ok: true; kind: 'record'; record: AccountRecord }
  /** The server refused: `status` names why (DirectoryStatus; `code` its wire number). */
  | { ok: false; kind: 'refused'; code: number; status: string; message: string; version: bigint }
  /** The server answered something that does not check out: rejected, with the reason. */
  | { ok: false; kind: 'unverified'; message: string }
  | { ok: false; kind: 'timeout'; message: string };

export interface DirectoryRequestOptions {
  /** A cookie from an earlier exchange with this server (saves a round trip). */
  cookie?: Buffer;
  /** Give up after this long without a result (default 8 s). */
  timeoutMs?: number;
  /** Resend delays; the last repeats (default 250, 500, 1000, 2000 ms). */
  retryMs?: readonly number[];
  requestId?: number;
}

const MAX_COOKIE_ROUNDS = 4;

export class DirectoryRequest {
  readonly requestId: number;
  /** The latest cookie the server gave us: keep it for the next request to the same server. */
  cookie: Buffer;
  private outgoing: Buffer[] = [];
  private readonly deadline: number;
  private nextSend: number;
  private attempt = 0;
  private cookieRounds = 0;
  private readonly retryMs: readonly number[];
  result?: DirectoryOutcome;
  /** Answers that were dropped (unrelated, malformed): for logs. */
  ignored = 0;

  constructor(readonly op: DirectoryOp, now: number, opts: DirectoryRequestOptions = {}) {
    this.requestId = opts.requestId ?? randomBytes(4).readUInt32BE(0);
    this.cookie = opts.cookie && opts.cookie.length === COOKIE_BYTES ? Buffer.from(opts.cookie) : Buffer.alloc(COOKIE_BYTES);
    this.deadline = now + (opts.timeoutMs ?? 8000);
    this.retryMs = opts.retryMs?.length ? opts.retryMs : [250, 500, 1000, 2000];
    this.nextSend = now;
    this.tick(now);
  }

  get done(): boolean {
    return this.result !== undefined;
  }

  private message(): DirectoryRequestMessage {
    const base = { cookie: this.cookie, requestId: this.requestId };
    const op = this.op;
    switch (op.kind) {
      case 'claim':
        return { type: 'accountClaim', ...base, record: op.record.bytes };
      case 'update':
        return { type: 'accountUpdate', ...base, record: op.record.bytes };
      case 'rotate':
        return { type: 'accountRotate', ...base, rotation: encodeRotation(op.rotation) };
      case 'delete':
        return { type: 'accountDelete', ...base, deletion: op.deletion.bytes };
      case 'lookup':
        return { type: 'accountLookup', ...base, handle: op.handle };
    }
  }

  private send(now: number): void {
    this.outgoing.push(encodeDirectory(this.message()));
    const delay = this.retryMs[Math.min(this.attempt, this.retryMs.length - 1)];
    this.attempt++;
    this.nextSend = now + delay;
  }

  tick(now: number): void {
    if (this.result) return;
    if (now >= this.deadline) {
      this.result = { ok: false, kind: 'timeout', message: 'no answer from the directory (server down or unreachable?)' };
      return;
    }
    if (now >= this.nextSend) this.send(now);
  }

  nextWakeup(): number | undefined {
    return this.result ? undefined : Math.min(this.nextSend, this.deadline);
  }

  takeOutgoing(): Buffer[] {
    const out = this.outgoing;
    this.outgoing = [];
    return out;
  }

  /** A datagram from the server's address. Anything not for this request is ignored. */
  receive(buf: Uint8Array, now: number): void {
    if (this.result || buf.length < 3) return void this.ignored++;
    if (isDirectoryType(buf[2])) return this.onDirectory(buf);
    const d = decodeRendezvous(buf);
    if (!d.ok) return void this.ignored++;
    const m = d.value;
    if (m.type === 'cookie') {
      if (++this.cookieRounds > MAX_COOKIE_ROUNDS) {
        this.result = { ok: false, kind: 'unverified', message: 'the server keeps refusing the cookie it issued' };
        return;
      }
      this.cookie = Buffer.from(m.cookie);
      this.attempt = 0;
      this.send(now);
      return;
    }
    if (m.type === 'error') {
      // Errors carry no request id: accept the ones that end any request from this socket.
      if (m.code === ErrorCode.RateLimited || m.code === ErrorCode.Malformed || m.code === ErrorCode.UnsupportedVersion) {
        this.result = { ok: false, kind: 'refused', code: m.code, status: m.code === ErrorCode.RateLimited ? 'rate-limited' : m.code === ErrorCode.Malformed ? 'malformed' : 'unsupported-version', message: m.message, version: 0n };
      } else this.ignored++;
      return;
    }
    this.ignored++;
  }

  private onDirectory(buf: Uint8Array): void {
    const d = decodeDirectory(buf);
    if (!d.ok) return void this.ignored++;
    const m = d.value;
    if (m.type !== 'accountResult' && m.type !== 'accountFound') return void this.ignored++;
    if (m.requestId !== this.requestId) return void this.ignored++;
    if (m.type === 'accountFound') {
      if (this.op.kind !== 'lookup') {
        this.result = { ok: false, kind: 'unverified', message: 'the directory answered a change with a record' };
        return;
      }
      const v = verifyRecord(m.record, { ...this.op.expect, handle: this.op.handle });
      this.result = v.ok ? { ok: true, kind: 'record', record: v.value } : { ok: false, kind: 'unverified', message: `directory record rejected: ${v.error}` };
      return;
    }
    if (m.status === DirectoryStatus.Ok) {
      if (this.op.kind === 'lookup') {
        this.result = { ok: false, kind: 'unverified', message: 'the directory answered a lookup without a record' };
        return;
      }
      this.result = { ok: true, kind: 'done', version: m.version, message: m.message };
      return;
    }
    this.result = { ok: false, kind: 'refused', code: m.status, status: DIRECTORY_STATUS_NAMES[m.status] ?? `status-${m.status}`, message: m.message, version: m.version };
  }
}

