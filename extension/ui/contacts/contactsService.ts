// The editor's account and contacts, without `vscode` (so it is tested against a real rendezvous on
// loopback): the account on one server's directory, the contact book and the pending requests (the
// terminal peer's files, cli/accountFiles.ts and cli/contactFiles.ts, under the extension's global
// storage), and one presence socket: every contact's pairwise topic, our request inbox as host, and
// our own undelivered requests as visitor (the same roles as `p2p-chat contacts --watch`). DMs run in
// their own sessions (contacts/dmHost.ts); this only tells the app when a contact knocks on one.
// The keys are not here: the caller loads them from SecretStorage and passes them in.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { formatAccountAddress, parseAccountAddress, parseHandle } from '../../core/account/handle';
import { displayNameError, newRequestToken, signRecord, type AccountRecord } from '../../core/account/record';
import type { SigningKeyPair } from '../../core/account/signing';
import { ContactBook, type Contact } from '../../core/contacts/book';
import { contactUri, formatContactLink, parseContactLink } from '../../core/contacts/link';
import type { PresenceStatus } from '../../core/contacts/presence';
import { RequestExchange } from '../../core/contacts/requestExchange';
import { RequestInbox, type IncomingRequest } from '../../core/contacts/requests';
import { PairKeys } from '../../core/contacts/topics';
import { formatServer, parseServer, type ServerAddress } from '../../core/invite';
import { peerHint } from '../../core/link/hints';
import { directoryCall } from '../../core/net/directoryCall';
import type { TopicInstance } from '../../core/contacts/topicRouter';
import { UdpPresenceHost } from '../../core/net/udpPresenceHost';
import { monotonicNow } from '../../core/net/udpRoomHost';
import { fingerprint, type KeyPair } from '../../core/noise';
import { isContactPeerType, noteError } from '../../core/wire/contactRequest';
import { HINT_BYTES } from '../../core/wire/peer';
import { loadAccounts, saveAccounts, type LocalAccount } from '../../cli/accountFiles';
import { loadContacts, loadInbox, requestTokenFor, saveContacts, saveInbox } from '../../cli/contactFiles';
import type { DmTarget, LogFn } from '../roomTarget';
import { addOwnClient, ownClientTest, removeOwnClient } from './ownClients';

/** What the user chooses with Set Presence (appear offline still lets you send). */
export type OwnPresence = 'online' | 'away' | 'offline';

export interface AccountInfo {
  handle: string;
  displayName: string;
  server: ServerAddress;
  /** alice@host[:port] */
  address: string;
}

/** Someone to add, from the directory (by handle) or from a contact link; shown with its fingerprint first. */
export interface ContactTarget {
  staticKey: Buffer;
  signingKey: Buffer;
  requestToken: Buffer;
  server: ServerAddress;
  displayName: string;
  /** alice@host when found by handle, else ''. */
  address: string;
  fingerprint: string;
}

export type Result<T> = ({ ok: true } & T) | { ok: false; message: string };

export interface ContactsServiceEvents {
  /** The contact list, presence or the requests changed: redraw. */
  changed?(): void;
  /** A stranger's request was stored (not a retry of one already shown). */
  request?(r: IncomingRequest): void;
  /** A contact we asked showed up on our pairwise topic: they accepted. */
  accepted?(c: Contact): void;
  /** A contact is trying to open a DM with us (their DM punches every address on our pair's topic). */
  knock?(c: Contact): void;
  /** Our request reached them. */
  delivered?(c: Contact): void;
  log?: LogFn;
}

