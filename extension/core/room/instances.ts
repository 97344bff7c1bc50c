// Choosing a rendezvous instance when a server setting or an invite lists several. Pure.
//
// Rendezvous hashing (highest random weight): every client scores each instance by a hash of
// (instance, room id) and sorts by score. Every member of a room computes the same ranking from the
// same list, so a room normally lives on one instance, and when that instance dies every member
// moves to the same next one. Removing an instance only moves the rooms it held; adding one takes
// about 1/N of the rooms. Lists that differ in order still agree; lists that differ in content
// (skew during a roll-out) may split a room across instances, which shared state (Redis) heals.
import { createHash } from 'node:crypto';
import type { Endpoint } from '../wire/endpoint';
import { formatServer, type ServerAddress } from '../invite';

export { formatServerList, MAX_INSTANCES, parseServerList } from '../invite';

/** The key an instance is hashed by: its address as written (lower-case host), never a resolved IP. */
export function instanceKey(s: ServerAddress): string {
  return formatServer(s);
}

/** 64-bit HRW weight of one instance for one room (first 8 bytes of SHA-256, big-endian). */
export function instanceWeight(s: ServerAddress, roomId: Uint8Array): bigint {
  const h = createHash('sha256').update('p2p-chat/hrw\0').update(instanceKey(s)).update('\0').update(roomId).digest();
  return h.readBigUInt64BE(0);
}

/** The instances best first for this room or topic id; duplicates removed; ties broken by key. */
export function rankInstances<T extends ServerAddress>(servers: readonly T[], roomId: Uint8Array): T[] {
  const seen = new Set<string>();
  const scored: { s: T; w: bigint; k: string }[] = [];
  for (const s of servers) {
    const k = instanceKey(s);
    if (seen.has(k)) continue;
    seen.add(k);
    scored.push({ s, w: instanceWeight(s, roomId), k });
  }
  scored.sort((a, b) => (a.w === b.w ? (a.k < b.k ? -1 : 1) : a.w > b.w ? -1 : 1));
  return scored.map((x) => x.s);
}

/**
 * Which instance to use, attempt by attempt. `fail()` after two unanswered registrations moves to
 * the next in the ranking (wrapping round); `succeeded()` pins the current one. A client sitting
 * on a fallback tries the best-ranked again at each refresh (`preferBest()`), so a room re-forms on
 * its home instance once that instance is back.
 */
export class InstanceCursor {
  private index = 0;
  constructor(readonly ranked: readonly Endpoint[]) {
    if (ranked.length === 0) throw new RangeError('no rendezvous instance');
  }
  get current(): Endpoint {
    return this.ranked[this.index];
  }
  get position(): number {
    return this.index;
  }
  /** Move to the next instance; returns it. */
  next(): Endpoint {
    this.index = (this.index + 1) % this.ranked.length;
    return this.current;
  }
  preferBest(): boolean {
    if (this.index === 0) return false;
    this.index = 0;
    return true;
  }
  indexOf(e: Endpoint): number {
    return this.ranked.findIndex((r) => r.port === e.port && r.address === e.address);
  }
  moveTo(i: number): void {
    if (i >= 0 && i < this.ranked.length) this.index = i;
  }
}
