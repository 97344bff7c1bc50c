// The account directory: handles → signed account records, behind the Store interface. No sockets,
// no clock of its own: the server calls `handle(request, source, now)` once a request's cookie has
// checked out and sends back what it resolves to. (Asynchronous only because the store is.)
//
// Keys in the store:
//   account/<handle>           the account's current record, exactly as signed
//   key/<signing key, hex>     an index entry: state (active | retired | deleted), version, handle
// Both change together in one `commit`, which is what makes "first come first served" and "one
// handle per key per server" hold under races and across instances sharing a store. Index entries of
// retired and deleted keys stay, with the version they ended at: a replayed old sign-up signed by such
// a key is refused as stale instead of bringing a deleted account back.
//
// The account count (for --max-accounts) is read from the store at start and kept in memory: with several
// instances sharing one store (the Redis backend to come) each enforces the cap on what it has seen, so the
// cap is approximate there, by at most the sign-ups the other instances made since this one started.
import { Reader, Writer } from '../extension/core/wire/bytes';
import { isCanonicalHandle, HANDLE_RULE } from '../extension/core/account/handle';
import { AccountRecord, decodeRecord, readDeletion, readRotation, verifyRotationBy } from '../extension/core/account/record';
import { DirectoryReplyMessage, DirectoryRequestMessage, DirectoryStatus } from '../extension/core/wire/directory';
import { BucketSpec, SourceKey, SourceLimiter } from './rateLimit';
import type { Store } from './store/store';

export interface DirectoryOptions {
  /** Accounts this server holds at most (`--max-accounts`). */
  maxAccounts?: number;
  /** False: invite-only (`--no-signup`); existing accounts still update, rotate, delete and are looked up. */
  signup?: boolean;
  /** Sign-ups per source IP address (default 10 per hour, burst 5). */
  signupRate?: BucketSpec;
  /** Updates, rotations and deletions per source IP address (default 1 per second, burst 10). */
  writeRate?: BucketSpec;
  /** Lookups per source address+port (default 10 per second, burst 20). */
  lookupRate?: BucketSpec;
  /** Source addresses whose directory rate state is remembered (LRU). */
  maxSources?: number;
}

export const DEFAULT_MAX_ACCOUNTS = 100_000;
export const DEFAULT_SIGNUP_RATE: BucketSpec = { perSecond: 10 / 3600, burst: 5 };
export const DEFAULT_WRITE_RATE: BucketSpec = { perSecond: 1, burst: 10 };
export const DEFAULT_LOOKUP_RATE: BucketSpec = { perSecond: 10, burst: 20 };

const enum KeyState {
  Active = 1,
  Retired = 2, // rotated away from
  Deleted = 3,
}

interface KeyIndex {
  state: KeyState;
  version: bigint;
  handle: string;
}

function encIndex(i: KeyIndex): Buffer {
  return new Writer(48).u8(i.state).u64(i.version).str8(i.handle, 64).finish();
}

function decIndex(b: Buffer | undefined): KeyIndex | undefined {
  if (!b) return undefined;
  const r = new Reader(b);
  const state = r.u8() as KeyState;
  const version = r.u64();
  const handle = r.str8(64);
  return r.failed ? undefined : { state, version, handle };
}

const accountKey = (handle: string) => `account/${handle}`;
const signingKeyKey = (key: Buffer) => `key/${key.toString('hex')}`;

export interface DirectoryStats {
  accounts: number;
  claims: number;
  updates: number;
  rotations: number;
  deletions: number;
  lookups: number;
  found: number;
  refused: Record<string, number>;
}

type Reply = DirectoryReplyMessage;

export interface DirectorySource {
  /** Rate limits by address for writes (one host, many ports, is still one host). */
  address: string;
  /** And by address+port for lookups. */
  key: SourceKey;
}

export class Directory {
  private count = 0;
  private readonly signup: boolean;
  private readonly maxAccounts: number;
  private readonly writes: SourceLimiter;
  private readonly signups: SourceLimiter;
  private readonly lookups: SourceLimiter;
  private readonly s: Omit<DirectoryStats, 'accounts'> = { claims: 0, updates: 0, rotations: 0, deletions: 0, lookups: 0, found: 0, refused: {} };

