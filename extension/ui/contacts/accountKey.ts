// The account's Ed25519 signing key (it signs the directory record and contact requests): like the
// X25519 identity (identity.ts), its private half lives in SecretStorage only, never in settings,
// globalState or a file; created on first use and shared by every window.
import type * as vscode from 'vscode';
import { generateSigningKey, signingKeyFromSeed, type SigningKeyPair } from '../../core/account/signing';

const SECRET_KEY = 'p2pChat.account.ed25519';

function decode(hex: string | undefined): SigningKeyPair | undefined {
  if (!hex || !/^[0-9a-f]{64}$/i.test(hex)) return undefined;
  try {
    return signingKeyFromSeed(Buffer.from(hex, 'hex'));
  } catch {
    return undefined;
  }
}

/** Throws when SecretStorage is unavailable: an account must not be signed with a key that is then lost. */
export async function loadSigningKey(secrets: vscode.SecretStorage): Promise<SigningKeyPair> {
  const existing = decode(await secrets.get(SECRET_KEY));
  if (existing) return existing;
  const fresh = generateSigningKey();
  await secrets.store(SECRET_KEY, fresh.seed.toString('hex'));
  // Two windows creating it at once: whichever write landed last is the key for both.
  return decode(await secrets.get(SECRET_KEY)) ?? fresh;
}
