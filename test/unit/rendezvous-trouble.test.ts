import assert from 'node:assert/strict';
import { rendezvousRefusal, rendezvousSilence } from '../../extension/core/rendezvousTrouble';
import { generateKeyPair } from '../../extension/core/noise';
import { Room } from '../../extension/core/room/room';
import { MemoryRoomStore } from '../../extension/core/store/roomStore';
import type { ConnectionState } from '../../extension/core/types';
import { encodeRendezvous, ErrorCode } from '../../extension/core/wire/rendezvous';

// Issue #10, part 5d: "Room is full" came with "check the server setting and that UDP is allowed".
// Each refusal now has its own reason and hint, and a server that answers (if only to refuse) is
// never reported as "has not answered".

const REFUSALS = [ErrorCode.Malformed, ErrorCode.UnsupportedVersion, ErrorCode.RoomFull, ErrorCode.RateLimited, ErrorCode.ServerFull];

describe('rendezvous refusals: a reason and a hint of their own', () => {
  it('maps every refusal code to its own words, none blaming the setting or UDP', () => {
    const hints = new Set<string>();
    const reasons = new Set<string>();
    for (const code of REFUSALS) {
      const t = rendezvousRefusal(code, 'whatever the server says');
      hints.add(t.hint);
      reasons.add(t.reason);
      assert.doesNotMatch(t.hint, /UDP|p2pChat\.rendezvousServer setting \(host/, `code ${code}: ${t.hint}`);
    }
    assert.equal(hints.size, REFUSALS.length, 'one hint per refusal');
    assert.equal(reasons.size, REFUSALS.length, 'one reason per refusal');
    assert.equal(rendezvousRefusal(ErrorCode.RoomFull).reason, 'the room is full');
    assert.match(rendezvousRefusal(ErrorCode.RoomFull).hint, /start a new room/);
    assert.match(rendezvousRefusal(ErrorCode.RateLimited).hint, /Wait a minute/);
    assert.match(rendezvousRefusal(ErrorCode.UnsupportedVersion).hint, /Update P2P Chat/);
  });

  it('tells the per-address limit from a full server (one code, two texts on the wire)', () => {
    assert.match(rendezvousRefusal(ErrorCode.ServerFull, 'too many members from this address').reason, /your address/);
    assert.equal(rendezvousRefusal(ErrorCode.ServerFull, 'server is full').reason, 'the rendezvous server is full');
  });

  it('names an unknown code (a newer server) and never shows the server text', () => {
    const t = rendezvousRefusal(99, '[x](command:evil)');
    assert.match(t.reason, /code 99/);
    assert.doesNotMatch(t.reason + t.hint, /command:evil/);
  });

  it('only silence points at the setting and UDP', () => {
    const t = rendezvousSilence('example.org:7000', 5400);
    assert.equal(t.reason, 'the rendezvous server example.org:7000 has not answered for 5 s');
    assert.match(t.hint, /p2pChat\.rendezvousServer/);
    assert.match(t.hint, /UDP/);
  });
});

describe('Room: a refused registration', () => {
  const server = { address: '192.0.2.1', port: 7000 };

  function refusedRoom(code: ErrorCode, text: string) {
    const states: ConnectionState[] = [];
    const room = new Room({ identity: generateKeyPair(), name: 'A', roomId: Buffer.alloc(32, 1), psk: Buffer.alloc(32, 2), server, store: new MemoryRoomStore() });
    room.events = { state: (s) => states.push(s) };
    room.start(0);
    room.takeOutgoing();
    room.receive(encodeRendezvous({ type: 'error', code, message: text }), server, 100);
    return { room, states };
  }

  it('shows the refusal with its own hint, and keeps it while the server keeps answering', () => {
    const { room, states } = refusedRoom(ErrorCode.RoomFull, 'room is full (2 members)');
    const failed = states.at(-1);
    assert.deepEqual(failed, { kind: 'failed', ...rendezvousRefusal(ErrorCode.RoomFull) });
    // Before the fix the client still waited for an answer and, 5 s later, said the server "has not
    // answered": check UDP. Each retry is refused again; the state stays "the room is full".
    for (let now = 200; now <= 60_000; now += 100) {
      room.tick(now);
      for (const o of room.takeOutgoing()) {
        if (o.to.port === server.port) {
          room.receive(encodeRendezvous({ type: 'error', code: ErrorCode.RoomFull, message: 'room is full (2 members)' }), server, now + 20);
        }
      }
    }
    assert.deepEqual(room.state, { kind: 'failed', ...rendezvousRefusal(ErrorCode.RoomFull) });
    assert.ok(!states.some((s) => s.kind === 'failed' && /has not answered/.test(s.reason)), JSON.stringify(states));
  });

  it('a server that refuses once and then goes silent is reported as silent', () => {
    const { room } = refusedRoom(ErrorCode.RateLimited, 'rate limited');
    assert.equal(room.state.kind === 'failed' && room.state.reason, rendezvousRefusal(ErrorCode.RateLimited).reason);
    for (let now = 200; now <= 30_000; now += 100) {
      room.tick(now);
      room.takeOutgoing();
    }
    assert.ok(room.state.kind === 'failed' && /has not answered/.test(room.state.reason), JSON.stringify(room.state));
    assert.ok(room.state.kind === 'failed' && /UDP/.test(room.state.hint));
  });
});
