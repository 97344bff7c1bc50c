// Summarise a V8 .cpuprofile (from `node --cpu-prof`): self and inclusive time per function, so a
// bottleneck can be named by file and function with its share of the samples.
//   node --cpu-prof --cpu-prof-dir=/tmp/prof -r tsx/cjs bench/run.ts --only throughput --quick --no-write
//   node -r tsx/cjs bench/profile.ts /tmp/prof/*.cpuprofile [--top 25] [--filter text] [--callers text]
// --callers: for the functions whose name contains `text`, who called them, by the callee's inclusive time.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface FunctionShare {
  name: string;
  selfShare: number;
  totalShare: number;
}

function label(n: ProfileNode, root: string): string {
  const f = n.callFrame;
  const url = f.url.startsWith('file://') ? f.url.slice(7) : f.url;
  const where = url ? `${path.relative(root, url) || url}:${f.lineNumber + 1}` : '';
  return `${f.functionName || '(anonymous)'}${where ? ` ${where}` : ''}`;
}

/** Inclusive time of the functions named like `text`, split by their direct caller. */
export function callers(file: string, text: string, root = path.resolve(__dirname, '..')): { name: string; share: number }[] {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const by = new Map<string, number>();
  let all = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0;
    all += dt;
    // The outermost frame matching `text` on this sample's stack, so recursion counts once.
    let hit: number | undefined;
    for (let id: number | undefined = p.samples[i]; id !== undefined; id = parent.get(id)) {
      if (label(byId.get(id)!, root).includes(text)) hit = id;
    }
    if (hit === undefined) continue;
    const up = parent.get(hit);
    const name = up === undefined ? '(top)' : label(byId.get(up)!, root);
    by.set(name, (by.get(name) ?? 0) + dt);
  }
  return [...by].map(([name, t]) => ({ name, share: t / all })).sort((a, b) => b.share - a.share);
}

export function summarise(file: string, root = path.resolve(__dirname, '..')): { totalMs: number; functions: FunctionShare[] } {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let all = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0;
    all += dt;
    let id: number | undefined = p.samples[i];
    const leaf = byId.get(id)!;
    const leafName = label(leaf, root);
    self.set(leafName, (self.get(leafName) ?? 0) + dt);
    const seen = new Set<string>();
    while (id !== undefined) {
      const name = label(byId.get(id)!, root);
      if (!seen.has(name)) {
        seen.add(name);
        total.set(name, (total.get(name) ?? 0) + dt);
      }
      id = parent.get(id);
    }
  }
  const functions = [...total.keys()].map((name) => ({ name, selfShare: (self.get(name) ?? 0) / all, totalShare: (total.get(name) ?? 0) / all }));
  return { totalMs: all / 1000, functions };
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const top = Number(args[args.indexOf('--top') + 1]) || 25;
  const fi = args.indexOf('--filter');
  const filter = fi >= 0 ? args[fi + 1] : undefined;
  const ci = args.indexOf('--callers');
  const files = args.filter((a, i) => a.endsWith('.cpuprofile') && args[i - 1] !== '--filter' && args[i - 1] !== '--callers');
  for (const f of files) {
    if (ci >= 0) {
      const rows = callers(f, args[ci + 1]).slice(0, top);
      process.stdout.write(`${f}: callers of ${args[ci + 1]}\n${rows.map((r) => `${(r.share * 100).toFixed(1).padStart(5)} %  ${r.name}`).join('\n')}\n`);
      continue;
    }
    const { totalMs, functions } = summarise(f);
    const pick = (key: 'selfShare' | 'totalShare') =>
      functions
        .filter((x) => !filter || x.name.includes(filter))
        .sort((a, b) => b[key] - a[key])
        .slice(0, top)
        .map((x) => `${(x[key] * 100).toFixed(1).padStart(5)} %  ${x.name}`);
    process.stdout.write(`${f}: ${totalMs.toFixed(0)} ms sampled\n-- self time\n${pick('selfShare').join('\n')}\n-- inclusive time\n${pick('totalShare').join('\n')}\n`);
  }
}
