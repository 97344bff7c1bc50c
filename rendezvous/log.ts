// JSON-lines logger. One line per event so `journalctl -o cat | jq` and container log collectors
// can parse it. Callers pass short id prefixes (see shortId) and never secrets; `redact` is a
// last line of defence for keys whose name says they hold one.

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type LogFields = Record<string, unknown>;

export interface Logger {
  level: LogLevel;
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  enabled(level: Exclude<LogLevel, 'silent'>): boolean;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines go; stdout by default. */
  sink?: (line: string) => void;
  /** Wall clock for the timestamp. */
  clock?: () => number;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };
const SECRET_KEY = /secret|password|cookie|psk|credential|token/i;

export function isLogLevel(s: string): s is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(s);
}

function redact(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [k, v] of Object.entries(fields)) out[k] = SECRET_KEY.test(k) && typeof v !== 'number' ? '[redacted]' : v;
  return out;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const sink = opts.sink ?? ((line: string) => process.stdout.write(line + '\n'));
  const clock = opts.clock ?? Date.now;
  const logger: Logger = {
    level: opts.level ?? 'info',
    enabled: (level) => RANK[level] >= RANK[logger.level],
    debug: (e, f) => emit('debug', e, f),
    info: (e, f) => emit('info', e, f),
    warn: (e, f) => emit('warn', e, f),
    error: (e, f) => emit('error', e, f),
  };
  function emit(level: Exclude<LogLevel, 'silent'>, event: string, fields?: LogFields): void {
    if (RANK[level] < RANK[logger.level]) return;
    const line = { time: new Date(clock()).toISOString(), level, event, ...(fields ? redact(fields) : {}) };
    sink(JSON.stringify(line, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
  }
  return logger;
}

export const silentLogger: Logger = createLogger({ level: 'silent', sink: () => {} });
