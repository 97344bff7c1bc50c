// A message a receiver refuses is reported as `rejected` to its sender, never `delivered`; a sender
// refuses up front what a receiver would refuse (one rule, checkBody). Golden bytes for the Reject
// message (docs/PROTOCOL.md §8.3), then Rooms on the simulated network with an injected clock.
import assert from 'node:assert/strict';
import {
  BodyRejectedError,
  checkBody,
  decodeApp,
  encodeAcceptableChat,
  encodeChat,
  encodeReject,
  MAX_SNIPPET_BYTES,
  MAX_TEXT_CHARS,
  RejectReason,
} from '../../extension/core/room/appMessages';
import { deriveRoomKeys } from '../../extension/core/noise';
import { freshRoomState, MemoryRoomStore } from '../../extension/core/store/roomStore';
import type { ChatBody, DeliveryState } from '../../extension/core/types';
import { SimHost, SimNet } from '../helpers/simNet';
import { deliveryRank } from '../../extension/core/store/history';
import { initialModel, isHostMessage, reduce } from '../../media/state';
import { deliveryView } from '../../media/viewModel';

const keys = deriveRoomKeys(Buffer.alloc(16, 9));
const snippet = (over: Record<string, unknown> = {}) => ({ kind: 'snippet', snippet: { path: 'a.ts', language: 'typescript', startLine: 1, endLine: 2, code: 'x', ...over } });

describe('app messages: Reject and the one acceptance rule', () => {
  it('golden bytes: Reject', () => {
    const bytes = encodeReject({ epoch: 0x01020304, seq: 5, reason: RejectReason.TextTooLong });
    assert.equal(bytes.toString('hex'), '02' + '01020304' + '00000005' + '02');
    assert.deepEqual(decodeApp(bytes), { ok: true, value: { type: 'reject', epoch: 0x01020304, seq: 5, reason: RejectReason.TextTooLong } });
  });

  it('a truncated or padded Reject is malformed, not a reject', () => {
    const bytes = encodeReject({ epoch: 1, seq: 2, reason: RejectReason.BadSnippet });
    assert.equal(decodeApp(bytes.subarray(0, 9)).ok, false);
    assert.equal(decodeApp(Buffer.concat([bytes, Buffer.from([0])])).ok, false);
  });

  it('a chat whose header is intact but whose body is refused decodes as `refused`, with the reason', () => {
    const long = encodeChat({ epoch: 7, seq: 3, sentAt: 0, body: { kind: 'text', text: 'x'.repeat(MAX_TEXT_CHARS + 1) } });
    assert.deepEqual(decodeApp(long), { ok: true, value: { type: 'refused', epoch: 7, seq: 3, reason: RejectReason.TextTooLong } });
    const notJson = Buffer.concat([encodeChat({ epoch: 7, seq: 4, sentAt: 0, body: { kind: 'text', text: '' } }).subarray(0, 17), Buffer.from('{nope')]);
    assert.deepEqual(decodeApp(notJson), { ok: true, value: { type: 'refused', epoch: 7, seq: 4, reason: RejectReason.NotJson } });
    const bad = encodeChat({ epoch: 7, seq: 5, sentAt: 0, body: snippet({ endLine: 0 }) as unknown as ChatBody });
    assert.deepEqual(decodeApp(bad), { ok: true, value: { type: 'refused', epoch: 7, seq: 5, reason: RejectReason.BadSnippet } });
  });

  it('checkBody: limits at the edge, each refusal with its reason', () => {
    assert.ok(checkBody({ kind: 'text', text: 'x'.repeat(MAX_TEXT_CHARS) }).ok);
    assert.deepEqual(checkBody({ kind: 'text', text: 'x'.repeat(MAX_TEXT_CHARS + 1) }), { ok: false, reason: RejectReason.TextTooLong });
    assert.ok(checkBody(snippet({ code: 'x'.repeat(MAX_SNIPPET_BYTES) })).ok);
    assert.deepEqual(checkBody(snippet({ code: 'x'.repeat(MAX_SNIPPET_BYTES + 1) })), { ok: false, reason: RejectReason.BadSnippet });
    assert.deepEqual(checkBody(snippet({ startLine: 3, endLine: 2 })), { ok: false, reason: RejectReason.BadSnippet });
    assert.deepEqual(checkBody(snippet({ path: 'p'.repeat(1025) })), { ok: false, reason: RejectReason.BadSnippet });
    assert.deepEqual(checkBody({ ...snippet(), text: 'x'.repeat(MAX_TEXT_CHARS + 1) }), { ok: false, reason: RejectReason.TextTooLong });
    assert.deepEqual(checkBody({ kind: 'poll' }), { ok: false, reason: RejectReason.UnknownKind });
  });

  it('the sender refuses what the receiver refuses, and bounds the encoded size (JSON escapes grow a body)', () => {
    const env = (body: unknown) => ({ epoch: 1, seq: 1, sentAt: 0, body: body as ChatBody });
    assert.throws(() => encodeAcceptableChat(env({ kind: 'text', text: 'x'.repeat(MAX_TEXT_CHARS + 1) })), (e: unknown) => e instanceof BodyRejectedError && /longer than 65,536 characters/.test(e.message));
    assert.throws(() => encodeAcceptableChat(env(snippet({ endLine: 0 }))), /snippet is malformed/);
    // 1.1 M control characters each escape to six bytes: over the channel's 4 MiB message limit.
    assert.throws(() => encodeAcceptableChat(env(snippet({ code: '\u0001'.repeat(MAX_SNIPPET_BYTES) }))), (e: unknown) => e instanceof BodyRejectedError && e.reason === RejectReason.TooLarge);
    const ok = encodeAcceptableChat(env({ kind: 'text', text: 'fine' }));
    assert.equal(decodeApp(ok).ok && (decodeApp(ok) as { value: { type: string } }).value.type, 'chat');
  });
});

