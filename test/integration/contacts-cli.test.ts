// Contacts with real processes: a rendezvous, three terminal peers that sign up (d1's directory), add each
// other by handle and by link, accept, and watch each other's presence; timings measured with a margin.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as dgram from 'node:dgram';
import { ManagedProcess, spawnManaged, type JsonEvent } from '../helpers/proc';
import { parseContactLink } from '../../extension/core/contacts/link';
import { RequestExchange } from '../../extension/core/contacts/requestExchange';
import { RequestInbox } from '../../extension/core/contacts/requests';
import { generateKeyPair } from '../../extension/core/noise';

const root = join(__dirname, '../..');
const PEER = join(root, 'dist/peer.js');
const RENDEZVOUS = join(root, 'dist/rendezvous.js');
const run = promisify(execFile);
const REFRESH_S = 4;

/** Runs a one-shot command; resolves with its exit code and JSON events (never rejects on a non-zero exit). */
async function cli(dir: string, who: string, args: string[], timeoutMs = 30000): Promise<{ code: number; events: JsonEvent[]; stderr: string }> {
  try {
    const r = await run(process.execPath, [PEER, ...args, '--json', '--data-dir', join(dir, who)], { timeout: timeoutMs });
    return { code: 0, events: parse(r.stdout), stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, events: parse(err.stdout ?? ''), stderr: err.stderr ?? '' };
  }
}

function parse(stdout: string): JsonEvent[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as JsonEvent);
}

const presence = (who: string, status: string) => (e: JsonEvent) => e.event === 'presence' && e.displayName === who && e.presence === status;

