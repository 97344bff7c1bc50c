// `p2p-chat contacts | requests | accept | ignore | block`: the terminal peer's contact commands.
// Contacts meet on pairwise rendezvous topics (presence), strangers reach us only with a request on our
// inbox topic; see docs/ARCHITECTURE.md "Contacts". Every command takes --data-dir and --json.
import { mailboxOutput } from './mailboxOutput';
import * as dgram from 'node:dgram';
import { writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatAccountAddress, parseAccountAddress } from '../core/account/handle';
import { ContactBook, type Contact } from '../core/contacts/book';
import { contactUri, formatContactLink, parseContactLink } from '../core/contacts/link';
import type { PresenceStatus } from '../core/contacts/presence';
import { RequestExchange } from '../core/contacts/requestExchange';
import { RequestInbox } from '../core/contacts/requests';
import { formatServer, parseServer, parseServerList, type ServerAddress } from '../core/invite';
import type { TopicInstance } from '../core/contacts/topicRouter';
import { utcDay } from '../core/contacts/topics';
import { directoryCall } from '../core/net/directoryCall';
import { monotonicNow } from '../core/net/udpRoomHost';
import { UdpPresenceHost } from '../core/net/udpPresenceHost';
import { UdpRoomHost } from '../core/net/udpRoomHost';
import { FileRoomStore } from '../core/store/roomStore';
import { PairKeys } from '../core/contacts/topics';
import { peerHint } from '../core/link/hints';
import { HINT_BYTES } from '../core/wire/peer';
import { fingerprint, type KeyPair } from '../core/noise';
import { isContactPeerType, noteError, RequestStatus } from '../core/wire/contactRequest';
import { NatFlags } from '../core/wire/rendezvous';
import { unsafeCharsRegExp } from '../shared/invisibleChars';
import { loadAccounts, loadIdentity, loadSigningKey } from './accountFiles';
import { loadContacts, loadInbox, requestTokenFor, saveContacts, saveInbox } from './contactFiles';

export const CONTACT_COMMANDS = new Set(['contacts', 'requests', 'accept', 'ignore', 'block', 'dm']);

export const CONTACT_HELP = `Contacts (add people once; presence and requests over the rendezvous, never your handle on a topic):
  p2p-chat contacts                          your contacts with presence (online / away / offline)
  p2p-chat contacts --watch                  stay online: presence changes and incoming requests as they happen
  p2p-chat contacts add NAME@HOST[:PORT] [--note TEXT]   look up, show the fingerprint, send a contact request
  p2p-chat contacts add-link LINK [--note TEXT]          the same from a contact link (no directory needed)
  p2p-chat contacts link                     print your contact link (p2pchat:contact:… and the vscode:// form)
  p2p-chat requests                          pending contact requests (ID, who, fingerprint, note)
  p2p-chat accept ID | ignore ID | block ID  answer a request (block: that key is dropped silently from now on)
  p2p-chat dm CONTACT                        direct messages with a contact (NAME@HOST, name or key prefix),
                                             stdin/stdout like join; --stay, --linger S as for join
  Options: --data-dir DIR, --json, --rendezvous HOST:PORT[,HOST:PORT…] (several instances of one
  server: each topic ranks them, and moves to the next when one stops answering), --name TEXT, --wait S (contacts: how long to
  listen for presence, default 3), --timeout S (add: how long to try delivering, default 20),
  --away, --appear-offline (with --watch).
  Exit codes: 0 done, 1 no answer from the server, 2 bad input, 3 request not delivered in time,
  4 directory answer rejected or key changed, 5 no such request or contact.
`;

type Out = (event: string, fields: Record<string, unknown>, human: string) => void;

// Peer text (names, notes, messages) must not drive the terminal or hide characters: the shared list
// of control and invisible characters (shared/invisibleChars.ts), escaped, newlines included.
const TERMINAL_UNSAFE = unsafeCharsRegExp();
function inert(s: string, keepLines = false): string {
  return s.replace(TERMINAL_UNSAFE, (c) => {
    if (keepLines && (c === '\n' || c === '\t')) return c;
    const cp = c.codePointAt(0)!;
    return cp > 0xffff ? `\\u{${cp.toString(16)}}` : `\\u${cp.toString(16).padStart(4, '0')}`;
  });
}

const serverKey = (s: ServerAddress) => formatServer(s);

async function resolveServer(s: ServerAddress): Promise<{ address: string; port: number }> {
  return { address: isIP(s.host) ? s.host : (await lookup(s.host)).address, port: s.port };
}

/** Every instance of the server, resolved; topics rank them by name (contacts/topicRouter.ts). */
async function resolveInstances(list: ServerAddress[]): Promise<TopicInstance[]> {
  return Promise.all(list.map(async (name) => ({ name, endpoint: await resolveServer(name) })));
}

