// Transport addresses as they travel on the wire: family, port, raw address bytes.
import { isIPv6 } from 'node:net';
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

/**
 * The four octets of a dotted-quad IPv4 address packed into a number, or -1. Hand-rolled because
 * the rendezvous converts an address on every datagram it answers, and split/map/isIPv4 dominated that.
 */
export function ipv4Value(address: string): number {
  const n = address.length;
  if (n < 7 || n > 15) return -1;
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < n; i++) {
    const c = address.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || ++dots > 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      // No leading zeros ("01" is octal to some parsers): the canonical text only.
      if (digits > 0 && octet === 0) return -1;
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return -1;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + octet;
}

/** Bytes writeEndpoint takes for `e` (family, port, 4 or 16 address bytes). */
export function endpointBytes(e: Endpoint): number {
  return e.address.includes(':') ? ENDPOINT_MAX_BYTES : 1 + 2 + 4;
}

export function writeEndpoint(w: Writer, e: Endpoint): void {
  const v4 = ipv4Value(e.address);
  if (v4 >= 0) {
    w.u8(4).u16(e.port).u32(v4);
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
  if (family === 4) {
    const v = r.u32('IPv4 address');
    return { address: `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`, port };
  }
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
