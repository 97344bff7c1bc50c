// Load generator for the rendezvous benchmark, run as its own process (bundled, bare Node).
// argv[2] is a JSON LoadSpec. Modes:
//   stun      STUN Binding requests; answers are Binding success responses.
//   register  cookie-verified register refreshes for members joined during setup (rooms of two, both
//             members behind one socket); answers are welcomes (each carries the other member's record).
//   topics    cookie-verified topicRegister refreshes of `members` topic clients (pairs sharing 56 topics,
//             kind peer), joined during setup; answers are topicAcks (each acknowledges 56 topics).
//   fill      only the setup: join `members` members, stop-and-wait per socket, then idle.
// Prints {"ready":...} after setup, then waits for a stdin line {"from":ms,"to":ms} (epoch ms): offers
// `rate` packets/s from then until `to`, counts answers received inside [from, to], prints {"done":...}.
import { randomBytes } from 'node:crypto';
import * as dgram from 'node:dgram';
import { createInterface } from 'node:readline';
import { COOKIE_BYTES, encodeRendezvous } from '../../extension/core/wire/rendezvous';
import { MAGIC, MsgType } from '../../extension/core/wire/header';
import { encodeTopic, MAX_TOPICS_PER_REGISTER, TopicKind, TopicMsgType } from '../../extension/core/wire/topics';

export interface LoadSpec {
  mode: 'stun' | 'register' | 'topics' | 'fill';
  host: string;
  port: number;
  rate: number;
  sockets: number;
  /** register and fill: members to join (rounded down to whole rooms of two per socket). */
  members?: number;
}

const spec = JSON.parse(process.argv[2]) as LoadSpec;
const out = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify(o) + '\n');

async function openSocket(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  try {
    s.setRecvBufferSize(4 * 1024 * 1024);
    s.setSendBufferSize(4 * 1024 * 1024);
  } catch {
    // capped: fine
  }
  s.on('error', () => undefined);
  return s;
}

const isWelcome = (m: Buffer) => m.length > 3 && m[0] === MAGIC && m[2] === MsgType.Welcome;
const isCookie = (m: Buffer) => m.length > 3 && m[0] === MAGIC && m[2] === MsgType.Cookie;
const isTopicAck = (m: Buffer) => m.length > 3 && m[0] === MAGIC && m[2] === TopicMsgType.Ack;
const isStunSuccess = (m: Buffer) => m.length >= 20 && m[0] === 0x01 && m[1] === 0x01;

function stunRequest(): Buffer {
  const b = Buffer.alloc(20);
  b.writeUInt16BE(0x0001, 0);
  b.writeUInt32BE(0x2112a442, 4);
  randomBytes(12).copy(b, 8);
  return b;
}

/** Resends `packet` until `answered` sees the answer (200 ms timeout, 20 tries). */
function exchange(sock: dgram.Socket, packet: Buffer, answered: (m: Buffer) => boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let tries = 0;
    const onMessage = (m: Buffer) => {
      if (!answered(m)) return;
      clearInterval(timer);
      sock.off('message', onMessage);
      resolve(m);
    };
    const send = () => {
      if (++tries > 20) {
        clearInterval(timer);
        sock.off('message', onMessage);
        reject(new Error('no answer after 20 tries'));
        return;
      }
      sock.send(packet, spec.port, spec.host);
    };
    sock.on('message', onMessage);
    const timer = setInterval(send, 200);
    send();
  });
}

function registerPacket(roomId: Buffer, peerId: Buffer, cookie: Buffer, i: number): Buffer {
  return encodeRendezvous({
    type: 'register',
    roomId,
    peerId,
    cookie,
    name: `member-${i}`,
    flags: 1,
    candidates: [
      { address: '192.168.1.23', port: 40000 + (i % 20000) },
      { address: '10.0.0.23', port: 40000 + (i % 20000) },
    ],
  });
}

