// Small UDP program run inside lab namespaces (node -r tsx/cjs udp-tool.ts ...).
// Speaks JSON lines: commands on stdin, events on stdout. Exits when stdin closes,
// so its life is tied to the test that started it.
//
//   echo --bind 203.0.113.1 --ports 3479,3480
//     Answers every datagram with {"mapped":{address,port},"server":{address,port},"data":<payload>}
//     ("what is my address"). Stdin: {"op":"send","from":3480,"to":"ip:port","data":"..."}.
//   socket [--bind 0.0.0.0:40000]
//     One socket; prints {"ev":"recv",...} for what arrives and answers a "punch" with "punch-ack". Stdin ops:
//       {"op":"send","to":"ip:port","data":"x","count":1,"intervalMs":20,"untilReply":false}
//       {"op":"rtt","to":"ip:port","count":20,"intervalMs":20,"waitMs":1000}
//       {"op":"knock","to":"ip:port","waitMs":800}   fresh connected socket: replied|refused|silent
//       {"op":"stun","server":"ip:port","bindPort":0}
//       {"op":"turn","server":"ip:port","username":"...","password":"..."}   Allocate a UDP relay
//       {"op":"exit"}

import * as dgram from 'node:dgram';
import * as readline from 'node:readline';
import { turnAllocate } from './turn-probe';

type Json = Record<string, unknown>;

interface StunLib {
  request(url: string, opts: { socket?: dgram.Socket; timeout?: number; retries?: number }): Promise<{
    getXorAddress(): { address: string; port: number } | undefined;
  }>;
}

function emit(ev: Json): void {
  process.stdout.write(`${JSON.stringify(ev)}\n`);
}

function parseEndpoint(s: unknown): { address: string; port: number } {
  if (typeof s !== 'string') throw new Error(`endpoint must be "ip:port", got ${JSON.stringify(s)}`);
  const i = s.lastIndexOf(':');
  const port = Number(s.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`bad endpoint ${s}`);
  return { address: s.slice(0, i), port };
}

function num(o: Json, key: string, dflt: number): number {
  const v = o[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : dflt;
}

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}

function onStdinOps(handler: (op: Json) => Promise<void> | void): void {
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    if (line.trim() === '') return;
    let op: unknown;
    try {
      op = JSON.parse(line);
    } catch {
      emit({ ev: 'badCommand', line });
      return;
    }
    if (op === null || typeof op !== 'object') {
      emit({ ev: 'badCommand', line });
      return;
    }
    Promise.resolve()
      .then(() => handler(op as Json))
      .catch((e: unknown) => emit({ ev: 'opError', op: (op as Json).op, message: String(e instanceof Error ? e.message : e) }));
  });
  rl.on('close', () => process.exit(0));
}

function bindSocket(address: string, port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.once('error', reject);
    s.bind(port, address, () => {
      s.off('error', reject);
      resolve(s);
    });
  });
}

async function runEcho(): Promise<void> {
  const host = arg('bind', '0.0.0.0');
  const ports = arg('ports', '3479').split(',').map(Number);
  const log = process.argv.includes('--log');
  const sockets = new Map<number, dgram.Socket>();
  for (const port of ports) {
    const s = await bindSocket(host, port);
    s.on('message', (msg, rinfo) => {
      const reply = {
        mapped: { address: rinfo.address, port: rinfo.port },
        server: { address: host, port },
        data: msg.toString('utf8'),
      };
      if (log) emit({ ev: 'rx', port, from: `${rinfo.address}:${rinfo.port}` });
      s.send(JSON.stringify(reply), rinfo.port, rinfo.address);
    });
    s.on('error', (e) => emit({ ev: 'error', port, code: (e as NodeJS.ErrnoException).code, message: e.message }));
    sockets.set(port, s);
  }
  emit({ ev: 'listening', address: host, ports });
  onStdinOps((op) => {
    if (op.op === 'send') {
      const s = sockets.get(num(op, 'from', ports[0]));
      if (!s) throw new Error(`no socket on port ${String(op.from)}`);
      const to = parseEndpoint(op.to);
      s.send(String(op.data ?? ''), to.port, to.address);
      emit({ ev: 'sent', from: num(op, 'from', ports[0]), to: op.to });
    } else if (op.op === 'exit') {
      process.exit(0);
    } else {
      emit({ ev: 'badCommand', op: op.op });
    }
  });
}