interface Ctx {
  dataDir: string;
  json: boolean;
  out: Out;
  fail: (code: number, event: string, fields: Record<string, unknown>, human: string) => number;
  identity: KeyPair;
  selfHex: string;
}

function describe(c: Contact, status?: PresenceStatus): Record<string, unknown> {
  return { staticKey: c.staticKey, fingerprint: fingerprint(Buffer.from(c.staticKey, 'hex')), displayName: c.displayName, address: c.address, server: c.server, state: c.state, ...(status ? { presence: status } : {}) };
}

/**
 * The rendezvous to go online on: --rendezvous (one HOST:PORT, or several instances of one server,
 * comma-separated: each topic ranks them), else the only account's server, else the contacts' only server.
 */
function pickServer(dir: string, flag: string | undefined, contacts: Contact[]): ServerAddress[] | string {
  if (flag) {
    const list = parseServerList(flag);
    if (!list.ok || list.servers.length === 0) return `--rendezvous must be HOST:PORT[,HOST:PORT…], got "${inert(flag)}"${list.ok ? '' : ` (${list.error})`}`;
    return list.servers;
  }
  const servers = new Set<string>([...Object.entries(loadAccounts(dir)).filter(([, a]) => !a.deleted).map(([k]) => k), ...contacts.map((c) => c.server)]);
  if (servers.size === 1) {
    const one = parseServer([...servers][0]);
    return one ? [one] : 'bad server in data dir';
  }
  return servers.size === 0 ? 'no rendezvous known yet: give --rendezvous HOST:PORT' : `several servers known (${[...servers].join(', ')}): give --rendezvous HOST:PORT`;
}

/** One online session: presence for every contact, our inbox as host, our undelivered requests as visitor. */
class ContactsNode {
  readonly host: UdpPresenceHost;
  readonly exchange: RequestExchange;
  readonly inbox: RequestInbox;
  book: ContactBook;
  private poll?: NodeJS.Timeout;
  private ticker?: NodeJS.Timeout;
  private statuses = new Map<string, PresenceStatus>();
  onPresence?: (c: Contact, s: PresenceStatus) => void;

  constructor(
    private readonly ctx: Ctx,
    instances: TopicInstance[],
    serverText: string,
    opts: { away?: boolean; appearOffline?: boolean; resendPending?: boolean } = {},
  ) {
    this.resendPending = !!opts.resendPending;
    const dir = ctx.dataDir;
    this.book = new ContactBook(ctx.selfHex, loadContacts(dir));
    this.inbox = new RequestInbox((k) => this.book.has(k), undefined, loadInbox(dir));
    const token = requestTokenFor(dir, serverText);
    this.exchange = new RequestExchange({
      self: ctx.identity,
      requestToken: () => token,
      inbox: this.inbox,
      send: (to, data) => this.host.socket.send(data, to.port, to.address),
    });
    this.host = new UdpPresenceHost(
      {
        identity: ctx.identity,
        server: instances[0].endpoint,
        ...(instances.length > 1 ? { instances } : {}),
        onOther: (data, from) => {
          if (data.length >= 3 && isContactPeerType(data[2])) {
            this.reloadInbox();
            this.exchange.receive(data, from, monotonicNow());
          } else if (data.length >= 3 + 4 + 2 * HINT_BYTES && data[0] === 0xc5 && data[2] === 0x10) {
            this.onDmHello(data);
          }
        },
      },
      {
        presence: (id, status) => {
          this.statuses.set(id, status);
          const c = this.book.get(id);
          if (!c) return;
          // Only the holder of the contact's key can register our pairwise topic: its arrival means accepted.
          if (status !== 'offline' && c.state === 'requested') {
            this.reloadBook();
            if (this.book.markAccepted(id)) {
              saveContacts(dir, this.book.list());
              ctx.out('contact-accepted', describe(this.book.get(id) ?? c), `${inert(c.displayName)} accepted your request`);
            }
          }
          this.onPresence?.(this.book.get(id) ?? c, status);
        },
        topicPartner: (topic, partner) => {
          this.exchange.onTopicPartner(topic, partner, monotonicNow());
        },
        error: (code, message) => ctx.out('log', { level: 'warn', code, message }, `· rendezvous: ${inert(message)}`),
        unreachable: (ms) => ctx.out('log', { level: 'warn', message: `no answer from the rendezvous for ${Math.round(ms)} ms` }, '· no answer from the rendezvous yet'),
      },
    );
    this.exchange.events = {
      request: (r, verdict) => {
        saveInbox(dir, this.inbox.state());
        if (verdict === 'stored') {
          ctx.out(
            'request',
            { id: r.id, staticKey: r.staticKey, fingerprint: fingerprint(Buffer.from(r.staticKey, 'hex')), displayName: r.displayName, handle: r.handle, note: r.note },
            `Contact request ${r.id} from "${inert(r.displayName)}"${r.handle ? ` (${inert(r.handle)})` : ''}, fingerprint ${fingerprint(Buffer.from(r.staticKey, 'hex'))}: ${inert(r.note)}\n  p2p-chat accept ${r.id} | ignore ${r.id} | block ${r.id}`,
          );
        }
      },
      refused: (why) => ctx.out('request-refused', { reason: why }, ''),
      delivered: (id) => this.delivered(id),
    };
    this.host.service.setAway(!!opts.away, 0);
    this.host.service.setAppearOffline(!!opts.appearOffline, 0);
    this.syncTopics();
  }

