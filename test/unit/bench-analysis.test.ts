// The benchmark findings quote figures "of the run above": bench/analysis.md holds them as placeholders that
// bench/run.ts fills from that very run's rows. Here with rows shaped as the benchmarks make them.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIGURES, fillAnalysis, NOT_MEASURED } from '../../bench/lib/analysis';
import type { BenchResult, Row } from '../../bench/lib/types';

const template = readFileSync(join(__dirname, '../../bench/analysis.md'), 'utf8');
const result = (id: string, rows: Row[]): BenchResult => ({ id, title: id, method: '', rows, details: [], raw: {} });
const RUN: BenchResult[] = [
  result('connect', [{ what: 'connect: rendezvous holds both members → first decrypted message', figure: '2.31 RTT (47.0 ms)', reference: 'floor 2.0 RTT', ratio: 1.155 }]),
  result('throughput', [
    { what: 'encrypted 64 B messages per second (window 64); per CPU-second', figure: '61.0k/s; 57.7k/CPU-s', reference: 'raw dgram 131k/s; 123k/CPU-s', ratio: 0.47 },
    { what: 'encrypted 1 KB messages per second (window 64); per CPU-second', figure: '20.0k/s; 30.0k/CPU-s', reference: 'raw dgram 60k/s; 100k/CPU-s', ratio: 0.3 },
  ]),
  result('files', [
    { what: 'file transfer 100 MiB, loopback: per CPU-second (both ends on one core); wall clock', figure: '60 MB/s per CPU-s', reference: 'ceiling', ratio: 0.154 },
    { what: 'the same transfer against a minimal Node pipeline doing only the required work (…)', figure: '60 MB/s per CPU-s', reference: 'pipeline 150 MB/s per CPU-s (itself 0.38 of the ceiling)', ratio: 0.812 },
    { what: '1 KB chat latency during that transfer, p50 / p99', figure: '300 µs / 2 ms', reference: 'idle', ratio: 1.8 },
  ]),
  result('large', [{ what: '1 MiB snippet: Room.send → delivered; process CPU (both ends)', figure: '80 ms', reference: 'raw', ratio: 13.37 }]),
  result('rendezvous', [
    { what: 'rendezvous: registrations answered per CPU-second (cookie-verified register → welcome carrying the member list)', figure: '51.2k/CPU-s', reference: 'coturn', ratio: 0.377 },
    { what: 'bare Node dgram STUN responder per CPU-second (the ceiling for a Node server)', figure: '80k/CPU-s', reference: 'coturn', ratio: 0.571 },
  ]),
  result('memory', [
    { what: 'rendezvous memory per registered member (RoomTable heap, 100,000 members)', figure: '1,077 B', reference: '—' },
    { what: 'rate-limit state per distinct source endpoint (SourceLimiter heap)', figure: '301 B', reference: '—' },
    { what: 'server process RSS with 99,968 members', figure: '201.00 MiB (1,640 B per member over idle)', reference: '—' },
  ]),
  result('extension', [
    { what: 'bundle dist/extension.js (production, minified)', figure: '161.2 KiB', reference: '—' },
    { what: 'bundle dist/media/main.js (production, minified)', figure: '301.9 KiB', reference: '—' },
  ]),
];

describe('bench: the findings quote the run they are printed with', () => {
  it('every placeholder in bench/analysis.md is a known figure, and all are filled from the run', () => {
    const names = [...template.matchAll(/\{\{\s*([\w.]+)\s*\}\}/g)].map((m) => m[1]);
    assert.ok(names.length >= 10, 'the findings quote figures of the run through placeholders');
    for (const n of names) assert.ok(FIGURES[n], `unknown figure ${n}`);
    const text = fillAnalysis(template, RUN);
    assert.ok(!/\{\{/.test(text), 'nothing left unfilled');
    assert.ok(!text.includes(NOT_MEASURED));
    for (const expected of ['connects in 2.31 RTT, 0.31 RTT above', '57.7k per CPU-second, against 123k for raw dgram', 'Room costs 13.4× the CPU', '51.2k registers per CPU-second,\n0.38× coturn', 'is 0.57× in the run', '1,077 B in the run', 'adds 301 B per distinct', '1,640 B per member of RSS', '`dist/media/main.js` is 301.9 KiB in the run above', '`dist/extension.js` (161.2 KiB)', '0.30× raw per CPU-second', 'the transfer is 0.15 of the ceiling measured beside\n  it, and the minimal pipeline 0.38:', 'reaches\n  0.38 of the 16 KiB seal+open ceiling, and the transfer 0.81 of the\n  pipeline (session 5', '1.80× the idle p50']) {
      assert.ok(text.includes(expected), `findings say: ${expected}`);
    }
  });

  it('a figure whose benchmark did not run (or was skipped) says so instead of an old number', () => {
    const partial = RUN.filter((r) => r.id !== 'memory').concat([{ ...result('memory', []), skipped: 'failed: x' }]);
    const text = fillAnalysis(template, partial);
    assert.ok(text.includes(`889 B per member before, ${NOT_MEASURED} in the run`));
  });

  it('an unknown placeholder is an error, not a silent gap', () => {
    assert.throws(() => fillAnalysis('x {{connect.typo}} y', RUN), /unknown figure \{\{connect\.typo\}\}/);
  });
});
