// Heap cost of the rendezvous topic table, in a fresh process run with --expose-gc: `clients` clients
// registering `perClient` topics each (batches of 56, as the topic client sends them), every topic
// shared by exactly two clients (a contact pair). Prints one JSON line.
import { randomBytes } from 'node:crypto';
import { TopicKind, MAX_TOPICS_PER_REGISTER } from '../../extension/core/wire/topics';
import { TopicTable } from '../../rendezvous/topics';

const clients = Number(process.argv[2] ?? 20_000);
const perClient = Number(process.argv[3] ?? 10);
const gc = (globalThis as unknown as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
function heap(): number {
  for (let i = 0; i < 4; i++) gc!();
  return process.memoryUsage().heapUsed;
}
const source = (i: number) => ({ address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 20000 + (i % 40000) });
const table = new TopicTable({ maxMemberships: clients * perClient * 2, maxTopicsPerClient: perClient + 1, maxClientsPerAddress: clients, refreshSeconds: 15 });
// Pair client 2k with 2k+1 on perClient topics: every topic has two members, as contacts' topics do.
const topics: Buffer[][] = [];
for (let k = 0; k < clients / 2; k++) topics.push(Array.from({ length: perClient }, () => randomBytes(16)));
const before = heap();
let pushes = 0;
for (let i = 0; i < clients; i++) {
  const mine = topics[i >> 1];
  const id = randomBytes(16);
  for (let j = 0; j < mine.length; j += MAX_TOPICS_PER_REGISTER) {
    const out = table.register(1000 + i, source(i), {
      clientId: id,
      seq: j,
      flags: 1,
      candidates: [{ address: '192.168.1.23', port: 40000 + (i % 20000) }],
      topics: mine.slice(j, j + MAX_TOPICS_PER_REGISTER).map((t) => ({ topic: Buffer.from(t), kind: TopicKind.Peer })),
    });
    pushes += out.length;
  }
}
topics.length = 0;
const after = heap();
const s = table.stats();
process.stdout.write(JSON.stringify({ clients: s.clients, topics: s.topics, memberships: s.memberships, bytes: after - before, bytesPerMembership: (after - before) / s.memberships, pushes }) + '\n');
