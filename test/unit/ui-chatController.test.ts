import assert from 'node:assert/strict';
import type { HistoryEntry } from '../../extension/core/store/history';
import type { ChatMessage, DeliveryState, MemberInfo } from '../../extension/core/types';
import type { HostToWebview, RoomView } from '../../extension/shared/protocol';
import { ChatController, messagePreview, parseWebviewMessage, type TranscriptStore } from '../../extension/ui/chatController';

class MemoryTranscript implements TranscriptStore {
  entries: HistoryEntry[] = [];
  deliveries: [string, DeliveryState][] = [];
  cleared = 0;
  load(): HistoryEntry[] {
    return this.entries.map((e) => ({ ...e }));
  }
  append(e: HistoryEntry): void {
    this.entries.push({ ...e });
  }
  updateDelivery(id: string, d: DeliveryState): void {
    this.deliveries.push([id, d]);
  }
  clear(): void {
    this.entries = [];
    this.cleared++;
  }
}

const room: RoomView = { roomLabel: 'Room abcd', named: false, selfId: 'me', selfName: 'Me', invite: 'p2pchat:x@h:1' };

function msg(id: string, from = 'bob', text = id): ChatMessage {
  return { id, from, fromName: from === 'me' ? 'Me' : 'Bob', sentAt: 1000, body: { kind: 'text', text } };
}

function member(peerId: string, presence: MemberInfo['presence'] = 'online'): MemberInfo {
  return { peerId, name: peerId.toUpperCase(), presence, fingerprint: 'FP', safetyNumber: 'SN' };
}

