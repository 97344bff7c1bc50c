// The mailbox through the real server on loopback sockets: nothing but a cookie for a source that has
// not proven its address (never more bytes out than in), a replayed fetch refused from the same
// address and answered with only a cookie from another, strangers refused.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as dgram from 'node:dgram';
import { deriveRoomKeys } from '../../extension/core/noise';
import { MailboxKeys, periodOf, roomMailboxKeys, signRequest } from '../../extension/core/mailbox/keys';
import { decodeMailbox, encodeUnsignedRequest, MailboxErrorCode, UnsignedRequest } from '../../extension/core/wire/mailbox';
import { decodeRendezvous } from '../../extension/core/wire/rendezvous';
import { silentLogger } from '../../rendezvous/log';
import { RendezvousServer } from '../../rendezvous/server';

const room = deriveRoomKeys(randomBytes(16));

function req(k: MailboxKeys, cookie: Buffer, body: { type: 'deposit'; envelope: Buffer } | { type: 'fetch'; after: bigint }, signer = k): Buffer {
  const u = { ...body, mailboxId: k.mailboxId, key: k.publicKey, cookie, nonce: randomBytes(8) } as UnsignedRequest;
  const head = encodeUnsignedRequest(u);
  return Buffer.concat([head, signRequest(signer.signing, head)]);
}

class Client {
  private constructor(readonly sock: dgram.Socket, readonly port: number) {}
  static async open(port: number): Promise<Client> {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    return new Client(sock, port);
  }
  /** Send and wait for one answer (or undefined after `ms`). */
  ask(data: Buffer, ms = 1000): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.sock.off('message', on);
        resolve(undefined);
      }, ms);
      const on = (m: Buffer) => {
        clearTimeout(t);
        this.sock.off('message', on);
        resolve(m);
      };
      this.sock.on('message', on);
      this.sock.send(data, this.port, '127.0.0.1');
    });
  }
  async cookie(k: MailboxKeys): Promise<Buffer> {
    const r = await this.ask(req(k, Buffer.alloc(16), { type: 'fetch', after: 0n }));
    const d = decodeRendezvous(r!);
    assert.ok(d.ok && d.value.type === 'cookie', 'an unproven source gets a cookie');
    return d.value.cookie;
  }
  close() {
    this.sock.close();
  }
}

describe('mailbox on the real server (loopback)', () => {
  let server: RendezvousServer;
  let port: number;
  const clients: Client[] = [];
  beforeEach(async () => {
    server = new RendezvousServer({ port: 0, host: '127.0.0.1', logger: silentLogger });
    port = (await server.start()).port;
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await server.stop();
  });
  const client = async () => {
    const c = await Client.open(port);
    clients.push(c);
    return c;
  };
  const k = roomMailboxKeys(room.psk, periodOf(Date.now()));

  it('an unproven source gets only a cookie, never more bytes than it sent; a proven one is served', async () => {
    const a = await client();
    for (const body of [{ type: 'deposit' as const, envelope: randomBytes(1000) }, { type: 'fetch' as const, after: 0n }]) {
      const bad = req(k, randomBytes(16), body);
      const r = await a.ask(bad);
      assert.ok(r && r.length <= bad.length, `${body.type}: ${r?.length} bytes out for ${bad.length} in`);
      const d = decodeRendezvous(r!);
      assert.ok(d.ok && d.value.type === 'cookie');
    }
    const cookie = await a.cookie(k);
    const ack = decodeMailbox((await a.ask(req(k, cookie, { type: 'deposit', envelope: randomBytes(900) })))!);
    assert.ok(ack.ok && ack.value.type === 'depositAck');
    const fetchReq = req(k, cookie, { type: 'fetch', after: 0n });
    const items = (await a.ask(fetchReq))!;
    const got = decodeMailbox(items);
    assert.ok(got.ok && got.value.type === 'items' && got.value.items.length === 1);
    assert.ok(items.length > fetchReq.length, 'a verified source may get more than it sent (the items)');
    const st = server.stats();
    assert.ok(st.unverified.bytesOut <= st.unverified.bytesIn, JSON.stringify(st.unverified));
    assert.equal(st.suppressed.wouldAmplify, 0);
  });

  it('a replayed fetch is refused from the same address and gets only a cookie from another', async () => {
    const a = await client();
    const cookie = await a.cookie(k);
    await a.ask(req(k, cookie, { type: 'deposit', envelope: Buffer.from('secret envelope') }));
    const f = req(k, cookie, { type: 'fetch', after: 0n });
    const first = decodeMailbox((await a.ask(f))!);
    assert.ok(first.ok && first.value.type === 'items' && first.value.items.length === 1);
    const again = decodeMailbox((await a.ask(f))!);
    assert.ok(again.ok && again.value.type === 'mailboxError' && again.value.code === MailboxErrorCode.Replay, 'same address: replay');
    const eve = await client();
    const stolen = (await eve.ask(f))!;
    const d = decodeRendezvous(stolen);
    assert.ok(d.ok && d.value.type === 'cookie', 'another address: the captured cookie is not valid there');
    assert.ok(stolen.length <= f.length);
  });

  it('strangers (no room secret) can neither deposit nor fetch', async () => {
    const eve = await client();
    const theirs = roomMailboxKeys(randomBytes(32), periodOf(Date.now()));
    const cookie = await eve.cookie(theirs);
    for (const body of [{ type: 'deposit' as const, envelope: Buffer.from('spam') }, { type: 'fetch' as const, after: 0n }]) {
      const r = decodeMailbox((await eve.ask(req(k, cookie, body, theirs)))!);
      assert.ok(r.ok && r.value.type === 'mailboxError' && r.value.code === MailboxErrorCode.BadProof, body.type);
    }
    assert.equal(server.mailbox!.stats.deposits, 0);
  });
});
