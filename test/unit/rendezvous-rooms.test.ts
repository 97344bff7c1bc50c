import assert from 'node:assert/strict';
import { Endpoint } from '../../extension/core/wire/endpoint';
import { encodeRendezvous, ErrorCode, RendezvousMessage, WELCOME_BUDGET_BYTES } from '../../extension/core/wire/rendezvous';
import { Outgoing, RegisterRequest, RegisterResult, RoomTable, RoomTableOptions } from '../../rendezvous/rooms';

const id = (n: number) => Buffer.alloc(32, n);
const ep = (port: number, address = '198.51.100.1'): Endpoint => ({ address, port });
const req = (room: number, peer: number, extra: Partial<RegisterRequest> = {}): RegisterRequest => ({
  roomId: id(room),
  peerId: id(peer),
  name: `p${peer}`,
  candidates: [],
  ...extra,
});
const to = (out: Outgoing[], e: Endpoint) => out.filter((o) => o.to.address === e.address && o.to.port === e.port).map((o) => o.message);
/** Message kinds in order; a welcome lists the members it carries as "+peer:known" right after it. */
const types = (ms: RendezvousMessage[]) =>
  ms.flatMap((m) => (m.type === 'peer' ? [`peer:${m.joined ? 'joined' : 'known'}`] : m.type === 'welcome' ? ['welcome', ...m.known.map(() => '+peer:known')] : [m.type]));
const messages = (out: Outgoing[]) => out.map(({ to: dest, message }) => ({ to: dest, message }));

/** Every output's pre-encoded bytes are exactly what the codec makes of its message, and fit a datagram budget. */
function checked<T extends { out: Outgoing[] }>(r: T): T {
  for (const o of r.out) {
    const encoded = encodeRendezvous(o.message);
    if (o.bytes) assert.ok(o.bytes.equals(encoded), `${o.message.type}: pre-encoded bytes differ from the codec's`);
    if (o.message.type === 'welcome') assert.ok(encoded.length <= WELCOME_BUDGET_BYTES, `welcome of ${encoded.length} B`);
  }
  return r;
}

/** A table whose every output is checked as above. */
function table(opts: Partial<RoomTableOptions> = {}) {
  const t = new RoomTable({ refreshSeconds: 15, ...opts });
  const register = t.register.bind(t);
  const leave = t.leave.bind(t);
  const expire = t.expire.bind(t);
  t.register = (...a: Parameters<RoomTable['register']>): RegisterResult => checked(register(...a));
  t.leave = (...a: Parameters<RoomTable['leave']>) => checked(leave(...a));
  t.expire = (now: number) => checked({ out: expire(now) }).out;
  return t;
}

