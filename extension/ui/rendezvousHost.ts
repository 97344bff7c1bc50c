// The embedded rendezvous (an editor hosting the room it starts): the one part of the extension that
// carries the rendezvous server's code. Its own bundle, dist/rendezvousHost.js, loaded by
// roomSession.ts only when a room is hosted, so the extension bundle stays small.
import { createLogger } from '../../rendezvous/log';
import { RendezvousServer } from '../../rendezvous/server';
import type { EmbeddedRendezvous, StartEmbeddedOptions } from './roomSession';

export async function startEmbeddedRendezvous(opts: StartEmbeddedOptions): Promise<EmbeddedRendezvous> {
  const log = opts.log ?? (() => undefined);
  const random = opts.random ?? Math.random;
  const logger = createLogger({
    level: 'info',
    sink: (line) => log('debug', `rendezvous: ${line}`),
  });
  const tries: number[] = [opts.preferredPort];
  if (!opts.exact) {
    for (let i = 0; i < (opts.attempts ?? 8); i++) tries.push(20000 + Math.floor(random() * 40000));
    tries.push(0);
  }
  let lastError: unknown;
  for (const port of tries) {
    const server = new RendezvousServer({ host: opts.bindHost ?? '0.0.0.0', port, probePort: port === 0 ? 0 : port + 1, logger });
    try {
      const bound = await server.start();
      if (port !== opts.preferredPort) log('warn', `rendezvous port ${opts.preferredPort} is taken; hosting on ${bound.port} instead`);
      return { server, port: bound.port, probePort: bound.probePort };
    } catch (err) {
      lastError = err;
      await server.stop().catch(() => undefined);
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EADDRINUSE' && code !== 'EACCES') break;
    }
  }
  throw new Error(`could not host a rendezvous server: ${(lastError as Error)?.message ?? lastError}`);
}
