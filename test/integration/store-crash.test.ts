// The file store under a real crash: a child process writes as fast as it can and prints every key the
// store acknowledged; it is killed with SIGKILL mid-stream (writes and compactions in flight), and the
// reopened store must hold every acknowledged key with its exact value. Repeated with different timings.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore } from '../../rendezvous/store/fileStore';

const WRITER = join(__dirname, '..', 'helpers', 'storeWriter.ts');

function runAndKill(dir: string, killAfterAcks: number): Promise<Map<string, number>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked = new Map<string, number>();
    let buf = '';
    let err = '';
    let killed = false;
    child.stderr.on('data', (d) => (err += d));
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const [tag, key, len] = buf.slice(0, nl).split(' ');
        buf = buf.slice(nl + 1);
        if (tag === 'ack') acked.set(key, Number(len));
      }
      if (!killed && acked.size >= killAfterAcks) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.once('exit', (code, signal) => {
      if (signal !== 'SIGKILL') return reject(new Error(`writer exited ${code}/${signal}: ${err}`));
      resolve(acked);
    });
  });
}

describe('file store: kill -9 while writing', function () {
  this.timeout(120_000);

  for (const acks of [50, 700, 3000]) {
    it(`every acknowledged write survives a SIGKILL after ${acks} acknowledgements`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'p2p-crash-'));
      try {
        const acked = await runAndKill(dir, acks);
        assert.ok(acked.size >= acks);
        let dropped = 0;
        const store = await FileStore.open(dir, { onLoad: (r) => (dropped = r.droppedBytes) });
        for (const [key, len] of acked) {
          const v = await store.get(key);
          assert.ok(v, `acknowledged ${key} is missing (torn tail of ${dropped} bytes was cut)`);
          assert.equal(v.length, len);
          const i = Number(key.split('/')[2]);
          assert.ok(v.every((b) => b === (i & 0xff)), `${key} has its exact bytes`);
        }
        // The store is usable afterwards and the next writer can take over (the dead one's lock is stale).
        assert.equal(await store.create('after', Buffer.from('x')), true);
        await store.close();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