describe('rendezvous rooms: joining and refreshing', () => {
  it('the first member gets a welcome and nothing else', () => {
    const t = table();
    const r = t.register(0, ep(1), req(1, 1));
    assert.equal(r.status, 'joined');
    assert.deepEqual(messages(r.out), [{ to: ep(1), message: { type: 'welcome', observed: ep(1), refreshSeconds: 15, members: 1, known: [] } }]);
  });

  it('a second member learns the first, and the first is pushed the second at the same time', () => {
    const t = table();
    t.register(0, ep(1), req(1, 1, { candidates: [ep(5000, '10.0.1.2')] }));
    const r = t.register(10, ep(2), req(1, 2, { name: 'bob' }));
    assert.equal(r.status, 'joined');
    assert.deepEqual(types(to(r.out, ep(2))), ['welcome', '+peer:known'], 'one datagram answers the register');
    assert.deepEqual(types(to(r.out, ep(1))), ['peer:joined']);
    const answer = to(r.out, ep(2))[0];
    assert.ok(answer.type === 'welcome');
    assert.deepEqual(answer.known, [{ peerId: id(1), name: 'p1', flags: 0, reflexive: ep(1), candidates: [ep(5000, '10.0.1.2')] }]);
    const pushed = to(r.out, ep(1))[0];
    assert.ok(pushed.type === 'peer');
    assert.deepEqual(pushed.member, { peerId: id(2), name: 'bob', flags: 0, reflexive: ep(2), candidates: [] });
    const welcome = to(r.out, ep(2))[0];
    assert.ok(welcome.type === 'welcome' && welcome.members === 2);
  });

  it('an unchanged refresh re-sends the member list but pushes nothing', () => {
    const t = table();
    t.register(0, ep(1), req(1, 1));
    t.register(0, ep(2), req(1, 2));
    t.register(0, ep(3), req(1, 3));
    const r = t.register(5000, ep(2), req(1, 2));
    assert.equal(r.status, 'refreshed');
    assert.deepEqual(types(r.out.map((o) => o.message)), ['welcome', '+peer:known', '+peer:known']);
    assert.ok(r.out.every((o) => o.to.port === 2));
  });

  it('changed candidates or name are pushed to the others', () => {
    const t = table();
    t.register(0, ep(1), req(1, 1));
    t.register(0, ep(2), req(1, 2));
    const r = t.register(1, ep(2), req(1, 2, { candidates: [ep(9, '10.0.0.9')] }));
    assert.equal(r.status, 'updated');
    assert.deepEqual(types(to(r.out, ep(1))), ['peer:joined']);
    const r2 = t.register(2, ep(2), req(1, 2, { candidates: [ep(9, '10.0.0.9')], name: 'renamed' }));
    assert.equal(r2.status, 'updated');
    const m = to(r2.out, ep(1))[0];
    assert.ok(m.type === 'peer' && m.member.name === 'renamed');
  });

  it('NAT flags are relayed verbatim and a change is pushed', () => {
    const t = table();
    t.register(0, ep(1), req(1, 1, { flags: 2 }));
    const r = t.register(0, ep(2), req(1, 2));
    const welcome = to(r.out, ep(2))[0];
    assert.ok(welcome.type === 'welcome' && welcome.known[0].flags === 2);
    const pushed = to(r.out, ep(1))[0];
    assert.ok(pushed.type === 'peer' && pushed.member.flags === 0);
    const r2 = t.register(1, ep(2), req(1, 2, { flags: 1 }));
    assert.equal(r2.status, 'updated');
    const m = to(r2.out, ep(1))[0];
    assert.ok(m.type === 'peer' && m.member.flags === 1);
  });

  it('the same peer id from a new endpoint replaces the old entry and is pushed', () => {
    const t = table();
    t.register(0, ep(1), req(1, 1));
    t.register(0, ep(2), req(1, 2));
    const r = t.register(100, ep(22, '203.0.113.5'), req(1, 2));
    assert.equal(r.status, 'moved');
    assert.deepEqual(to(r.out, ep(2)), [], 'the old endpoint hears nothing');
    const pushed = to(r.out, ep(1))[0];
    assert.ok(pushed.type === 'peer' && pushed.joined);
    assert.deepEqual(pushed.member.reflexive, ep(22, '203.0.113.5'));
    assert.equal(t.stats().members, 2);
    assert.deepEqual(t.members(id(1)).map((m) => m.reflexive.port).sort(), [1, 22]);
    // The old endpoint can no longer remove the member; the new one can.
    assert.equal(t.leave(200, ep(2), id(1), id(2)).status, 'notOwner');
    assert.equal(t.leave(200, ep(22, '203.0.113.5'), id(1), id(2)).status, 'left');
  });

  it('rooms are independent; one endpoint may sit in several rooms', () => {
    const t = table();
    t.register(0, ep(1), req(1, 1));
    t.register(0, ep(1), req(2, 1));
    const r = t.register(0, ep(2), req(2, 2));
    assert.deepEqual(types(to(r.out, ep(1))), ['peer:joined']);
    assert.equal(t.stats().rooms, 2);
    assert.equal(t.members(id(1)).length, 1);
  });

  it('returned messages are snapshots, not live records', () => {
    const t = table();
    t.register(0, ep(1), req(1, 1));
    const r = t.register(0, ep(2), req(1, 2));
    t.register(1, ep(9), req(1, 1, { name: 'changed', candidates: [ep(7, '10.0.0.7')] }));
    const welcome = to(r.out, ep(2))[0];
    assert.ok(welcome.type === 'welcome');
    assert.deepEqual(welcome.known[0], { peerId: id(1), name: 'p1', flags: 0, reflexive: ep(1), candidates: [] });
    assert.ok(r.out[0].bytes?.equals(encodeRendezvous(welcome)));
  });

  it('members that do not fit the welcome follow it as peer messages, in room order', () => {
    // 20 members with 64-byte names and 8 IPv6 candidates: 270 B each, four fit in 1200 B.
    const t = table({ maxMembersPerRoom: 20 });
    const big = (n: number) => req(1, n, { name: 'n'.repeat(64), candidates: Array.from({ length: 8 }, (_, i) => ep(i, `2001:db8::${n}:${i}`)) });
    for (let n = 1; n < 20; n++) t.register(n, ep(n), big(n));
    const r = t.register(20, ep(20), big(20));
    const mine = to(r.out, ep(20));
    const welcome = mine[0];
    assert.ok(welcome.type === 'welcome');
    assert.equal(welcome.members, 20);
    assert.equal(welcome.known.length, 4);
    assert.ok(encodeRendezvous(welcome).length <= WELCOME_BUDGET_BYTES);
    assert.deepEqual(types(mine), ['welcome', ...Array(4).fill('+peer:known'), ...Array(15).fill('peer:known')]);
    const told = mine.flatMap((m) => (m.type === 'welcome' ? m.known : m.type === 'peer' ? [m.member] : [])).map((m) => m.peerId[0]);
    assert.deepEqual(told, Array.from({ length: 19 }, (_, i) => i + 1));
    assert.equal(to(r.out, ep(1)).length, 1, 'the others each hear one push');
  });

  it('adds TURN credentials to every welcome when configured', () => {
    const turn = { server: ep(3478, '203.0.113.1'), username: 'u', password: 'p', ttlSeconds: 600 };
    const seen: Buffer[] = [];
    const t = table({ turn: (peerId) => (seen.push(peerId), turn) });
    const r = t.register(0, ep(1), req(1, 1));
    assert.deepEqual(r.out[0].message, { type: 'welcome', observed: ep(1), refreshSeconds: 15, members: 1, turn, known: [] });
    assert.deepEqual(seen, [id(1)]);
  });
});