export interface ContactsServiceOptions {
  /** Where accounts.json, contacts.json and requests.json live (the terminal peer's layout). */
  dataDir: string;
  identity: KeyPair;
  signing: SigningKeyPair;
  /** The configured rendezvous: where a new account signs up, and where we go online without one. */
  configuredServer: () => ServerAddress | undefined;
  /**
   * Every configured instance of that server (`p2pChat.rendezvousServer` may list several): when the
   * server we go online on is one of them, each topic ranks them all by HRW like the terminal peer does,
   * so contacts whose own lists start elsewhere still meet us.
   */
  configuredServers?: () => ServerAddress[];
  /** Host name to address (tests: loopback). */
  resolve?: (host: string) => Promise<string>;
  directoryTimeoutMs?: number;
}

async function defaultResolve(host: string): Promise<string> {
  if (isIP(host)) return host;
  try {
    return (await lookup(host, { family: 4 })).address;
  } catch {
    return (await lookup(host)).address;
  }
}

/** A DM hello (peer packet type 0x10) carries the sender's hint for the pair's conversation. */
const DM_HELLO_TYPE = 0x10;
const KNOCK_QUIET_MS = 30_000;

export class ContactsService {
  private host: UdpPresenceHost | undefined;
  private exchange: RequestExchange | undefined;
  private inbox: RequestInbox;
  private book: ContactBook;
  private readonly statuses = new Map<string, PresenceStatus>();
  private readonly sending = new Map<string, string>();
  private readonly knocked = new Map<string, number>();
  private ticker: NodeJS.Timeout | undefined;
  private onlineServer: string | undefined;
  private own: OwnPresence = 'online';
  private starting: Promise<void> | undefined;
  private stopped = false;
  readonly selfHex: string;

  constructor(
    private readonly opts: ContactsServiceOptions,
    public events: ContactsServiceEvents = {},
  ) {
    this.selfHex = opts.identity.publicKey.toString('hex');
    this.book = new ContactBook(this.selfHex, this.safe(() => loadContacts(opts.dataDir), []));
    this.inbox = new RequestInbox((k) => this.book.has(k), undefined, this.safe(() => loadInbox(opts.dataDir), { requests: [], blocked: [] }));
  }

  private log(level: Parameters<LogFn>[0], message: string): void {
    this.events.log?.(level, message);
  }

  /** A damaged file must not keep the editor from starting: logged, treated as empty. */
  private safe<T>(f: () => T, fallback: T): T {
    try {
      return f();
    } catch (err) {
      this.log('warn', (err as Error).message);
      return fallback;
    }
  }

  // ---- the account ---------------------------------------------------------------------------------

  get fingerprint(): string {
    return fingerprint(this.opts.identity.publicKey);
  }

  /** The live account (the first one: the editor signs up on one server). */
  account(): AccountInfo | undefined {
    const accounts = this.safe(() => loadAccounts(this.opts.dataDir), {});
    for (const [key, a] of Object.entries(accounts)) {
      if (a.deleted || a.pending) continue;
      const server = parseServer(key);
      if (!server) continue;
      return { handle: a.handle, displayName: a.displayName, server, address: formatAccountAddress({ handle: a.handle, host: server.host, port: server.port }) };
    }
    return undefined;
  }

