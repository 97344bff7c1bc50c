// Contact requests on the wire, sans-I/O: sending ours to a recipient's inbox topic, and receiving
// strangers' on our own. One round trip of Noise IKpsk1 (wire/contactRequest.ts): message 1 carries the
// request and proves the requester's static key; message 2 proves the recipient's and says "received".
//
// Receiving is where floods land, so it is cheap to refuse: a packet that is not a well-formed hello is
// dropped before any DH; at most `maxHandshakesPerSecond` hellos are even tried (a token bucket: the
// rest of the program, rooms and DMs included, keeps its CPU); then the inbox rules (requests.ts)
// decide. Blocked, over-quota and failed requests get no answer at all.
import { randomBytes, randomInt } from 'node:crypto';
import { HandshakeState, type KeyPair } from '../noise';
import { Endpoint, endpointKey } from '../wire/endpoint';
import {
  decodeContactPacket,
  decodeRequestPayload,
  encodeContactPacket,
  encodeRequestPayload,
  RequestStatus,
  type RequestPayload,
} from '../wire/contactRequest';
import { TopicKind, type TopicEntry, type TopicPartner } from '../wire/topics';
import { RequestInbox, type IncomingRequest, type OfferVerdict } from './requests';
import { inboxTopic, requestPsk } from './topics';

export const REQUEST_PROLOGUE = Buffer.from('p2p-chat contact request v1', 'utf8');

export interface RequestTarget {
  staticKey: Buffer;
  requestToken: Buffer;
}

export interface RequestExchangeOptions {
  self: KeyPair;
  /** Our current request token: the inbox we listen on. */
  requestToken: () => Buffer;
  inbox: RequestInbox;
  send(to: Endpoint, data: Buffer): void;
  maxHandshakesPerSecond?: number;
  /** How often an undelivered request is sent again to the addresses we know. */
  retryMs?: number;
}

export interface RequestExchangeEvents {
  /** A stranger's request passed the rules and was stored (or was a retry of a stored one). */
  request?(req: IncomingRequest, verdict: OfferVerdict, now: number): void;
  /** A request arrived and was refused; silent on the wire, told to the user only as a count. */
  refused?(verdict: OfferVerdict | 'handshake' | 'throttled', now: number): void;
  /** Our request reached the recipient (its key proved by message 2). */
  delivered?(id: string, status: RequestStatus, now: number): void;
}

interface Outgoing {
  id: string;
  target: RequestTarget;
  topic: Buffer;
  payload: Buffer;
  endpoints: Map<string, Endpoint>;
  /** Handshakes in flight by our sender index: each retry is a fresh one (fresh ephemeral). */
  hs: Map<number, HandshakeState>;
  nextAt: number;
  delivered: boolean;
}

export class RequestExchange {
  private readonly outgoing = new Map<string, Outgoing>();
  private readonly byIndex = new Map<number, Outgoing>();
  private tokens: number;
  private refilledAt = 0;
  readonly stats = { hellosIn: 0, handshakesTried: 0, throttled: 0, malformed: 0 };

  constructor(
    private readonly opts: RequestExchangeOptions,
    public events: RequestExchangeEvents = {},
  ) {
    this.tokens = this.rate();
  }

  private rate(): number {
    return this.opts.maxHandshakesPerSecond ?? 50;
  }

  /** Our own inbox topic, as host: every stranger with our link or record knocks here. */
  inboxEntry(): TopicEntry {
    return { topic: inboxTopic(this.opts.self.publicKey, this.opts.requestToken()), kind: TopicKind.Host };
  }

  /** Visitor entries for the requests still undelivered. */
  visitorEntries(): TopicEntry[] {
    return [...this.outgoing.values()].filter((o) => !o.delivered).map((o) => ({ topic: o.topic, kind: TopicKind.Visitor }));
  }

  isInboxTopic(topic: Buffer): boolean {
    return topic.equals(this.inboxEntry().topic);
  }

  /** Start sending a request; returns its id. It goes out as soon as the recipient's address is known. */
  sendRequest(target: RequestTarget, payload: RequestPayload, now: number): string {
    const id = randomBytes(4).toString('hex');
    this.outgoing.set(id, {
      id,
      target,
      topic: inboxTopic(target.staticKey, target.requestToken),
      payload: encodeRequestPayload(payload),
      endpoints: new Map(),
      hs: new Map(),
      nextAt: Infinity,
      delivered: false,
    });
    void now;
    return id;
  }

  cancel(id: string): void {
    const o = this.outgoing.get(id);
    if (!o) return;
    for (const i of o.hs.keys()) this.byIndex.delete(i);
    this.outgoing.delete(id);
  }

