// `p2p-chat signup | whois | account …`: the terminal peer's account commands. One directory request
// each (extension/core/net/directoryCall.ts); every record received is verified before it is shown.
//
// Exit codes: 0 done; 1 no answer (server down or unreachable) or a local file problem; 2 usage or an
// invalid handle/name; 3 the server refused (the reason is printed); 4 the directory answered with a
// record that does not verify (rejected, and logged).
import { writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { unsafeCharsRegExp } from '../shared/invisibleChars';
import { parseServer, type ServerAddress } from '../core/invite';
import { fingerprint, generateKeyPair, keyPairFromPrivate, type KeyPair } from '../core/noise';
import { formatAccountAddress, HANDLE_RULE, parseAccountAddress, parseHandle } from '../core/account/handle';
import { AccountFields, AccountRecord, displayNameError, newRequestToken, signDeletion, signRecord, signRotation } from '../core/account/record';
import { generateSigningKey, signingKeyFromSeed, type SigningKeyPair } from '../core/account/signing';
import type { DirectoryOp, DirectoryOutcome } from '../core/account/directoryClient';
import { directoryCall } from '../core/net/directoryCall';
import { installRotatedKeys, loadAccounts, loadIdentity, loadPins, loadSigningKey, saveAccounts, savePins, type LocalAccount } from './accountFiles';

export const ACCOUNT_COMMANDS = new Set(['signup', 'whois', 'account']);

export const ACCOUNT_HELP = `Accounts (a handle on a rendezvous server's directory; chat stays peer to peer):
  p2p-chat signup NAME --rendezvous HOST:PORT [--display-name TEXT]   claim NAME@HOST[:PORT]
  p2p-chat whois NAME@HOST[:PORT]          look an account up; prints its verified keys and fingerprint
                                           (pinned: a lower version is refused; changed keys need --accept-new-key)
  p2p-chat account [show]                  your account(s) in --data-dir
  p2p-chat account rename TEXT             change your display name
  p2p-chat account new-token               a new request token: old contact links stop working
  p2p-chat account rotate                  new keys, signed by the old ones (contacts see a new fingerprint)
  p2p-chat account delete                  delete the account from the server
  Options: --data-dir DIR, --json, --rendezvous HOST:PORT (which account, when you have several), --timeout S
  Handles: ${HANDLE_RULE}.
  Exit codes: 0 done, 1 no answer from the server, 2 bad input, 3 refused by the server, 4 record did not verify.
`;

type Out = (event: string, fields: Record<string, unknown>, human: string) => void;

function printer(json: boolean): { out: Out; fail: (code: number, event: string, fields: Record<string, unknown>, human: string) => number } {
  const out: Out = (event, fields, human) => {
    if (json) writeSync(1, `${JSON.stringify({ event, t: Date.now(), ...fields })}\n`);
    else if (human) writeSync(1, `${human}\n`);
  };
  const fail = (code: number, event: string, fields: Record<string, unknown>, human: string) => {
    if (json) writeSync(1, `${JSON.stringify({ event, t: Date.now(), exitCode: code, ...fields })}\n`);
    writeSync(2, `p2p-chat: ${human}\n`);
    return code;
  };
  return { out, fail };
}

// Terminal output must not let a server or a peer drive the terminal, nor hide or reorder text: the
// characters every sink strips (shared/invisibleChars.ts) are shown escaped, as the chat's own output does.
const TERMINAL_UNSAFE = unsafeCharsRegExp();
function inert(s: string): string {
  return s.replace(TERMINAL_UNSAFE, (c) => {
    const cp = c.codePointAt(0)!;
    return cp > 0xffff ? `\\u{${cp.toString(16)}}` : `\\u${cp.toString(16).padStart(4, '0')}`;
  });
}

const serverKey = (s: ServerAddress) => (s.host.includes(':') ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`);

function describeRecord(rec: AccountRecord, server: ServerAddress): Record<string, unknown> {
  return {
    address: formatAccountAddress({ handle: rec.handle, host: server.host, port: server.port }),
    handle: rec.handle,
    displayName: rec.displayName,
    version: Number(rec.version),
    fingerprint: fingerprint(rec.staticKey),
    staticKey: rec.staticKey.toString('hex'),
    signingKey: rec.signingKey.toString('hex'),
    requestToken: rec.requestToken.toString('hex'),
  };
}

function outcomeFailure(fail: ReturnType<typeof printer>['fail'], o: Exclude<DirectoryOutcome, { ok: true }>, server: ServerAddress, what: string): number {
  if (o.kind === 'timeout') return fail(1, 'error', { kind: 'timeout', message: o.message }, `${what}: no answer from ${serverKey(server)}: is the server running and reachable?`);
  if (o.kind === 'unverified') return fail(4, 'rejected', { kind: 'unverified', message: o.message }, `${what}: the directory's answer was rejected: ${o.message}`);
  return fail(3, 'refused', { kind: 'refused', status: o.status, code: o.code, message: o.message }, `${what}: refused by ${serverKey(server)}: ${o.status}: ${o.message}`);
}

export async function runAccountCommand(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        rendezvous: { type: 'string' },
        'display-name': { type: 'string' },
        json: { type: 'boolean', default: false },
        'data-dir': { type: 'string' },
        timeout: { type: 'string' },
        'accept-new-key': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    writeSync(2, `p2p-chat: ${(e as Error).message}\n\n${ACCOUNT_HELP}`);
    return 2;
  }
  const o = args.values;
  if (o.help) {
    writeSync(1, ACCOUNT_HELP);
    return 0;
  }
  const { out, fail } = printer(o.json === true);
  const usage = (msg: string) => fail(2, 'error', { kind: 'usage', message: msg }, `${msg}\n\n${ACCOUNT_HELP}`);
  const [command, ...rest] = args.positionals;
  const dataDir = o['data-dir'] ?? join(homedir(), '.p2p-chat');
  const timeoutS = o.timeout !== undefined ? Number(o.timeout) : 8;
  if (!(timeoutS > 0 && timeoutS <= 600)) return usage('--timeout must be a number of seconds between 0 and 600');
  const callOpts = { timeoutMs: timeoutS * 1000 };
  let server: ServerAddress | undefined;
  if (o.rendezvous !== undefined) {
    server = parseServer(o.rendezvous);
    if (!server) return usage(`--rendezvous must be HOST:PORT, got "${inert(o.rendezvous)}"`);
  }

  try {
    switch (command) {
      case 'signup': {
        if (rest.length !== 1) return usage('signup needs exactly one NAME');
        if (!server) return usage('signup needs --rendezvous HOST:PORT');
        const h = parseHandle(rest[0]);
        if (!h.ok) return fail(2, 'error', { kind: 'invalid-handle', message: h.error }, h.error);
        const displayName = (o['display-name'] ?? process.env.USER ?? h.handle).normalize('NFC');
        const dnErr = displayNameError(displayName);
        if (dnErr) return fail(2, 'error', { kind: 'invalid-display-name', message: dnErr }, dnErr);
        const accounts = loadAccounts(dataDir);
        const key = serverKey(server);
        const prev = accounts[key];
        const live = prev && !prev.deleted;
        if (live && prev.handle !== h.handle && !prev.pending) {
          return fail(2, 'error', { kind: 'already-signed-up', handle: prev.handle }, `this data dir is already signed up as ${prev.handle} on ${key} (one handle per key per server; delete it first)`);
        }
        const identity = loadIdentity(dataDir, true)!;
        const signing = loadSigningKey(dataDir, true)!;
        // The same handle again (an earlier attempt got no answer, or a check): resend the very same signed
        // bytes, which the server accepts without change if it already has them. Otherwise a new record,
        // saved as pending before it is sent so that a retry after a lost answer is that same record.
        const same = live && prev.handle === h.handle;
        const fieldsOf = (v: number, token: Buffer, name: string) => ({ version: BigInt(v), handle: h.handle, displayName: name, signingKey: signing.publicKey, staticKey: identity.publicKey, requestToken: token });
        let entry: LocalAccount = same
          ? prev
          : { handle: h.handle, displayName, requestToken: newRequestToken().toString('hex'), version: prev ? prev.version + 1 : 1, pending: true };
        accounts[key] = entry;
        saveAccounts(dataDir, accounts);
        let record = signRecord(fieldsOf(entry.version, Buffer.from(entry.requestToken, 'hex'), entry.displayName), signing);
        let r = await directoryCall(server, { kind: 'claim', record }, callOpts);
        // Our own key's earlier account here ended at a higher version (local state lost): go above it, once.
        if (!r.outcome.ok && r.outcome.kind === 'refused' && r.outcome.status === 'stale-version' && r.outcome.version >= BigInt(entry.version)) {
          entry = { ...entry, version: Number(r.outcome.version) + 1, pending: true };
          accounts[key] = entry;
          saveAccounts(dataDir, accounts);
          record = signRecord(fieldsOf(entry.version, Buffer.from(entry.requestToken, 'hex'), entry.displayName), signing);
          r = await directoryCall(server, { kind: 'claim', record }, { ...callOpts, cookie: r.cookie });
        }
        if (!r.outcome.ok) {
          if (r.outcome.kind === 'refused' && !same) {
            // Refused for good: forget the attempt (keep a deleted account's version, so the next goes above it).
            if (prev) accounts[key] = prev;
            else delete accounts[key];
            saveAccounts(dataDir, accounts);
          }
          return outcomeFailure(fail, r.outcome, server, `sign-up of "${h.handle}"`);
        }
        const { pending: _pending, ...done } = entry;
        accounts[key] = done;
        saveAccounts(dataDir, accounts);
        if (same && o['display-name'] !== undefined && o['display-name'] !== prev.displayName) {
          writeSync(2, `p2p-chat: already signed up as ${h.handle}; use "p2p-chat account rename" to change the display name\n`);
        }
        const info = describeRecord(record, server);
        out('signed-up', info, `Signed up as ${info.address}\nFingerprint: ${info.fingerprint}`);
        return 0;
      }
      case 'whois': {
        if (rest.length !== 1) return usage('whois needs one NAME@HOST[:PORT]');
        const a = parseAccountAddress(rest[0]);
        if (!a.ok) return fail(2, 'error', { kind: 'invalid-address', message: a.error }, a.error);
        const target: ServerAddress = { host: a.address.host, port: a.address.port };
        const addr = formatAccountAddress(a.address);
        const pins = loadPins(dataDir);
        const pin = pins[addr];
        const op: DirectoryOp = { kind: 'lookup', handle: a.address.handle, expect: pin ? { minVersion: BigInt(pin.version) } : {} };
        const r = await directoryCall(target, op, callOpts);
        if (!r.outcome.ok) {
          if (r.outcome.kind === 'refused' && r.outcome.status === 'not-found') return fail(3, 'not-found', { address: addr, message: r.outcome.message }, `${addr}: no such account`);
          return outcomeFailure(fail, r.outcome, target, `lookup of ${addr}`);
        }
        if (r.outcome.kind !== 'record') return fail(4, 'rejected', { message: 'no record' }, 'no record');
        const rec = r.outcome.record;
        const info = describeRecord(rec, target);
        const keyChanged = !!pin && (pin.staticKey !== info.staticKey || pin.signingKey !== info.signingKey);
        if (keyChanged && !o['accept-new-key']) {
          // A rotation looks exactly like a directory swapping the key: only the owner can tell, so stop here.
          return fail(
            4,
            'rejected',
            { kind: 'key-changed', address: addr, fingerprint: info.fingerprint, pinnedFingerprint: fingerprint(Buffer.from(pin.staticKey, 'hex')), version: Number(rec.version) },
            `the keys of ${addr} changed since you last looked it up (fingerprint ${fingerprint(Buffer.from(pin.staticKey, 'hex'))} -> ${info.fingerprint}). ` +
              'Compare the new fingerprint with its owner; if it matches, run whois again with --accept-new-key.',
          );
        }
        pins[addr] = { version: Number(rec.version), signingKey: info.signingKey as string, staticKey: info.staticKey as string };
        savePins(dataDir, pins);
        out(
          'account',
          { ...info, verified: true, keyChanged },
          `${addr}  "${inert(rec.displayName)}"\nFingerprint: ${info.fingerprint}  (version ${rec.version}, signature verified)` +
            (keyChanged ? `\nNew keys accepted (--accept-new-key).` : ''),
        );
        return 0;
      }
      case 'account':
        return await accountSub(rest, server, dataDir, callOpts, out, fail, usage);
      default:
        return usage(`unknown account command: ${command}`);
    }
  } catch (e) {
    // Local files (unreadable key, bad JSON): a message, never a stack trace.
    return fail(1, 'error', { kind: 'local', message: (e as Error).message }, (e as Error).message);
  }
}

