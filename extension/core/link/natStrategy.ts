// How to punch, given both sides' NAT mapping behaviour (RFC 4787). Endpoint-independent mappings
// punch with plain crossing Hellos; one endpoint-dependent ("symmetric") side needs the birthday
// method: it opens many sockets (many public ports) while the other side probes random ports of its
// public address until one pair matches. Both sides symmetric: only a relay helps.
import { NAT_FLAGS_MASK, NatFlags } from '../wire/rendezvous';

export type NatStrategy = 'plain' | 'spray' | 'sockets' | 'relay';

export function chooseStrategy(selfFlags: number, remoteFlags: number): NatStrategy {
  const self = selfFlags & NAT_FLAGS_MASK;
  const remote = remoteFlags & NAT_FLAGS_MASK;
  if (self === NatFlags.EndpointDependent && remote === NatFlags.EndpointDependent) return 'relay';
  if (self === NatFlags.EndpointDependent && remote !== NatFlags.EndpointDependent) return 'sockets';
  if (remote === NatFlags.EndpointDependent) return 'spray';
  return 'plain';
}

/** Bounds that keep the birthday method polite: sockets, packet rate, packets per attempt. */
export const BIRTHDAY = {
  sockets: 96,
  sprayPerSecond: 400,
  sprayMaxPackets: 4000,
  /** Linux and most NATs allocate from the non-privileged range. */
  minPort: 1024,
  maxPort: 65535,
} as const;
