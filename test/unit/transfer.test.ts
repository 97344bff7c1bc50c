import assert from 'node:assert/strict';
import { TransferManager, type TransferInfo } from '../../extension/core/transfer/manager';
import { manifestOf, sha256 } from '../../extension/core/transfer/manifest';
import { insideFolder, safeFileName } from '../../extension/core/transfer/names';
import { CancelCode } from '../../extension/core/wire/fileFrames';
import { MemIo } from '../helpers/memTransferIo';
import { prng } from '../helpers/prng';
import { TransferSim } from '../helpers/transferSim';

const DIR = '/downloads';

// Seeded ids and packet-number starts: every run is the same run.
const rand = prng(99);
const random = (n: number) => rand.bytes(n);

function pair(opts: { maxBytes?: number } = {}) {
  const ioA = new MemIo();
  const ioB = new MemIo();
  const a = new TransferManager({ io: ioA, random });
  const b = new TransferManager({ io: ioB, random, ...opts });
  const sim = new TransferSim(a, b);
  // As the links' path probes find on loopback: 16 KiB inner packets.
  a.setInnerBytes('B', 16 * 1024);
  b.setInnerBytes('A', 16 * 1024);
  sim.up();
  return { ioA, ioB, a, b, sim };
}

function offer(m: TransferManager, io: MemIo, data: Buffer, name = 'report.bin', now = 0): string {
  io.sources.set('/src/' + name, data);
  return m.offer('B', { path: '/src/' + name, name, mime: 'application/octet-stream', mtimeMs: 1, manifest: manifestOf(data), read: (o, l) => data.subarray(o, o + l) }, now);
}

function offered(b: TransferManager): TransferInfo[] {
  return b.list().filter((t) => t.direction === 'in' && t.status === 'offered');
}

