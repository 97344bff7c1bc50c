// What the terminal peer keeps about accounts under --data-dir:
//   identity.key       X25519 Noise static key (hex; the same file `join` uses)
//   signing.key        Ed25519 account signing key (hex seed), created beside it
//   accounts.json      per server: handle, display name, request token, last version
//   directory-pins.json per looked-up address: the highest version seen and the keys (rollback / key-change detection)
// Keys are written 0600 in a 0700 directory, by write-temp + fsync + rename so a crash leaves the old or the new file.
import { chmodSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPair, keyPairFromPrivate, type KeyPair } from '../core/noise';
import { generateSigningKey, signingKeyFromSeed, type SigningKeyPair } from '../core/account/signing';

export function writeFileAtomic(file: string, data: string, mode = 0o600): void {
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  chmodSync(file, mode);
}

function readHexKey(file: string): Buffer | undefined {
  if (!existsSync(file)) return undefined;
  const hex = readFileSync(file, 'utf8').trim();
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`${file} is not a 32-byte hex key`);
  return Buffer.from(hex, 'hex');
}

export function ensureDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

export function loadIdentity(dir: string, create: boolean): KeyPair | undefined {
  const raw = readHexKey(join(dir, 'identity.key'));
  if (raw) return keyPairFromPrivate(raw);
  if (!create) return undefined;
  ensureDir(dir);
  const kp = generateKeyPair();
  writeFileAtomic(join(dir, 'identity.key'), kp.privateKey.toString('hex') + '\n');
  return kp;
}

export function loadSigningKey(dir: string, create: boolean): SigningKeyPair | undefined {
  const raw = readHexKey(join(dir, 'signing.key'));
  if (raw) return signingKeyFromSeed(raw);
  if (!create) return undefined;
  ensureDir(dir);
  const k = generateSigningKey();
  writeFileAtomic(join(dir, 'signing.key'), k.seed.toString('hex') + '\n');
  return k;
}

/** Replace both keys after a rotation the server acknowledged; the old ones are kept as *.old-<version>. */
export function installRotatedKeys(dir: string, identity: KeyPair, signing: SigningKeyPair, oldVersion: number): void {
  for (const f of ['identity.key', 'signing.key']) {
    if (existsSync(join(dir, f))) writeFileAtomic(join(dir, `${f}.old-${oldVersion}`), readFileSync(join(dir, f), 'utf8'));
  }
  writeFileAtomic(join(dir, 'identity.key'), identity.privateKey.toString('hex') + '\n');
  writeFileAtomic(join(dir, 'signing.key'), signing.seed.toString('hex') + '\n');
}

export interface LocalAccount {
  handle: string;
  displayName: string;
  /** Hex. */
  requestToken: string;
  version: number;
  /** Set once deleted: the version the deletion used (a new sign-up must go above it). */
  deleted?: boolean;
  /** A sign-up sent but not yet acknowledged: a retry resends exactly this record. */
  pending?: boolean;
  /** Keys generated for a rotation not yet acknowledged (hex private parts): reused by a retry. */
  pendingRotation?: { identity: string; signing: string };
}

export type AccountsFile = Record<string, LocalAccount>;

export function loadAccounts(dir: string): AccountsFile {
  const file = join(dir, 'accounts.json');
  if (!existsSync(file)) return {};
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return v && typeof v === 'object' ? (v as AccountsFile) : {};
  } catch {
    throw new Error(`${file} is not valid JSON`);
  }
}

export function saveAccounts(dir: string, a: AccountsFile): void {
  ensureDir(dir);
  writeFileAtomic(join(dir, 'accounts.json'), JSON.stringify(a, null, 2) + '\n');
}

export interface Pin {
  version: number;
  signingKey: string;
  staticKey: string;
}

export function loadPins(dir: string): Record<string, Pin> {
  const file = join(dir, 'directory-pins.json');
  if (!existsSync(file)) return {};
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, Pin>;
  } catch {
    return {};
  }
}

export function savePins(dir: string, pins: Record<string, Pin>): void {
  ensureDir(dir);
  writeFileAtomic(join(dir, 'directory-pins.json'), JSON.stringify(pins, null, 2) + '\n');
}
