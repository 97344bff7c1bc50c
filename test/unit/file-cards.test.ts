// File cards across the host ↔ webview boundary: the protocol messages each side accepts (and the
// malformed ones it drops), the controller's part (cards in the transcript, init with their state,
// posts only for cards on screen), history round trips, and what a card shows computed from its
// transfers (ui/fileCards.ts), including the image sniffing that gates previews.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HistoryStore } from '../../extension/core/store/history';
import type { TransferInfo } from '../../extension/core/transfer/manager';
import type { FileStatus, HostToWebview, RoomView } from '../../extension/shared/protocol';
import { ChatController, MAX_DROPPED_BYTES, messagePreview, parseWebviewMessage } from '../../extension/ui/chatController';
import { fileEntry, incomingStatus, outgoingStatus, sniffImage, type OutgoingCard } from '../../extension/ui/fileCards';
import { isFileStatus, isHostMessage, reduce, initialModel } from '../../media/state';

const ID = 'ab'.repeat(16);
const ref = { id: ID, name: 'shot.png', size: 1000, mime: 'image/png' };
const room: RoomView = { roomLabel: 'Room abcd', named: false, selfId: 'me', selfName: 'Me', key: 'cd'.repeat(32) };

function info(over: Partial<TransferInfo>): TransferInfo {
  return { id: 't1', peer: 'bob', direction: 'out', name: 'shot.png', mime: 'image/png', size: 1000, status: 'active', bytes: 0, rate: 0, wireBytes: 0, ...over };
}

describe('file cards: webview → host messages', () => {
  it('accepts the card buttons, Send files…, dropped files and dragged URIs', () => {
    assert.deepEqual(parseWebviewMessage({ type: 'fileAction', id: ID, action: 'save' }), { type: 'fileAction', id: ID, action: 'save' });
    assert.deepEqual(parseWebviewMessage({ type: 'fileAction', id: ID, action: 'cancel', extra: 1 }), { type: 'fileAction', id: ID, action: 'cancel' });
    assert.deepEqual(parseWebviewMessage({ type: 'pickFiles' }), { type: 'pickFiles' });
    const bytes = new Uint8Array([1, 2, 3]);
    assert.deepEqual(parseWebviewMessage({ type: 'sendFiles', files: [{ name: 'a.txt', bytes }] }), { type: 'sendFiles', files: [{ name: 'a.txt', bytes }] });
    // An ArrayBuffer (another serialisation of the same bytes) is taken too.
    const m = parseWebviewMessage({ type: 'sendFiles', files: [{ name: 'b', bytes: bytes.buffer }] });
    assert.deepEqual(m, { type: 'sendFiles', files: [{ name: 'b', bytes: new Uint8Array([1, 2, 3]) }] });
    assert.deepEqual(parseWebviewMessage({ type: 'sendUris', uris: ['file:///a', 'vscode-remote://h/b'] }), { type: 'sendUris', uris: ['file:///a', 'vscode-remote://h/b'] });
  });

  it('drops malformed ones', () => {
    const bad: unknown[] = [
      { type: 'fileAction', id: ID, action: 'delete' },
      { type: 'fileAction', id: '../../etc', action: 'open' },
      { type: 'fileAction', id: 'x'.repeat(65), action: 'open' },
      { type: 'fileAction', action: 'open' },
      { type: 'sendFiles', files: [] },
      { type: 'sendFiles', files: [{ name: 'a', bytes: [1, 2, 3] }] },
      { type: 'sendFiles', files: [{ name: 5, bytes: new Uint8Array(1) }] },
      { type: 'sendFiles', files: [{ name: 'n'.repeat(1025), bytes: new Uint8Array(1) }] },
      { type: 'sendFiles', files: Array.from({ length: 33 }, () => ({ name: 'a', bytes: new Uint8Array(1) })) },
      { type: 'sendFiles', files: 'x' },
      { type: 'sendUris', uris: [] },
      { type: 'sendUris', uris: [1] },
      { type: 'sendUris', uris: ['x'.repeat(5000)] },
    ];
    for (const m of bad) assert.equal(parseWebviewMessage(m), undefined, JSON.stringify(m).slice(0, 80));
  });

  it('refuses a drop over the byte cap without copying it', () => {
    // Views over one buffer: the cap counts bytes, not allocations.
    const big = new Uint8Array(new ArrayBuffer(MAX_DROPPED_BYTES / 2 + 1));
    assert.equal(parseWebviewMessage({ type: 'sendFiles', files: [{ name: 'a', bytes: big }, { name: 'b', bytes: big }] }), undefined);
  });
});