describe('contacts: terminal peers over a real rendezvous', function () {
  this.timeout(120000);
  const procs: ManagedProcess[] = [];
  let dir: string;
  let server: string;

  before(function () {
    if (!existsSync(PEER) || !existsSync(RENDEZVOUS)) throw new Error('run `node scripts/build.mjs` first (the test command does)');
  });
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'p2p-contacts-'));
    const rv = spawnManaged(process.execPath, [RENDEZVOUS, '--host', '127.0.0.1', '--port', '0', '--refresh', String(REFRESH_S)]);
    procs.push(rv);
    const listening = await rv.waitForEvent((e) => e.event === 'listening', { timeoutMs: 10000, what: 'rendezvous listening' });
    server = `127.0.0.1:${listening.port}`;
    for (const who of ['alice', 'bob', 'carol']) {
      const r = await cli(dir, who, ['signup', who, '--rendezvous', server, '--display-name', who]);
      assert.equal(r.code, 0, `${who} signup: ${r.stderr}`);
    }
  });
  afterEach(async () => {
    for (const p of procs.splice(0)) await p.kill(500);
    rmSync(dir, { recursive: true, force: true });
  });

  const watch = (who: string, extra: string[] = []) => {
    const p = spawnManaged(process.execPath, [PEER, 'contacts', '--watch', '--json', '--rendezvous', server, '--data-dir', join(dir, who), ...extra], { name: who });
    procs.push(p);
    return p;
  };

  it('alice adds bob by handle and carol by link; they accept; presence online, graceful quit, crash', async () => {
    const bob = watch('bob');
    const carol = watch('carol');
    await Promise.all([bob.waitForEvent((e) => e.event === 'online', { timeoutMs: 10000 }), carol.waitForEvent((e) => e.event === 'online', { timeoutMs: 10000 })]);

    // By handle: the lookup is verified, the fingerprint shown, the request delivered in one round trip.
    const add = await cli(dir, 'alice', ['contacts', 'add', `bob@${server}`, '--note', 'hi bob, from the meetup']);
    assert.equal(add.code, 0, add.stderr);
    const fp = add.events.find((e) => e.event === 'fingerprint');
    assert.match(String(fp?.fingerprint), /^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/);
    const req = await bob.waitForEvent((e) => e.event === 'request', { timeoutMs: 10000, what: 'bob gets the request' });
    assert.equal(req.note, 'hi bob, from the meetup');
    assert.equal(req.handle, `alice@${server}`);
    const requests = await cli(dir, 'bob', ['requests']);
    assert.deepEqual(requests.events.map((e) => e.id), [req.id]);

    // By link: no directory involved.
    const link = await cli(dir, 'carol', ['contacts', 'link', '--rendezvous', server]);
    const linkText = String(link.events[0].link);
    assert.match(linkText, /^p2pchat:contact:/);
    const addLink = await cli(dir, 'alice', ['contacts', 'add-link', linkText, '--note', 'hello carol']);
    assert.equal(addLink.code, 0, addLink.stderr);
    const creq = await carol.waitForEvent((e) => e.event === 'request', { timeoutMs: 10000, what: 'carol gets the request' });

    // Bob accepts, carol accepts; alice comes online and sees both within 2 s of registering.
    assert.equal((await cli(dir, 'bob', ['accept', String(req.id)])).code, 0);
    assert.equal((await cli(dir, 'carol', ['accept', String(creq.id)])).code, 0);
    assert.equal((await cli(dir, 'bob', ['requests'])).events[0].event, 'requests', 'the request is gone once accepted');
    const alice = watch('alice');
    const aliceOnline = await alice.waitForEvent((e) => e.event === 'online', { timeoutMs: 10000 });
    const seenBob = await alice.waitForEvent(presence('bob', 'online'), { timeoutMs: 5000, what: 'alice sees bob online' });
    const seenCarol = await alice.waitForEvent(presence('carol', 'online'), { timeoutMs: 5000, what: 'alice sees carol online' });
    const onlineMs = Math.max(Number(seenBob.t), Number(seenCarol.t)) - Number(aliceOnline.t);
    process.stderr.write(`      presence: online seen ${onlineMs} ms after registering\n`);
    assert.ok(onlineMs <= 2000, `online after ${onlineMs} ms`);
    await alice.waitForEvent((e) => e.event === 'contact-accepted' && e.displayName === 'bob', { timeoutMs: 2000 });
    await bob.waitForEvent(presence('alice', 'online'), { timeoutMs: 5000, what: 'bob sees alice' });
    const contacts = JSON.parse(readFileSync(join(dir, 'alice', 'contacts.json'), 'utf8')) as { displayName: string; state: string }[];
    assert.deepEqual(contacts.map((c) => `${c.displayName}:${c.state}`).sort(), ['bob:accepted', 'carol:accepted']);

    // The one-shot list shows presence too.
    const list = await cli(dir, 'carol', ['contacts', '--rendezvous', server, '--wait', '1.5']);
    assert.deepEqual(list.events.filter((e) => e.event === 'contact').map((e) => `${e.displayName}:${e.presence}`), ['alice:online']);

    // Graceful quit: offline within 5 s (one leave datagram: in practice a few ms).
    const quitAt = Date.now();
    await bob.kill(2000); // SIGTERM: the peer leaves
    const off = await alice.waitForEvent(presence('bob', 'offline'), { timeoutMs: 5000, what: 'bob offline after quit' });
    const quitMs = Number(off.t) - quitAt;
    process.stderr.write(`      presence: offline ${quitMs} ms after a graceful quit\n`);
    assert.ok(quitMs <= 5000);

    // Crash (SIGKILL: no leave): offline within 3 refresh periods.
    const crashAt = Date.now();
    carol.killSync();
    const gone = await alice.waitForEvent(presence('carol', 'offline'), { timeoutMs: 3 * REFRESH_S * 1000 + 2000, what: 'carol offline after a crash' });
    const crashMs = Number(gone.t) - crashAt;
    process.stderr.write(`      presence: offline ${crashMs} ms after kill -9 (refresh ${REFRESH_S} s)\n`);
    assert.ok(crashMs <= 3 * REFRESH_S * 1000, `offline ${crashMs} ms after the crash`);
  });

  it('alice and bob DM both ways over their pairwise topic, exactly once; a message written while bob is away arrives later', async () => {
    const bob = watch('bob');
    await bob.waitForEvent((e) => e.event === 'online', { timeoutMs: 10000 });
    assert.equal((await cli(dir, 'alice', ['contacts', 'add', `bob@${server}`])).code, 0);
    const req = await bob.waitForEvent((e) => e.event === 'request', { timeoutMs: 10000 });
    assert.equal((await cli(dir, 'bob', ['accept', String(req.id)])).code, 0);

    const dm = (who: string, to: string) => {
      const p = spawnManaged(process.execPath, [PEER, 'dm', to, '--json', '--stay', '--data-dir', join(dir, who)], { name: `${who}-dm` });
      procs.push(p);
      return p;
    };
    // Alice opens the conversation first: bob's watcher hears her knocking and tells him.
    const a = dm('alice', `bob@${server}`);
    const knock = await bob.waitForEvent((e) => e.event === 'dm-waiting', { timeoutMs: 10000, what: 'bob told that alice wants to talk' });
    assert.equal(knock.displayName, 'alice');
    await bob.kill(1000);
    const b = dm('bob', 'alice');
    const connected = (e: JsonEvent) => e.event === 'state' && (e.state as { kind: string }).kind === 'connected';
    await Promise.all([a.waitForEvent(connected, { timeoutMs: 15000, what: 'alice connected' }), b.waitForEvent(connected, { timeoutMs: 15000, what: 'bob connected' })]);
    for (let i = 0; i < 20; i++) a.writeLine(`a${i}`);
    for (let i = 0; i < 20; i++) b.writeLine(`b${i}`);
    await b.waitForEvent((e) => e.event === 'message' && (e.body as { text: string }).text === 'a19', { timeoutMs: 10000 });
    await a.waitForEvent((e) => e.event === 'message' && (e.body as { text: string }).text === 'b19', { timeoutMs: 10000 });
    const texts = (p: ManagedProcess) => p.eventsWhere((e) => e.event === 'message').map((e) => (e.body as { text: string }).text);
    assert.deepEqual(texts(b), Array.from({ length: 20 }, (_, i) => `a${i}`));
    assert.deepEqual(texts(a), Array.from({ length: 20 }, (_, i) => `b${i}`));
    await a.waitForEvent((e) => e.event === 'delivery' && e.state === 'delivered', { timeoutMs: 5000 });

    // A message written while bob is away waits in alice's outbox and arrives when he opens the DM again.
    await b.kill(1000);
    a.writeLine('while you were out');
    const b2 = dm('bob', 'alice');
    await b2.waitForEvent((e) => e.event === 'message' && (e.body as { text: string }).text === 'while you were out', { timeoutMs: 15000 });
    assert.equal(b2.eventsWhere((e) => e.event === 'message').length, 1, 'exactly once: nothing of the first session again');
  });

  it('a request to someone offline is saved and delivered by a running watcher once they come online', async () => {
    const r = await cli(dir, 'alice', ['contacts', 'add', `carol@${server}`, '--note', 'later is fine', '--timeout', '2']);
    assert.equal(r.code, 3, 'carol is offline: not delivered yet');
    const alice = watch('alice');
    await alice.waitForEvent((e) => e.event === 'online', { timeoutMs: 10000 });
    const carol = watch('carol');
    const req = await carol.waitForEvent((e) => e.event === 'request', { timeoutMs: 10000, what: 'the saved request arrives' });
    assert.equal(req.note, 'later is fine');
    await alice.waitForEvent((e) => e.event === 'request-delivered' && e.displayName === 'carol', { timeoutMs: 5000 });
    const saved = JSON.parse(readFileSync(join(dir, 'alice', 'contacts.json'), 'utf8')) as { pendingRequest?: unknown }[];
    assert.equal(saved[0].pendingRequest, undefined, 'delivered: not sent again');
    assert.equal((await cli(dir, 'carol', ['accept', String(req.id)])).code, 0);
    await alice.waitForEvent(presence('carol', 'online'), { timeoutMs: 5000, what: 'accepted: carol appears' });
  });

  it('hostile: blocked keys get silence; a stale or swapped link never reaches anyone; a changed key is refused loudly', async () => {
    const bob = watch('bob');
    await bob.waitForEvent((e) => e.event === 'online', { timeoutMs: 10000 });
    const r1 = await cli(dir, 'alice', ['contacts', 'add', `bob@${server}`, '--note', 'first']);
    assert.equal(r1.code, 0, r1.stderr);
    const req = await bob.waitForEvent((e) => e.event === 'request', { timeoutMs: 10000 });
    assert.equal((await cli(dir, 'bob', ['block', String(req.id)])).code, 0);
    // Blocked: alice's next request is dropped without an answer (she cannot tell from an absence).
    const mark = bob.mark();
    const r2 = await cli(dir, 'alice', ['contacts', 'add', `bob@${server}`, '--note', 'again', '--timeout', '3']);
    assert.equal(r2.code, 3, 'not delivered');
    assert.equal(bob.eventsWhere((e) => e.event === 'request', mark).length, 0);
    assert.ok(bob.eventsWhere((e) => e.event === 'request-refused' && e.reason === 'blocked', mark).length > 0);

    // A link with the recipient's static key swapped (a lying link or directory): the handshake cannot
    // work, so nobody receives it, and the sender is told it was not delivered.
    const link = await cli(dir, 'bob', ['contacts', 'link', '--rendezvous', server]);
    const raw = Buffer.from(String(link.events[0].link).slice('p2pchat:contact:'.length), 'base64url');
    raw[1 + 32 + 5] ^= 0x40; // a byte of the X25519 key
    const swapped = `p2pchat:contact:${raw.toString('base64url')}`;
    const mark2 = bob.mark();
    const r3 = await cli(dir, 'carol', ['contacts', 'add-link', swapped, '--timeout', '3']);
    assert.equal(r3.code, 3, `swapped key: ${r3.stderr}`);
    assert.match(r3.stderr, /not delivered/);
    assert.equal(bob.eventsWhere((e) => e.event === 'request', mark2).length, 0);

    // Bob rotates his keys (d1's signed rotation); carol had added bob by handle: adding him again by
    // handle now finds another key under the same address, and that is refused with a loud warning.
    const c1 = await cli(dir, 'carol', ['contacts', 'add', `bob@${server}`, '--timeout', '3']);
    assert.ok(c1.code === 3 || c1.code === 0, c1.stderr); // blocked only alice; carol's request reaches bob
    await bob.kill(1000);
    const rot = await cli(dir, 'bob', ['account', 'rotate', '--rendezvous', server]);
    assert.equal(rot.code, 0, rot.stderr);
    const c2 = await cli(dir, 'carol', ['contacts', 'add', `bob@${server}`, '--timeout', '3']);
    assert.equal(c2.code, 4, c2.stderr);
    assert.match(c2.stderr, /now has another key/);
  });

  it('a request flood is capped per sender and per address, and presence of contacts is not disturbed', async () => {
    // bob and carol are contacts; alice floods bob's inbox from one key (per-sender cap) with many notes.
    const bob = watch('bob');
    await bob.waitForEvent((e) => e.event === 'online', { timeoutMs: 10000 });
    const link = await cli(dir, 'bob', ['contacts', 'link', '--rendezvous', server]);
    const linkText = String(link.events[0].link);
    const r = await cli(dir, 'carol', ['contacts', 'add-link', linkText, '--note', 'carol here']);
    assert.equal(r.code, 0, r.stderr);
    const creq = await bob.waitForEvent((e) => e.event === 'request' && e.displayName === 'carol', { timeoutMs: 10000 });
    assert.equal((await cli(dir, 'bob', ['accept', String(creq.id)])).code, 0);
    const carol = watch('carol');
    await bob.waitForEvent(presence('carol', 'online'), { timeoutMs: 10000 });

    const mark = bob.mark();
    const notes = Array.from({ length: 8 }, (_, i) => `spam ${i}`);
    // One after the other: one data dir is one user, and its files have one writer at a time.
    const results: Awaited<ReturnType<typeof cli>>[] = [];
    for (const n of notes) results.push(await cli(dir, 'alice', ['contacts', 'add-link', linkText, '--note', n, '--timeout', '3']));
    const delivered = results.filter((x) => x.code === 0).length;
    const stored = bob.eventsWhere((e) => e.event === 'request' && e.displayName === 'alice', mark).length;
    assert.equal(stored, 3, `per-sender cap: ${stored} stored`);
    assert.equal(delivered, 3, 'only the stored requests are answered');
    assert.equal(results.filter((x) => x.code === 3).length, notes.length - 3, 'over-quota requests get no answer');
    assert.ok(bob.eventsWhere((e) => e.event === 'request-refused' && e.reason === 'senderCap', mark).length >= notes.length - 3);

    // 300 fresh keys from one address, as fast as the socket goes: the DH budget and the per-address cap hold.
    const online = bob.eventsWhere((e) => e.event === 'online')[0];
    const target = parseContactLink(linkText);
    assert.ok(target.ok);
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const mark3 = bob.mark();
    for (let i = 0; i < 300; i++) {
      const x = new RequestExchange({ self: generateKeyPair(), requestToken: () => Buffer.alloc(16), inbox: new RequestInbox(() => false), send: (to, data) => sock.send(data, to.port, to.address) });
      x.sendRequest(target.link, { signingKey: Buffer.alloc(32), handle: '', displayName: `bot${i}`, note: 'buy now' }, 0);
      x.onTopicPartner(x.visitorEntries()[0].topic, { clientId: Buffer.alloc(16), flags: 0, reflexive: { address: '127.0.0.1', port: Number(online.port) }, candidates: [] }, 0);
    }
    await new Promise((r) => setTimeout(r, 2000));
    sock.close();
    const bots = bob.eventsWhere((e) => e.event === 'request' && String(e.displayName).startsWith('bot'), mark3).length;
    assert.ok(bots <= 10, `${bots} stored from one address`);
    assert.ok(bots >= 1, 'the flood reached the inbox at all');
    const inbox = JSON.parse(readFileSync(join(dir, 'bob', 'requests.json'), 'utf8')) as { requests: unknown[] };
    assert.ok(inbox.requests.length <= 13);
    // Nothing else was lost: carol stayed online throughout, and a real request still gets through.
    assert.equal(bob.eventsWhere(presence('carol', 'offline'), mark).length, 0);
    void carol;
  });
});