describe('ChatController', () => {
  let c: ChatController;
  let posted: HostToWebview[];
  const attach = () => c.attachView((m) => posted.push(m));
  beforeEach(() => {
    c = new ChatController();
    posted = [];
  });

  it('posts nothing before the webview is ready, then a full init that covers it all', () => {
    const store = new MemoryTranscript();
    store.entries.push({ ...msg('old'), own: false });
    c.openRoom(room, store, [], 'half a thought');
    c.setState({ kind: 'waiting', roomMembers: 1 });
    c.addIncoming(msg('m1'));
    c.setMembers([member('bob')]);
    assert.equal(posted.length, 0);
    attach();
    assert.equal(posted.length, 1);
    const init = posted[0];
    assert.equal(init.type, 'init');
    if (init.type !== 'init') return;
    assert.deepEqual(init.room, room);
    assert.deepEqual(init.state, { kind: 'waiting', roomMembers: 1 });
    assert.deepEqual(init.transcript.map((e) => e.id), ['old', 'm1']);
    assert.deepEqual(init.members.map((m) => m.peerId), ['bob']);
    assert.equal(init.draft, 'half a thought');
  });

  it('after ready, sends deltas; after detach (panel hidden), stops until the next ready', () => {
    c.openRoom(room, undefined);
    attach();
    c.setState({ kind: 'connected', path: 'direct', peers: 1 });
    c.addIncoming(msg('m1'));
    c.typing('bob', 'Bob', true);
    assert.deepEqual(posted.slice(1).map((m) => m.type), ['state', 'message', 'typing']);
    c.detachView();
    c.addIncoming(msg('m2'));
    assert.equal(posted.length, 4);
    attach();
    const init = posted[4];
    assert.ok(init.type === 'init' && init.transcript.length === 2);
  });

  it('own messages: delivery marks that arrive before the message (as Room.send reports them) are kept', () => {
    const store = new MemoryTranscript();
    c.openRoom(room, store);
    attach();
    c.setDelivery('me-1', 'queued');
    c.setDelivery('me-1', 'sent');
    const entry = c.addOwn(msg('me-1', 'me'));
    assert.equal(entry.own, true);
    assert.equal(entry.delivery, 'sent');
    assert.equal(store.entries[0].delivery, 'sent');
    c.setDelivery('me-1', 'delivered');
    c.setDelivery('me-1', 'sent'); // never back
    assert.deepEqual(store.deliveries, [['me-1', 'delivered']]);
    assert.deepEqual(
      posted.filter((m) => m.type === 'delivery'),
      [{ type: 'delivery', id: 'me-1', delivery: 'delivered' }],
    );
    assert.equal(c.transcript[0].delivery, 'delivered');
  });

  it('ignores delivery marks for peers\' messages and duplicate incoming ids', () => {
    const store = new MemoryTranscript();
    c.openRoom(room, store);
    assert.ok(c.addIncoming(msg('b1')));
    assert.equal(c.addIncoming(msg('b1')), undefined);
    c.setDelivery('b1', 'delivered');
    assert.equal(store.entries.length, 1);
    assert.equal(store.deliveries.length, 0);
    assert.equal(c.transcript[0].delivery, undefined);
  });

  it('counts unread only while hidden, and showing the panel resets it', () => {
    const changes: string[] = [];
    c.onChange((x) => changes.push(x));
    c.openRoom(room, undefined);
    c.setVisible(false);
    c.addIncoming(msg('a'));
    c.addIncoming(msg('b'));
    c.addOwn(msg('mine', 'me'));
    assert.equal(c.unread, 2);
    c.setVisible(true);
    assert.equal(c.unread, 0);
    c.addIncoming(msg('c'));
    assert.equal(c.unread, 0);
    assert.ok(changes.includes('unread'));
  });

  it('restores history plus outbox messages the history lacks, marked queued and persisted', () => {
    const store = new MemoryTranscript();
    store.entries.push({ ...msg('me-1', 'me'), own: true, delivery: 'sent' });
    c.openRoom(room, store, [msg('me-1', 'me'), msg('me-2', 'me')]);
    assert.deepEqual(c.transcript.map((e) => [e.id, e.delivery]), [
      ['me-1', 'sent'],
      ['me-2', 'queued'],
    ]);
    assert.deepEqual(store.entries.map((e) => e.id), ['me-1', 'me-2']);
  });

  it('decorates members before posting them, and refreshMembers re-applies the decorator', () => {
    c.openRoom(room, undefined);
    attach();
    const verified = new Set<string>();
    c.setDecorator((ms) => ms.map((m) => ({ ...m, verified: verified.has(m.peerId) })));
    c.setMembers([member('bob'), member('eve', 'offline')]);
    let last = posted[posted.length - 1];
    assert.ok(last.type === 'members' && last.members.every((m) => m.verified === false));
    verified.add('bob');
    c.refreshMembers();
    last = posted[posted.length - 1];
    assert.ok(last.type === 'members');
    assert.deepEqual(last.members.map((m) => m.verified), [true, false]);
    assert.equal(c.member('bob')?.verified, true);
  });

  it('clearHistory empties transcript and store and tells the webview', () => {
    const store = new MemoryTranscript();
    c.openRoom(room, store);
    attach();
    c.addIncoming(msg('a'));
    c.clearHistory();
    assert.equal(c.transcript.length, 0);
    assert.equal(store.cleared, 1);
    assert.deepEqual(posted[posted.length - 1], { type: 'cleared' });
    assert.ok(c.addIncoming(msg('a')), 'an id seen before the clear is new again');
  });

  it('closeRoom keeps the transcript on screen but drops room, state and members', () => {
    c.openRoom(room, undefined);
    c.setState({ kind: 'connected', path: 'direct', peers: 1 });
    c.setMembers([member('bob')]);
    c.addIncoming(msg('a'));
    attach();
    c.closeRoom();
    const init = posted[posted.length - 1];
    assert.ok(init.type === 'init');
    assert.equal(init.room, undefined);
    assert.deepEqual(init.state, { kind: 'idle' });
    assert.deepEqual(init.members, []);
    assert.equal(init.transcript.length, 1);
  });

  it('bounds the transcript in memory', () => {
    c = new ChatController(3);
    c.openRoom(room, undefined);
    for (let i = 0; i < 5; i++) c.addIncoming(msg(`m${i}`));
    assert.deepEqual(c.transcript.map((e) => e.id), ['m2', 'm3', 'm4']);
    assert.ok(c.addIncoming(msg('m0')), 'evicted ids are forgotten');
  });

  it('survives a history store that throws on load', () => {
    const broken: TranscriptStore = {
      load: () => {
        throw new Error('EACCES');
      },
      append: () => undefined,
      updateDelivery: () => undefined,
      clear: () => undefined,
    };
    c.openRoom(room, broken);
    assert.deepEqual(c.transcript, []);
  });
});

