// Who may knock, and how often: the pending contact requests of one user, pure. A stranger's only way
// in is a request over the inbox topic (requestExchange.ts), and each request lands here first:
//   - a blocked key is dropped silently (the sender cannot tell a block from an absence);
//   - at most `maxPerSender` pending requests per key, `maxPerAddress` per source IP (keys are free to
//     make, addresses are not), and `maxTotal` overall: a flood fills its own quota and stops there;
//   - the same request again (a retry) is a duplicate, answered but not stored twice.
// Accepting pins the key (the caller's TOFU store); ignoring forgets the request; blocking remembers the key.
import { createHash } from 'node:crypto';

export interface RequestRules {
  maxPerSender: number;
  maxPerAddress: number;
  maxTotal: number;
}

export const DEFAULT_REQUEST_RULES: RequestRules = { maxPerSender: 3, maxPerAddress: 10, maxTotal: 100 };

export interface IncomingRequest {
  /** Short, stable id the user types (`accept ID`): derived from the sender key and the note. */
  id: string;
  /** The requester's X25519 static key, hex: proven by the handshake. */
  staticKey: string;
  signingKey: string;
  handle: string;
  displayName: string;
  note: string;
  /** The source IP it came from (for the per-address cap only). */
  address: string;
  receivedAt: number;
}

export type OfferVerdict = 'stored' | 'duplicate' | 'contact' | 'blocked' | 'senderCap' | 'addressCap' | 'full';

export interface InboxState {
  requests: IncomingRequest[];
  blocked: string[];
}

export function requestId(staticKeyHex: string, note: string): string {
  return createHash('sha256').update(staticKeyHex).update('\0').update(note).digest('hex').slice(0, 8);
}

export class RequestInbox {
  private readonly requests = new Map<string, IncomingRequest>();
  private readonly blocked = new Set<string>();
  readonly counters: Record<OfferVerdict, number> = { stored: 0, duplicate: 0, contact: 0, blocked: 0, senderCap: 0, addressCap: 0, full: 0 };

  constructor(
    private readonly isContact: (staticKeyHex: string) => boolean,
    private readonly rules: RequestRules = DEFAULT_REQUEST_RULES,
    state?: InboxState,
  ) {
    for (const r of state?.requests ?? []) this.requests.set(r.id, r);
    for (const k of state?.blocked ?? []) this.blocked.add(k);
  }

  offer(req: Omit<IncomingRequest, 'id'>): { verdict: OfferVerdict; request?: IncomingRequest } {
    const verdict = this.judge(req);
    this.counters[verdict]++;
    if (verdict !== 'stored') return { verdict, request: verdict === 'duplicate' ? this.requests.get(requestId(req.staticKey, req.note)) : undefined };
    const request = { ...req, id: requestId(req.staticKey, req.note) };
    this.requests.set(request.id, request);
    return { verdict, request };
  }

  private judge(req: Omit<IncomingRequest, 'id'>): OfferVerdict {
    if (this.blocked.has(req.staticKey)) return 'blocked';
    if (this.isContact(req.staticKey)) return 'contact';
    if (this.requests.has(requestId(req.staticKey, req.note))) return 'duplicate';
    let fromSender = 0;
    let fromAddress = 0;
    for (const r of this.requests.values()) {
      if (r.staticKey === req.staticKey) fromSender++;
      if (r.address === req.address) fromAddress++;
    }
    if (fromSender >= this.rules.maxPerSender) return 'senderCap';
    if (fromAddress >= this.rules.maxPerAddress) return 'addressCap';
    if (this.requests.size >= this.rules.maxTotal) return 'full';
    return 'stored';
  }

  list(): IncomingRequest[] {
    return [...this.requests.values()].sort((a, b) => a.receivedAt - b.receivedAt);
  }

  get(id: string): IncomingRequest | undefined {
    return this.requests.get(id);
  }

  /** Accept: every pending request of that key goes (the caller pins the key and adds the contact). */
  accept(id: string): IncomingRequest | undefined {
    const r = this.requests.get(id);
    if (r) this.dropKey(r.staticKey);
    return r;
  }

  ignore(id: string): IncomingRequest | undefined {
    const r = this.requests.get(id);
    if (r) this.requests.delete(id);
    return r;
  }

  /** Block the sender of a request (or a key given directly): its requests go, later ones are dropped unseen. */
  block(idOrKey: string): string | undefined {
    const key = this.requests.get(idOrKey)?.staticKey ?? (/^[0-9a-f]{64}$/.test(idOrKey) ? idOrKey : undefined);
    if (!key) return undefined;
    this.blocked.add(key);
    this.dropKey(key);
    return key;
  }

  unblock(key: string): boolean {
    return this.blocked.delete(key);
  }

  isBlocked(key: string): boolean {
    return this.blocked.has(key);
  }

  state(): InboxState {
    return { requests: this.list(), blocked: [...this.blocked] };
  }

  private dropKey(key: string): void {
    for (const [id, r] of this.requests) if (r.staticKey === key) this.requests.delete(id);
  }
}