  /** The rendezvous paired one of our topics. Returns true when it was a request topic (ours or theirs). */
  onTopicPartner(topic: Buffer, partner: TopicPartner, now: number): boolean {
    if (this.isInboxTopic(topic)) {
      // A requester is on its way: open our NAT towards it so its hello gets through.
      const punch = encodeContactPacket({ type: 'requestPunch', nonce: randomBytes(8) });
      for (const ep of [partner.reflexive, ...partner.candidates]) this.opts.send(ep, punch);
      return true;
    }
    let hit = false;
    for (const o of this.outgoing.values()) {
      if (o.delivered || !o.topic.equals(topic)) continue;
      hit = true;
      for (const ep of [partner.reflexive, ...partner.candidates]) o.endpoints.set(endpointKey(ep), ep);
      o.nextAt = now;
    }
    if (hit) this.tick(now);
    return hit;
  }

  tick(now: number): void {
    for (const o of this.outgoing.values()) {
      if (o.delivered || now < o.nextAt || o.endpoints.size === 0) continue;
      this.sendHello(o);
      o.nextAt = now + (this.opts.retryMs ?? 500);
    }
  }

  nextWakeup(): number {
    let t = Infinity;
    for (const o of this.outgoing.values()) if (!o.delivered && o.endpoints.size > 0) t = Math.min(t, o.nextAt);
    return t;
  }

  private sendHello(o: Outgoing): void {
    // Bounded: a recipient that never answers does not grow our handshake table.
    if (o.hs.size >= 8) {
      const oldest = o.hs.keys().next().value as number;
      o.hs.delete(oldest);
      this.byIndex.delete(oldest);
    }
    const hs = new HandshakeState({
      pattern: 'IKpsk1',
      initiator: true,
      prologue: REQUEST_PROLOGUE,
      s: this.opts.self,
      rs: o.target.staticKey,
      psk: requestPsk(o.target.staticKey, o.target.requestToken),
    });
    let index = randomInt(1, 0xffffffff);
    while (this.byIndex.has(index)) index = randomInt(1, 0xffffffff);
    const packet = encodeContactPacket({ type: 'requestHello', sender: index, noise: hs.writeMessage(o.payload) });
    o.hs.set(index, hs);
    this.byIndex.set(index, o);
    for (const ep of o.endpoints.values()) this.opts.send(ep, packet);
  }

  /** A peer datagram of types 0x14..0x1F. Never throws. */
  receive(data: Buffer, from: Endpoint, now: number): void {
    const d = decodeContactPacket(data);
    if (!d.ok) {
      this.stats.malformed++;
      return;
    }
    const p = d.value;
    if (p.type === 'requestHello') this.onHello(p.sender, p.noise, from, now);
    else if (p.type === 'requestReply') this.onReply(p.receiver, p.noise, now);
    // requestPunch: only there to open a NAT.
  }

  private onHello(sender: number, noise: Buffer, from: Endpoint, now: number): void {
    this.stats.hellosIn++;
    this.tokens = Math.min(this.rate(), this.tokens + ((now - this.refilledAt) * this.rate()) / 1000);
    this.refilledAt = now;
    if (this.tokens < 1) {
      this.stats.throttled++;
      this.events.refused?.('throttled', now);
      return;
    }
    this.tokens--;
    this.stats.handshakesTried++;
    const hs = new HandshakeState({
      pattern: 'IKpsk1',
      initiator: false,
      prologue: REQUEST_PROLOGUE,
      s: this.opts.self,
      psk: requestPsk(this.opts.self.publicKey, this.opts.requestToken()),
    });
    const read = hs.readMessage(noise);
    const remote = hs.remoteStatic;
    if (!read.ok || !remote) {
      this.events.refused?.('handshake', now);
      return;
    }
    const payload = decodeRequestPayload(read.payload);
    if (!payload.ok) {
      this.events.refused?.('handshake', now);
      return;
    }
    const { verdict, request } = this.opts.inbox.offer({
      staticKey: remote.toString('hex'),
      signingKey: payload.value.signingKey.toString('hex'),
      handle: payload.value.handle,
      displayName: payload.value.displayName,
      note: payload.value.note,
      address: from.address,
      receivedAt: Date.now(),
    });
    if (verdict !== 'stored' && verdict !== 'duplicate' && verdict !== 'contact') {
      this.events.refused?.(verdict, now);
      return; // silence: a blocked or over-quota sender learns nothing
    }
    const status = verdict === 'contact' ? RequestStatus.AlreadyContact : RequestStatus.Received;
    this.opts.send(from, encodeContactPacket({ type: 'requestReply', receiver: sender, noise: hs.writeMessage(Buffer.from([status])) }));
    if (request && verdict !== 'contact') this.events.request?.(request, verdict, now);
  }

  private onReply(receiver: number, noise: Buffer, now: number): void {
    const o = this.byIndex.get(receiver);
    if (!o) return;
    const hs = o.hs.get(receiver);
    if (!hs) return;
    const read = hs.readMessage(noise);
    if (!read.ok || read.payload.length !== 1) return;
    for (const i of o.hs.keys()) this.byIndex.delete(i);
    o.hs.clear();
    if (o.delivered) return;
    o.delivered = true;
    this.events.delivered?.(o.id, read.payload[0] as RequestStatus, now);
  }
}
