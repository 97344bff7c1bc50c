// Command-line and environment configuration for the rendezvous binary. Pure: it parses strings
// and never reads files or resolves names, so every rule here is unit-tested.
import { parseArgs } from 'node:util';
import { parseServer, type ServerAddress } from '../extension/core/invite';
import { isLogLevel, LogLevel } from './log';
import { DEFAULT_PORT, RendezvousServerOptions } from './server';

export interface TurnFlags {
  host: string;
  port: number;
  secret?: string;
  secretFile?: string;
  ttlSeconds: number;
}

export interface CliConfig {
  server: RendezvousServerOptions;
  logLevel: LogLevel;
  turn?: TurnFlags;
  statsIntervalSeconds: number;
  /** Shared state for several instances. */
  redisUrl?: string;
  http?: { host: string; port: number };
  /** How clients reach this server (contact pages and their links). */
  publicName?: ServerAddress;
  directory: DirectoryFlags;
}

/** The account directory: where it keeps accounts and who may sign up. */
export interface DirectoryFlags {
  /** Crash-safe store directory; absent: accounts are kept in memory only. */
  dataDir?: string;
  maxAccounts: number;
  signup: boolean;
  /** Sign-ups per source IP address per hour. */
  signupsPerHour: number;
  /** Directory lookups per second per source address+port (burst: twice that). */
  lookupsPerSecond: number;
}

export type CliParse =
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'error'; message: string }
  | { kind: 'run'; config: CliConfig };

interface Flag {
  env: string;
  help: string;
  def?: string;
  bool?: boolean;
}

export const FLAGS: Record<string, Flag> = {
  port: { env: 'P2P_RENDEZVOUS_PORT', help: 'main UDP port (0: any free port)', def: String(DEFAULT_PORT) },
  'probe-port': { env: 'P2P_RENDEZVOUS_PROBE_PORT', help: 'second UDP port for NAT mapping probes', def: 'port+1' },
  host: { env: 'P2P_RENDEZVOUS_HOST', help: 'bind address; :: is dual-stack IPv6+IPv4', def: '::' },
  'log-level': { env: 'P2P_RENDEZVOUS_LOG_LEVEL', help: 'debug | info | warn | error | silent', def: 'info' },
  'max-members': { env: 'P2P_RENDEZVOUS_MAX_MEMBERS', help: 'members per room (2..255)', def: '8' },
  'max-rooms': { env: 'P2P_RENDEZVOUS_MAX_ROOMS', help: 'rooms in total', def: '10000' },
  'max-total-members': { env: 'P2P_RENDEZVOUS_MAX_TOTAL_MEMBERS', help: 'members over all rooms', def: '50000' },
  'max-per-address': { env: 'P2P_RENDEZVOUS_MAX_PER_ADDRESS', help: 'members registered from one IP address', def: '256' },
  'max-sources': { env: 'P2P_RENDEZVOUS_MAX_SOURCES', help: 'source endpoints whose rate state is kept (LRU)', def: '100000' },
  refresh: { env: 'P2P_RENDEZVOUS_REFRESH', help: 'seconds between client refreshes; silent members expire after 3', def: '15' },
  rate: { env: 'P2P_RENDEZVOUS_RATE', help: 'packets per second per source', def: '20' },
  burst: { env: 'P2P_RENDEZVOUS_BURST', help: 'packet burst per source', def: '40' },
  'stun-rate': { env: 'P2P_RENDEZVOUS_STUN_RATE', help: 'STUN Binding answers per second per source', def: '10' },
  'stun-burst': { env: 'P2P_RENDEZVOUS_STUN_BURST', help: 'STUN Binding burst per source', def: '20' },
  'stun-global-rate': { env: 'P2P_RENDEZVOUS_STUN_GLOBAL_RATE', help: 'STUN answers per second over all sources (0: no cap)', def: '0' },
  'turn-server': { env: 'P2P_RENDEZVOUS_TURN_SERVER', help: 'coturn host:port whose credentials welcome carries' },
  'turn-secret': { env: 'P2P_RENDEZVOUS_TURN_SECRET', help: "coturn static-auth-secret (prefer the env var or a file: flags show in ps)" },
  'turn-secret-file': { env: 'P2P_RENDEZVOUS_TURN_SECRET_FILE', help: 'file holding the TURN secret' },
  'turn-ttl': { env: 'P2P_RENDEZVOUS_TURN_TTL', help: 'TURN credential lifetime in seconds', def: '600' },
  redis: { env: 'P2P_RENDEZVOUS_REDIS', help: 'redis://host:port shared by several instances (rooms, directory, mailboxes); none: this process alone' },
  'http-port': { env: 'P2P_RENDEZVOUS_HTTP_PORT', help: 'TCP port for /healthz, /metrics and contact pages (0: off)', def: '0' },
  'http-host': { env: 'P2P_RENDEZVOUS_HTTP_HOST', help: 'bind address of the HTTP port', def: '127.0.0.1' },
  'public-name': { env: 'P2P_RENDEZVOUS_PUBLIC_NAME', help: 'host[:port] clients use for this server: shown on contact pages and put in their links' },
  'data-dir': { env: 'P2P_RENDEZVOUS_DATA_DIR', help: 'keep accounts and mailboxes in DIR (crash-safe log); without it they last as long as the process' },
  'max-accounts': { env: 'P2P_RENDEZVOUS_MAX_ACCOUNTS', help: 'accounts the directory holds at most', def: '100000' },
  'no-signup': { env: 'P2P_RENDEZVOUS_NO_SIGNUP', help: 'refuse new sign-ups (invite-only); existing accounts still work', bool: true },
  'signup-rate': { env: 'P2P_RENDEZVOUS_SIGNUP_RATE', help: 'sign-ups per source IP address per hour', def: '10' },
  'mailbox-ttl': { env: 'P2P_RENDEZVOUS_MAILBOX_TTL', help: 'seconds a mailbox envelope is kept', def: '1209600' },
  'mailbox-max-items': { env: 'P2P_RENDEZVOUS_MAILBOX_MAX_ITEMS', help: 'envelopes per mailbox', def: '1000' },
  'mailbox-max-bytes': { env: 'P2P_RENDEZVOUS_MAILBOX_MAX_BYTES', help: 'bytes per mailbox', def: '10000000' },
  'mailbox-envelope-bytes': { env: 'P2P_RENDEZVOUS_MAILBOX_ENVELOPE_BYTES', help: 'largest envelope (256..1024); clients split larger messages', def: '1024' },
  'mailbox-rate': { env: 'P2P_RENDEZVOUS_MAILBOX_RATE', help: 'mailbox requests per second per source (depositor)', def: '100' },
  'mailbox-burst': { env: 'P2P_RENDEZVOUS_MAILBOX_BURST', help: 'mailbox request burst per source', def: '300' },
  'no-mailbox': { env: 'P2P_RENDEZVOUS_NO_MAILBOX', help: 'refuse every mailbox request', bool: true },
  'lookup-rate': { env: 'P2P_RENDEZVOUS_LOOKUP_RATE', help: 'directory lookups per second per source (burst: twice that)', def: '10' },
  'stats-interval': { env: 'P2P_RENDEZVOUS_STATS_INTERVAL', help: 'log stats every N seconds (0: only at shutdown)', def: '0' },
  help: { env: '', help: 'show this help', bool: true },
  version: { env: '', help: 'print the version', bool: true },
};

