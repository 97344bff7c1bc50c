// Time-limited TURN credentials in coturn's REST / shared-secret scheme (`use-auth-secret`):
// coturn recomputes the password from the username and refuses it once the expiry has passed,
// so the rendezvous hands them out without talking to coturn.
import { createHmac } from 'node:crypto';
import { Endpoint } from '../extension/core/wire/endpoint';
import { TurnCredentials } from '../extension/core/wire/rendezvous';

export interface TurnConfig {
  server: Endpoint;
  secret: string;
  ttlSeconds: number;
}

/** Enough of the peer id for coturn's logs to tell sessions apart; the full id stays private. */
export const TURN_USER_ID_BYTES = 8;

export function turnCredentials(cfg: TurnConfig, peerId: Uint8Array, wallNowMs: number): TurnCredentials {
  const expiry = Math.floor(wallNowMs / 1000) + cfg.ttlSeconds;
  const username = `${expiry}:${Buffer.from(peerId.subarray(0, TURN_USER_ID_BYTES)).toString('hex')}`;
  const password = createHmac('sha1', cfg.secret).update(username).digest('base64');
  return { server: cfg.server, username, password, ttlSeconds: cfg.ttlSeconds };
}
