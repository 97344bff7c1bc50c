// Just enough TURN (RFC 8656) client to prove a coturn in the lab hands out a
// relay for credentials made from its shared secret: Allocate, take the 401's
// realm and nonce, Allocate again with long-term-credential MESSAGE-INTEGRITY.
// Test tooling only; the product has its own codecs.

import { createHash, createHmac, randomBytes } from 'node:crypto';
import type * as dgram from 'node:dgram';

const MAGIC = 0x2112a442;
const ALLOCATE_REQUEST = 0x0003;
const ALLOCATE_SUCCESS = 0x0103;
const ALLOCATE_ERROR = 0x0113;

const ATTR = {
  USERNAME: 0x0006,
  MESSAGE_INTEGRITY: 0x0008,
  ERROR_CODE: 0x0009,
  REALM: 0x0014,
  NONCE: 0x0015,
  XOR_RELAYED_ADDRESS: 0x0016,
  REQUESTED_TRANSPORT: 0x0019,
  XOR_MAPPED_ADDRESS: 0x0020,
} as const;

interface Attr {
  type: number;
  value: Buffer;
}

function encode(type: number, txid: Buffer, attrs: readonly Attr[], integrityKey?: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (const a of attrs) {
    const h = Buffer.alloc(4);
    h.writeUInt16BE(a.type, 0);
    h.writeUInt16BE(a.value.length, 2);
    const pad = Buffer.alloc((4 - (a.value.length % 4)) % 4);
    parts.push(h, a.value, pad);
  }
  let body = Buffer.concat(parts);
  const header = (len: number) => {
    const b = Buffer.alloc(20);
    b.writeUInt16BE(type, 0);
    b.writeUInt16BE(len, 2);
    b.writeUInt32BE(MAGIC, 4);
    txid.copy(b, 8);
    return b;
  };
  if (integrityKey) {
    // The length in the header covers MESSAGE-INTEGRITY itself (24 bytes) when the HMAC is computed.
    const hmac = createHmac('sha1', integrityKey).update(Buffer.concat([header(body.length + 24), body])).digest();
    const mi = Buffer.alloc(4);
    mi.writeUInt16BE(ATTR.MESSAGE_INTEGRITY, 0);
    mi.writeUInt16BE(20, 2);
    body = Buffer.concat([body, mi, hmac]);
  }
  return Buffer.concat([header(body.length), body]);
}

interface Decoded {
  type: number;
  txid: Buffer;
  attrs: Map<number, Buffer>;
}

function decode(buf: Buffer): Decoded | undefined {
  if (buf.length < 20 || buf.readUInt32BE(4) !== MAGIC) return undefined;
  const len = buf.readUInt16BE(2);
  if (20 + len > buf.length) return undefined;
  const attrs = new Map<number, Buffer>();
  let off = 20;
  while (off + 4 <= 20 + len) {
    const t = buf.readUInt16BE(off);
    const l = buf.readUInt16BE(off + 2);
    if (off + 4 + l > buf.length) return undefined;
    if (!attrs.has(t)) attrs.set(t, buf.subarray(off + 4, off + 4 + l));
    off += 4 + l + ((4 - (l % 4)) % 4);
  }
  return { type: buf.readUInt16BE(0), txid: buf.subarray(8, 20), attrs };
}

function xorAddress(v: Buffer | undefined): string | undefined {
  if (!v || v.length < 8 || v[1] !== 0x01) return undefined;
  const port = v.readUInt16BE(2) ^ (MAGIC >>> 16);
  const a = v.readUInt32BE(4) ^ MAGIC;
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}:${port}`;
}

function transact(sock: dgram.Socket, msg: Buffer, txid: Buffer, host: string, port: number): Promise<Decoded> {
  return new Promise((resolve, reject) => {
    let tries = 0;
    let timer: NodeJS.Timeout | undefined;
    const send = () => {
      if (++tries > 6) {
        cleanup();
        reject(new Error('no answer from TURN server'));
        return;
      }
      sock.send(msg, port, host);
      timer = setTimeout(send, 250);
    };
    const onMsg = (buf: Buffer) => {
      const d = decode(buf);
      if (d && d.txid.equals(txid)) {
        cleanup();
        resolve(d);
      }
    };
    const cleanup = () => {
      clearTimeout(timer);
      sock.off('message', onMsg);
    };
    sock.on('message', onMsg);
    send();
  });
}

export type AllocateResult =
  | { ok: true; relayed: string; mapped: string | undefined }
  | { ok: false; code: number; reason: string };

function errorOf(d: Decoded): { code: number; reason: string } {
  const e = d.attrs.get(ATTR.ERROR_CODE);
  if (!e || e.length < 4) return { code: 0, reason: 'no ERROR-CODE' };
  return { code: (e[2] & 7) * 100 + e[3], reason: e.subarray(4).toString('utf8') };
}

/** Allocate a UDP relay with long-term credentials (username/password as coturn's use-auth-secret expects). */
export async function turnAllocate(
  sock: dgram.Socket,
  host: string,
  port: number,
  username: string,
  password: string,
): Promise<AllocateResult> {
  const transport: Attr = { type: ATTR.REQUESTED_TRANSPORT, value: Buffer.from([17, 0, 0, 0]) };
  const tx1 = randomBytes(12);
  const first = await transact(sock, encode(ALLOCATE_REQUEST, tx1, [transport]), tx1, host, port);
  if (first.type !== ALLOCATE_ERROR) return { ok: false, code: 0, reason: `unexpected type ${first.type}` };
  const err1 = errorOf(first);
  const realm = first.attrs.get(ATTR.REALM);
  const nonce = first.attrs.get(ATTR.NONCE);
  if (err1.code !== 401 || !realm || !nonce) return { ok: false, ...err1 };
  const key = createHash('md5').update(`${username}:${realm.toString('utf8')}:${password}`).digest();
  const tx2 = randomBytes(12);
  const second = await transact(
    sock,
    encode(
      ALLOCATE_REQUEST,
      tx2,
      [transport, { type: ATTR.USERNAME, value: Buffer.from(username) }, { type: ATTR.REALM, value: realm }, { type: ATTR.NONCE, value: nonce }],
      key,
    ),
    tx2,
    host,
    port,
  );
  if (second.type === ALLOCATE_SUCCESS) {
    const relayed = xorAddress(second.attrs.get(ATTR.XOR_RELAYED_ADDRESS));
    if (!relayed) return { ok: false, code: 0, reason: 'success without XOR-RELAYED-ADDRESS' };
    return { ok: true, relayed, mapped: xorAddress(second.attrs.get(ATTR.XOR_MAPPED_ADDRESS)) };
  }
  return { ok: false, ...errorOf(second) };
}