  /** Claims `handle` on `server`'s directory with a record signed by our account key. */
  async signUp(handleText: string, displayNameText: string, server: ServerAddress): Promise<Result<{ account: AccountInfo }>> {
    const h = parseHandle(handleText);
    if (!h.ok) return { ok: false, message: h.error };
    const displayName = displayNameText.normalize('NFC').trim();
    const dnErr = displayNameError(displayName);
    if (dnErr) return { ok: false, message: dnErr };
    const dir = this.opts.dataDir;
    const accounts = loadAccounts(dir);
    const key = formatServer(server);
    const prev = accounts[key];
    const live = prev && !prev.deleted;
    if (live && !prev.pending && prev.handle !== h.handle) {
      return { ok: false, message: `you are already signed up as ${prev.handle} on ${key} (one handle per key per server)` };
    }
    const same = live && prev.handle === h.handle;
    const fieldsOf = (e: LocalAccount) => ({
      version: BigInt(e.version),
      handle: h.handle,
      displayName: e.displayName,
      signingKey: this.opts.signing.publicKey,
      staticKey: this.opts.identity.publicKey,
      requestToken: Buffer.from(e.requestToken, 'hex'),
    });
    // Saved as pending before it is sent: a retry after a lost answer resends the very same record.
    let entry: LocalAccount = same ? { ...prev, displayName } : { handle: h.handle, displayName, requestToken: newRequestToken().toString('hex'), version: prev ? prev.version + 1 : 1, pending: true };
    if (same && prev.displayName !== displayName) entry = { ...entry, version: prev.version + 1, pending: true };
    accounts[key] = entry;
    saveAccounts(dir, accounts);
    const callOpts = { timeoutMs: this.opts.directoryTimeoutMs ?? 8000 };
    let record: AccountRecord = signRecord(fieldsOf(entry), this.opts.signing);
    const op = (r: AccountRecord) => (same && prev.displayName !== displayName ? { kind: 'update' as const, record: r } : { kind: 'claim' as const, record: r });
    let r = await directoryCall(server, op(record), callOpts);
    if (!r.outcome.ok && r.outcome.kind === 'refused' && r.outcome.status === 'stale-version' && r.outcome.version >= BigInt(entry.version)) {
      // Our key's earlier account there ended at a higher version (local state lost): go above it, once.
      entry = { ...entry, version: Number(r.outcome.version) + 1, pending: true };
      accounts[key] = entry;
      saveAccounts(dir, accounts);
      record = signRecord(fieldsOf(entry), this.opts.signing);
      r = await directoryCall(server, op(record), { ...callOpts, cookie: r.cookie });
    }
    if (!r.outcome.ok) {
      if (r.outcome.kind === 'refused') {
        if (prev) accounts[key] = prev;
        else delete accounts[key];
        saveAccounts(dir, accounts);
      }
      const why =
        r.outcome.kind === 'timeout'
          ? `no answer from ${key}: is the server running and reachable?`
          : r.outcome.kind === 'unverified'
            ? `the directory's answer was rejected: ${r.outcome.message}`
            : `${r.outcome.status}: ${r.outcome.message}`;
      return { ok: false, message: `sign-up of "${h.handle}" on ${key}: ${why}` };
    }
    const { pending: _pending, ...done } = entry;
    accounts[key] = done;
    saveAccounts(dir, accounts);
    const account = this.account()!;
    this.log('info', `signed up as ${account.address}`);
    // The inbox topic follows the account's request token: go online (again) with it.
    await this.restart();
    return { ok: true, account };
  }

  /** Our contact link (p2pchat:contact:…) and its vscode:// form, for the server we are reachable on. */
  contactLink(uriScheme = 'vscode'): Result<{ link: string; uri: string }> {
    const server = this.account()?.server ?? this.opts.configuredServer();
    if (!server) return { ok: false, message: 'sign up or set p2pChat.rendezvousServer first: a contact link names the server where you can be reached' };
    const link = {
      signingKey: this.opts.signing.publicKey,
      staticKey: this.opts.identity.publicKey,
      requestToken: requestTokenFor(this.opts.dataDir, formatServer(server)),
      server,
      displayName: (this.account()?.displayName ?? '').slice(0, 64),
    };
    return { ok: true, link: formatContactLink(link), uri: contactUri(link, uriScheme) };
  }

  // ---- adding contacts -------------------------------------------------------------------------------

