// Whether a peer's address is on this host or this site (loopback, RFC 1918, link-local, IPv6 ULA):
// together with a short round trip, the sign of a path that carries 64 KiB datagrams well (PeerLink's
// path probes). A public address, or CGNAT's 100.64/10, is never "local", whatever its round trip.
import { isIP } from 'node:net';

export function isLocalAddress(address: string): boolean {
  let a = address.toLowerCase();
  if (a.startsWith('::ffff:') && isIP(a.slice(7)) === 4) a = a.slice(7);
  if (isIP(a) === 4) {
    const [x, y] = a.split('.').map(Number);
    return x === 127 || x === 10 || (x === 172 && y >= 16 && y <= 31) || (x === 192 && y === 168) || (x === 169 && y === 254);
  }
  if (isIP(a) === 6) {
    if (a === '::1') return true;
    const first = parseInt(a.split(':')[0] || '0', 16);
    return (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80;
  }
  return false;
}