  private readonly knocked = new Map<string, number>();
  private readonly resendPending: boolean;
  /** Requests this watcher is delivering, by exchange id -> contact key. */
  private readonly sending = new Map<string, string>();

  /** Undelivered requests saved by an earlier `contacts add` go out again while we are online. */
  private resendRequests(): void {
    if (!this.resendPending) return;
    const busy = new Set(this.sending.values());
    for (const c of this.book.list()) {
      if (c.state !== 'requested' || !c.pendingRequest || !c.requestToken || busy.has(c.staticKey)) continue;
      const id = this.exchange.sendRequest(
        { staticKey: Buffer.from(c.staticKey, 'hex'), requestToken: Buffer.from(c.requestToken, 'hex') },
        { signingKey: loadSigningKey(this.ctx.dataDir, true)!.publicKey, ...c.pendingRequest },
        monotonicNow(),
      );
      this.sending.set(id, c.staticKey);
    }
  }

  private delivered(id: string): void {
    const key = this.sending.get(id);
    if (!key) return;
    this.sending.delete(id);
    this.reloadBook();
    const c = this.book.get(key);
    if (!c) return;
    delete c.pendingRequest;
    saveContacts(this.ctx.dataDir, this.book.list());
    this.ctx.out('request-delivered', { id, ...describe(c) }, `Request delivered to "${inert(c.displayName)}".`);
  }

  /**
   * A contact's \`dm\` punches every address we registered on our pairwise topic, this watcher's too: say
   * so (at most every 30 s per contact), so the user knows to open the conversation. The sender hint
   * names the contact only to whoever knows the pair's conversation id.
   */
  private onDmHello(data: Buffer): void {
    const senderHint = data.subarray(7, 7 + HINT_BYTES);
    for (const c of this.book.list()) {
      const key = Buffer.from(c.staticKey, 'hex');
      let pair: PairKeys;
      try {
        pair = new PairKeys(this.ctx.identity, key);
      } catch {
        continue;
      }
      if (!peerHint(pair.conversationId, key).equals(senderHint)) continue;
      const now = monotonicNow();
      if (now - (this.knocked.get(c.staticKey) ?? -Infinity) < 30_000) return;
      this.knocked.set(c.staticKey, now);
      this.ctx.out('dm-waiting', describe(c), `${inert(c.displayName)} wants to message you: p2p-chat dm ${c.address ? c.address : c.staticKey.slice(0, 16)}`);
      return;
    }
  }

  private reloadBook(): void {
    this.book = new ContactBook(this.ctx.selfHex, loadContacts(this.ctx.dataDir));
  }

  private reloadInbox(): void {
    const s = loadInbox(this.ctx.dataDir);
    // Answers given by other commands (accept/ignore/block) since our last look win over our memory.
    const fresh = new RequestInbox((k) => this.book.has(k), undefined, s);
    for (const r of this.inbox.list()) if (!fresh.get(r.id)) this.inbox.ignore(r.id);
    for (const k of s.blocked) if (!this.inbox.isBlocked(k)) this.inbox.block(k);
  }

  syncTopics(): void {
    const now = monotonicNow();
    this.resendRequests();
    const contacts = this.book.list().map((c) => ({ id: c.staticKey, staticKey: Buffer.from(c.staticKey, 'hex') }));
    this.host.service.setContacts(contacts, now);
    this.host.service.setExtraTopics([this.exchange.inboxEntry(), ...this.exchange.visitorEntries()], now);
  }

  status(id: string): PresenceStatus {
    return this.statuses.get(id) ?? 'offline';
  }