  /** `alice@host[:port]` through the directory (the record's signature is checked), or a contact link. */
  async resolveTarget(text: string): Promise<Result<{ target: ContactTarget }>> {
    const t = text.trim();
    if (/^p2pchat:contact:|^[a-z-]+:\/\/[^/]+\/contact\?/i.test(t)) {
      const p = parseContactLink(t);
      if (!p.ok) return { ok: false, message: `bad contact link: ${p.error}` };
      return { ok: true, target: { ...p.link, address: '', fingerprint: fingerprint(p.link.staticKey) } };
    }
    const a = parseAccountAddress(t);
    if (!a.ok) return { ok: false, message: a.error };
    const server: ServerAddress = { host: a.address.host, port: a.address.port };
    const addr = formatAccountAddress(a.address);
    const r = await directoryCall(server, { kind: 'lookup', handle: a.address.handle }, { timeoutMs: this.opts.directoryTimeoutMs ?? 8000 });
    if (!r.outcome.ok) {
      if (r.outcome.kind === 'timeout') return { ok: false, message: `lookup of ${addr}: no answer from ${formatServer(server)}` };
      if (r.outcome.kind === 'unverified') {
        this.log('warn', `lookup of ${addr}: the directory's answer was rejected: ${r.outcome.message}`);
        return { ok: false, message: `lookup of ${addr}: the directory's answer was rejected: ${r.outcome.message}` };
      }
      if (r.outcome.status === 'not-found') return { ok: false, message: `${addr}: no such account` };
      return { ok: false, message: `lookup of ${addr}: ${r.outcome.status}: ${r.outcome.message}` };
    }
    if (r.outcome.kind !== 'record') return { ok: false, message: `lookup of ${addr}: no record in the answer` };
    const rec = r.outcome.record;
    return {
      ok: true,
      target: { staticKey: rec.staticKey, signingKey: rec.signingKey, requestToken: rec.requestToken, server, displayName: rec.displayName, address: addr, fingerprint: fingerprint(rec.staticKey) },
    };
  }

  /** Pins the key (state `requested`) and sends the request; it is resent while we are online until delivered. */
  async addContact(target: ContactTarget, noteText = ''): Promise<Result<{ contact: Contact; already: boolean }>> {
    const note = noteText.normalize('NFC');
    const nErr = noteError(note);
    if (nErr) return { ok: false, message: nErr };
    this.reload();
    const acct = this.account();
    const request = {
      handle: acct && formatServer(acct.server) === formatServer(target.server) ? acct.address : '',
      displayName: (acct?.displayName ?? '').slice(0, 64),
      note,
    };
    const added = this.book.add({
      pendingRequest: request,
      staticKey: target.staticKey.toString('hex'),
      signingKey: target.signingKey.toString('hex'),
      displayName: target.displayName,
      address: target.address,
      server: formatServer(target.server),
      requestToken: target.requestToken.toString('hex'),
      state: 'requested',
      addedAt: Date.now(),
    });
    if (!added.ok) return { ok: false, message: added.message };
    if (added.existed && added.contact.state === 'accepted') return { ok: true, contact: added.contact, already: true };
    if (added.existed) added.contact.pendingRequest = request;
    this.saveBook();
    await this.ensureOnline();
    this.sync();
    this.events.changed?.();
    return { ok: true, contact: added.contact, already: false };
  }

  // ---- answering requests ----------------------------------------------------------------------------

  requests(): IncomingRequest[] {
    return this.inbox.list();
  }

  accept(id: string): Result<{ contact: Contact }> {
    this.reload();
    const r = this.inbox.get(id);
    if (!r) return { ok: false, message: 'that request is no longer pending' };
    const server = this.onlineServer ?? (this.account() ? formatServer(this.account()!.server) : '');
    const added = this.book.add({ staticKey: r.staticKey, signingKey: r.signingKey, displayName: r.displayName, address: r.handle, server, state: 'accepted', addedAt: Date.now() });
    if (!added.ok) return { ok: false, message: added.message };
    this.inbox.accept(id);
    this.saveBook();
    this.saveInbox();
    this.sync();
    this.events.changed?.();
    return { ok: true, contact: added.contact };
  }

  ignore(id: string): void {
    this.reload();
    this.inbox.ignore(id);
    this.saveInbox();
    this.events.changed?.();
  }