  private constructor(private readonly store: Store, opts: DirectoryOptions, now: number) {
    this.signup = opts.signup ?? true;
    this.maxAccounts = opts.maxAccounts ?? DEFAULT_MAX_ACCOUNTS;
    const maxSources = opts.maxSources ?? 100_000;
    // SourceLimiter's 'p2p' lane is the one used here; its STUN lane stays idle.
    const lane = (spec: BucketSpec) => new SourceLimiter({ p2p: spec, stun: spec, maxSources }, now);
    this.signups = lane(opts.signupRate ?? DEFAULT_SIGNUP_RATE);
    this.writes = lane(opts.writeRate ?? DEFAULT_WRITE_RATE);
    this.lookups = lane(opts.lookupRate ?? DEFAULT_LOOKUP_RATE);
  }

  /** Counts the accounts already in the store (one scan at start). */
  static async open(store: Store, opts: DirectoryOptions = {}, now = 0): Promise<Directory> {
    const d = new Directory(store, opts, now);
    d.count = (await store.keys('account/')).length;
    return d;
  }

  get accounts(): number {
    return this.count;
  }

  stats(): DirectoryStats {
    return { accounts: this.count, ...this.s, refused: { ...this.s.refused } };
  }

  /** The answer to one request whose source already proved its address (cookie). Never throws on input. */
  async handle(m: DirectoryRequestMessage, source: DirectorySource, now: number): Promise<Reply> {
    const id = m.requestId;
    const result = (status: DirectoryStatus, message = '', version = 0n): Reply => {
      if (status !== DirectoryStatus.Ok) this.s.refused[String(status)] = (this.s.refused[String(status)] ?? 0) + 1;
      return { type: 'accountResult', requestId: id, status, version, message };
    };
    try {
      switch (m.type) {
        case 'accountLookup': {
          if (!this.lookups.allow(source.key, 'p2p', now)) return result(DirectoryStatus.RateLimited, 'too many lookups: slow down');
          this.s.lookups++;
          if (!isCanonicalHandle(m.handle)) return result(DirectoryStatus.InvalidHandle, HANDLE_RULE);
          const rec = await this.store.get(accountKey(m.handle));
          if (!rec) return result(DirectoryStatus.NotFound, `no account "${m.handle}" on this server`);
          this.s.found++;
          return { type: 'accountFound', requestId: id, record: rec };
        }
        case 'accountClaim': {
          if (!this.signup) return result(DirectoryStatus.SignupClosed, 'sign-up is closed on this server (invite-only)');
          // Limits before signature checks: a flood of forged records costs a token each, not a verification each.
          if (!this.signups.allow(source.address, 'p2p', now)) return result(DirectoryStatus.RateLimited, 'too many sign-ups from your address: try later');
          const rec = this.verified(m.record);
          if (!rec.ok) return result(rec.status, rec.error);
          return await this.claim(rec.value, result);
        }
        case 'accountUpdate': {
          if (!this.writes.allow(source.address, 'p2p', now)) return result(DirectoryStatus.RateLimited, 'too many account changes: slow down');
          const rec = this.verified(m.record);
          if (!rec.ok) return result(rec.status, rec.error);
          return await this.update(rec.value, result);
        }
        case 'accountRotate': {
          if (!this.writes.allow(source.address, 'p2p', now)) return result(DirectoryStatus.RateLimited, 'too many account changes: slow down');
          const r = new Reader(m.rotation);
          const rot = readRotation(r);
          if (!rot.ok) return result(/signature/.test(rot.error) ? DirectoryStatus.BadSignature : DirectoryStatus.Malformed, rot.error);
          if (r.remaining) return result(DirectoryStatus.Malformed, 'trailing bytes after rotation');
          return await this.rotate(rot.value.record, rot.value, result);
        }
        case 'accountDelete': {
          if (!this.writes.allow(source.address, 'p2p', now)) return result(DirectoryStatus.RateLimited, 'too many account changes: slow down');
          const r = new Reader(m.deletion);
          const del = readDeletion(r);
          if (!del.ok) return result(/signature/.test(del.error) ? DirectoryStatus.BadSignature : DirectoryStatus.Malformed, del.error);
          if (r.remaining) return result(DirectoryStatus.Malformed, 'trailing bytes after deletion');
          return await this.remove(del.value, result);
        }
      }
    } catch (e) {
      // A store failure (disk full, I/O error, closed): tell the client, keep serving what we can.
      return result(DirectoryStatus.ServerFull, `directory storage unavailable: ${(e as Error).message}`.slice(0, 100));
    }
  }