  async start(): Promise<void> {
    await this.host.start();
    let last = '';
    // Other commands (accept, add) change contacts.json while we run: follow it.
    this.poll = setInterval(() => {
      let text: string;
      try {
        text = JSON.stringify(loadContacts(this.ctx.dataDir));
      } catch {
        return;
      }
      if (text === last) return;
      last = text;
      this.reloadBook();
      this.syncTopics();
      this.host.pump();
    }, 300);
    this.ticker = setInterval(() => {
      this.exchange.tick(monotonicNow());
      this.host.pump();
    }, 100);
  }

  async stop(): Promise<void> {
    if (this.poll) clearInterval(this.poll);
    if (this.ticker) clearInterval(this.ticker);
    await this.host.stop();
  }
}

export async function runContactCommand(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        'data-dir': { type: 'string' },
        json: { type: 'boolean', default: false },
        rendezvous: { type: 'string' },
        name: { type: 'string' },
        note: { type: 'string' },
        wait: { type: 'string' },
        timeout: { type: 'string' },
        watch: { type: 'boolean', default: false },
        away: { type: 'boolean', default: false },
        'appear-offline': { type: 'boolean', default: false },
        stay: { type: 'boolean', default: false },
        linger: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    writeSync(2, `p2p-chat: ${(e as Error).message}\n\n${CONTACT_HELP}`);
    return 2;
  }
  const o = args.values;
  if (o.help) {
    writeSync(1, CONTACT_HELP);
    return 0;
  }
  const json = o.json === true;
  const out: Out = (event, fields, human) => {
    if (json) writeSync(1, `${JSON.stringify({ event, t: Date.now(), ...fields })}\n`);
    else if (human) writeSync(1, `${human}\n`);
  };
  const fail = (code: number, event: string, fields: Record<string, unknown>, human: string) => {
    if (json) writeSync(1, `${JSON.stringify({ event, t: Date.now(), exitCode: code, ...fields })}\n`);
    writeSync(2, `p2p-chat: ${human}\n`);
    return code;
  };
  const usage = (msg: string) => fail(2, 'error', { kind: 'usage', message: msg }, `${msg}\n\n${CONTACT_HELP}`);
  const dataDir = o['data-dir'] ?? join(homedir(), '.p2p-chat');
  const [command, sub, ...rest] = args.positionals;
  try {
    const identity = loadIdentity(dataDir, true)!;
    const ctx: Ctx = { dataDir, json, out, fail, identity, selfHex: identity.publicKey.toString('hex') };
    switch (command) {
      case 'requests': {
        const inbox = loadInbox(dataDir);
        for (const r of inbox.requests) {
          out('request', { id: r.id, staticKey: r.staticKey, fingerprint: fingerprint(Buffer.from(r.staticKey, 'hex')), displayName: r.displayName, handle: r.handle, note: r.note, receivedAt: r.receivedAt }, `${r.id}  "${inert(r.displayName)}"${r.handle ? ` ${inert(r.handle)}` : ''}  ${fingerprint(Buffer.from(r.staticKey, 'hex'))}  ${inert(r.note)}`);
        }
        if (inbox.requests.length === 0) out('requests', { count: 0 }, 'No pending contact requests.');
        return 0;
      }
      case 'accept':
      case 'ignore':
      case 'block':
        return answer(ctx, command, sub, o.rendezvous);
      case 'dm':
        return await runDm(ctx, sub, o);
      case 'contacts':
        break;
      default:
        return usage(`unknown contact command: ${command}`);
    }
    const book = new ContactBook(ctx.selfHex, loadContacts(dataDir));
    if (sub === 'link') {
      const list = pickServer(dataDir, o.rendezvous, []);
      if (typeof list === 'string') return usage(list);
      const s = list[0]; // a link names one server: the first (any instance of it finds the others' topics)
      const acct = loadAccounts(dataDir)[serverKey(s)];
      const link = {
        signingKey: loadSigningKey(dataDir, true)!.publicKey,
        staticKey: identity.publicKey,
        requestToken: requestTokenFor(dataDir, serverKey(s)),
        server: s,
        displayName: (o.name ?? acct?.displayName ?? process.env.USER ?? '').slice(0, 64),
      };
      const text = formatContactLink(link);
      out('link', { link: text, uri: contactUri(link), fingerprint: fingerprint(identity.publicKey) }, `${text}\n${contactUri(link)}\nYour fingerprint: ${fingerprint(identity.publicKey)}`);
      return 0;
    }
    if (sub === 'add' || sub === 'add-link') return await addContact(ctx, sub, rest, o);
    if (sub !== undefined) return usage(`unknown contacts command: ${sub}`);

    // List (with presence), or --watch.
    const picked = pickServer(dataDir, o.rendezvous, book.list());
    if (typeof picked === 'string') {
      if (book.list().length === 0) {
        out('contacts', { count: 0 }, 'No contacts yet: p2p-chat contacts add NAME@HOST, or add-link LINK.');
        return 0;
      }
      return usage(picked);
    }
    const s = picked[0];
    const node = new ContactsNode(ctx, await resolveInstances(picked), serverKey(s), { away: o.away, appearOffline: o['appear-offline'], resendPending: o.watch });
    if (o.watch) {
      node.onPresence = (c, status) => out('presence', describe(c, status), `${inert(c.displayName)} is ${status}`);
      await node.start();
      out('online', { fingerprint: fingerprint(identity.publicKey), contacts: node.book.list().length, port: node.host.socket.address().port }, `Online on ${serverKey(s)} with ${node.book.list().length} contact(s). Ctrl-C to quit.`);
      return await new Promise<number>((resolveExit) => {
        const stop = (code: number) => void node.stop().then(() => resolveExit(code));
        process.once('SIGINT', () => stop(130));
        process.once('SIGTERM', () => stop(143));
      });
    }
    const waitS = o.wait !== undefined ? Number(o.wait) : 3;
    if (!(waitS >= 0 && waitS <= 600)) return usage('--wait must be seconds between 0 and 600');
    await node.start();
    await new Promise((r) => setTimeout(r, waitS * 1000));
    const list = node.book.list();
    for (const c of list) {
      const st = node.status(c.staticKey);
      out('contact', describe(c, st), `${st.padEnd(7)}  "${inert(c.displayName)}"${c.address ? ` ${c.address}` : ''}  ${fingerprint(Buffer.from(c.staticKey, 'hex'))}${c.state === 'requested' ? '  (request pending)' : ''}`);
    }
    if (list.length === 0) out('contacts', { count: 0 }, 'No contacts yet.');
    await node.stop();
    return 0;
  } catch (e) {
    return fail(1, 'error', { kind: 'local', message: (e as Error).message }, (e as Error).message);
  }
}

