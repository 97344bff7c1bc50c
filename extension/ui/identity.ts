// This user's long-term identity: an X25519 key pair whose private half lives in SecretStorage
// (the OS keychain where there is one), created on first use and shared by all windows.
import * as vscode from 'vscode';
import { inert } from '../core/inertText';
import { generateKeyPair, keyPairFromPrivate, type KeyPair } from '../core/noise/x25519';
import { notifyWarning } from './sinks';

const SECRET_KEY = 'p2pChat.identity.x25519';

function decode(hex: string | undefined): KeyPair | undefined {
  if (!hex || !/^[0-9a-f]{64}$/i.test(hex)) return undefined;
  try {
    return keyPairFromPrivate(Buffer.from(hex, 'hex'));
  } catch {
    return undefined;
  }
}

export async function loadIdentity(secrets: vscode.SecretStorage, log: vscode.LogOutputChannel): Promise<KeyPair> {
  try {
    const existing = decode(await secrets.get(SECRET_KEY));
    if (existing) return existing;
    const fresh = generateKeyPair();
    await secrets.store(SECRET_KEY, fresh.privateKey.toString('hex'));
    // Two windows creating it at once: whichever write landed last is the identity for both.
    const stored = decode(await secrets.get(SECRET_KEY)) ?? fresh;
    log.info('created a new identity key');
    return stored;
  } catch (err) {
    log.error(`SecretStorage is unavailable (${(err as Error).message}); using a temporary identity for this session`);
    void notifyWarning(inert`P2P Chat could not reach the secret storage, so your identity key is temporary: others will see a new key next time.`);
    return generateKeyPair();
  }
}
