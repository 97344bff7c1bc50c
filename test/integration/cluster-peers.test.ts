// The terminal peer with a list of instances (`--rendezvous a,b`): two peers in a named room whose
// best-ranked instance is down move to the next one by themselves, meet there and chat.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { namedRoomKeys } from '../../extension/core/invite';
import { rankInstances } from '../../extension/core/room/instances';
import { silentLogger } from '../../rendezvous/log';
import { RendezvousServer } from '../../rendezvous/server';
import { freeUdpPort } from '../helpers/freePort';
import { JsonEvent, killAllManaged, spawnManaged } from '../helpers/proc';

const ROOT = join(__dirname, '..', '..');
const isType = (t: string) => (e: JsonEvent) => e.event === t;

describe('terminal peer with several rendezvous instances', function () {
  this.timeout(60_000);
  let dir: string;
  let server: RendezvousServer;

  before(async () => {
    await promisify(execFile)(process.execPath, ['scripts/build.mjs'], { cwd: ROOT });
    dir = mkdtempSync(join(tmpdir(), 'p2p-cluster-peers-'));
  });
  after(async () => {
    await killAllManaged();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the best-ranked instance is down: both peers fail over to the next, meet and chat', async () => {
    server = new RendezvousServer({ port: 0, host: '127.0.0.1', logger: silentLogger });
    const live = { host: '127.0.0.1', port: (await server.start()).port };
    const dead = { host: '127.0.0.1', port: await freeUdpPort() }; // nothing listens there
    // A room name for which the dead instance ranks first: the failover path is what is tested.
    let name = '';
    for (let i = 0; !name; i++) {
      const candidate = `cluster room ${i}`;
      if (rankInstances([live, dead], namedRoomKeys(candidate).roomId)[0] === dead) name = candidate;
    }
    const list = `${dead.host}:${dead.port},${live.host}:${live.port}`;
    const peer = (who: string) =>
      spawnManaged(process.execPath, [join(ROOT, 'dist/peer.js'), 'join', '--room', name, '--rendezvous', list, '--name', who, '--data-dir', join(dir, who), '--json', '--stay'], { name: who, cwd: ROOT });
    const a = peer('A');
    const b = peer('B');
    await a.waitForEvent(isType('link'), { timeoutMs: 20_000, what: 'A linked' });
    await b.waitForEvent(isType('link'), { timeoutMs: 20_000, what: 'B linked' });
    const mark = b.mark();
    a.writeLine('via the second instance');
    await b.waitForEvent((e) => e.event === 'message' && (e.body as { text?: string }).text === 'via the second instance', { timeoutMs: 5000, from: mark });
    assert.ok(a.eventsWhere((e) => e.event === 'log' && /now using instance 127\.0\.0\.1:\d+ \(rank 2 of 2\)/.test(String(e.message))).length > 0, 'A reports the move');
    assert.equal(server.stats().members, 2);
  });
});