async function answer(ctx: Ctx, command: 'accept' | 'ignore' | 'block', id: string | undefined, rendezvous: string | undefined): Promise<number> {
  if (!id) return ctx.fail(2, 'error', { kind: 'usage', message: `${command} needs a request ID` }, `${command} needs a request ID (see p2p-chat requests)`);
  const book = new ContactBook(ctx.selfHex, loadContacts(ctx.dataDir));
  const inbox = new RequestInbox((k) => book.has(k), undefined, loadInbox(ctx.dataDir));
  const r = inbox.get(id);
  if (command === 'block') {
    const key = inbox.block(id);
    if (!key) return ctx.fail(5, 'error', { kind: 'not-found', id }, `no request ${inert(id)} (and not a 64-hex key)`);
    book.remove(key);
    saveContacts(ctx.dataDir, book.list());
    saveInbox(ctx.dataDir, inbox.state());
    ctx.out('blocked', { staticKey: key }, `Blocked ${fingerprint(Buffer.from(key, 'hex'))}: its requests are dropped silently.`);
    return 0;
  }
  if (!r) return ctx.fail(5, 'error', { kind: 'not-found', id }, `no request ${inert(id)} (see p2p-chat requests)`);
  if (command === 'ignore') {
    inbox.ignore(id);
    saveInbox(ctx.dataDir, inbox.state());
    ctx.out('ignored', { id }, `Ignored request ${id}.`);
    return 0;
  }
  const s = pickServer(ctx.dataDir, rendezvous, book.list());
  const server = typeof s === 'string' ? '' : serverKey(s[0]);
  const added = book.add({ staticKey: r.staticKey, signingKey: r.signingKey, displayName: r.displayName, address: r.handle, server, state: 'accepted', addedAt: Date.now() });
  if (!added.ok) return ctx.fail(4, 'error', { kind: added.reason, message: added.message }, added.message);
  inbox.accept(id);
  saveContacts(ctx.dataDir, book.list());
  saveInbox(ctx.dataDir, inbox.state());
  ctx.out('accepted', describe(added.contact), `Accepted "${inert(r.displayName)}" (fingerprint ${fingerprint(Buffer.from(r.staticKey, 'hex'))}).`);
  return 0;
}