async function accountSub(
  rest: string[],
  server: ServerAddress | undefined,
  dataDir: string,
  callOpts: { timeoutMs: number },
  out: Out,
  fail: ReturnType<typeof printer>['fail'],
  usage: (m: string) => number,
): Promise<number> {
  const [sub = 'show', ...args] = rest;
  const accounts = loadAccounts(dataDir);
  const live = Object.entries(accounts).filter(([, a]) => !a.deleted && !a.pending);
  if (sub === 'show') {
    const identity = loadIdentity(dataDir, false);
    const signing = loadSigningKey(dataDir, false);
    const list = live.map(([k, a]) => {
      const s = parseServer(k)!;
      return { address: formatAccountAddress({ handle: a.handle, host: s.host, port: s.port }), displayName: a.displayName, version: a.version };
    });
    const fp = identity ? fingerprint(identity.publicKey) : undefined;
    out(
      'accounts',
      { accounts: list, fingerprint: fp, staticKey: identity?.publicKey.toString('hex'), signingKey: signing?.publicKey.toString('hex') },
      list.length ? list.map((x) => `${x.address}  "${inert(x.displayName)}"  (version ${x.version})`).join('\n') + `\nFingerprint: ${fp}` : 'No account yet: p2p-chat signup NAME --rendezvous HOST:PORT',
    );
    return 0;
  }
  let entry: [string, LocalAccount] | undefined;
  if (server) entry = live.find(([k]) => k === serverKey(server!));
  else if (live.length === 1) entry = live[0];
  else if (live.length > 1) return usage('several accounts: choose one with --rendezvous HOST:PORT');
  if (!entry) return fail(2, 'error', { kind: 'no-account' }, server ? `no account on ${serverKey(server)} in ${dataDir}` : `no account in ${dataDir}: sign up first`);
  const [key, acct] = entry;
  const srv = parseServer(key)!;
  const identity = loadIdentity(dataDir, false);
  const signing = loadSigningKey(dataDir, false);
  if (!identity || !signing) return fail(1, 'error', { kind: 'local', message: 'keys missing' }, `the keys of this account are missing from ${dataDir}`);
  const fields = (over: Partial<AccountFields>): AccountFields => ({
    version: BigInt(acct.version + 1),
    handle: acct.handle,
    displayName: acct.displayName,
    signingKey: signing.publicKey,
    staticKey: identity.publicKey,
    requestToken: Buffer.from(acct.requestToken, 'hex'),
    ...over,
  });
  const addr = formatAccountAddress({ handle: acct.handle, host: srv.host, port: srv.port });
  switch (sub) {
    case 'rename': {
      if (args.length !== 1) return usage('account rename needs the new display name (quote it)');
      const name = args[0].normalize('NFC');
      const err = displayNameError(name);
      if (err) return fail(2, 'error', { kind: 'invalid-display-name', message: err }, err);
      const record = signRecord(fields({ displayName: name }), signing);
      const r = await directoryCall(srv, { kind: 'update', record }, callOpts);
      if (!r.outcome.ok) return outcomeFailure(fail, r.outcome, srv, `rename of ${addr}`);
      accounts[key] = { ...acct, displayName: name, version: acct.version + 1 };
      saveAccounts(dataDir, accounts);
      out('updated', describeRecord(record, srv), `${addr} is now "${inert(name)}"`);
      return 0;
    }
    case 'new-token': {
      // A new request token: contact requests addressed with the old one (an old contact link) stop arriving.
      const token = newRequestToken();
      const record = signRecord(fields({ requestToken: token }), signing);
      const r = await directoryCall(srv, { kind: 'update', record }, callOpts);
      if (!r.outcome.ok) return outcomeFailure(fail, r.outcome, srv, `new request token for ${addr}`);
      accounts[key] = { ...acct, requestToken: token.toString('hex'), version: acct.version + 1 };
      saveAccounts(dataDir, accounts);
      out('updated', describeRecord(record, srv), `${addr} has a new request token (old contact links no longer reach you)`);
      return 0;
    }
    case 'rotate': {
      // New keys are saved as pending before the request: if the answer is lost, a retry reuses them.
      const pending = acct.pendingRotation;
      const nextId: KeyPair = pending ? keyPairFromPrivate(Buffer.from(pending.identity, 'hex')) : generateKeyPair();
      const nextSign: SigningKeyPair = pending ? signingKeyFromSeed(Buffer.from(pending.signing, 'hex')) : generateSigningKey();
      accounts[key] = { ...acct, pendingRotation: { identity: nextId.privateKey.toString('hex'), signing: nextSign.seed.toString('hex') } };
      saveAccounts(dataDir, accounts);
      const rotation = signRotation(fields({ signingKey: nextSign.publicKey, staticKey: nextId.publicKey }), nextSign, signing);
      const r = await directoryCall(srv, { kind: 'rotate', rotation }, callOpts);
      if (!r.outcome.ok) return outcomeFailure(fail, r.outcome, srv, `key rotation of ${addr}`);
      installRotatedKeys(dataDir, nextId, nextSign, acct.version);
      accounts[key] = { handle: acct.handle, displayName: acct.displayName, requestToken: acct.requestToken, version: acct.version + 1 };
      saveAccounts(dataDir, accounts);
      const info = describeRecord(rotation.record, srv);
      out('rotated', { ...info, oldFingerprint: fingerprint(identity.publicKey) }, `${addr} has new keys.\nNew fingerprint: ${info.fingerprint} (was ${fingerprint(identity.publicKey)})`);
      return 0;
    }
    case 'delete': {
      const deletion = signDeletion({ version: BigInt(acct.version + 1), handle: acct.handle }, signing);
      const r = await directoryCall(srv, { kind: 'delete', deletion }, callOpts);
      if (!r.outcome.ok) return outcomeFailure(fail, r.outcome, srv, `deletion of ${addr}`);
      accounts[key] = { ...acct, version: acct.version + 1, deleted: true };
      saveAccounts(dataDir, accounts);
      out('deleted', { address: addr, version: acct.version + 1 }, `${addr} deleted`);
      return 0;
    }
    default:
      return usage(`unknown account command: ${sub}`);
  }
}
