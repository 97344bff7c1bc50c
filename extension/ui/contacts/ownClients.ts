// The presence clients of one identity in this process (the contact list's and each open DM's). They
// register the same pairwise topics, so the rendezvous introduces them to each other as if they were
// the contact: each presence service skips partners whose client id is listed here under its own key.
// Keyed by identity because tests (and nothing else) run two users in one process. Another window of
// the same user is another process and still looks like the contact: a known limit (docs/ARCHITECTURE.md).
const own = new Map<string, Set<string>>();

export function addOwnClient(self: Buffer, clientId: Buffer): void {
  const k = self.toString('hex');
  let set = own.get(k);
  if (!set) own.set(k, (set = new Set()));
  set.add(clientId.toString('hex'));
}

export function removeOwnClient(self: Buffer, clientId: Buffer): void {
  const k = self.toString('hex');
  own.get(k)?.delete(clientId.toString('hex'));
  if (own.get(k)?.size === 0) own.delete(k);
}

/** For PresenceServiceOptions.isOwnClient. */
export function ownClientTest(self: Buffer): (clientId: Buffer) => boolean {
  const k = self.toString('hex');
  return (clientId) => own.get(k)?.has(clientId.toString('hex')) === true;
}