async function addContact(ctx: Ctx, how: 'add' | 'add-link', rest: string[], o: { note?: string; name?: string; timeout?: string; rendezvous?: string }): Promise<number> {
  const { out, fail, dataDir } = ctx;
  if (rest.length !== 1) return fail(2, 'error', { kind: 'usage' }, how === 'add' ? 'contacts add needs one NAME@HOST[:PORT]' : 'contacts add-link needs one LINK');
  const note = (o.note ?? '').normalize('NFC');
  const nErr = noteError(note);
  if (nErr) return fail(2, 'error', { kind: 'invalid-note', message: nErr }, nErr);
  const timeoutS = o.timeout !== undefined ? Number(o.timeout) : 20;
  if (!(timeoutS > 0 && timeoutS <= 3600)) return fail(2, 'error', { kind: 'usage' }, '--timeout must be seconds between 0 and 3600');
  let target: { staticKey: Buffer; signingKey: Buffer; requestToken: Buffer; server: ServerAddress; displayName: string; address: string };
  if (how === 'add') {
    const a = parseAccountAddress(rest[0]);
    if (!a.ok) return fail(2, 'error', { kind: 'invalid-address', message: a.error }, a.error);
    const server: ServerAddress = { host: a.address.host, port: a.address.port };
    const r = await directoryCall(server, { kind: 'lookup', handle: a.address.handle }, { timeoutMs: 8000 });
    const addr = formatAccountAddress(a.address);
    if (!r.outcome.ok) {
      if (r.outcome.kind === 'timeout') return fail(1, 'error', { kind: 'timeout', message: r.outcome.message }, `lookup of ${addr}: no answer from ${serverKey(server)}`);
      if (r.outcome.kind === 'unverified') return fail(4, 'rejected', { kind: 'unverified', message: r.outcome.message }, `lookup of ${addr}: the directory's answer was rejected: ${r.outcome.message}`);
      return fail(3, 'refused', { kind: 'refused', status: r.outcome.status, message: r.outcome.message }, `lookup of ${addr}: ${r.outcome.status}: ${r.outcome.message}`);
    }
    if (r.outcome.kind !== 'record') return fail(4, 'rejected', { message: 'no record' }, 'no record');
    const rec = r.outcome.record;
    target = { staticKey: rec.staticKey, signingKey: rec.signingKey, requestToken: rec.requestToken, server, displayName: rec.displayName, address: addr };
  } else {
    const p = parseContactLink(rest[0]);
    if (!p.ok) return fail(2, 'error', { kind: 'invalid-link', message: p.error }, `bad contact link: ${p.error}`);
    target = { ...p.link, address: '' };
  }
  const fp = fingerprint(target.staticKey);
  out('fingerprint', { fingerprint: fp, staticKey: target.staticKey.toString('hex'), displayName: target.displayName, address: target.address }, `"${inert(target.displayName)}"${target.address ? ` ${target.address}` : ''}\nFingerprint: ${fp}  (compare it with them before you trust it)`);
  const book = new ContactBook(ctx.selfHex, loadContacts(dataDir));
  const acct = loadAccounts(dataDir)[serverKey(target.server)];
  const request = {
    handle: acct && !acct.deleted ? formatAccountAddress({ handle: acct.handle, host: target.server.host, port: target.server.port }) : '',
    displayName: (o.name ?? acct?.displayName ?? process.env.USER ?? '').slice(0, 64),
    note,
  };
  const added = book.add({
    pendingRequest: request,
    staticKey: target.staticKey.toString('hex'),
    signingKey: target.signingKey.toString('hex'),
    displayName: target.displayName,
    address: target.address,
    server: serverKey(target.server),
    requestToken: target.requestToken.toString('hex'),
    state: 'requested',
    addedAt: Date.now(),
  });
  if (!added.ok) return fail(4, 'error', { kind: added.reason, message: added.message }, added.message);
  if (added.existed && added.contact.state === 'requested') added.contact.pendingRequest = request;
  saveContacts(dataDir, book.list());
  if (added.existed && added.contact.state === 'accepted') {
    out('already-contact', describe(added.contact), `Already a contact.`);
    return 0;
  }
  // Deliver the request: meet the recipient on its inbox topic, one IKpsk1 round trip.
  const serverText = serverKey(target.server);
  // Their server, or the instances --rendezvous lists for it (the inbox topic ranks them like every topic).
  const listed = o.rendezvous ? pickServer(dataDir, o.rendezvous, []) : [target.server];
  if (typeof listed === 'string') return fail(2, 'error', { kind: 'usage', message: listed }, listed);
  const node = new ContactsNode(ctx, await resolveInstances(listed), serverText);
  const id = node.exchange.sendRequest({ staticKey: target.staticKey, requestToken: target.requestToken }, { signingKey: loadSigningKey(dataDir, true)!.publicKey, ...request }, monotonicNow());
  node.syncTopics();
  const started = monotonicNow();
  const result = await new Promise<RequestStatus | undefined>((resolveDone) => {
    const timer = setTimeout(() => resolveDone(undefined), timeoutS * 1000);
    node.exchange.events.delivered = (_id, status) => {
      clearTimeout(timer);
      resolveDone(status);
    };
    void node.start();
  });
  await node.stop();
  if (result === undefined) {
    return fail(3, 'not-delivered', { id, staticKey: target.staticKey.toString('hex') }, `the request was not delivered within ${timeoutS} s (is the other side online?). It stays saved: a running "p2p-chat contacts --watch" delivers it when they are.`);
  }
  const fresh = new ContactBook(ctx.selfHex, loadContacts(dataDir));
  const saved = fresh.get(target.staticKey.toString('hex'));
  if (saved) {
    delete saved.pendingRequest;
    saveContacts(dataDir, fresh.list());
  }
  out('request-delivered', { id, status: result === RequestStatus.AlreadyContact ? 'already-contact' : 'received', ms: Math.round(monotonicNow() - started), ...describe(added.contact) }, `Request delivered to "${inert(target.displayName)}". They will show as online once they accept.`);
  return 0;
}

