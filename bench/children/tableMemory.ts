// Heap cost of rendezvous state, in a fresh process run with --expose-gc: `members` members in rooms
// of two registered into a RoomTable (as the server does after a valid cookie), then the per-source
// rate-limit state the server keeps for as many distinct sources. Prints one JSON line.
import { randomBytes } from 'node:crypto';
import { RoomTable } from '../../rendezvous/rooms';
import { SourceLimiter } from '../../rendezvous/rateLimit';
import { DEFAULT_MAX_SOURCES, DEFAULT_RATE, DEFAULT_STUN_RATE } from '../../rendezvous/server';
import { endpointKey } from '../../extension/core/wire/endpoint';

const members = Number(process.argv[2] ?? 100_000);
const gc = (globalThis as unknown as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

function heap(): number {
  for (let i = 0; i < 4; i++) gc!();
  return process.memoryUsage().heapUsed;
}

// Requests are built inside the loop, as decoding would build them, so that whatever the table
// does not keep is garbage by the time the heap is measured.
const source = (i: number) => ({ address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 20000 + (i % 40000) });
const table = new RoomTable({ maxMembers: members * 2, maxRooms: members, maxMembersPerAddress: members, maxMembersPerRoom: 8, refreshSeconds: 15 });
let roomId = randomBytes(32);
const before = heap();
for (let i = 0; i < members; i++) {
  if (i % 2 === 0) roomId = randomBytes(32);
  table.register(1000 + i, source(i), {
    roomId: Buffer.from(roomId),
    peerId: randomBytes(32),
    name: `member-${i}`,
    flags: 1,
    candidates: [
      { address: '192.168.1.23', port: 40000 + (i % 20000) },
      { address: '10.0.0.23', port: 40000 + (i % 20000) },
    ],
  });
}
const afterTable = heap();
const limiter = new SourceLimiter({ p2p: DEFAULT_RATE, stun: DEFAULT_STUN_RATE, maxSources: Math.max(DEFAULT_MAX_SOURCES, members) }, 0);
const beforeLimiter = heap();
for (let i = 0; i < members; i++) limiter.allow(endpointKey(source(i)), 'p2p', 1000 + i);
const afterLimiter = heap();
const stats = table.stats();
process.stdout.write(
  JSON.stringify({
    members: stats.members,
    rooms: stats.rooms,
    tableBytes: afterTable - before,
    tableBytesPerMember: (afterTable - before) / stats.members,
    limiterSources: limiter.size,
    limiterBytesPerSource: (afterLimiter - beforeLimiter) / limiter.size,
    rss: process.memoryUsage().rss,
  }) + '\n',
);