describe('rendezvous rooms: memory', () => {
  it("kept bytes own their memory: a record never pins a slab of Node's shared Buffer pool", () => {
    const t = table();
    const peerId = Buffer.from(id(1)); // a pooled slice, as decoded datagrams are
    assert.ok(peerId.buffer.byteLength > 32, 'the input is a slice of the pool');
    t.register(0, ep(1), { ...req(1, 1), peerId });
    const kept = t.members(id(1))[0].peerId;
    assert.ok(kept.equals(id(1)));
    assert.equal(kept.buffer.byteLength, 32);
  });
});

describe('rendezvous rooms: leaving and expiry', () => {
  it('leave removes at once, tells the others, and drops an empty room', () => {
    const t = table();
    t.register(0, ep(1), req(1, 1));
    t.register(0, ep(2), req(1, 2));
    t.register(0, ep(3), req(1, 3));
    const r = t.leave(1, ep(2), id(1), id(2));
    assert.equal(r.status, 'left');
    assert.deepEqual(
      r.out.map((o) => [o.to.port, o.message]),
      [
        [1, { type: 'left', peerId: id(2) }],
        [3, { type: 'left', peerId: id(2) }],
      ],
    );
    assert.equal(t.leave(1, ep(2), id(1), id(2)).status, 'unknown');
    t.leave(2, ep(1), id(1), id(1));
    t.leave(2, ep(3), id(1), id(3));
    assert.deepEqual(t.stats().rooms, 0);
    assert.deepEqual(t.stats().members, 0);
  });

  it('only the member’s own endpoint may remove it', () => {
    const t = table();
    t.register(0, ep(1), req(1, 1));
    const r = t.leave(0, ep(666), id(1), id(1));
    assert.deepEqual(r, { status: 'notOwner', out: [] });
    assert.equal(t.stats().members, 1);
  });

  it('members silent for three refresh intervals expire; refreshed ones stay', () => {
    const t = table({ refreshSeconds: 10 });
    t.register(0, ep(1), req(1, 1));
    t.register(1000, ep(2), req(1, 2));
    t.register(2000, ep(3), req(1, 3));
    assert.deepEqual(t.expire(29_999), []);
    t.register(25_000, ep(1), req(1, 1)); // member 1 refreshes
    const out = t.expire(30_000);
    assert.deepEqual(out, []);
    const out2 = t.expire(31_000);
    assert.deepEqual(
      out2.map((o) => [o.to.port, o.message.type === 'left' ? o.message.peerId[0] : -1]),
      [
        [1, 2],
        [3, 2],
      ],
    );
    const out3 = t.expire(32_000);
    assert.deepEqual(out3.map((o) => o.to.port), [1]);
    assert.equal(t.stats().members, 1);
    assert.equal(t.stats().expired, 2);
    assert.deepEqual(t.expire(54_999), []);
    assert.deepEqual(t.expire(55_000), []); // last member: nobody left to tell
    assert.equal(t.stats().rooms, 0);
  });

  it('a custom expiry time is honoured', () => {
    const t = table({ refreshSeconds: 15, expiryMs: 500 });
    t.register(0, ep(1), req(1, 1));
    t.register(0, ep(2), req(1, 2));
    assert.equal(t.expire(499).length, 0);
    assert.equal(t.stats().members, 2);
    t.expire(500);
    assert.equal(t.stats().members, 0);
  });
});

