// What the terminal peer keeps about contacts under --data-dir (beside accountFiles.ts's files):
//   contacts.json   the contact book (pinned static keys; state requested | accepted)
//   requests.json   strangers' pending requests and the blocked keys
//   inbox.json      our request token when we have no account (a contact link still needs one)
// Written atomically (temp + fsync + rename). A `contacts --watch` process and one-shot commands such
// as `accept` share these files: each reads them fresh before it changes them.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { newRequestToken } from '../core/account/record';
import type { Contact } from '../core/contacts/book';
import type { InboxState } from '../core/contacts/requests';
import { ensureDir, loadAccounts, writeFileAtomic } from './accountFiles';

function readJson<T>(file: string, fallback: T): T {
  if (!existsSync(file)) return fallback;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    throw new Error(`${file} is not valid JSON`);
  }
}

export function loadContacts(dir: string): Contact[] {
  const v = readJson<unknown>(join(dir, 'contacts.json'), []);
  return Array.isArray(v) ? (v as Contact[]) : [];
}

export function saveContacts(dir: string, list: Contact[]): void {
  ensureDir(dir);
  writeFileAtomic(join(dir, 'contacts.json'), JSON.stringify(list, null, 2) + '\n');
}

export function loadInbox(dir: string): InboxState {
  const v = readJson<Partial<InboxState>>(join(dir, 'requests.json'), {});
  return { requests: Array.isArray(v.requests) ? v.requests : [], blocked: Array.isArray(v.blocked) ? v.blocked : [] };
}

export function saveInbox(dir: string, s: InboxState): void {
  ensureDir(dir);
  writeFileAtomic(join(dir, 'requests.json'), JSON.stringify(s, null, 2) + '\n');
}

/**
 * Our request token on this server: the account's (so links and the signed record agree), else a local
 * one made on first use. Rotating it (a new account record) revokes links given out before.
 */
export function requestTokenFor(dir: string, serverKey: string): Buffer {
  const acct = loadAccounts(dir)[serverKey];
  if (acct && !acct.deleted && /^[0-9a-f]{32}$/.test(acct.requestToken)) return Buffer.from(acct.requestToken, 'hex');
  const file = join(dir, 'inbox.json');
  const v = readJson<{ requestToken?: string }>(file, {});
  if (v.requestToken && /^[0-9a-f]{32}$/.test(v.requestToken)) return Buffer.from(v.requestToken, 'hex');
  const token = newRequestToken();
  ensureDir(dir);
  writeFileAtomic(file, JSON.stringify({ requestToken: token.toString('hex') }, null, 2) + '\n');
  return token;
}