describe('file cards: host → webview messages', () => {
  const status: FileStatus = { id: ID, direction: 'in', state: 'active', bytes: 10, total: 100, rate: 5, eta: 18, canOpen: false };

  it('the webview accepts well-formed statuses, previews and file entries', () => {
    assert.equal(isHostMessage({ type: 'fileStatus', status }), true);
    assert.equal(isHostMessage({ type: 'filePreview', id: ID, mime: 'image/webp', bytes: new Uint8Array(4) }), true);
    assert.equal(isHostMessage({ type: 'message', entry: fileEntry(ref, 'bob', 'Bob', false, 5) }), true);
    assert.equal(isHostMessage({ type: 'init', state: { kind: 'idle' }, members: [], transcript: [fileEntry(ref, 'bob', 'Bob', false, 5)], files: [status] }), true);
    const r = reduce(initialModel(), { type: 'fileStatus', status }, 0);
    assert.equal(r.change, 'file');
  });

  it('and drops malformed ones', () => {
    const bad: unknown[] = [
      { type: 'fileStatus', status: { ...status, state: 'pwned' } },
      { type: 'fileStatus', status: { ...status, bytes: -1 } },
      { type: 'fileStatus', status: { ...status, rate: Infinity } },
      { type: 'fileStatus', status: { ...status, canOpen: 'yes' } },
      { type: 'fileStatus', status: { ...status, id: '' } },
      { type: 'filePreview', id: ID, mime: 'image/svg+xml', bytes: new Uint8Array(4) },
      { type: 'filePreview', id: ID, mime: 'text/html', bytes: new Uint8Array(4) },
      { type: 'filePreview', id: ID, mime: 'image/png', bytes: [1, 2] },
      { type: 'message', entry: { ...fileEntry(ref, 'bob', 'Bob', false, 5), body: { kind: 'file', file: { ...ref, size: 'big' } } } },
      { type: 'message', entry: { ...fileEntry(ref, 'bob', 'Bob', false, 5), body: { kind: 'file' } } },
      { type: 'init', state: { kind: 'idle' }, members: [], transcript: [], files: [{ id: ID }] },
    ];
    for (const m of bad) assert.equal(isHostMessage(m), false, JSON.stringify(m).slice(0, 100));
    assert.equal(isFileStatus(null), false);
  });
});

