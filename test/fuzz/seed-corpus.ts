// Writes every target's built-in seeds into test/fuzz/corpus/<target>/ (run once; the checked-in corpus
// then grows with `run.ts --save`). node --import tsx test/fuzz/seed-corpus.ts
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TARGETS } from './targets';

for (const t of TARGETS) {
  const dir = join(__dirname, 'corpus', t.name);
  mkdirSync(dir, { recursive: true });
  t.seeds().forEach((s, i) => writeFileSync(join(dir, `seed-${String(i).padStart(2, '0')}`), s));
}