describe('rendezvous rooms: caps', () => {
  it('a full room refuses a newcomer with RoomFull and changes nothing', () => {
    const t = table({ maxMembersPerRoom: 3 });
    for (let i = 1; i <= 3; i++) t.register(0, ep(i), req(1, i));
    const r = t.register(0, ep(4), req(1, 4));
    assert.equal(r.status, 'roomFull');
    assert.equal(r.out.length, 1);
    const m = r.out[0].message;
    assert.ok(m.type === 'error' && m.code === ErrorCode.RoomFull);
    assert.equal(r.out[0].to.port, 4);
    assert.equal(t.stats().members, 3);
    // Existing members still refresh and a leave frees the place.
    assert.equal(t.register(1, ep(2), req(1, 2)).status, 'refreshed');
    t.leave(2, ep(3), id(1), id(3));
    assert.equal(t.register(3, ep(4), req(1, 4)).status, 'joined');
  });

  it('the default room size is 8', () => {
    const t = new RoomTable();
    for (let i = 1; i <= 8; i++) assert.equal(t.register(0, ep(i), req(1, i)).status, 'joined');
    assert.equal(t.register(0, ep(9), req(1, 9)).status, 'roomFull');
  });

  it('too many rooms or members overall gives ServerFull', () => {
    const t = table({ maxRooms: 2, maxMembers: 3 });
    t.register(0, ep(1), req(1, 1));
    t.register(0, ep(2), req(2, 2));
    const r = t.register(0, ep(3), req(3, 3));
    assert.equal(r.status, 'serverFull');
    const m = r.out[0].message;
    assert.ok(m.type === 'error' && m.code === ErrorCode.ServerFull);
    assert.equal(t.register(0, ep(3), req(2, 3)).status, 'joined');
    assert.equal(t.register(0, ep(4), req(1, 4)).status, 'serverFull');
    assert.deepEqual(t.stats().refused, { roomFull: 0, serverFull: 2, addressFull: 0 });
  });

  it('members per IP address are capped, and the count follows moves and leaves', () => {
    const t = table({ maxMembersPerAddress: 2 });
    t.register(0, ep(1, '192.0.2.1'), req(1, 1));
    t.register(0, ep(2, '192.0.2.1'), req(2, 2));
    assert.equal(t.register(0, ep(3, '192.0.2.1'), req(3, 3)).status, 'addressFull');
    t.register(1, ep(2, '192.0.2.99'), req(2, 2)); // member 2 moves to another address
    assert.equal(t.register(2, ep(3, '192.0.2.1'), req(3, 3)).status, 'joined');
    t.leave(3, ep(1, '192.0.2.1'), id(1), id(1));
    assert.equal(t.register(4, ep(4, '192.0.2.1'), req(4, 4)).status, 'joined');
  });

  it('rejects options the wire cannot carry', () => {
    assert.throws(() => new RoomTable({ maxMembersPerRoom: 256 }), RangeError);
    assert.throws(() => new RoomTable({ maxMembersPerRoom: 1 }), RangeError);
    assert.throws(() => new RoomTable({ refreshSeconds: 0 }), RangeError);
  });
});