  /** A request id or a contact's key: that key's requests are dropped silently from now on, and it is no contact. */
  block(idOrKey: string): boolean {
    this.reload();
    const key = this.inbox.block(idOrKey);
    if (!key) return false;
    this.book.remove(key);
    this.saveBook();
    this.saveInbox();
    this.sync();
    this.events.changed?.();
    return true;
  }

  // ---- the contact list ------------------------------------------------------------------------------

  contacts(): Contact[] {
    return this.book.list();
  }

  contact(staticKey: string): Contact | undefined {
    return this.book.get(staticKey);
  }

  status(staticKey: string): PresenceStatus {
    return this.statuses.get(staticKey) ?? 'offline';
  }

  remove(staticKey: string): void {
    this.reload();
    if (!this.book.remove(staticKey)) return;
    this.statuses.delete(staticKey);
    this.saveBook();
    this.sync();
    this.events.changed?.();
  }

  /** A local name for a contact (what they call themselves stays theirs; this is ours). */
  rename(staticKey: string, name: string): Result<object> {
    const n = name.normalize('NFC').trim();
    const err = displayNameError(n);
    if (err) return { ok: false, message: err };
    this.reload();
    const c = this.book.get(staticKey);
    if (!c) return { ok: false, message: 'no such contact' };
    c.displayName = n;
    this.saveBook();
    this.events.changed?.();
    return { ok: true };
  }

  /** The DM with a contact as a room target: keys from our two X25519 keys, the contact's server. */
  dmTarget(staticKey: string): DmTarget | undefined {
    const c = this.book.get(staticKey);
    if (!c || c.state !== 'accepted') return undefined;
    const server = parseServer(c.server) ?? this.account()?.server ?? this.opts.configuredServer();
    if (!server) return undefined;
    const pair = new PairKeys(this.opts.identity, Buffer.from(c.staticKey, 'hex'));
    const instances = this.instancesOf(server);
    return { kind: 'dm', peer: c.staticKey, name: c.displayName, server, ...(instances ? { instances } : {}), keys: { roomId: pair.conversationId, psk: pair.psk } };
  }

  /** The DM conversation's id (hex) for a contact: the Conversations list and history are keyed by it. */
  conversationId(staticKey: string): string {
    return new PairKeys(this.opts.identity, Buffer.from(staticKey, 'hex')).conversationId.toString('hex');
  }

  // ---- presence --------------------------------------------------------------------------------------

  get ownPresence(): OwnPresence {
    return this.own;
  }

  get online(): boolean {
    return this.host !== undefined;
  }

  setOwnPresence(p: OwnPresence): void {
    this.own = p;
    const h = this.host;
    if (!h) return;
    h.service.setAppearOffline(p === 'offline', monotonicNow());
    h.service.setAway(p === 'away', monotonicNow());
    h.pump();
    this.events.changed?.();
  }

  /** Goes online when there is something to be online for (an account or a contact) and a server. */
  async start(): Promise<void> {
    this.stopped = false;
    if (this.account() || this.book.list().length > 0 || this.inbox.list().length > 0) await this.ensureOnline();
  }

