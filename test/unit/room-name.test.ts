// Room names (issue #13 part 7): the app message's golden bytes and its no-throw decoder, the sealed
// name in invites (old invites still parse), last-writer-wins convergence as a property, and Rooms on
// the simulated network (injected clock) that converge after concurrent renames and a member offline.
import assert from 'node:assert/strict';
import { createInvite, formatInvite, inviteLink, parseInvite, withRoomName, type Invite } from '../../extension/core/invite';
import { decodeApp } from '../../extension/core/room/appMessages';
import { deriveRoomKeys } from '../../extension/core/noise';
import {
  cleanRoomName,
  decodeRoomName,
  encodeRoomName,
  MAX_ROOM_NAME_CHARS,
  mergeRoomName,
  openInviteName,
  renameRecord,
  roomNameWins,
  sealInviteName,
  type RoomNameRecord,
} from '../../extension/core/room/roomName';
import { FileRoomStore, MemoryRoomStore } from '../../extension/core/store/roomStore';
import { prng } from '../helpers/prng';
import { SimHost, SimNet } from '../helpers/simNet';
import { createCipheriv, hkdfSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const AUTHOR_A = 'ab'.repeat(32);
const AUTHOR_B = 'cd'.repeat(32);

describe('room names: the app message (docs/PROTOCOL.md §8.4)', () => {
  it('golden bytes', () => {
    const r: RoomNameRecord = { name: 'Design review', lamport: 2, author: AUTHOR_A, setAt: 1_700_000_000_000 };
    const bytes = encodeRoomName(r);
    assert.equal(bytes.toString('hex'), '03' + '00000002' + '0000018bcfe56800' + 'ab'.repeat(32) + '0d' + '44657369676e20726576696577');
    assert.deepEqual(decodeRoomName(bytes), { ok: true, value: r });
    // Not a chat message: the chat decoder (what older versions run) drops it as an unknown type.
    assert.equal(decodeApp(bytes).ok, false);
  });

  it('the decoder never throws and refuses anything but an exact, clean record', () => {
    const good = encodeRoomName({ name: 'Größe 🚀', lamport: 7, author: AUTHOR_B, setAt: 5 });
    assert.equal(decodeRoomName(good).ok, true);
    const raw = (name: Buffer, lamport = 1) => Buffer.concat([Buffer.from('03', 'hex'), Buffer.from(lamport.toString(16).padStart(8, '0'), 'hex'), Buffer.alloc(8), Buffer.from(AUTHOR_A, 'hex'), Buffer.from([name.length]), name]);
    const cases: [string, Buffer][] = [
      ['truncated', good.subarray(0, good.length - 1)],
      ['padded', Buffer.concat([good, Buffer.from([0])])],
      ['empty', Buffer.alloc(0)],
      ['other type', Buffer.concat([Buffer.from([0x01]), good.subarray(1)])],
      ['lamport 0', raw(Buffer.from('x'), 0)],
      ['empty name', raw(Buffer.alloc(0))],
      ['not UTF-8', raw(Buffer.from([0xc3, 0x28]))],
      ['a line break', raw(Buffer.from('a\nb'))],
      ['two spaces', raw(Buffer.from('a  b'))],
      ['leading space', raw(Buffer.from(' a'))],
      ['bidi override', raw(Buffer.from('a\u202eb'))],
      ['too long', raw(Buffer.from('x'.repeat(MAX_ROOM_NAME_CHARS + 1)))],
    ];
    for (const [what, b] of cases) assert.equal(decodeRoomName(b).ok, false, what);
    const r = prng(13);
    for (let i = 0; i < 3000; i++) {
      const b = Buffer.from(good);
      for (let k = 0; k <= r.int(4); k++) b[r.int(b.length)] = r.int(256);
      const d = decodeRoomName(r.next() < 0.5 ? b : b.subarray(0, r.int(b.length + 1)));
      if (d.ok) assert.equal(cleanRoomName(d.value.name), d.value.name);
    }
  });

  it('cleanRoomName: one line, no invisible characters, NFC, at most 64 code points', () => {
    assert.equal(cleanRoomName('  Design\n\treview  '), 'Design review');
    assert.equal(cleanRoomName('a\u200bb\u202ec'), 'a b c');
    assert.equal(cleanRoomName('e\u0301'), '\u00e9');
    assert.equal(cleanRoomName('\u0000\u200b '), '');
    assert.equal(Array.from(cleanRoomName('🚀'.repeat(100))).length, MAX_ROOM_NAME_CHARS);
    // Markup is kept as typed (it is shown through the inert-text rule, never parsed).
    assert.equal(cleanRoomName('[x](command:foo) $(verified)'), '[x](command:foo) $(verified)');
  });
});

describe('room names: last writer wins', () => {
  it('a rename comes after everything its author saw; ties go to the higher author key, then the name', () => {
    const a1 = renameRecord(undefined, 'One', AUTHOR_A, 10);
    assert.equal(a1.lamport, 1);
    const b2 = renameRecord(a1, 'Two', AUTHOR_B, 5); // an earlier wall clock does not matter
    assert.equal(b2.lamport, 2);
    assert.ok(roomNameWins(b2, a1));
    assert.ok(!roomNameWins(a1, b2));
    const a2 = renameRecord(a1, 'Other two', AUTHOR_A, 99);
    assert.ok(roomNameWins(b2, a2), 'same lamport: the higher author key');
    assert.ok(roomNameWins({ ...a2, name: 'b' }, { ...a2, name: 'a' }));
    assert.throws(() => renameRecord(a1, ' \u200b ', AUTHOR_A, 0), /empty/);
    // The invite's name (lamport 0) loses to any member's record.
    assert.ok(roomNameWins(a1, { name: 'From the invite', lamport: 0, author: '', setAt: 0 }));
  });

  it('property: any order of arrival gives every member the same winner', () => {
    const r = prng(77);
    const authors = [AUTHOR_A, AUTHOR_B, 'ef'.repeat(32)];
    for (let round = 0; round < 300; round++) {
      const records: RoomNameRecord[] = [];
      for (let i = 0; i < 2 + r.int(6); i++) records.push({ name: r.pick(['a', 'b', 'c', 'Design']), lamport: 1 + r.int(3), author: r.pick(authors), setAt: r.int(1000) });
      const fold = (list: RoomNameRecord[]) => list.reduce<RoomNameRecord | undefined>((cur, x) => mergeRoomName(cur, x).record, undefined);
      const want = fold(records)!;
      for (let k = 0; k < 5; k++) {
        const shuffled = [...records].sort(() => r.next() - 0.5);
        const got = fold(shuffled)!;
        assert.deepEqual([got.name, got.lamport, got.author], [want.name, want.lamport, want.author]);
      }
    }
  });
});

describe('room names in invites', () => {
  const base: Invite = { secret: Buffer.alloc(16, 0xff), server: { host: 'h', port: 7 } };
  const nonce = Buffer.from('000102030405060708090a0b', 'hex');

  it('golden format: the sealed name after #; without a name, the original bytes', () => {
    assert.equal(formatInvite(base), 'p2pchat:_____________________w@h:7');
    const named = withRoomName(base, 'Design review', nonce);
    const sealed = sealInviteName(base.secret, 'Design review', nonce);
    assert.equal(sealed.toString('hex').slice(0, 26), '01000102030405060708090a0b');
    assert.equal(sealed.length, 1 + 12 + 13 + 16);
    assert.equal(formatInvite(named), `p2pchat:_____________________w@h:7#${sealed.toString('base64url')}`);
    assert.equal(formatInvite(named), 'p2pchat:_____________________w@h:7#AQABAgMEBQYHCAkKC5n2PL_4TiG7krrzdLUe-RiRRaH6mU_EsUjp_q91');
    assert.equal(openInviteName(base.secret, sealed), 'Design review');
    // The same bytes from the primitives directly (docs/PROTOCOL.md §8.4): HKDF-SHA256 and ChaCha20-Poly1305.
    const key = Buffer.from(hkdfSync('sha256', base.secret, Buffer.from('p2p-chat room v1'), Buffer.from('room name'), 32));
    const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
    c.setAAD(Buffer.from('p2p-chat invite room name'), { plaintextLength: 13 });
    const body = c.update(Buffer.from('Design review'));
    c.final();
    assert.ok(sealed.equals(Buffer.concat([Buffer.from([1]), nonce, body, c.getAuthTag()])));
  });

  it('round-trips with the name, through the string and the vscode:// link, with one server or several', () => {
    for (const server of [{ host: '203.0.113.1', port: 7000 }, [{ host: 'a.example.org', port: 7000 }, { host: '2001:db8::2', port: 7100 }]]) {
      const inv = createInvite(server, '  Größe 🚀 [x](command:y) ');
      for (const text of [formatInvite(inv), inviteLink(inv), `<${formatInvite(inv)}>`]) {
        const p = parseInvite(text);
        assert.ok(p.ok, text);
        assert.equal(p.invite.name, 'Größe 🚀 [x](command:y)');
        assert.ok(p.invite.secret.equals(inv.secret));
        assert.equal(formatInvite(p.invite), formatInvite(inv), 'formats back to the same text');
      }
    }
  });

  it('an invite of an older version (no name) still parses, without a name', () => {
    const p = parseInvite('p2pchat:_____________________w@h:7');
    assert.ok(p.ok);
    assert.equal(p.invite.name, undefined);
    assert.equal(createInvite({ host: 'h', port: 1 }).name, undefined);
    assert.equal(createInvite({ host: 'h', port: 1 }, ' \u200b ').sealedName, undefined, 'an empty name is no name');
  });

  it('a name that does not open with the secret (changed, cut short, another room) is refused with a reason', () => {
    const text = formatInvite(withRoomName(base, 'Design review', nonce));
    const [head, sealed] = text.split('#');
    const flipped = Buffer.from(sealed, 'base64url');
    flipped[20] ^= 1;
    const other = formatInvite(withRoomName({ ...base, secret: Buffer.alloc(16, 1) }, 'Design review', nonce)).split('#')[1];
    for (const bad of [`${head}#${flipped.toString('base64url')}`, `${head}#${sealed.slice(0, -4)}`, `${head}#${other}`, `${head}#`, `${head}#!!`, `${head}#${'A'.repeat(500)}`]) {
      const p = parseInvite(bad);
      assert.equal(p.ok, false, bad);
      assert.match((p as { error: string }).error, /room name/);
    }
  });

  it('renaming re-seals: a fresh nonce, the same secret and servers', () => {
    const inv = createInvite({ host: 'h', port: 1 }, 'Old');
    const again = withRoomName(inv, 'New');
    assert.ok(again.secret.equals(inv.secret));
    assert.equal(again.name, 'New');
    assert.notEqual(formatInvite(again).split('#')[1], formatInvite(inv).split('#')[1]);
    const p = parseInvite(formatInvite(again));
    assert.ok(p.ok && p.invite.name === 'New');
  });
});

describe('room names among members (simulated network, injected clock)', () => {
  const keys = deriveRoomKeys(Buffer.alloc(16, 5));

  interface Watched {
    host: SimHost;
    names: { name: string; by?: string }[];
  }

  function member(net: SimNet, name: string, i: number, over: { roomName?: RoomNameRecord; store?: MemoryRoomStore | FileRoomStore } = {}): Watched {
    const host = net.addHost(name, { address: `10.0.7.${i + 2}`, port: 5000 }, undefined, {
      roomId: keys.roomId,
      psk: keys.psk,
      keepaliveMs: 1000,
      lostAfterMs: 4000,
      ...(over.roomName ? { roomName: over.roomName } : {}),
      ...(over.store ? { store: over.store } : {}),
    });
    const w: Watched = { host, names: [] };
    host.room.events = { roomName: (r, by) => void w.names.push({ name: r.name, ...(by ? { by: by.name } : {}) }) };
    return w;
  }

  const nameOf = (w: Watched) => w.host.room.roomName?.name;
  const meshUp = (ws: Watched[], peers: number) => () => ws.every((w) => w.host.room.state.kind === 'connected' && w.host.room.state.peers === peers);

  it("the creator's name reaches members who joined with an old invite (no name), and late joiners", () => {
    const net = new SimNet(3);
    const selfKey = 'ff'.repeat(32);
    const ann = member(net, 'Ann', 0, { roomName: { name: 'Design review', lamport: 1, author: selfKey, setAt: 0 } });
    const ben = member(net, 'Ben', 1);
    const cat = member(net, 'Cat', 2, { roomName: { name: 'From an older invite', lamport: 0, author: '', setAt: 0 } });
    for (const w of [ann, ben, cat]) net.start(w.host);
    assert.ok(net.run(20000, () => [ann, ben, cat].every((w) => nameOf(w) === 'Design review')));
    assert.deepEqual(ben.names, [{ name: 'Design review', by: 'Ann' }]);
    const dan = member(net, 'Dan', 3);
    net.start(dan.host);
    assert.ok(net.run(net.now + 20000, () => nameOf(dan) === 'Design review'), 'a late joiner learns it from whoever it meets');
    assert.equal(dan.names.length, 1, 'told once, though every member sends it');
  });

  it('concurrent renames and a member offline meanwhile: all end with the same name', () => {
    const net = new SimNet(9);
    const all = ['Ann', 'Ben', 'Cat', 'Dan'].map((n, i) => member(net, n, i));
    const [ann, ben, cat, dan] = all;
    for (const w of all) net.start(w.host);
    assert.ok(net.run(20000, meshUp(all, 3)));
    ann.host.room.rename('First name', net.now);
    assert.ok(net.run(net.now + 5000, () => all.every((w) => nameOf(w) === 'First name')));
    dan.host.down = true;
    // Ben and Cat rename at the same instant (same Lamport time): the higher author key wins everywhere.
    const rb = ben.host.room.rename('Ben says', net.now);
    const rc = cat.host.room.rename('Cat says', net.now);
    assert.equal(rb.lamport, 2);
    assert.equal(rc.lamport, 2);
    const winner = rb.author > rc.author ? 'Ben says' : 'Cat says';
    assert.ok(net.run(net.now + 5000, () => [ann, ben, cat].every((w) => nameOf(w) === winner)), `converged on ${winner}`);
    assert.equal(nameOf(dan), 'First name', 'Dan was away');
    dan.host.down = false;
    dan.host.room.tick(net.now);
    assert.ok(net.run(net.now + 60000, () => nameOf(dan) === winner), 'Dan converges when he is back');
    // Renamed again by Dan after catching up: after everything he saw.
    const rd = dan.host.room.rename('Dan has the last word', net.now);
    assert.equal(rd.lamport, 3);
    assert.ok(net.run(net.now + 5000, () => all.every((w) => nameOf(w) === 'Dan has the last word')));
    for (const w of all) assert.equal(w.host.room.stats.droppedMalformed, 0);
  });

  it('kept in the room store: a restarted member still knows it, and an older name passed in does not override it', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'p2p-roomname-'));
    try {
      const file = path.join(dir, 'room.json');
      const net = new SimNet(4);
      const ann = member(net, 'Ann', 0, { store: new FileRoomStore(file) });
      const ben = member(net, 'Ben', 1);
      net.start(ann.host);
      net.start(ben.host);
      assert.ok(net.run(20000, meshUp([ann, ben], 1)));
      ben.host.room.rename('Kept', net.now);
      assert.ok(net.run(net.now + 5000, () => nameOf(ann) === 'Kept'));
      ann.host.room.leave(net.now);
      const again = new FileRoomStore(file).load();
      assert.equal(again.roomName?.name, 'Kept');
      assert.equal(again.roomName?.lamport, 1);
      // The invite's (lamport 0) name passed at the next start loses to the stored record.
      const net2 = new SimNet(5);
      const ann2 = member(net2, 'Ann', 0, { store: new FileRoomStore(file), roomName: { name: 'Invite name', lamport: 0, author: '', setAt: 0 } });
      assert.equal(nameOf(ann2), 'Kept');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
