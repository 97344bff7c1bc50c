// The operator's HTTP port (`--http-port`): /healthz, /metrics and the public contact pages /@handle.
// node:http only; GET and HEAD only; nothing here touches the UDP path.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RedisRoomRegistry } from './cluster/registry';
import { ContactLookup, handleFromPath, notFoundPage, PAGE_HEADERS, renderContactPage } from './contactPage';
import type { Logger } from './log';
import type { Metrics } from './metrics';
import type { RendezvousServer } from './server';

export interface HttpOptions {
  host: string;
  port: number;
  server: RendezvousServer;
  metrics: Metrics;
  registry?: RedisRoomRegistry;
  /** The account directory's lookup for contact pages; without it /@handle answers 404. */
  contacts?: ContactLookup;
  logger?: Logger;
}

export interface Health {
  ready: boolean;
  sockets: boolean;
  redis: 'off' | 'up' | 'down';
  redisMs?: number;
}

/** Ready only when both UDP sockets are open and, if configured, Redis answers a PING now. */
export async function health(server: RendezvousServer, registry?: RedisRoomRegistry): Promise<Health> {
  const sockets = server.listening;
  if (!registry) return { ready: sockets, sockets, redis: 'off' };
  try {
    const s = await Promise.race([registry.ping(), new Promise<never>((_, rej) => setTimeout(() => rej(new Error('timeout')), 1000).unref())]);
    return { ready: sockets && registry.connected, sockets, redis: registry.connected ? 'up' : 'down', redisMs: Math.round(s * 1e6) / 1e3 };
  } catch {
    return { ready: false, sockets, redis: 'down' };
  }
}

export class HttpFace {
  private srv?: http.Server;

  constructor(private readonly opts: HttpOptions) {}

  async start(): Promise<{ host: string; port: number }> {
    const srv = http.createServer((req, res) => {
      this.handle(req, res).catch((err: Error) => {
        this.opts.logger?.warn('http-error', { error: err.message });
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('internal error\n');
      });
    });
    srv.headersTimeout = 10_000;
    srv.requestTimeout = 15_000;
    srv.keepAliveTimeout = 5_000;
    srv.maxHeadersCount = 50;
    // A public page must not let one visitor hold every file descriptor.
    srv.maxConnections = 1024;
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(this.opts.port, this.opts.host, () => {
        srv.off('error', reject);
        resolve();
      });
    });
    this.srv = srv;
    const a = srv.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  async stop(): Promise<void> {
    const srv = this.srv;
    this.srv = undefined;
    if (!srv) return;
    srv.closeAllConnections();
    await new Promise<void>((resolve) => srv.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      return void res.end('method not allowed\n');
    }
    let path: string;
    try {
      path = new URL(req.url ?? '/', 'http://x').pathname;
    } catch {
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
      return void res.end('bad request\n');
    }
    const send = (status: number, headers: Record<string, string>, body: string) => {
      res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
      res.end(head ? undefined : body);
    };
    if (path === '/healthz') {
      const h = await health(this.opts.server, this.opts.registry);
      return send(h.ready ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' }, JSON.stringify(h) + '\n');
    }
    if (path === '/metrics') {
      const text = await this.opts.metrics.render();
      return send(200, { 'content-type': this.opts.metrics.registry.contentType, 'cache-control': 'no-store' }, text);
    }
    if (path.startsWith('/@')) {
      const handle = handleFromPath(path);
      const card = handle && this.opts.contacts ? await this.opts.contacts(handle, req.socket.remoteAddress ?? '?') : undefined;
      if (!card) return send(404, PAGE_HEADERS, notFoundPage());
      return send(200, PAGE_HEADERS, await renderContactPage(card));
    }
    send(404, { 'content-type': 'text/plain; charset=utf-8' }, 'not found\n');
  }
}
