// The two Redis connections a registry needs: one for commands and one for (sharded) subscriptions, which
// RESP2 puts in subscriber mode. Shared by the room and topic registries so both fail the same way while
// Redis is away.
import Redis from 'ioredis';
import type { Logger } from '../log';

export interface RedisPair {
  cmd: Redis;
  sub: Redis;
}

export function openRedisPair(url: string, name: string, opts: { maxReconnectDelayMs?: number; logger?: Logger }): RedisPair {
  const common = {
    // Fail fast while Redis is away: the UDP path must never wait for it.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    lazyConnect: true,
    retryStrategy: (times: number) => Math.min(50 * times, opts.maxReconnectDelayMs ?? 1000),
  };
  const cmd = new Redis(url, { ...common, connectionName: name });
  // The subscriber queues its (re)subscriptions while connecting; ioredis re-subscribes on reconnect.
  const sub = new Redis(url, { ...common, connectionName: `${name}-sub`, enableOfflineQueue: true, maxRetriesPerRequest: null });
  for (const c of [cmd, sub]) c.on('error', (err: Error) => opts.logger?.debug('redis-error', { error: err.message }));
  return { cmd, sub };
}
