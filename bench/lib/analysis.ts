// The findings section (bench/analysis.md) is a template: every figure it quotes from "the run above" is a
// `{{name}}` placeholder filled from that run's rows, so the prose cannot drift from the table. Figures from
// earlier A/B runs stay literal in the template and are labelled as such there.
import type { BenchResult, Row } from './types';

type Pick = (rows: (id: string, whatPrefix: string) => Row | undefined) => string | undefined;

const num = (s: string | undefined) => (s === undefined ? undefined : Number(s.replace(/,/g, '')));
const paren = (s: string) => /\(([^)]*)\)/.exec(s)?.[1];

/** Every figure the findings may quote, by name: how to read it off the run's rows. */
export const FIGURES: Record<string, Pick> = {
  // connect: the median in RTT above the 2.0 RTT floor, e.g. "0.13 RTT"
  'connect.rtt': (row) => row('connect', 'connect: rendezvous holds both members')?.figure.split(' (')[0],
  'connect.aboveFloor': (row) => {
    const rtt = num(/^([\d.]+) RTT/.exec(row('connect', 'connect: rendezvous holds both members')?.figure ?? '')?.[1]);
    return rtt === undefined ? undefined : `${(rtt - 2).toFixed(2)} RTT`;
  },
  'throughput.raw64PerCpuS': (row) => /; (\S+)\/CPU-s/.exec(row('throughput', 'encrypted 64 B messages per second (window')?.reference ?? '')?.[1],
  'throughput.room64PerCpuS': (row) => /; (\S+)\/CPU-s/.exec(row('throughput', 'encrypted 64 B messages per second (window')?.figure ?? '')?.[1],
  'large.cpuVsRaw': (row) => {
    const r = row('large', '1 MiB snippet')?.ratio;
    return r === undefined ? undefined : `${r.toFixed(1)}×`;
  },
  'rendezvous.registersPerCpuS': (row) => row('rendezvous', 'rendezvous: registrations answered per CPU-second')?.figure.replace('/CPU-s', ''),
  'rendezvous.vsCoturn': (row) => row('rendezvous', 'rendezvous: registrations answered per CPU-second')?.ratio?.toFixed(2),
  'rendezvous.bareVsCoturn': (row) => row('rendezvous', 'bare Node dgram STUN responder')?.ratio?.toFixed(2),
  'memory.perMember': (row) => row('memory', 'rendezvous memory per registered member')?.figure,
  'memory.perSource': (row) => row('memory', 'rate-limit state per distinct source endpoint')?.figure,
  'memory.rssPerMember': (row) => {
    const p = paren(row('memory', 'server process RSS')?.figure ?? '');
    return p?.replace(/ over idle$/, '');
  },
  'files.vsCeiling': (row) => row('files', 'file transfer ')?.ratio?.toFixed(2),
  'files.vsPipeline': (row) => row('files', 'the same transfer against a minimal Node pipeline')?.ratio?.toFixed(2),
  'files.pipelineVsCeiling': (row) => /itself (\S+) of the ceiling/.exec(row('files', 'the same transfer against a minimal Node pipeline')?.reference ?? '')?.[1],
  'files.chatVsIdle': (row) => {
    const r = row('files', '1 KB chat latency during that transfer')?.ratio;
    return r === undefined ? undefined : `${r.toFixed(2)}×`;
  },
  'throughput.room1kVsRaw': (row) => row('throughput', 'encrypted 1 KB messages per second (window')?.ratio?.toFixed(2),
  'extension.media': (row) => row('extension', 'bundle dist/media/main.js')?.figure,
  'extension.extension': (row) => row('extension', 'bundle dist/extension.js')?.figure,
};

export const NOT_MEASURED = '(not measured in this run)';

/** Fills every `{{name}}`; an unknown name is an error (a typo must not reach the report). */
export function fillAnalysis(template: string, results: BenchResult[]): string {
  const row = (id: string, prefix: string) => results.find((r) => r.id === id && !r.skipped)?.rows.find((x) => x.what.startsWith(prefix));
  return template.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (_m, name: string) => {
    const pick = FIGURES[name];
    if (!pick) throw new Error(`bench/analysis.md: unknown figure {{${name}}}; known: ${Object.keys(FIGURES).join(', ')}`);
    return pick(row) ?? NOT_MEASURED;
  });
}