describe('file transfer core', () => {
  describe('names', () => {
    const cases: [string, string][] = [
      ['../../x', 'x'],
      ['..', '_'],
      ['/etc/passwd', 'passwd'],
      ['C:\\Windows\\system32\\evil.dll', 'evil.dll'],
      ['a\u0000b\u001b[31mc.txt', 'a_b_[31mc.txt'],
      ['\u202egnp.exe', '_gnp.exe'],
      ['CON', '_CON'],
      ['nul.txt', '_nul.txt'],
      ['com1', '_com1'],
      ['trailing. . ', 'trailing'],
      ['.bashrc', '_bashrc'],
      ['', 'file'],
    ];
    for (const [input, want] of cases) {
      it(`${JSON.stringify(input)} → ${JSON.stringify(want)}`, () => assert.equal(safeFileName(input), want));
    }
    it('cuts very long names to at most 200 bytes and keeps the extension', () => {
      const s = safeFileName('é'.repeat(300) + '.tar.gz');
      assert.ok(Buffer.byteLength(s) <= 200);
      assert.ok(s.endsWith('.gz'));
    });
    it('every sanitised name stays inside the folder (random hostile names)', () => {
      const r = prng(7);
      const alphabet = ['/', '\\', '.', '..', 'a', '\u0000', '\n', ':', 'CON', ' ', '\u202e', 'é', '*'];
      for (let i = 0; i < 2000; i++) {
        let n = '';
        for (let j = 0, k = r.int(20); j < k; j++) n += r.pick(alphabet);
        const s = safeFileName(n);
        assert.doesNotThrow(() => insideFolder(DIR, s), `${JSON.stringify(n)} → ${JSON.stringify(s)}`);
      }
    });
  });

  it('sends a file over a lossy path; chunks verified; the final hash matches', () => {
    const { ioA, ioB, a, b, sim } = pair();
    sim.loss = 0.05;
    const data = prng(3).bytes(3 * 1024 * 1024 + 123);
    const id = offer(a, ioA, data);
    sim.run(() => offered(b).length > 0);
    assert.equal(ioB.files.size, 0, 'nothing written before acceptance');
    b.accept(id, DIR, sim.now);
    sim.run(() => b.get(id)?.status === 'done' && a.get(id)?.status === 'done');
    const info = b.get(id)!;
    assert.equal(info.path, '/downloads/report.bin');
    assert.ok(sha256(ioB.files.get(info.path!)!).equals(sha256(data)));
    assert.equal(ioB.state.get(`in-${id}`)?.kind, 'in');
    assert.equal(ioA.state.size, 0, 'the sender forgets a finished transfer');
  });

  it('re-fetches a corrupted chunk and still delivers the right bytes', () => {
    const { ioA, ioB, a, b, sim } = pair();
    const data = prng(4).bytes(1024 * 1024);
    const id = offer(a, ioA, data);
    sim.run(() => offered(b).length > 0);
    b.accept(id, DIR, sim.now);
    let corrupted = 0;
    sim.tamper = (from, f) => {
      if (from === 'a' && f.type === 'file-piece' && f.stream === 1 && f.offset === 262_144 && corrupted < 2) {
        corrupted++;
        const p = Buffer.from(f.payload);
        p[0] ^= 0xff;
        return { ...f, payload: p };
      }
      return f;
    };
    sim.run(() => b.get(id)?.status === 'done');
    assert.equal(corrupted, 2);
    assert.ok(ioB.files.get(b.get(id)!.path!)!.equals(data));
  });

  it('the manifest holds prefix digests: entry i is the SHA-256 of the file up to the end of chunk i; the last is the file\'s', () => {
    const data = prng(11).bytes(600_000); // 256 KiB chunks: 3 of them, the last short
    const m = manifestOf(data);
    assert.equal(m.hashes.length, 3 * 32);
    for (const [i, end] of [[0, 262_144], [1, 524_288], [2, 600_000]] as const) {
      assert.ok(m.hashes.subarray(i * 32, i * 32 + 32).equals(sha256(data.subarray(0, end))), `entry ${i}`);
    }
    assert.ok(m.sha256.equals(sha256(data)));
    assert.ok(m.manifestSha256.equals(sha256(m.hashes)));
    assert.equal(manifestOf(Buffer.alloc(0)).hashes.length, 0);
  });

  it('chunks completed out of order wait for the one before them; a corrupt one is re-fetched even then', () => {
    const { ioA, ioB, a, b, sim } = pair();
    const data = prng(12).bytes(1024 * 1024 + 5);
    const id = offer(a, ioA, data);
    sim.run(() => offered(b).length > 0);
    b.accept(id, DIR, sim.now);
    // The first chunk's first piece is lost twice, and chunk 2 arrives corrupt once: chunks 3 and 4 complete
    // while it is fetched again, and must wait in memory for it (checked by instrumenting check()).
    let dropped = 0;
    let corrupted = 0;
    sim.tamper = (from, f) => {
      if (from !== 'a' || f.type !== 'file-piece' || f.stream !== 1) return f;
      if (f.offset === 0 && dropped < 2) {
        dropped++;
        return undefined;
      }
      if (f.offset === 2 * 262_144 && corrupted < 1) {
        corrupted++;
        const p = Buffer.from(f.payload);
        p[7] ^= 1;
        return { ...f, payload: p };
      }
      return f;
    };
    sim.run(() => b.get(id)?.status === 'done');
    assert.equal(dropped, 2);
    assert.equal(corrupted, 1);
    assert.ok(ioB.files.get(b.get(id)!.path!)!.equals(data));
  });

  it('a manifest that does not end in the offer\'s file SHA-256 is refused before any chunk is fetched', () => {
    const { ioA, ioB, a, b, sim } = pair();
    const data = prng(13).bytes(300_000);
    const m = manifestOf(data);
    // A lying sender: the offer's file hash is another file's, the manifest (and its hash) honest.
    const lie = { ...m, sha256: sha256(Buffer.from('another file')) };
    ioA.sources.set('/src/lie.bin', data);
    const id = a.offer('B', { path: '/src/lie.bin', name: 'lie.bin', mime: 'application/octet-stream', mtimeMs: 1, manifest: lie, read: (o, l) => data.subarray(o, o + l) }, 0);
    sim.run(() => offered(b).length > 0);
    b.accept(id, DIR, sim.now);
    let content = 0;
    sim.tamper = (from, f) => {
      if (from === 'a' && f.type === 'file-piece' && f.stream === 1) content++;
      return f;
    };
    sim.run(() => b.get(id)?.status === 'cancelled' && a.get(id)?.status === 'cancelled');
    assert.match(b.get(id)!.error!, /SHA-256/);
    assert.equal(content, 0);
    assert.equal(ioB.files.size, 0);
  });

  it('a sender whose chunks never match is cut off: nothing kept on disk', () => {
    const { ioA, ioB, a, b, sim } = pair();
    const data = prng(5).bytes(600_000);
    const id = offer(a, ioA, data);
    sim.run(() => offered(b).length > 0);
    b.accept(id, DIR, sim.now);
    sim.tamper = (from, f) => (from === 'a' && f.type === 'file-piece' && f.stream === 1 ? { ...f, payload: Buffer.alloc(f.payload.length, 0x41) } : f);
    sim.run(() => b.get(id)?.status === 'cancelled' && a.get(id)?.status === 'cancelled');
    assert.match(b.get(id)!.error!, /hash/);
    assert.equal(ioB.files.size, 0);
    assert.equal(ioB.state.size, 0);
  });

  it('a sender lying about the size cannot write past the offer or the folder', () => {
    const { ioA, ioB, a, b, sim } = pair();
    const data = prng(6).bytes(100_000);
    const id = offer(a, ioA, data, '../../../etc/cron.d/x');
    sim.run(() => offered(b).length > 0);
    assert.equal(offered(b)[0].name, 'x');
    b.accept(id, DIR, sim.now);
    // Extra pieces beyond the file, with offsets far out: dropped, never written.
    sim.tamper = (from, f) => (from === 'a' && f.type === 'file-piece' && f.stream === 1 ? { ...f, offset: f.offset + 10 * 1024 * 1024 * 1024 } : f);
    sim.run(() => false, 3000);
    sim.tamper = undefined;
    sim.run(() => b.get(id)?.status === 'done');
    for (const [p, f] of ioB.files) {
      assert.ok(p.startsWith(DIR + '/'), p);
      assert.ok(f.length <= data.length, `${p} has ${f.length} bytes`);
    }
    assert.equal(b.get(id)!.path, '/downloads/x');
  });

  it('offers above the size cap are declined without asking; no space is declined at accept', () => {
    const { ioA, ioB, a, b, sim } = pair({ maxBytes: 1000 });
    const id = offer(a, ioA, prng(1).bytes(5000));
    sim.run(() => a.get(id)?.status === 'cancelled');
    assert.equal(offered(b).length, 0);
    assert.equal(b.get(id)?.status, 'cancelled');
    const id2 = offer(a, ioA, prng(2).bytes(500), 'small');
    sim.run(() => offered(b).length > 0);
    ioB.free = 10;
    assert.throws(() => b.accept(id2, DIR, sim.now), /free space/);
    sim.run(() => a.get(id2)?.status === 'cancelled');
    assert.equal(ioB.files.size, 0);
  });

  it('cancel from either side stops both', () => {
    for (const side of ['sender', 'receiver'] as const) {
      const { ioA, a, b, sim } = pair();
      const id = offer(a, ioA, prng(8).bytes(4 * 1024 * 1024));
      sim.run(() => offered(b).length > 0);
      b.accept(id, DIR, sim.now);
      sim.run(() => (b.get(id)?.bytes ?? 0) > 1024 * 1024);
      (side === 'sender' ? a : b).cancel(id, sim.now);
      sim.run(() => a.get(id)?.status === 'cancelled' && b.get(id)?.status === 'cancelled', 10_000);
      assert.equal(a.get(id)?.status, 'cancelled', side);
      assert.equal(b.get(id)?.status, 'cancelled', side);
      assert.equal(side === 'sender' ? b.get(id)?.cancelledByPeer : a.get(id)?.cancelledByPeer, true);
      // Nothing more flows afterwards.
      const w0 = sim.wire.aToB;
      sim.run(() => false, 5000);
      assert.ok(sim.wire.aToB - w0 < 1000, `still sending: ${sim.wire.aToB - w0}`);
    }
  });

  for (const who of ['receiver', 'sender'] as const) {
    it(`the ${who} restarts at 50 %: the transfer resumes, ≤ 2 % of the bytes sent twice`, () => {
      const { ioA, ioB, a, b, sim } = pair();
      const size = 40 * 1024 * 1024;
      sim.rateBytesPerMs = 20_000; // 20 MB/s: the window settles near the path's bandwidth-delay product
      const data = prng(9).bytes(size);
      const id = offer(a, ioA, data);
      sim.run(() => offered(b).length > 0);
      b.accept(id, DIR, sim.now);
      sim.run(() => (b.get(id)?.bytes ?? 0) >= size / 2);
      const sentBefore = a.get(id)!.wireBytes;
      sim.dropInTransit();
      let sentFirstRun = sentBefore;
      if (who === 'receiver') {
        const b2 = new TransferManager({ io: ioB, random });
        b2.restore([...ioB.state.values()], sim.now);
        sim.b = b2;
      } else {
        const a2 = new TransferManager({ io: ioA, random });
        a2.setInnerBytes('B', 16 * 1024);
        a2.restore([...ioA.state.values()], sim.now);
        sim.a = a2;
        sentFirstRun = sentBefore;
      }
      sim.now += 2000;
      sim.up();
      sim.run(() => sim.b.get(id)?.status === 'done');
      const total = who === 'receiver' ? sim.a.get(id)!.wireBytes : sentFirstRun + sim.a.get(id)!.wireBytes;
      const twice = (total - size) / size;
      assert.ok(twice <= 0.02, `${(twice * 100).toFixed(2)} % sent twice`);
      assert.ok(ioB.files.get(sim.b.get(id)!.path!)!.equals(data));
    });
  }

  it('an offer made while the peer is offline arrives when the link comes up', () => {
    const ioA = new MemIo();
    const a = new TransferManager({ io: ioA, random });
    const b = new TransferManager({ io: new MemIo(), random });
    const sim = new TransferSim(a, b);
    const id = offer(a, ioA, Buffer.from('hello'), 'hi.txt');
    sim.run(() => false, 5000);
    assert.equal(offered(b).length, 0);
    sim.up();
    sim.run(() => offered(b).length > 0);
    assert.equal(offered(b)[0].id, id);
  });

  it('an empty file works', () => {
    const { ioA, ioB, a, b, sim } = pair();
    const id = offer(a, ioA, Buffer.alloc(0), 'empty');
    sim.run(() => offered(b).length > 0);
    b.accept(id, DIR, sim.now);
    sim.run(() => b.get(id)?.status === 'done' && a.get(id)?.status === 'done');
    assert.equal(ioB.files.get('/downloads/empty')!.length, 0);
  });

  it('a second file of the same name does not overwrite the first', () => {
    const { ioA, ioB, a, b, sim } = pair();
    for (const body of ['one', 'two']) {
      const id = offer(a, ioA, Buffer.from(body), 'same.txt');
      sim.run(() => offered(b).some((t) => t.id === id));
      b.accept(id, DIR, sim.now);
      sim.run(() => b.get(id)?.status === 'done');
    }
    assert.equal(ioB.files.get('/downloads/same.txt')!.toString(), 'one');
    assert.equal(ioB.files.get('/downloads/same (1).txt')!.toString(), 'two');
  });

  it('unknown transfer ids are answered with a cancel, never a crash', () => {
    const { a, b, sim } = pair();
    b.receive('A', { type: 'file-piece', id: Buffer.alloc(8, 1), stream: 1, pn: 1, offset: 0, payload: Buffer.alloc(10) }, 0);
    b.receive('A', { type: 'file-request', id: Buffer.alloc(8, 2), stream: 1, ranges: [{ start: 0, length: 0xffffffff }] }, 0);
    const out = b.poll(0).get('A')!.filter((f) => f.type !== 'file-probe');
    assert.equal(out.length, 2);
    assert.ok(out.every((f) => f.type === 'file-cancel' && f.code === CancelCode.Unknown));
    void a;
    void sim;
  });
});
