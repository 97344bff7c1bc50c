// Transport addresses as they travel on the wire: family, port, raw address bytes.
import { isIPv4, isIPv6 } from 'node:net';
import { Reader, Writer } from './bytes';

export interface Endpoint {
  address: string; // dotted IPv4 or canonical IPv6 text
  port: number;
}

export const ENDPOINT_MAX_BYTES = 1 + 2 + 16;

export function endpointKey(e: Endpoint): string {
  return e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}

export function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return a.port === b.port && a.address === b.address;
}

/** Normalise what `dgram` reports: IPv4-mapped IPv6 addresses become plain IPv4. */
export function normaliseAddress(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1] : address.toLowerCase();
}

function ipv6ToBytes(address: string): Buffer | undefined {
  let text = address;
  let tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    tail = v4[1].split('.').map(Number);
    text = text.slice(0, -v4[1].length) + '0:0';
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((h) => parseInt(h, 16)));
  const head = parse(halves[0]);
  const rest = halves.length === 2 ? parse(halves[1]) : [];
  const fill = 8 - head.length - rest.length;
  if (fill < 0 || (halves.length === 1 && fill !== 0)) return undefined;
  const groups = [...head, ...new Array(fill).fill(0), ...rest];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g & 0xffff, i * 2));
  if (tail.length === 4) out.set(tail, 12);
  return out;
}

function bytesToIpv6(b: Buffer): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i));
  // RFC 5952: compress the longest run of two or more zero groups.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export function writeEndpoint(w: Writer, e: Endpoint): void {
  if (isIPv4(e.address)) {
    w.u8(4).u16(e.port).bytes(Buffer.from(e.address.split('.').map(Number)));
  } else if (isIPv6(e.address)) {
    const b = ipv6ToBytes(e.address);
    if (!b) throw new RangeError(`bad IPv6 address ${e.address}`);
    w.u8(6).u16(e.port).bytes(b);
  } else {
    throw new RangeError(`not an IP address: ${e.address}`);
  }
}

export function readEndpoint(r: Reader): Endpoint {
  const family = r.u8('address family');
  const port = r.u16('port');
  if (family === 4) return { address: [...r.bytes(4, 'IPv4 address')].join('.'), port };
  if (family === 6) {
    const raw = r.bytes(16, 'IPv6 address');
    return { address: r.failed ? '' : bytesToIpv6(raw), port };
  }
  r.fail(`unknown address family ${family}`);
  return { address: '', port: 0 };
}

/**
 * An endpoint plus the local socket it is reached through. Index 0 (or absent) is the main socket;
 * higher ones are the extra sockets a symmetric NAT needs for the birthday strategy.
 */
export interface Route extends Endpoint {
  via?: number;
  /** Reached through our own TURN allocation: `address:port` is the peer as the relay sees it. */
  relay?: boolean;
}

export function sameRoute(a: Route, b: Route): boolean {
  return sameEndpoint(a, b) && (a.via ?? 0) === (b.via ?? 0) && !a.relay === !b.relay;
}