describe('rendezvous rooms: a randomised run keeps every view consistent', () => {
  it('after any sequence, every member was told exactly the other current members', () => {
    let seed = 7;
    const rnd = (n: number) => Math.floor(((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * n);
    const t = table({ maxMembersPerRoom: 5, refreshSeconds: 1 });
    // Each membership gets endpoints of its own, so a port's view is one member's view of its room.
    const views = new Map<number, Map<string, number>>(); // port -> peer -> the peer's port as told
    const portOf = new Map<string, number>(); // "room/peer" -> port
    let nextPort = 1000;
    const apply = (out: Outgoing[]) => {
      for (const o of out) {
        const set = views.get(o.to.port) ?? new Map<string, number>();
        views.set(o.to.port, set);
        if (o.message.type === 'welcome') {
          set.clear(); // the welcome starts the full list; members that did not fit follow as peer messages
          for (const m of o.message.known) set.set(m.peerId.toString('hex'), m.reflexive.port);
        }
        if (o.message.type === 'peer') set.set(o.message.member.peerId.toString('hex'), o.message.member.reflexive.port);
        if (o.message.type === 'left') set.delete(o.message.peerId.toString('hex'));
      }
    };
    let now = 0;
    let refused = 0;
    for (let step = 0; step < 4000; step++) {
      now += rnd(200) === 0 ? 2000 + rnd(2000) : rnd(30);
      const room = 1 + rnd(4);
      const peer = 1 + rnd(8);
      const key = `${room}/${peer}`;
      const action = rnd(10);
      if (action < 7) {
        const old = portOf.get(key);
        const port = old === undefined || action === 0 ? nextPort++ : old;
        const r = t.register(now, ep(port), req(room, peer));
        if (r.status === 'roomFull') {
          refused++;
          continue;
        }
        if (old !== undefined && old !== port) views.delete(old);
        portOf.set(key, port);
        apply(r.out);
      } else if (action < 9) {
        const port = portOf.get(key);
        if (port === undefined) continue;
        apply(t.leave(now, ep(port), id(room), id(peer)).out);
        portOf.delete(key);
        views.delete(port);
      } else {
        apply(t.expire(now));
        for (const [k, port] of [...portOf]) {
          const [r, pe] = k.split('/').map(Number);
          if (!t.members(id(r)).some((m) => m.peerId.equals(id(pe)))) {
            portOf.delete(k);
            views.delete(port);
          }
        }
      }
    }
    assert.ok(refused > 0, 'the run exercised full rooms');
    assert.ok(t.stats().expired > 0 && t.stats().moved > 0 && t.stats().left > 0, JSON.stringify(t.stats()));
    for (let room = 1; room <= 4; room++) {
      const members = t.members(id(room));
      for (const m of members) {
        const expected = members.filter((o) => o !== m).map((o) => `${o.peerId.toString('hex')}@${o.reflexive.port}`).sort();
        const seen = [...(views.get(m.reflexive.port) ?? [])].map(([p, port]) => `${p}@${port}`).sort();
        assert.deepEqual(seen, expected, `room ${room}, member ${m.peerId[0]}`);
      }
    }
  });
});
