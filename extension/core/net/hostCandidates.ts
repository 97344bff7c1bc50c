// Host candidates: our own interface addresses. Two peers behind one NAT reach each other only
// this way, because Linux MASQUERADE (and many home routers) do not hairpin.
import { networkInterfaces } from 'node:os';
import type { Endpoint } from '../wire/endpoint';

export function hostCandidates(port: number, family: 4 | 6 = 4, max = 6): Endpoint[] {
  const out: Endpoint[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.internal) continue;
      if (family === 4 && a.family !== 'IPv4') continue;
      if (family === 6 && a.family !== 'IPv6') continue;
      if (a.address.startsWith('169.254.') || a.address.toLowerCase().startsWith('fe80:')) continue; // link-local: not routable
      out.push({ address: a.address, port });
    }
  }
  return out.slice(0, max);
}