/**
 * `p2p-chat dm CONTACT`: a direct conversation. It is a two-member room (outbox, exactly-once delivery,
 * history, delivery marks) that never registers at the rendezvous: the contacts' pairwise topic (which
 * the server cannot link to either of them) introduces the two ends, the psk comes from the pair's
 * X25519 secret, and only the pinned key may answer. Any other key is refused with a loud warning.
 */
async function runDm(ctx: Ctx, who: string | undefined, o: { rendezvous?: string; name?: string; stay?: boolean; linger?: string; json?: boolean }): Promise<number> {
  const { out, fail, dataDir, identity } = ctx;
  if (!who) return fail(2, 'error', { kind: 'usage' }, 'dm needs a CONTACT (NAME@HOST, a display name or a key prefix)');
  const book = new ContactBook(ctx.selfHex, loadContacts(dataDir));
  const contact = book.find(who);
  if (!contact) return fail(5, 'error', { kind: 'not-found', contact: who }, `no contact "${inert(who)}" (see p2p-chat contacts)`);
  const parsed = parseServerList(o.rendezvous ?? contact.server);
  if (!parsed.ok || parsed.servers.length === 0) return fail(2, 'error', { kind: 'usage' }, 'no rendezvous for this contact: give --rendezvous HOST:PORT[,HOST:PORT…]');
  const s = parsed.servers[0];
  const lingerS = o.linger !== undefined ? Number(o.linger) : 10;
  const instances = await resolveInstances(parsed.servers);
  const server = instances[0].endpoint;
  const peerKey = Buffer.from(contact.staticKey, 'hex');
  const pair = new PairKeys(identity, peerKey);
  const sock = dgram.createSocket(server.address.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((r, j) => {
    sock.once('error', j);
    sock.bind(0, () => r());
  });
  const fp = fingerprint(peerKey);
  let onlineSince: number | undefined;
  const name = o.name ?? loadAccounts(dataDir)[serverKey(s)]?.displayName ?? process.env.USER ?? 'anonymous';
  const roomHost: UdpRoomHost = new UdpRoomHost({
    socket: sock,
    identity,
    name,
    roomId: pair.conversationId,
    psk: pair.psk,
    server,
    store: new FileRoomStore(join(dataDir, 'dms', `${pair.conversationId.toString('hex').slice(0, 32)}.json`)),
    discovery: 'external',
    onlyPeer: peerKey,
    // The DM's mailbox (offline delivery) goes to the instance our pair topic is registered with, and
    // proves our address with the presence client's cookie for it: same socket.
    ...(instances.length > 1 ? { servers: instances.map((i) => i.endpoint) } : {}),
    mailboxServer: () => presence.service.client.serverFor(pair.topic(utcDay(Date.now()))),
    mailboxCookie: () => {
      const at = presence.service.client.serverFor(pair.topic(utcDay(Date.now())));
      return at ? presence.service.client.cookieFor(at) : presence.service.client.currentCookie;
    },
    log: (level, message) => {
      if (level === 'error') out('warning', { message }, `WARNING: ${message}`);
      else if (level !== 'debug' || process.env.P2P_CHAT_DEBUG) out('log', { level, message }, o.json ? '' : `· ${message}`);
    },
  });
  // A relay address (when a punch failed and the topic ack carried TURN credentials) is announced on the
  // pairwise topic like any candidate, flagged, as a room announces it in its register.
  const presence: UdpPresenceHost = new UdpPresenceHost(
    {
      identity,
      server,
      ...(instances.length > 1 ? { instances } : {}),
      socket: sock,
      extraCandidates: () => (roomHost.room.relayedAddress ? [roomHost.room.relayedAddress] : []),
      natFlags: () => (roomHost.room.relayedAddress ? NatFlags.RelayCandidate : 0),
    },
    {
      registered: (_observed, _now, turn) => {
        if (turn) roomHost.room.setTurnCredentials(turn);
      },
      contactPartner: (_id, partner, now) => {
        roomHost.room.meet({ peerId: peerKey, name: contact.displayName, flags: partner.flags & 0x07, reflexive: partner.reflexive, candidates: partner.candidates }, now);
        roomHost.pump();
      },
      presence: (_id, status) => {
        onlineSince = status === 'offline' ? undefined : (onlineSince ?? monotonicNow());
        out('presence', { contact: contact.staticKey, presence: status }, `[${inert(contact.displayName)} is ${status}]`);
      },
    },
  );
  presence.service.setContacts([{ id: contact.staticKey, staticKey: peerKey }], 0);
  presence.service.setInUse(contact.staticKey, true, 0);
  const room = roomHost.room;
  const started = monotonicNow();
  const mailbox = mailboxOutput(out);
  room.events = {
    mailbox: mailbox.events,
    state: (st) => out('state', { state: st, ms: Math.round(monotonicNow() - started) }, st.kind === 'connected' ? `[connected to ${inert(contact.displayName)}, ${st.path}]` : ''),
    message: (m) =>
      out('message', { id: m.id, from: m.from, name: m.fromName, sentAt: m.sentAt, body: m.body, ms: Math.round(monotonicNow() - started) }, `<${inert(contact.displayName)}> ${inert(m.body.kind === 'text' ? m.body.text : `[snippet ${m.body.snippet.path}]`, true)}`),
    delivery: (id, state) => out('delivery', { id, state }, ''),
    link: (info) => out('link', { ...info, ms: Math.round(monotonicNow() - started) }, ''),
  };
  await roomHost.start();
  await presence.start();
  out('ready', { contact: contact.staticKey, fingerprint: fp, port: sock.address().port }, `Direct messages with "${inert(contact.displayName)}" (fingerprint ${fp}). Lines you type are sent.`);
  for (const m of room.pendingMessages()) out('pending', { id: m.id }, `(still to deliver: ${m.id})`);
  // The handshake proves the pinned key: a peer that answers with another one (a lying rendezvous or
  // directory pointing us elsewhere) never gets a session, and the user hears about it.
  let warned = 0;
  let warnedSilent = false;
  let relayed = '';
  const watchdog = setInterval(() => {
    const r = roomHost.room.relayedAddress;
    const key = r ? `${r.address}:${r.port}` : '';
    if (key !== relayed) {
      relayed = key;
      presence.service.client.refreshNow(monotonicNow());
      presence.pump();
    }
    const link = room.linkFor(contact.staticKey);
    const bad = (link?.stats.identityMismatches ?? 0) + (link?.stats.authFailures ?? 0);
    if (bad > warned) {
      warned = bad;
      out('identity-mismatch', { contact: contact.staticKey, fingerprint: fp, attempts: bad }, `WARNING: a peer answered for "${inert(contact.displayName)}" without proving the pinned key ${fp}. Nothing was sent to it. If this persists, verify the fingerprint with ${inert(contact.displayName)} in person.`);
    }
    // Announced on our pairwise topic, yet no handshake proved the key: a lying server, or a contact
    // without \`dm\` open. Said once; messages stay queued either way.
    if (!warnedSilent && onlineSince !== undefined && !link?.verified && monotonicNow() - onlineSince > 10_000) {
      warnedSilent = true;
      out('not-verified', { contact: contact.staticKey, fingerprint: fp }, `[${inert(contact.displayName)} is online but has not opened this conversation (or the server pointed us elsewhere): messages stay queued until the pinned key ${fp} answers]`);
    }
  }, 250);
  return new Promise<number>((resolveExit) => {
    let stopping = false;
    const stop = async (code: number) => {
      if (stopping) return;
      stopping = true;
      clearInterval(watchdog);
      await presence.stop();
      await roomHost.stop();
      try {
        sock.close();
      } catch {
        // closed already
      }
      out('left', {}, '[left]');
      resolveExit(code);
    };
    process.once('SIGINT', () => void stop(130));
    process.once('SIGTERM', () => void stop(143));
    const rl = createInterface({ input: process.stdin, terminal: false });
    rl.on('line', (line) => {
      if (line === '/quit') return void stop(0);
      if (!line.trim()) return;
      const m = room.send({ kind: 'text', text: line }, monotonicNow());
      roomHost.pump();
      out('sent', { id: m.id, text: line }, '');
    });
    rl.on('close', () => {
      if (o.stay) return;
      const deadline = monotonicNow() + lingerS * 1000;
      const check = () => {
        if (stopping) return;
        // Delivered, or safe in the contact's mailbox (they fetch it when they come online).
        const safe = room.pendingMessages().every((m) => mailbox.deposited.has(m.id));
        if (safe || monotonicNow() >= deadline) void stop(safe ? 0 : 3);
        else setTimeout(check, 50);
      };
      check();
    });
  });
}
