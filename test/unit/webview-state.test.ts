import assert from 'node:assert/strict';
import type { HostToWebview, TranscriptEntry } from '../../extension/shared/protocol';
import { TYPING_TTL_MS, activeTypers, initialModel, isHostMessage, nextTypingExpiry, reduce, type ChatModel } from '../../media/state';

const e = (id: string, from = 'p', own = false, delivery?: TranscriptEntry['delivery']): TranscriptEntry => ({
  id,
  from,
  fromName: from,
  own,
  sentAt: 1000,
  body: { kind: 'text', text: id },
  ...(delivery ? { delivery } : {}),
});

function run(msgs: HostToWebview[], now = 0): { model: ChatModel; changes: string[] } {
  let model = initialModel();
  const changes: string[] = [];
  for (const m of msgs) {
    const r = reduce(model, m, now);
    model = r.model;
    changes.push(r.change);
  }
  return { model, changes };
}

const init = (transcript: TranscriptEntry[] = []): HostToWebview => ({
  type: 'init',
  state: { kind: 'waiting', roomMembers: 1 },
  members: [],
  transcript,
});

describe('webview state reducer', () => {
  it('init replaces everything', () => {
    const { model, changes } = run([init([e('1')]), { type: 'message', entry: e('2') }, init([e('9')])]);
    assert.deepEqual(model.transcript.map((x) => x.id), ['9']);
    assert.equal(model.initialized, true);
    assert.deepEqual(changes, ['all', 'append', 'all']);
  });

  it('appends new ids and replaces known ones', () => {
    const { model, changes } = run([init(), { type: 'message', entry: e('1') }, { type: 'message', entry: { ...e('1'), sentAt: 5 } }]);
    assert.equal(model.transcript.length, 1);
    assert.equal(model.transcript[0]!.sentAt, 5);
    assert.deepEqual(changes, ['all', 'append', 'replace']);
  });

  it('moves delivery forward only, on own messages only', () => {
    const { model, changes } = run([
      init([e('mine', 'me', true, 'queued'), e('theirs')]),
      { type: 'delivery', id: 'mine', delivery: 'delivered' },
      { type: 'delivery', id: 'mine', delivery: 'sent' },
      { type: 'delivery', id: 'theirs', delivery: 'sent' },
      { type: 'delivery', id: 'unknown', delivery: 'sent' },
    ]);
    assert.equal(model.transcript[0]!.delivery, 'delivered');
    assert.equal(model.transcript[1]!.delivery, undefined);
    assert.deepEqual(changes, ['all', 'delivery', 'none', 'none', 'none']);
  });

  it('tracks typing with a TTL and clears it on a message from that peer', () => {
    let m = run([init()]).model;
    m = reduce(m, { type: 'typing', peerId: 'a', name: 'Alice', typing: true }, 100).model;
    m = reduce(m, { type: 'typing', peerId: 'b', name: 'Bob', typing: true }, 200).model;
    assert.deepEqual(activeTypers(m, 300), ['Alice', 'Bob']);
    assert.equal(nextTypingExpiry(m, 300), 100 + TYPING_TTL_MS);
    assert.deepEqual(activeTypers(m, 100 + TYPING_TTL_MS), ['Bob'], 'Alice expired');
    m = reduce(m, { type: 'message', entry: e('x', 'b') }, 400).model;
    assert.deepEqual(activeTypers(m, 400), ['Alice']);
    m = reduce(m, { type: 'typing', peerId: 'a', name: 'Alice', typing: false }, 500).model;
    assert.deepEqual(activeTypers(m, 500), []);
    assert.equal(nextTypingExpiry(m, 500), undefined);
  });

  it('cleared empties the transcript and typing', () => {
    const { model } = run([init([e('1')]), { type: 'typing', peerId: 'a', name: 'A', typing: true }, { type: 'cleared' }]);
    assert.deepEqual(model.transcript, []);
    assert.deepEqual(activeTypers(model, 0), []);
  });

  it('recognises host messages and rejects junk', () => {
    const good: HostToWebview[] = [
      init([e('1')]),
      { type: 'state', state: { kind: 'idle' } },
      { type: 'members', members: [] },
      { type: 'message', entry: e('1') },
      { type: 'message', entry: { ...e('s'), body: { kind: 'snippet', snippet: { path: 'a', language: 'ts', startLine: 1, endLine: 2, code: 'x' } } } },
      { type: 'delivery', id: '1', delivery: 'sent' },
      { type: 'typing', peerId: 'p', name: 'P', typing: false },
      { type: 'cleared' },
    ];
    for (const m of good) assert.equal(isHostMessage(m), true, JSON.stringify(m));
    const bad: unknown[] = [
      null,
      'init',
      42,
      {},
      { type: 'ready' },
      { type: 'init', state: { kind: 'idle' }, members: [] },
      { type: 'init', state: { kind: 'idle' }, members: [], transcript: [{ id: 1 }] },
      { type: 'message', entry: { ...e('1'), body: { kind: 'html', html: '<b>' } } },
      { type: 'message', entry: { ...e('1'), sentAt: '1' } },
      { type: 'message', entry: { ...e('1'), body: { kind: 'snippet', snippet: { path: 'a' } } } },
      { type: 'delivery', id: '1', delivery: 'read' },
      { type: 'typing', peerId: 'p', typing: 'yes' },
      { type: 'state', state: null },
    ];
    for (const m of bad) assert.equal(isHostMessage(m), false, JSON.stringify(m));
  });
});
