// `p2p-chat`: the headless terminal peer. Same core as the extension, no VS Code: for servers,
// scripts, and the network tests that drive real NATs.
import { lookup } from 'node:dns/promises';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createInvite, formatInvite, inviteKeys, inviteServers, namedRoomKeys, parseInvite, parseServerList, type ServerAddress } from '../core/invite';
import { rankInstances } from '../core/room/instances';
import type { Endpoint } from '../core/wire/endpoint';
import { generateKeyPair, keyPairFromPrivate, type KeyPair } from '../core/noise';
import { monotonicNow, UdpRoomHost } from '../core/net/udpRoomHost';
import { BodyRejectedError } from '../core/room/appMessages';
import { cleanRoomName, type RoomNameRecord } from '../core/room/roomName';
import { FileRoomStore } from '../core/store/roomStore';
import type { ChatMessage } from '../core/types';
import { mailboxOutput } from './mailboxOutput';
import { parseArgs } from 'node:util';
import { FileCli } from './fileCommands';
import { ACCOUNT_COMMANDS, ACCOUNT_HELP, runAccountCommand } from './accountCommands';
import { CONTACT_COMMANDS, CONTACT_HELP, runContactCommand } from './contactCommands';
import { unsafeCharsRegExp } from '../shared/invisibleChars';

declare const __VERSION__: string | undefined;
const VERSION = typeof __VERSION__ === 'string' ? __VERSION__ : '0.0.0-dev';

const HELP = `p2p-chat ${VERSION}: peer-to-peer, end-to-end encrypted chat in the terminal

Usage:
  p2p-chat create --rendezvous HOST:PORT [options]   start a room and print its invite
                                                     (several instances: --rendezvous a:7000,b:7000)
  p2p-chat join INVITE [options]                     join with an invite (p2pchat:…@host:port or a vscode:// link)
  p2p-chat join --room NAME --rendezvous HOST:PORT   join a named room (low entropy: compare safety numbers)
  p2p-chat send INVITE FILE…                         join, offer the files to every member, leave when sent

Lines typed on stdin are sent to the room; received messages are printed. "/name NEW NAME" renames the
room for every member ("/name" alone prints it); the name travels end-to-end encrypted, never to the server.
At the end of stdin the peer waits (up to --linger seconds) until everything was delivered, then leaves.

Options:
  --name NAME          display name (default: $USER)
  --room-name NAME     the room's name: create seals it into the invite; join renames the room to it
                       (if it is called something else)
  --json               machine-readable output: one JSON object per line
  --data-dir DIR       identity key and outbox (default: ~/.p2p-chat)
  --port N             local UDP port (default: any)
  --keepalive S        keepalive interval in seconds (default 15)
  --punch-timeout S    give up punching after S seconds (default 15)
  --linger S           at end of input, wait this long for delivery or a mailbox deposit (default 10)
  --stay               keep running at the end of input (until SIGINT/SIGTERM or a "/quit" line)
  --probe-port N       the rendezvous's second port (default: its port + 1)
  --send FILE          offer FILE to every member as they connect (repeatable)
  --accept-files DIR   accept every file offered into DIR (else /accept ID [DIR], /cancel ID)
  --max-file-bytes N   refuse offers larger than N bytes (default 2 GiB)
  -h, --help           this text
  -v, --version        the version

Exit codes (create, join; the account commands have their own, below):
  0    done: every line was delivered to every member, or waits for them in the mailbox (or a "/quit" line, or --help/--version)
  1    error: the rendezvous host does not resolve, no UDP socket, an unreadable identity key
  2    usage: an unknown option, a bad value, a missing command or invite
  3    input ended but some lines were still undelivered after --linger (they stay in the outbox
       and go out on the next run with the same --data-dir); wins over 4
  4    a line was refused: over the size limit or malformed (not sent), or a member rejected it
       (or a file transfer failed or was cancelled)
  130  stopped by SIGINT (Ctrl-C); 143 stopped by SIGTERM
`;

/** The exit codes --help documents (tests hold the binary to them). */
export const EXIT = { ok: 0, error: 1, usage: 2, undelivered: 3, refused: 4, sigint: 130, sigterm: 143 } as const;

type Printer = (event: string, fields: Record<string, unknown>, human: string) => void;

function printer(json: boolean): Printer {
  return (event, fields, human) => {
    // Synchronous writes: a message counts as delivered once printed, so it must be out before we ack it.
    if (json) writeSync(1, `${JSON.stringify({ event, t: Date.now(), ...fields })}\n`);
    else if (human) writeSync(1, `${human}\n`);
  };
}

