// A real UDP socket whose outgoing datagrams suffer loss, delay, jitter (hence reordering) and
// duplication: the "lossy proxy" in front of loopback sockets, without a third port to route through.
import * as dgram from 'node:dgram';

export interface Impairment {
  loss?: number;
  delayMs?: number;
  jitterMs?: number;
  duplicate?: number;
  seed?: number;
}

export interface ImpairedSocket {
  socket: dgram.Socket;
  stats: { sent: number; dropped: number; duplicated: number };
  close(): Promise<void>;
}

export async function impairedSocket(imp: Impairment, address = '127.0.0.1'): Promise<ImpairedSocket> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, address, () => r()));
  let seed = imp.seed ?? 1;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const stats = { sent: 0, dropped: 0, duplicated: 0 };
  const timers = new Set<NodeJS.Timeout>();
  const realSend = socket.send.bind(socket) as (...a: unknown[]) => void;
  let closed = false;
  (socket as unknown as { send: unknown }).send = (msg: Buffer, port: number, host: string, cb?: (e: Error | null) => void) => {
    stats.sent++;
    const copies = rnd() < (imp.duplicate ?? 0) ? 2 : 1;
    if (copies === 2) stats.duplicated++;
    for (let i = 0; i < copies; i++) {
      if (rnd() < (imp.loss ?? 0)) {
        stats.dropped++;
        continue;
      }
      const delay = (imp.delayMs ?? 0) + rnd() * (imp.jitterMs ?? 0);
      const data = Buffer.from(msg);
      const t = setTimeout(() => {
        timers.delete(t);
        if (!closed) realSend(data, port, host);
      }, delay);
      timers.add(t);
    }
    cb?.(null);
  };
  return {
    socket,
    stats,
    close: async () => {
      closed = true;
      for (const t of timers) clearTimeout(t);
      await new Promise<void>((r) => socket.close(() => r()));
    },
  };
}