  private verified(bytes: Buffer): { ok: true; value: AccountRecord } | { ok: false; status: DirectoryStatus; error: string } {
    const d = decodeRecord(bytes);
    if (d.ok) return d;
    if (/signature/.test(d.error)) return { ok: false, status: DirectoryStatus.BadSignature, error: d.error };
    if (/handle/.test(d.error)) return { ok: false, status: DirectoryStatus.InvalidHandle, error: HANDLE_RULE };
    return { ok: false, status: DirectoryStatus.Malformed, error: d.error };
  }

  private async claim(rec: AccountRecord, result: (s: DirectoryStatus, m?: string, v?: bigint) => Reply): Promise<Reply> {
    const cur = await this.store.get(accountKey(rec.handle));
    // The same bytes again is a retry of our own sign-up whose answer was lost: succeed, change nothing.
    if (cur && cur.equals(rec.bytes)) return result(DirectoryStatus.Ok, 'already signed up', rec.version);
    if (cur) return result(DirectoryStatus.HandleTaken, `"${rec.handle}" is taken on this server (first come, first served)`);
    const idxBytes = await this.store.get(signingKeyKey(rec.signingKey));
    const idx = decIndex(idxBytes);
    if (idx?.state === KeyState.Active) return result(DirectoryStatus.KeyHasHandle, 'this key already holds a handle on this server (one handle per key)');
    if (idx && rec.version <= idx.version) {
      return result(DirectoryStatus.StaleVersion, `version ${rec.version} is not above ${idx.version}, where this key's last account ended (a replay?)`, idx.version);
    }
    if (this.count >= this.maxAccounts) return result(DirectoryStatus.AccountsFull, 'this server holds as many accounts as it allows');
    const ok = await this.store.commit([
      { key: accountKey(rec.handle), expect: null, set: rec.bytes },
      { key: signingKeyKey(rec.signingKey), expect: idxBytes ?? null, set: encIndex({ state: KeyState.Active, version: rec.version, handle: rec.handle }) },
    ]);
    if (!ok) return result(DirectoryStatus.HandleTaken, `"${rec.handle}" was just taken (first come, first served)`);
    this.count++;
    this.s.claims++;
    return result(DirectoryStatus.Ok, 'signed up', rec.version);
  }

  private async current(handle: string): Promise<{ bytes: Buffer; rec: AccountRecord } | undefined> {
    const bytes = await this.store.get(accountKey(handle));
    if (!bytes) return undefined;
    const d = decodeRecord(bytes);
    if (!d.ok) throw new Error(`stored record for ${handle} does not decode: ${d.error}`);
    return { bytes, rec: d.value };
  }

  private async update(rec: AccountRecord, result: (s: DirectoryStatus, m?: string, v?: bigint) => Reply): Promise<Reply> {
    const cur = await this.current(rec.handle);
    if (!cur) return result(DirectoryStatus.NotFound, `no account "${rec.handle}" on this server`);
    if (cur.bytes.equals(rec.bytes)) return result(DirectoryStatus.Ok, 'unchanged', rec.version);
    if (!cur.rec.signingKey.equals(rec.signingKey)) return result(DirectoryStatus.WrongKey, 'not signed by this account\'s key');
    if (!cur.rec.staticKey.equals(rec.staticKey)) return result(DirectoryStatus.WrongKey, 'a new identity key needs a rotation signed by the old key');
    if (rec.version <= cur.rec.version) return result(DirectoryStatus.StaleVersion, `version ${rec.version} is not above the stored ${cur.rec.version}`, cur.rec.version);
    if (!(await this.store.replace(accountKey(rec.handle), cur.bytes, rec.bytes))) return result(DirectoryStatus.StaleVersion, 'the account changed meanwhile: retry');
    this.s.updates++;
    return result(DirectoryStatus.Ok, 'updated', rec.version);
  }