export function usage(): string {
  const lines = [
    'Usage: p2p-chat-rendezvous [options]',
    '',
    'Introduces P2P Chat peers to each other over UDP. Never relays chat, never sees room secrets.',
    '',
    'Options (each also read from the environment variable shown; a flag wins):',
  ];
  for (const [name, f] of Object.entries(FLAGS)) {
    const left = `  --${name}${f.bool ? '' : ' <v>'}`;
    const right = `${f.help}${f.def ? ` [${f.def}]` : ''}${f.env ? `  (${f.env})` : ''}`;
    lines.push(`${left.padEnd(30)} ${right}`);
  }
  return lines.join('\n');
}

function int(name: string, raw: string, min: number, max: number): number | string {
  if (!/^\d+$/.test(raw.trim())) return `--${name} must be a whole number, got "${raw}"`;
  const n = Number(raw);
  if (n < min || n > max) return `--${name} must be between ${min} and ${max}`;
  return n;
}

/** host:port, [v6]:port. */
export function parseHostPort(raw: string): { host: string; port: number } | undefined {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(raw) ?? /^([^:[\]]+):(\d+)$/.exec(raw);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (!(port >= 1 && port <= 65535)) return undefined;
  return { host: m[1], port };
}

export function parseCli(argv: string[], env: Record<string, string | undefined>): CliParse {
  let values: Record<string, string | boolean | undefined>;
  try {
    const options = Object.fromEntries(
      Object.entries(FLAGS).map(([name, f]) => [name, { type: f.bool ? ('boolean' as const) : ('string' as const) }]),
    );
    values = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    return { kind: 'error', message: (err as Error).message };
  }
  if (values.help) return { kind: 'help' };
  const envNoSignup = env[FLAGS['no-signup'].env];
  const noSignup = values['no-signup'] === true || envNoSignup === '1' || envNoSignup === 'true';
  if (values.version) return { kind: 'version' };
  const get = (name: string): string | undefined => {
    const v = values[name];
    if (typeof v === 'string') return v;
    const e = env[FLAGS[name].env];
    return e !== undefined && e !== '' ? e : undefined;
  };
  const errors: string[] = [];
  const num = (name: string, def: number, min: number, max: number): number => {
    const raw = get(name);
    if (raw === undefined) return def;
    const n = int(name, raw, min, max);
    if (typeof n === 'string') {
      errors.push(n);
      return def;
    }
    return n;
  };

  const port = num('port', DEFAULT_PORT, 0, 65535);
  const probePort = num('probe-port', port === 0 ? 0 : port + 1, 0, 65535);
  if (port !== 0 && probePort === port) errors.push('--probe-port must differ from --port');
  const logLevel = get('log-level') ?? 'info';
  if (!isLogLevel(logLevel)) errors.push(`--log-level must be debug, info, warn, error or silent, got "${logLevel}"`);
  const server: RendezvousServerOptions = {
    port,
    probePort,
    maxMembersPerRoom: num('max-members', 8, 2, 255),
    maxRooms: num('max-rooms', 10_000, 1, 10_000_000),
    maxMembers: num('max-total-members', 50_000, 1, 10_000_000),
    maxMembersPerAddress: num('max-per-address', 256, 1, 10_000_000),
    maxSources: num('max-sources', 100_000, 1, 100_000_000),
    refreshSeconds: num('refresh', 15, 1, 3600),
    rate: { perSecond: num('rate', 20, 1, 1_000_000), burst: num('burst', 40, 1, 1_000_000) },
    stunRate: { perSecond: num('stun-rate', 10, 1, 1_000_000), burst: num('stun-burst', 20, 1, 1_000_000) },
  };
  const host = get('host');
  if (host !== undefined) server.host = host;
  const stunGlobal = num('stun-global-rate', 0, 0, 100_000_000);
  if (stunGlobal > 0) server.stunGlobalRate = { perSecond: stunGlobal, burst: stunGlobal };

  let turn: TurnFlags | undefined;
  const turnServer = get('turn-server');
  const secret = get('turn-secret');
  const secretFile = get('turn-secret-file');
  const ttlSeconds = num('turn-ttl', 600, 60, 7 * 24 * 3600);
  if (turnServer !== undefined) {
    const hp = parseHostPort(turnServer);
    if (!hp) errors.push(`--turn-server must be host:port or [ipv6]:port, got "${turnServer}"`);
    else if (secret === undefined && secretFile === undefined) errors.push('--turn-server needs --turn-secret or --turn-secret-file');
    else turn = { ...hp, ttlSeconds, ...(secret !== undefined ? { secret } : {}), ...(secretFile !== undefined ? { secretFile } : {}) };
  } else if (secret !== undefined || secretFile !== undefined) {
    errors.push('--turn-secret needs --turn-server');
  }
  const statsIntervalSeconds = num('stats-interval', 0, 0, 86_400);
  const noMailbox = values['no-mailbox'] === true || ['1', 'true', 'yes'].includes(env[FLAGS['no-mailbox'].env] ?? '');
  server.mailbox = noMailbox
    ? false
    : {
        ttlMs: num('mailbox-ttl', 1_209_600, 1, 365 * 86_400) * 1000,
        maxItems: num('mailbox-max-items', 1000, 1, 10_000_000),
        maxBytes: num('mailbox-max-bytes', 10_000_000, 1024, 10_000_000_000),
        maxEnvelopeBytes: num('mailbox-envelope-bytes', 1024, 256, 1024),
        rate: { perSecond: num('mailbox-rate', 100, 1, 1_000_000), burst: num('mailbox-burst', 300, 1, 1_000_000) },
      };
  const redisUrl = get('redis');
  if (redisUrl !== undefined && !/^rediss?:\/\/[^\s]+$/.test(redisUrl)) errors.push(`--redis must be a redis:// or rediss:// URL, got "${redisUrl}"`);
  if (redisUrl !== undefined && get('data-dir') !== undefined) errors.push('--redis and --data-dir exclude each other: with Redis, accounts and mailboxes live there');
  const httpPort = num('http-port', 0, 0, 65535);
  const httpHost = get('http-host') ?? '127.0.0.1';
  const publicRaw = get('public-name');
  const publicName = publicRaw !== undefined ? parseServer(publicRaw) : undefined;
  if (publicRaw !== undefined && !publicName) errors.push(`--public-name must be host or host:port, got "${publicRaw}"`);
  const dataDir = get('data-dir');
  const directory: DirectoryFlags = {
    maxAccounts: num('max-accounts', 100_000, 0, 100_000_000),
    signup: !noSignup,
    signupsPerHour: num('signup-rate', 10, 1, 1_000_000),
    lookupsPerSecond: num('lookup-rate', 10, 1, 100_000_000),
    ...(dataDir !== undefined ? { dataDir } : {}),
  };
  if (errors.length) return { kind: 'error', message: errors.join('; ') };
  return {
    kind: 'run',
    config: {
      server,
      logLevel: logLevel as LogLevel,
      statsIntervalSeconds,
      directory,
      ...(turn ? { turn } : {}),
      ...(redisUrl !== undefined ? { redisUrl } : {}),
      ...(httpPort > 0 ? { http: { host: httpHost, port: httpPort } } : {}),
      ...(publicName ? { publicName } : {}),
    },
  };
}