describe('parseWebviewMessage', () => {
  it('accepts every WebviewToHost shape', () => {
    const ok = [
      { type: 'ready' },
      { type: 'send', text: 'hi' },
      { type: 'typing', typing: true },
      { type: 'draft', text: '' },
      { type: 'draft', text: 'for the other room', room: 'ab'.repeat(32) },
      { type: 'openSnippet', snippet: { path: 'a.ts', language: 'typescript', startLine: 1, endLine: 2, code: 'x' } },
      { type: 'copyInvite' },
      { type: 'verifyPeer', peerId: 'ab' },
      { type: 'connect' },
      { type: 'retry' },
    ];
    for (const m of ok) assert.deepEqual(parseWebviewMessage(m), m);
  });

  it('rejects anything else, and strips unknown fields', () => {
    const bad: unknown[] = [
      null,
      'ready',
      {},
      { type: 'nope' },
      { type: 'send' },
      { type: 'send', text: 5 },
      { type: 'typing', typing: 'yes' },
      { type: 'verifyPeer' },
      { type: 'openSnippet', snippet: { path: 'a', language: 'x', startLine: 0, endLine: 1, code: '' } },
      { type: 'openSnippet', snippet: { path: 'a', language: 'x', startLine: 1.5, endLine: 2, code: '' } },
      { type: 'openSnippet' },
      { type: 'draft', text: 'x', room: 'not-a-room-id' },
      { type: 'draft', text: 'x', room: 7 },
    ];
    for (const m of bad) assert.equal(parseWebviewMessage(m), undefined, JSON.stringify(m));
    assert.deepEqual(parseWebviewMessage({ type: 'retry', extra: 1 }), { type: 'retry' });
  });
});

describe('ChatController unread across conversations', () => {
  it('addUnread adds what arrived in the background while hidden, never while visible', () => {
    const c = new ChatController();
    const seen: string[] = [];
    c.onChange((x) => seen.push(x));
    c.addUnread(3);
    assert.equal(c.unread, 3);
    assert.deepEqual(seen, ['unread']);
    c.addUnread(0);
    c.setVisible(true);
    assert.equal(c.unread, 0);
    c.addUnread(2);
    assert.equal(c.unread, 0);
  });
});

describe('messagePreview', () => {
  it('flattens whitespace and truncates', () => {
    assert.equal(messagePreview({ body: { kind: 'text', text: 'a\n\n b' } }), 'a b');
    assert.equal(messagePreview({ body: { kind: 'text', text: 'x'.repeat(200) } }, 10), 'xxxxxxxxx…');
  });
  it('describes snippets by path and lines', () => {
    const snippet = { path: 'src/a.ts', language: 'typescript', startLine: 3, endLine: 9, code: '' };
    assert.equal(messagePreview({ body: { kind: 'snippet', snippet } }), '[src/a.ts:3-9]');
    assert.equal(messagePreview({ body: { kind: 'snippet', snippet: { ...snippet, endLine: 3 }, text: 'see' } }), 'see [src/a.ts:3]');
  });
});

describe('ChatController.snippetSender (names the read-only document of an opened snippet)', () => {
  const snippet = { path: 'src/a.py', language: 'python', startLine: 1, endLine: 2, code: 'x\n' };
  const snip = (id: string, from: string, fromName: string, s = snippet): ChatMessage => ({ id, from, fromName, sentAt: 1, body: { kind: 'snippet', snippet: s } });

  it('finds the newest message carrying exactly that snippet; ours is ours', () => {
    const c = new ChatController();
    c.openRoom(room, undefined);
    assert.equal(c.snippetSender(snippet), undefined);
    c.addIncoming(snip('a', 'carol', 'Carol'));
    c.addIncoming(snip('b', 'bob', 'Bob'));
    c.addIncoming(snip('c', 'dave', 'Dave', { ...snippet, code: 'other' }));
    assert.equal(c.snippetSender(snippet), 'Bob');
    c.addOwn(snip('d', 'me', 'Me'));
    assert.equal(c.snippetSender(snippet), 'Me');
    assert.equal(c.snippetSender({ ...snippet, startLine: 2 }), undefined);
  });
});
