// One directory request over a fresh UDP socket: the I/O shell around DirectoryRequest for one-shot
// commands (the terminal peer's signup / whois / account). Resolves; never rejects on network trouble
// (a dead server is the `timeout` outcome).
import * as dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { DirectoryOp, DirectoryOutcome, DirectoryRequest, DirectoryRequestOptions } from '../account/directoryClient';

export interface DirectoryServer {
  host: string;
  port: number;
}

export interface DirectoryCallResult {
  outcome: DirectoryOutcome;
  /** The cookie to reuse for a next call to the same server. */
  cookie: Buffer;
  /** The address the host name resolved to. */
  address?: string;
}

export async function directoryCall(server: DirectoryServer, op: DirectoryOp, opts: DirectoryRequestOptions = {}): Promise<DirectoryCallResult> {
  let address: string;
  try {
    address = isIP(server.host) ? server.host : (await lookup(server.host)).address;
  } catch (e) {
    return { outcome: { ok: false, kind: 'timeout', message: `cannot resolve ${server.host}: ${(e as Error).message}` }, cookie: opts.cookie ?? Buffer.alloc(16) };
  }
  const sock = dgram.createSocket(isIP(address) === 6 ? 'udp6' : 'udp4');
  const now = () => performance.now();
  const req = new DirectoryRequest(op, now(), opts);
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      if (timer) clearTimeout(timer);
      sock.close();
      resolve({ outcome: req.result!, cookie: req.cookie, address });
    };
    const pump = () => {
      for (const d of req.takeOutgoing()) sock.send(d, server.port, address);
      if (req.done) return finish();
      const at = req.nextWakeup();
      if (timer) clearTimeout(timer);
      if (at !== undefined) {
        timer = setTimeout(() => {
          req.tick(now());
          pump();
        }, Math.max(0, at - now()));
      }
    };
    sock.on('message', (buf, rinfo) => {
      // Only the server's address may answer (a stray sender cannot end our request).
      if (rinfo.port !== server.port || rinfo.address.replace(/^::ffff:/, '') !== address.replace(/^::ffff:/, '')) return;
      req.receive(buf, now());
      pump();
    });
    sock.on('error', () => {
      // ICMP unreachable and the like: keep retrying until the deadline, as for silence.
    });
    sock.bind(0, () => pump());
  });
}