async function runSocket(): Promise<void> {
  const bind = arg('bind', '0.0.0.0:0');
  const i = bind.lastIndexOf(':');
  const sock = await bindSocket(bind.slice(0, i), Number(bind.slice(i + 1)));
  const local = sock.address();
  // In-flight rtt probes: payload -> send time. Their echoes are consumed, not printed.
  const pendingRtt = new Map<string, { t: number; onReply: (ms: number) => void }>();
  const replyWaiters: Array<{ from: string; resolve: () => void }> = [];

  sock.on('message', (msg, rinfo) => {
    const from = `${rinfo.address}:${rinfo.port}`;
    const text = msg.toString('utf8');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    for (const w of replyWaiters.filter((x) => x.from === from)) {
      replyWaiters.splice(replyWaiters.indexOf(w), 1);
      w.resolve();
    }
    const data = json !== null && typeof json === 'object' && typeof (json as Json).data === 'string' ? ((json as Json).data as string) : undefined;
    if (data !== undefined && pendingRtt.has(data)) {
      const p = pendingRtt.get(data)!;
      pendingRtt.delete(data);
      p.onReply(Number(process.hrtime.bigint() / 1000n) / 1000 - p.t);
      return;
    }
    // A punch is answered, as a real peer would: the other side may stop
    // punching as soon as it hears us, so our own punches alone could all be
    // spent before its NAT had a mapping for us.
    if (text === 'punch') sock.send('punch-ack', rinfo.port, rinfo.address);
    emit({ ev: 'recv', from, data: text, ...(json !== undefined ? { json } : {}) });
  });
  sock.on('error', (e) => emit({ ev: 'error', code: (e as NodeJS.ErrnoException).code, message: e.message }));
  emit({ ev: 'bound', address: local.address, port: local.port });

  const nowMs = () => Number(process.hrtime.bigint() / 1000n) / 1000;
  const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
  let rttRun = 0;

  onStdinOps(async (op) => {
    switch (op.op) {
      case 'send': {
        const to = parseEndpoint(op.to);
        const key = `${to.address}:${to.port}`;
        const count = num(op, 'count', 1);
        const interval = num(op, 'intervalMs', 20);
        let replied = false;
        const waiter = { from: key, resolve: () => (replied = true) };
        if (op.untilReply === true) replyWaiters.push(waiter);
        let sent = 0;
        // `ttl`: these datagrams leave with that IP TTL (the option is put back once each has been sent).
        const ttl = typeof op.ttl === 'number' ? op.ttl : undefined;
        for (; sent < count && !replied; sent++) {
          if (ttl !== undefined) {
            sock.setTTL(ttl);
            await new Promise<void>((r) => sock.send(String(op.data ?? ''), to.port, to.address, () => r()));
            sock.setTTL(64);
          } else {
            sock.send(String(op.data ?? ''), to.port, to.address);
          }
          if (sent + 1 < count) await sleep(interval);
        }
        if (op.untilReply === true && !replied) await sleep(interval);
        if (replyWaiters.includes(waiter)) replyWaiters.splice(replyWaiters.indexOf(waiter), 1);
        emit({ ev: 'sendDone', to: key, sent, replied, tag: op.tag });
        break;
      }
      case 'rtt': {
        const to = parseEndpoint(op.to);
        const count = num(op, 'count', 20);
        const interval = num(op, 'intervalMs', 20);
        const run = ++rttRun;
        const samples: number[] = [];
        for (let seq = 0; seq < count; seq++) {
          const payload = `rtt:${run}:${seq}`;
          pendingRtt.set(payload, { t: nowMs(), onReply: (ms) => samples.push(ms) });
          sock.send(payload, to.port, to.address);
          await sleep(interval);
        }
        await sleep(num(op, 'waitMs', 1000));
        for (const k of [...pendingRtt.keys()]) if (k.startsWith(`rtt:${run}:`)) pendingRtt.delete(k);
        emit({ ev: 'rtt', to: op.to, sent: count, received: samples.length, samples, tag: op.tag });
        break;
      }
      case 'knock': {
        // A connected socket is the one kind that gets ICMP errors reported (ECONNREFUSED).
        const to = parseEndpoint(op.to);
        const s = dgram.createSocket('udp4');
        const result = await new Promise<string>((resolve) => {
          const timer = setTimeout(() => resolve('silent'), num(op, 'waitMs', 800));
          s.on('error', (e) => {
            clearTimeout(timer);
            resolve((e as NodeJS.ErrnoException).code === 'ECONNREFUSED' ? 'refused' : `error:${(e as NodeJS.ErrnoException).code}`);
          });
          s.on('message', () => {
            clearTimeout(timer);
            resolve('replied');
          });
          s.connect(to.port, to.address, () => {
            s.send(String(op.data ?? 'knock'));
            // A second datagram: the first ICMP error may race the recv being armed.
            setTimeout(() => {
              try {
                s.send(String(op.data ?? 'knock'));
              } catch {
                /* closed */
              }
            }, 100);
          });
        });
        s.close();
        emit({ ev: 'knock', to: op.to, result, tag: op.tag });
        break;
      }
      case 'stun': {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const stun = require('stun') as StunLib;
        const s = await bindSocket('0.0.0.0', num(op, 'bindPort', 0));
        const localPort = s.address().port;
        try {
          const res = await stun.request(`stun://${String(op.server)}`, { socket: s, timeout: 200, retries: 5 });
          const x = res.getXorAddress();
          emit({ ev: 'stun', server: op.server, localPort, address: x?.address, port: x?.port, tag: op.tag });
        } catch (e) {
          emit({ ev: 'stunError', server: op.server, message: e instanceof Error ? e.message : String(e), tag: op.tag });
        }
        break;
      }
      case 'turn': {
        const server = parseEndpoint(op.server);
        const s = await bindSocket('0.0.0.0', num(op, 'bindPort', 0));
        try {
          const r = await turnAllocate(s, server.address, server.port, String(op.username), String(op.password));
          emit({ ev: 'turn', server: op.server, ...r, tag: op.tag });
        } catch (e) {
          emit({ ev: 'turn', server: op.server, ok: false, code: -1, reason: e instanceof Error ? e.message : String(e), tag: op.tag });
        } finally {
          s.close();
        }
        break;
      }
      case 'exit':
        process.exit(0);
        break;
      default:
        emit({ ev: 'badCommand', op: op.op });
    }
  });
}

const mode = process.argv[2];
const main = mode === 'echo' ? runEcho : mode === 'socket' ? runSocket : undefined;
if (!main) {
  process.stderr.write('usage: udp-tool echo|socket [options]\n');
  process.exit(2);
}
main().catch((e: unknown) => {
  emit({ ev: 'fatal', message: e instanceof Error ? e.message : String(e) });
  process.exit(1);
});
