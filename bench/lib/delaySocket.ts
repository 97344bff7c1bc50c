// A loopback UDP socket that holds each outgoing datagram for a fixed time before sending it: a
// link with one-way delay, without netem (not available here) or a proxy port in the path.
import * as dgram from 'node:dgram';

export interface DelaySocket {
  socket: dgram.Socket;
  close(): Promise<void>;
}

export async function delaySocket(delayMs: number, address = '127.0.0.1'): Promise<DelaySocket> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, address, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;
  const realSend = socket.send.bind(socket) as (msg: Buffer, port: number, host: string, cb?: (e: Error | null) => void) => void;
  // Only the (msg, port, address[, cb]) form is used by the room host and the rendezvous server.
  (socket as unknown as { send: unknown }).send = (msg: Buffer, port: number, host: string, cb?: (e: Error | null) => void) => {
    const data = Buffer.from(msg); // callers may reuse their buffer
    const t = setTimeout(() => {
      timers.delete(t);
      if (!closed) realSend(data, port, host, () => undefined);
    }, delayMs);
    timers.add(t);
    cb?.(null);
  };
  return {
    socket,
    async close() {
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      // The rendezvous server closes the sockets it was given; closing twice would throw.
      await new Promise<void>((r) => {
        try {
          socket.close(() => r());
        } catch {
          r();
        }
      });
    },
  };
}