describe('file cards: the chat controller', () => {
  it('adds a card once, persists it, posts its state only while it is on screen, and puts states in init', () => {
    const c = new ChatController();
    const posted: HostToWebview[] = [];
    const stored: unknown[] = [];
    c.openRoom(room, { load: () => [], append: (e) => void stored.push(e), updateDelivery: () => undefined, clear: () => undefined });
    c.setFileSource((entries) => entries.flatMap((e) => (e.body.kind === 'file' ? [{ id: e.body.file.id, direction: 'in' as const, state: 'offered' as const, bytes: 0, total: 1000, rate: 0, canOpen: false }] : [])));
    let inits = 0;
    c.onViewInit(() => inits++);
    c.attachView((m) => posted.push(m));
    assert.equal(inits, 1);
    const e = fileEntry(ref, 'bob', 'Bob', false, 5);
    assert.equal(c.addFileEntry(e), true);
    assert.equal(c.addFileEntry(e), false, 'a card is added once');
    assert.equal(stored.length, 1);
    assert.deepEqual(posted.slice(1), [{ type: 'message', entry: e }]);
    c.postFile({ type: 'fileStatus', status: { id: ID, direction: 'in', state: 'active', bytes: 1, total: 1000, rate: 0, canOpen: false } });
    c.postFile({ type: 'fileStatus', status: { id: 'ff'.repeat(16), direction: 'in', state: 'active', bytes: 1, total: 1000, rate: 0, canOpen: false } });
    assert.equal(posted.filter((m) => m.type === 'fileStatus').length, 1, 'only the card on screen');
    const init = c.initMessage();
    assert.ok(init.type === 'init' && init.files?.length === 1 && init.files[0]!.id === ID);
    assert.equal(c.unread, 1, 'an incoming card counts as unread while the panel is hidden');
    assert.equal(messagePreview(e), '[file shot.png]');
  });

  it('history keeps file cards across a restart and drops malformed ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'p2p-filecards-'));
    try {
      const h = new HistoryStore(join(dir, 'h.jsonl'));
      h.append(fileEntry(ref, 'bob', 'Bob', false, 5));
      h.append({ ...fileEntry(ref, 'bob', 'Bob', false, 6), id: 'file:bad', body: { kind: 'file', file: { ...ref, size: -1 } } });
      const back = new HistoryStore(join(dir, 'h.jsonl')).load();
      assert.deepEqual(back, [fileEntry(ref, 'bob', 'Bob', false, 5)]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('file cards: what a card shows', () => {
  const card = (over: Partial<OutgoingCard> = {}): OutgoingCard => ({ id: ID, room: 'r', path: '/x/shot.png', ref, transfers: ['t1', 't2'], peers: ['bob', 'carol'], ...over });

  it('a received file follows its transfer; an unknown one is gone', () => {
    assert.equal(incomingStatus(ID, info({ direction: 'in', status: 'offered' })).state, 'offered');
    const active = incomingStatus(ID, info({ direction: 'in', status: 'active', bytes: 400, rate: 100, eta: 6 }));
    assert.deepEqual(active, { id: ID, direction: 'in', state: 'active', bytes: 400, total: 1000, rate: 100, eta: 6, canOpen: false });
    assert.equal(incomingStatus(ID, info({ direction: 'in', status: 'done', bytes: 1000, path: '/d/shot.png' })).canOpen, true);
    assert.equal(incomingStatus(ID, info({ direction: 'in', status: 'cancelled', error: '<b>peer text</b>', cancelledByPeer: true })).error, 'cancelled by the sender', "a peer's reason is not shown");
    assert.equal(incomingStatus(ID, undefined).state, 'gone');
  });

  it('a sent file sums its recipients: waiting, active, done when all have it; cancelled when all stopped', () => {
    assert.equal(outgoingStatus(card({ transfers: [], peers: [] }), [], true).state, 'waiting', 'sent to an empty room: waits for the first member');
    const s = outgoingStatus(card(), [info({ id: 't1', status: 'active', bytes: 500, rate: 50, eta: 10 }), info({ id: 't2', status: 'waiting', bytes: 0 })], true);
    assert.deepEqual(s, { id: ID, direction: 'out', state: 'active', bytes: 500, total: 2000, rate: 50, eta: 10, canOpen: true, recipients: 2, received: 0 });
    const d = outgoingStatus(card(), [info({ id: 't1', status: 'done', bytes: 1000 }), info({ id: 't2', status: 'cancelled', cancelledByPeer: true, error: 'declined' })], true);
    assert.equal(d.state, 'done', 'one declined, the other has it');
    assert.equal(d.received, 1);
    const c = outgoingStatus(card(), [info({ id: 't1', status: 'cancelled', error: 'x', cancelledByPeer: true }), info({ id: 't2', status: 'cancelled' })], false);
    assert.equal(c.state, 'cancelled');
    assert.equal(c.error, 'declined or cancelled by the recipient');
    assert.equal(outgoingStatus(card({ cancelled: true }), [info({ status: 'active' })], true).state, 'cancelled');
    assert.equal(outgoingStatus(card(), [undefined, undefined], true).state, 'gone');
  });

  it('sniffs PNG, JPEG, GIF and WebP by their bytes; SVG, HTML and a lying extension get no preview', () => {
    assert.equal(sniffImage(Buffer.from('89504e470d0a1a0a0000', 'hex')), 'image/png');
    assert.equal(sniffImage(Buffer.from('ffd8ffe000104a464946', 'hex')), 'image/jpeg');
    assert.equal(sniffImage(Buffer.from('GIF89a\x01\x00', 'latin1')), 'image/gif');
    assert.equal(sniffImage(Buffer.from('GIF87a\x01\x00', 'latin1')), 'image/gif');
    assert.equal(sniffImage(Buffer.from('RIFF\x10\x00\x00\x00WEBPVP8 ', 'latin1')), 'image/webp');
    assert.equal(sniffImage(Buffer.from('RIFF\x10\x00\x00\x00WAVEfmt ', 'latin1')), undefined);
    assert.equal(sniffImage(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>')), undefined);
    assert.equal(sniffImage(Buffer.from('<html><script>1</script>')), undefined);
    assert.equal(sniffImage(Buffer.from('89504e47', 'hex')), undefined, 'truncated');
    assert.equal(sniffImage(new Uint8Array(0)), undefined);
  });
});