  private async ensureOnline(): Promise<void> {
    if (this.host || this.stopped) return;
    this.starting ??= this.goOnline().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  /** Every configured instance, when `server` is one of several listed in p2pChat.rendezvousServer. */
  private instancesOf(server: ServerAddress): ServerAddress[] | undefined {
    const listed = this.opts.configuredServers?.() ?? [];
    return listed.length > 1 && listed.some((s) => formatServer(s) === formatServer(server)) ? listed : undefined;
  }

  private pickServer(): ServerAddress | undefined {
    const acct = this.account();
    if (acct) return acct.server;
    const configured = this.opts.configuredServer();
    if (configured) return configured;
    const servers = new Set(this.book.list().map((c) => c.server));
    return servers.size === 1 ? parseServer([...servers][0]) : undefined;
  }

  private async goOnline(): Promise<void> {
    const server = this.pickServer();
    if (!server) {
      this.log('info', 'contacts stay offline: no account and no rendezvous server configured');
      return;
    }
    let address: string;
    try {
      address = await (this.opts.resolve ?? defaultResolve)(server.host);
    } catch (err) {
      this.log('warn', `contacts: cannot resolve ${server.host}: ${(err as Error).message}`);
      return;
    }
    const listed = this.instancesOf(server);
    let instances: TopicInstance[] = [];
    if (listed) {
      try {
        instances = await Promise.all(listed.map(async (name) => ({ name, endpoint: { address: await (this.opts.resolve ?? defaultResolve)(name.host), port: name.port } })));
      } catch (err) {
        this.log('warn', `contacts: cannot resolve every listed instance (${(err as Error).message}); using ${formatServer(server)} alone`);
        instances = [];
      }
    }
    if (this.stopped) return;
    const serverText = formatServer(server);
    const token = requestTokenFor(this.opts.dataDir, serverText);
    let host: UdpPresenceHost;
    const exchange = new RequestExchange({
      self: this.opts.identity,
      requestToken: () => token,
      inbox: this.inbox,
      send: (to, data) => host.socket.send(data, to.port, to.address),
    });
    host = new UdpPresenceHost(
      {
        identity: this.opts.identity,
        server: { address, port: server.port },
        ...(instances.length > 1 ? { instances } : {}),
        isOwnClient: ownClientTest(this.opts.identity.publicKey),
        onOther: (data, from) => {
          if (data.length >= 3 && isContactPeerType(data[2])) exchange.receive(data, from, monotonicNow());
          else if (data.length >= 3 + 4 + 2 * HINT_BYTES && data[0] === 0xc5 && data[2] === DM_HELLO_TYPE) this.onDmHello(data);
        },
      },
      {
        presence: (id, status) => this.onPresence(id, status),
        topicPartner: (topic, partner) => exchange.onTopicPartner(topic, partner, monotonicNow()),
        error: (code, message) => this.log('warn', `rendezvous (contacts): ${message} (${code})`),
        unreachable: (ms) => this.log('warn', `contacts: no answer from the rendezvous for ${Math.round(ms)} ms`),
      },
    );
    exchange.events = {
      request: (r, verdict) => {
        this.saveInbox();
        if (verdict === 'stored') {
          this.events.request?.(r);
          this.events.changed?.();
        }
      },
      refused: (why) => this.log('debug', `a contact request was refused (${why})`),
      delivered: (id) => this.onDelivered(id),
    };
    this.exchange = exchange;
    this.host = host;
    addOwnClient(this.opts.identity.publicKey, host.service.client.clientId);
    this.onlineServer = serverText;
    host.service.setAppearOffline(this.own === 'offline', 0);
    host.service.setAway(this.own === 'away', 0);
    this.sync();
    try {
      await host.start();
    } catch (err) {
      this.host = undefined;
      this.exchange = undefined;
      this.log('warn', `contacts: cannot open a UDP socket: ${(err as Error).message}`);
      return;
    }
    this.ticker = setInterval(() => {
      exchange.tick(monotonicNow());
      host.pump();
    }, 100);
    this.log('info', `contacts online on ${serverText} (UDP port ${host.socket.address().port}), ${this.book.list().length} contact(s)`);
    this.events.changed?.();
  }

  private onPresence(id: string, status: PresenceStatus): void {
    this.statuses.set(id, status);
    const c = this.book.get(id);
    if (!c) return;
    // Only the holder of the contact's key can register our pairwise topic: its arrival means accepted.
    if (status !== 'offline' && c.state === 'requested') {
      this.reload();
      if (this.book.markAccepted(id)) {
        this.saveBook();
        this.events.accepted?.(this.book.get(id) ?? c);
      }
    }
    this.events.changed?.();
  }

  private onDelivered(id: string): void {
    const key = this.sending.get(id);
    if (!key) return;
    this.sending.delete(id);
    this.reload();
    const c = this.book.get(key);
    if (!c) return;
    delete c.pendingRequest;
    this.saveBook();
    this.events.delivered?.(c);
    this.events.changed?.();
  }

  private onDmHello(data: Buffer): void {
    const senderHint = data.subarray(7, 7 + HINT_BYTES);
    for (const c of this.book.list()) {
      if (c.state !== 'accepted') continue;
      const key = Buffer.from(c.staticKey, 'hex');
      let pair: PairKeys;
      try {
        pair = new PairKeys(this.opts.identity, key);
      } catch {
        continue;
      }
      if (!peerHint(pair.conversationId, key).equals(senderHint)) continue;
      const now = monotonicNow();
      if (now - (this.knocked.get(c.staticKey) ?? -Infinity) < KNOCK_QUIET_MS) return;
      this.knocked.set(c.staticKey, now);
      this.events.knock?.(c);
      return;
    }
  }

  /** Topics to register: every contact's pair topic, our inbox, and our requests still on their way. */
  private sync(): void {
    const host = this.host;
    const exchange = this.exchange;
    if (!host || !exchange) return;
    const now = monotonicNow();
    const busy = new Set(this.sending.values());
    for (const c of this.book.list()) {
      if (c.state !== 'requested' || !c.pendingRequest || !c.requestToken || busy.has(c.staticKey)) continue;
      const id = exchange.sendRequest({ staticKey: Buffer.from(c.staticKey, 'hex'), requestToken: Buffer.from(c.requestToken, 'hex') }, { signingKey: this.opts.signing.publicKey, ...c.pendingRequest }, now);
      this.sending.set(id, c.staticKey);
    }
    const live = new Set(this.book.list().map((c) => c.staticKey));
    for (const [id, key] of this.sending) {
      if (!live.has(key)) {
        exchange.cancel(id);
        this.sending.delete(id);
      }
    }
    host.service.setContacts(
      this.book.list().map((c) => ({ id: c.staticKey, staticKey: Buffer.from(c.staticKey, 'hex') })),
      now,
    );
    host.service.setExtraTopics([exchange.inboxEntry(), ...exchange.visitorEntries()], now);
    host.pump();
  }

  // ---- files -----------------------------------------------------------------------------------------

  /** Another window (or the terminal peer with the same dir) may have written since: read before changing. */
  private reload(): void {
    this.book = new ContactBook(this.selfHex, this.safe(() => loadContacts(this.opts.dataDir), this.book.list()));
    const s = this.safe(() => loadInbox(this.opts.dataDir), this.inbox.state());
    const fresh = new RequestInbox((k) => this.book.has(k), undefined, s);
    // Keep the same inbox object (the exchange holds it); fold in what was decided elsewhere.
    for (const r of this.inbox.list()) if (!fresh.get(r.id)) this.inbox.ignore(r.id);
    for (const k of s.blocked) if (!this.inbox.isBlocked(k)) this.inbox.block(k);
  }

  private saveBook(): void {
    saveContacts(this.opts.dataDir, this.book.list());
  }

  private saveInbox(): void {
    saveInbox(this.opts.dataDir, this.inbox.state());
  }

  // ---- lifecycle -------------------------------------------------------------------------------------

  private async restart(): Promise<void> {
    await this.goOffline();
    this.stopped = false;
    await this.ensureOnline();
  }

  private async goOffline(): Promise<void> {
    if (this.starting) await this.starting.catch(() => undefined);
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
    const h = this.host;
    this.host = undefined;
    this.exchange = undefined;
    this.sending.clear();
    this.statuses.clear();
    if (h) {
      await h.stop();
      removeOwnClient(this.opts.identity.publicKey, h.service.client.clientId);
    }
  }

  /** Graceful: one leave datagram, so contacts see us offline at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.goOffline();
  }

  /** Test hook: how the presence socket is doing. */
  get presenceHost(): UdpPresenceHost | undefined {
    return this.host;
  }
}