  private async rotate(rec: AccountRecord, rot: Parameters<typeof verifyRotationBy>[1], result: (s: DirectoryStatus, m?: string, v?: bigint) => Reply): Promise<Reply> {
    const cur = await this.current(rec.handle);
    if (!cur) return result(DirectoryStatus.NotFound, `no account "${rec.handle}" on this server`);
    if (cur.bytes.equals(rec.bytes)) return result(DirectoryStatus.Ok, 'already rotated', rec.version);
    if (!verifyRotationBy(cur.rec.signingKey, rot)) return result(DirectoryStatus.BadSignature, 'rotation is not signed by the account\'s current key');
    if (rec.version <= cur.rec.version) return result(DirectoryStatus.StaleVersion, `version ${rec.version} is not above the stored ${cur.rec.version}`, cur.rec.version);
    const ops = [{ key: accountKey(rec.handle), expect: cur.bytes as Uint8Array | null, set: rec.bytes as Uint8Array | null }];
    if (!rec.signingKey.equals(cur.rec.signingKey)) {
      const oldIdx = await this.store.get(signingKeyKey(cur.rec.signingKey));
      const newIdxBytes = await this.store.get(signingKeyKey(rec.signingKey));
      const newIdx = decIndex(newIdxBytes);
      if (newIdx?.state === KeyState.Active) return result(DirectoryStatus.KeyHasHandle, 'the new key already holds a handle on this server (one handle per key)');
      if (newIdx && rec.version <= newIdx.version) return result(DirectoryStatus.StaleVersion, `version ${rec.version} is not above ${newIdx.version}, where the new key's last account ended`, newIdx.version);
      ops.push(
        { key: signingKeyKey(cur.rec.signingKey), expect: oldIdx ?? null, set: encIndex({ state: KeyState.Retired, version: rec.version, handle: rec.handle }) },
        { key: signingKeyKey(rec.signingKey), expect: newIdxBytes ?? null, set: encIndex({ state: KeyState.Active, version: rec.version, handle: rec.handle }) },
      );
    }
    if (!(await this.store.commit(ops))) return result(DirectoryStatus.StaleVersion, 'the account changed meanwhile: retry');
    this.s.rotations++;
    return result(DirectoryStatus.Ok, 'rotated', rec.version);
  }

  private async remove(del: { version: bigint; handle: string; signingKey: Buffer }, result: (s: DirectoryStatus, m?: string, v?: bigint) => Reply): Promise<Reply> {
    const idxBytes = await this.store.get(signingKeyKey(del.signingKey));
    const idx = decIndex(idxBytes);
    const cur = await this.current(del.handle);
    if (!cur) {
      // A retry of our own deletion whose answer was lost.
      if (idx?.state === KeyState.Deleted && idx.handle === del.handle && idx.version === del.version) return result(DirectoryStatus.Ok, 'already deleted', del.version);
      return result(DirectoryStatus.NotFound, `no account "${del.handle}" on this server`);
    }
    if (!cur.rec.signingKey.equals(del.signingKey)) return result(DirectoryStatus.WrongKey, 'not signed by this account\'s key');
    if (del.version <= cur.rec.version) return result(DirectoryStatus.StaleVersion, `version ${del.version} is not above the stored ${cur.rec.version}`, cur.rec.version);
    const ok = await this.store.commit([
      { key: accountKey(del.handle), expect: cur.bytes, set: null },
      { key: signingKeyKey(del.signingKey), expect: idxBytes ?? null, set: encIndex({ state: KeyState.Deleted, version: del.version, handle: del.handle }) },
    ]);
    if (!ok) return result(DirectoryStatus.StaleVersion, 'the account changed meanwhile: retry');
    this.count--;
    this.s.deletions++;
    return result(DirectoryStatus.Ok, 'deleted', del.version);
  }
}