async function main(): Promise<void> {
  const sockets = await Promise.all(Array.from({ length: spec.sockets }, openSocket));
  const perSocket: Buffer[][] = sockets.map(() => []);
  const t0 = performance.now();
  if (spec.mode === 'stun') {
    for (const list of perSocket) for (let i = 0; i < 256; i++) list.push(stunRequest());
  } else if (spec.mode === 'topics') {
    const pairsPerSocket = Math.max(1, Math.floor((spec.members ?? 200) / spec.sockets / 2));
    await Promise.all(
      sockets.map(async (sock, s) => {
        const zero = Buffer.alloc(COOKIE_BYTES);
        const reg = (cookie: Buffer, clientId: Buffer, topics: Buffer[]) =>
          encodeTopic({ type: 'topicRegister', cookie, clientId, seq: 1, options: 0, flags: 1, candidates: [{ address: '192.168.1.23', port: 40000 + s }], topics: topics.map((topic) => ({ topic, kind: TopicKind.Peer })) });
        const reply = await exchange(sock, reg(zero, randomBytes(16), []), isCookie);
        const cookie = Buffer.from(reply.subarray(3, 3 + COOKIE_BYTES));
        for (let p = 0; p < pairsPerSocket; p++) {
          const topics = Array.from({ length: MAX_TOPICS_PER_REGISTER }, () => randomBytes(16));
          for (let k = 0; k < 2; k++) perSocket[s].push(reg(cookie, randomBytes(16), topics));
        }
        for (const p of perSocket[s]) await exchange(sock, p, isTopicAck);
      }),
    );
  } else {
    const roomsPerSocket = Math.max(1, Math.floor((spec.members ?? 1000) / spec.sockets / 2));
    await Promise.all(
      sockets.map(async (sock, s) => {
        const zero = Buffer.alloc(COOKIE_BYTES);
        const probeRoom = randomBytes(32);
        const reply = await exchange(sock, registerPacket(probeRoom, randomBytes(32), zero, 0), isCookie);
        const cookie = Buffer.from(reply.subarray(3, 3 + COOKIE_BYTES));
        for (let r = 0; r < roomsPerSocket; r++) {
          const roomId = randomBytes(32);
          for (let k = 0; k < 2; k++) perSocket[s].push(registerPacket(roomId, randomBytes(32), cookie, r * 2 + k));
        }
        // Join one at a time per socket: a welcome answers the one register outstanding.
        for (const p of perSocket[s]) await exchange(sock, p, isWelcome);
      }),
    );
  }
  const members = perSocket.reduce((n, l) => n + l.length, 0);
  out({ ready: true, setupSeconds: (performance.now() - t0) / 1000, ...(spec.mode === 'stun' ? {} : { members }) });
  if (spec.mode === 'fill') {
    process.stdin.resume();
    process.stdin.on('end', () => process.exit(0));
    return;
  }

  const line = await new Promise<string>((r) => createInterface({ input: process.stdin }).once('line', r));
  const { from, to } = JSON.parse(line) as { from: number; to: number };
  let answers = 0;
  let otherIn = 0;
  let sent = 0;
  let sentInWindow = 0;
  const isAnswer = spec.mode === 'stun' ? isStunSuccess : spec.mode === 'topics' ? isTopicAck : isWelcome;
  for (const sock of sockets) {
    sock.on('message', (m) => {
      const t = Date.now();
      if (t < from || t > to) return;
      if (isAnswer(m)) answers++;
      else otherIn++;
    });
  }
  const start = Date.now();
  const cursor = sockets.map(() => 0);
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = Date.now();
      if (now >= to) return resolve();
      const due = Math.floor(((now - start) * spec.rate) / 1000) - sent;
      for (let i = 0; i < due; i++) {
        const s = sent % sockets.length;
        const list = perSocket[s];
        sockets[s].send(list[cursor[s]++ % list.length], spec.port, spec.host);
        sent++;
        if (now >= from) sentInWindow++;
      }
      setTimeout(tick, 1);
    };
    tick();
  });
  await new Promise((r) => setTimeout(r, 300));
  out({ done: true, answers, otherIn, sent, sentInWindow, windowSeconds: (to - from) / 1000 });
  process.exit(0);
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