interface Watched {
  host: SimHost;
  got: string[];
  delivery: { id: string; state: DeliveryState; reason?: string }[];
}

function member(net: SimNet, name: string, i: number, store = new MemoryRoomStore()): Watched {
  const host = net.addHost(name, { address: `10.0.9.${i + 2}`, port: 5000 }, undefined, { roomId: keys.roomId, psk: keys.psk, store });
  const w: Watched = { host, got: [], delivery: [] };
  host.room.events = {
    message: (m) => void w.got.push(m.body.kind === 'text' ? m.body.text : `[snippet ${m.body.snippet.path}]`),
    delivery: (id, state, reason) => void w.delivery.push({ id, state, reason }),
  };
  return w;
}

describe('room: refused messages', () => {
  it('Room.send throws before queuing a body a receiver would refuse: nothing in the outbox, no mark', () => {
    const net = new SimNet(3);
    const a = member(net, 'Ann', 0);
    net.start(a.host);
    assert.throws(() => a.host.room.send({ kind: 'text', text: 'x'.repeat(MAX_TEXT_CHARS + 1) }, net.now), BodyRejectedError);
    assert.throws(() => a.host.room.send(snippet({ startLine: 0 }) as unknown as ChatBody, net.now), BodyRejectedError);
    assert.equal(a.host.room.pendingMessages().length, 0);
    assert.deepEqual(a.delivery, []);
  });

  it('room of 3: a message every receiver refuses is marked rejected with a reason, never delivered; chat goes on', () => {
    const net = new SimNet(5);
    // An outbox written by a version with looser limits (or a buggy one): the receivers' rule decides.
    const store = new MemoryRoomStore();
    const state = freshRoomState();
    state.outbox.push({ seq: 1, sentAt: 1_700_000_000_000, body: { kind: 'text', text: 'y'.repeat(MAX_TEXT_CHARS + 10) }, pending: ['?'] });
    state.nextSeq = 2;
    store.record({ op: 'add', entry: state.outbox[0] }, state);
    const ben = member(net, 'Ben', 1);
    const cat = member(net, 'Cat', 2);
    net.start(ben.host);
    net.start(cat.host);
    assert.ok(net.run(10000, () => ben.host.room.state.kind === 'connected' && cat.host.room.state.kind === 'connected'));
    const ann = member(net, 'Ann', 0, store);
    const id = ann.host.room.pendingMessages()[0].id;
    net.start(ann.host);
    assert.ok(net.run(net.now + 10000, () => ann.host.room.pendingMessages().length === 0), 'settled');
    net.run(net.now + 5000);
    const marks = ann.delivery.filter((d) => d.id === id);
    assert.ok(!marks.some((d) => d.state === 'delivered'), `never delivered: ${JSON.stringify(marks.map((d) => d.state))}`);
    assert.equal(marks[marks.length - 1].state, 'rejected');
    assert.match(marks[marks.length - 1].reason!, /(Ben|Cat) refused it: the text is longer than 65,536 characters/);
    assert.deepEqual(ben.got, []);
    assert.deepEqual(cat.got, []);
    assert.equal(ben.host.room.stats.refused + cat.host.room.stats.refused, 2);
    // The refusal is final: the next message goes through, and nobody is asked twice.
    const ok = ann.host.room.send({ kind: 'text', text: 'short one' }, net.now);
    assert.ok(net.run(net.now + 5000, () => ann.delivery.some((d) => d.id === ok.id && d.state === 'delivered')));
    assert.deepEqual(ben.got, ['short one']);
    assert.deepEqual(cat.got, ['short one']);
    assert.equal(ben.host.room.stats.refused + cat.host.room.stats.refused, 2);
  });
});

describe('the rejected mark in history and the webview', () => {
  it('outranks delivered (a Reject that comes after the ack still wins), and the webview shows it as an error', () => {
    assert.ok(deliveryRank('rejected') > deliveryRank('delivered'));
    const own = { id: 'm1', from: 'me', fromName: 'Me', own: true, sentAt: 0, body: { kind: 'text' as const, text: 'x' }, delivery: 'delivered' as const };
    const model = { ...initialModel(), transcript: [own] };
    const msg = { type: 'delivery', id: 'm1', delivery: 'rejected' } as const;
    assert.ok(isHostMessage(msg));
    const r = reduce(model, msg, 0);
    assert.equal(r.model.transcript[0].delivery, 'rejected');
    assert.equal(reduce(r.model, { type: 'delivery', id: 'm1', delivery: 'delivered' }, 0).change, 'none', 'never back to delivered');
    assert.deepEqual(deliveryView('rejected').icon, 'error');
  });
});