function loadIdentity(dir: string): KeyPair {
  const file = join(dir, 'identity.key');
  if (existsSync(file)) {
    const hex = readFileSync(file, 'utf8').trim();
    if (/^[0-9a-f]{64}$/.test(hex)) return keyPairFromPrivate(Buffer.from(hex, 'hex'));
    throw new Error(`${file} is not a 32-byte hex key`);
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const kp = generateKeyPair();
  writeFileSync(file, kp.privateKey.toString('hex') + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  return kp;
}

function text(m: ChatMessage): string {
  if (m.body.kind === 'text') return m.body.text;
  const s = m.body.snippet;
  return `${m.body.text ? m.body.text + '\n' : ''}[${s.path}:${s.startLine}-${s.endLine} ${s.language}]\n${s.code}`;
}

// Terminal output must not let a peer move the cursor, clear the screen or retitle the window, nor hide
// or reorder text: controls, bidi and zero-width characters (the list the webview and the editor's
// sinks strip, shared/invisibleChars.ts) are shown escaped. Tabs and line breaks stay.
const TERMINAL_UNSAFE = unsafeCharsRegExp();
export function terminalInert(s: string): string {
  return s.replace(TERMINAL_UNSAFE, (c) => {
    if (c === '\n' || c === '\t') return c;
    const cp = c.codePointAt(0)!;
    return cp > 0xffff ? `\\u{${cp.toString(16)}}` : `\\u${cp.toString(16).padStart(4, '0')}`;
  });
}

/** `--rendezvous a:7000,b:7000`; an unparsable list is empty (the caller prints the usage). */
function serverList(text: string | undefined): ServerAddress[] {
  const r = parseServerList(text ?? '');
  return r.ok ? r.servers : [];
}

async function resolve(server: ServerAddress): Promise<string> {
  if (/^[\d.]+$/.test(server.host) || server.host.includes(':')) return server.host;
  return (await lookup(server.host)).address;
}

export async function main(argv: string[]): Promise<number> {
  if (ACCOUNT_COMMANDS.has(argv[0])) return runAccountCommand(argv);
  if (CONTACT_COMMANDS.has(argv[0])) return runContactCommand(argv);
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        rendezvous: { type: 'string' },
        room: { type: 'string' },
        name: { type: 'string' },
        'room-name': { type: 'string' },
        json: { type: 'boolean', default: false },
        'data-dir': { type: 'string' },
        port: { type: 'string' },
        keepalive: { type: 'string' },
        'punch-timeout': { type: 'string' },
        linger: { type: 'string' },
        stay: { type: 'boolean', default: false },
        'probe-port': { type: 'string' },
        send: { type: 'string', multiple: true },
        'accept-files': { type: 'string' },
        'max-file-bytes': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (e) {
    process.stderr.write(`p2p-chat: ${(e as Error).message}\n\n${HELP}`);
    return EXIT.usage;
  }
  const o = args.values;
  if (o.help) {
    process.stdout.write(`${HELP}\n${ACCOUNT_HELP}\n${CONTACT_HELP}`);
    return 0;
  }
  if (o.version) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const [command, inviteText, ...sendFiles] = args.positionals;
  const out = printer(o.json === true);
  const usage = (msg: string) => {
    process.stderr.write(`p2p-chat: ${msg}\n\n${HELP}`);
    return EXIT.usage;
  };

  let servers: ServerAddress[] = [];
  let keys;
  let inviteString: string | undefined;
  let named = false;
  let roomName: RoomNameRecord | undefined; // what the room is called before any member says otherwise
  const wantedName = o['room-name'] !== undefined ? cleanRoomName(o['room-name']) : undefined;
  if (o['room-name'] !== undefined && !wantedName) return usage('--room-name needs at least one visible character');
  if (command === 'create') {
    servers = serverList(o.rendezvous);
    if (!servers.length) return usage('create needs --rendezvous HOST:PORT[,HOST:PORT…]');
    const inv = createInvite(servers, wantedName);
    inviteString = formatInvite(inv);
    keys = inviteKeys(inv);
  } else if (command === 'join' && o.room) {
    servers = serverList(o.rendezvous);
    if (!servers.length) return usage('a named room needs --rendezvous HOST:PORT[,HOST:PORT…]');
    keys = namedRoomKeys(o.room);
    named = true;
  } else if ((command === 'join' || command === 'send') && inviteText) {
    const p = parseInvite(inviteText);
    if (!p.ok) return usage(`bad invite: ${p.error}`);
    servers = inviteServers(p.invite);
    keys = inviteKeys(p.invite);
    inviteString = formatInvite(p.invite);
    if (p.invite.name) roomName = { name: p.invite.name, lamport: 0, author: '', setAt: 0 };
  } else {
    return usage(command ? `unknown command or missing invite: ${command}` : 'missing command');
  }

  const num = (v: string | undefined, def: number, what: string): number => {
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${what} must be a non-negative number`);
    return n;
  };
  let keepaliveS: number, punchS: number, lingerS: number, port: number;
  try {
    keepaliveS = num(o.keepalive, 15, '--keepalive');
    punchS = num(o['punch-timeout'], 15, '--punch-timeout');
    lingerS = num(o.linger, command === 'send' ? 86_400 : 10, '--linger');
    port = num(o.port, 0, '--port');
  } catch (e) {
    return usage((e as Error).message);
  }

  const dataDir = o['data-dir'] ?? join(homedir(), '.p2p-chat');
  let identity: KeyPair;
  try {
    identity = loadIdentity(dataDir);
  } catch (e) {
    process.stderr.write(`p2p-chat: ${(e as Error).message}\n`);
    return EXIT.error;
  }
  const name = o.name ?? process.env.USER ?? 'anonymous';
  // The creator names the room first (Lamport time 1, docs/PROTOCOL.md §8.4).
  if (command === 'create' && wantedName) roomName = { name: wantedName, lamport: 1, author: identity.publicKey.toString('hex'), setAt: Date.now() };
  // Every member ranks the instances the same way for this room (HRW), then each is resolved.
  const ranked: Endpoint[] = [];
  for (const s of rankInstances(servers, keys.roomId)) {
    try {
      ranked.push({ address: await resolve(s), port: s.port });
    } catch (e) {
      process.stderr.write(`p2p-chat: cannot resolve ${s.host}: ${(e as Error).message}\n`);
      return EXIT.error;
    }
  }

  const host = new UdpRoomHost({
    identity,
    name,
    roomId: keys.roomId,
    psk: keys.psk,
    server: ranked[0],
    ...(ranked.length > 1 ? { servers: ranked } : {}),
    probePort: o['probe-port'] ? Number(o['probe-port']) : undefined,
    store: new FileRoomStore(join(dataDir, 'rooms', `${keys.roomId.toString('hex').slice(0, 32)}.json`)),
    port,
    ...(roomName ? { roomName } : {}),
    keepaliveMs: keepaliveS * 1000,
    punchTimeoutMs: punchS * 1000,
    log: (level, message) => {
      if (level !== 'debug' || process.env.P2P_CHAT_DEBUG) out('log', { level, message }, o.json ? '' : `· ${message}`);
    },
  });
  const room = host.room;
  const started = monotonicNow();
  const mailbox = mailboxOutput(out);
  let refused = false; // a line refused before sending, or rejected by a member: exit 4
  room.events = {
    state: (s) => {
      const human =
        s.kind === 'connected' ? `[connected: ${s.peers} peer(s), ${s.path}]`
        : s.kind === 'failed' ? `[failed: ${s.reason}. ${s.hint}]`
        : s.kind === 'reconnecting' ? `[reconnecting: ${s.reason}]`
        : s.kind === 'waiting' ? '[waiting for others to join]'
        : `[${s.kind}]`;
      out('state', { state: s, ms: Math.round(monotonicNow() - started) }, human);
    },
    members: (members) => out('members', { members }, ''),
    message: (m) => out('message', { id: m.id, from: m.from, name: m.fromName, sentAt: m.sentAt, body: m.body, ms: Math.round(monotonicNow() - started) }, `<${terminalInert(m.fromName)}> ${terminalInert(text(m))}`),
    delivery: (id, state, reason) => {
      if (state === 'rejected') refused = true;
      out('delivery', { id, state, ...(reason ? { reason } : {}) }, state === 'rejected' ? `[not delivered: ${terminalInert(reason ?? 'rejected')}]` : '');
    },
    typing: () => undefined,
    nat: (mapping) => out('nat', { mapping }, ''),
    registered: (observed) => out('registered', { observed: `${observed.address}:${observed.port}`, ms: Math.round(monotonicNow() - started) }, ''),
    link: (info) => out('link', { ...info, ms: Math.round(monotonicNow() - started) }, ''),
    mailbox: mailbox.events,
    roomName: (r, by) =>
      out(
        'roomName',
        { name: r.name, lamport: r.lamport, author: r.author, setAt: r.setAt, ...(by ? { by: by.peerId, byName: by.name } : {}) },
        `[room name: ${terminalInert(r.name)}${by ? ` (from ${terminalInert(by.name)})` : ''}]`,
      ),
  };

  try {
    await host.start();
  } catch (e) {
    process.stderr.write(`p2p-chat: cannot open a UDP socket: ${(e as Error).message}\n`);
    return EXIT.error;
  }
  const files = new FileCli(host, {
    stateDir: join(dataDir, 'transfers', keys.roomId.toString('hex').slice(0, 32)),
    send: [...(o.send ?? []), ...(command === 'send' ? sendFiles : [])],
    acceptDir: o['accept-files'],
    maxBytes: o['max-file-bytes'] ? Number(o['max-file-bytes']) : undefined,
    out,
    inert: terminalInert,
  });
  files.start();
  return new Promise<number>((resolveExit) => {
    let stopping = false;
    const stop = async (code: number) => {
      if (stopping) return;
      stopping = true;
      files.stop();
      await host.stop();
      out('left', {}, '[left the room]');
      resolveExit(code);
    };
    process.once('SIGINT', () => void stop(EXIT.sigint));
    process.once('SIGTERM', () => void stop(EXIT.sigterm));
    // Only now: whoever waits for "ready" may signal us at once, and must meet the handlers, not the default.
    const current = room.roomName?.name;
    out(
      'ready',
      { peerId: room.selfId, port: host.port, named, invite: inviteString, ...(current ? { roomName: current } : {}) },
      (inviteString && command === 'create' ? `Invite: ${inviteString}` : `Joining room via ${ranked.map((e) => `${e.address}:${e.port}`).join(', ')}`) +
        (current ? `\nRoom: ${terminalInert(current)}` : ''),
    );
    // join --room-name: rename it (once: not again on every run while it already has that name).
    if (command !== 'create' && wantedName && current !== wantedName) {
      room.rename(wantedName, monotonicNow());
      host.pump();
    }
    for (const m of room.pendingMessages()) out('pending', { id: m.id }, `(still to deliver: ${m.id})`);
    const rl = createInterface({ input: process.stdin, terminal: false });
    rl.on('line', (line) => {
      if (line === '/quit') {
        void stop(EXIT.ok);
        return;
      }
      if (!line.trim()) return;
      const rename = /^\/name(?:\s+(.*))?$/.exec(line);
      if (rename) {
        const wanted = cleanRoomName(rename[1] ?? '');
        if (!wanted) {
          const now = room.roomName?.name;
          out('roomName', now ? { name: now } : {}, now ? `[room name: ${terminalInert(now)}]` : '[the room has no name yet: /name NEW NAME]');
          return;
        }
        room.rename(wanted, monotonicNow());
        host.pump();
        return;
      }
      if (files.handleLine(line)) return;
      let m;
      try {
        m = room.send({ kind: 'text', text: line }, monotonicNow());
      } catch (e) {
        // What a member would refuse is refused here, before it is queued: said at once, never "sent".
        if (!(e instanceof BodyRejectedError)) throw e;
        refused = true;
        process.stderr.write(`p2p-chat: not sent: ${e.message}\n`);
        out('refused', { reason: e.message, chars: line.length }, '');
        return;
      }
      host.pump();
      out('sent', { id: m.id, text: line }, '');
    });
    rl.on('close', () => {
      if (o.stay) return;
      // Linger until the outbox is empty (or all of it is in the mailbox), so `echo hi | p2p-chat join …`
      // delivers before leaving.
      const deadline = monotonicNow() + lingerS * 1000;
      const check = () => {
        if (stopping) return;
        // Done once nothing is owed that is not already waiting in the recipients' mailbox, and no file is moving.
        const safe = room.pendingMessages().every((m) => mailbox.deposited.has(m.id)) && !files.busy();
        if (safe || monotonicNow() >= deadline) void stop(!safe ? EXIT.undelivered : refused || files.failed ? EXIT.refused : EXIT.ok);
        else setTimeout(check, 50);
      };
      check();
    });
  });
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`p2p-chat: ${(e as Error).stack ?? e}\n`);
      process.exit(EXIT.error);
    },
  );
}
