import assert from 'node:assert/strict';
import type { ConnectionState, SnippetPayload } from '../../extension/core/types';
import type { TranscriptEntry } from '../../extension/shared/protocol';
import {
  GROUP_GAP_MS,
  bannerFor,
  cleanName,
  colorIndex,
  continuesGroup,
  deliveryView,
  groupTranscript,
  initials,
  memberView,
  outgoingText,
  snippetLineNumbers,
  snippetRange,
  sortMembers,
  typingText,
} from '../../media/viewModel';
import { TypingSignal } from '../../media/typingSignal';

const day = (t: number) => new Date(t).toISOString().slice(0, 10);
const T0 = Date.UTC(2025, 0, 10, 12, 0, 0);
const text = (id: string, from: string, sentAt: number, own = false): TranscriptEntry => ({
  id,
  from,
  fromName: from.toUpperCase(),
  own,
  sentAt,
  body: { kind: 'text', text: id },
});

describe('webview view-model', () => {
  describe('bannerFor', () => {
    const all: ConnectionState[] = [
      { kind: 'idle' },
      { kind: 'registering', server: 'rv.example:7000' },
      { kind: 'waiting', roomMembers: 1 },
      { kind: 'punching', peers: 1 },
      { kind: 'connected', path: 'direct', peers: 2 },
      { kind: 'connected', path: 'relayed', peers: 1 },
      { kind: 'reconnecting', reason: 'keepalive timeout', attempt: 2 },
      { kind: 'failed', reason: 'no route', hint: 'Check UDP.' },
    ];

    it('has a title and icon for every state', () => {
      for (const s of all) {
        const b = bannerFor(s);
        assert.ok(b.title.length > 5, s.kind);
        assert.ok(b.icon, s.kind);
      }
    });

    it('uses plain words with counts, reasons and hints', () => {
      assert.equal(bannerFor({ kind: 'punching', peers: 1 }).title, 'Opening a direct connection to 1 peer…');
      assert.equal(bannerFor({ kind: 'punching', peers: 3 }).title, 'Opening a direct connection to 3 peers…');
      assert.equal(bannerFor({ kind: 'connected', path: 'direct', peers: 2 }).title, 'Connected directly to 2 peers.');
      assert.match(bannerFor({ kind: 'connected', path: 'relayed', peers: 1 }).title, /through a relay/);
      assert.match(bannerFor({ kind: 'connected', path: 'relayed', peers: 1 }).detail!, /end-to-end encrypted/);
      const r = bannerFor({ kind: 'reconnecting', reason: 'keepalive timeout', attempt: 2 });
      assert.match(r.title, /attempt 2/);
      assert.match(r.detail!, /keepalive timeout/);
      const f = bannerFor({ kind: 'failed', reason: 'no route', hint: 'Check UDP.' });
      assert.equal(f.title, 'Could not connect: no route');
      assert.equal(f.detail, 'Check UDP.');
      assert.equal(f.tone, 'error');
      assert.match(bannerFor({ kind: 'registering', server: 'rv.example:7000' }).detail!, /rv\.example:7000/);
    });

    it('offers Retry only on failure and Connect only when idle', () => {
      for (const s of all) {
        const a = bannerFor(s).action?.message;
        assert.equal(a, s.kind === 'failed' ? 'retry' : s.kind === 'idle' ? 'connect' : undefined, s.kind);
      }
    });
  });

  describe('grouping', () => {
    it('groups consecutive messages of one sender within the gap', () => {
      const blocks = groupTranscript(
        [text('1', 'a', T0), text('2', 'a', T0 + 1000), text('3', 'b', T0 + 2000), text('4', 'a', T0 + 3000)],
        day,
      );
      assert.deepEqual(
        blocks.map((b) => (b.kind === 'day' ? `day:${b.day}` : `${b.from}:${b.entries.map((e) => e.id).join(',')}`)),
        ['day:2025-01-10', 'a:1,2', 'b:3', 'a:4'],
      );
    });

    it('splits on a long pause, on a new day, and between own and peer messages with the same id', () => {
      const late = T0 + GROUP_GAP_MS + 1;
      const blocks = groupTranscript(
        [text('1', 'a', T0), text('2', 'a', late), text('3', 'a', T0 + 86_400_000), text('4', 'a', T0 + 86_400_000 + 1, true)],
        day,
      );
      assert.deepEqual(
        blocks.map((b) => (b.kind === 'day' ? 'day' : b.entries.length)),
        ['day', 1, 1, 'day', 1, 1],
      );
    });

    it('tolerates clock skew (a peer message that appears slightly in the past)', () => {
      assert.equal(continuesGroup(text('1', 'a', T0), text('2', 'a', T0 - 30_000), day), true);
      assert.equal(continuesGroup(undefined, text('2', 'a', T0), day), false);
    });

    it('keeps the given order and carries the day divider time', () => {
      const blocks = groupTranscript([text('1', 'a', T0)], day);
      assert.deepEqual(blocks[0], { kind: 'day', day: '2025-01-10', at: T0 });
    });
  });

  describe('names and text', () => {
    it('strips bidi overrides and controls from names and bounds the length', () => {
      assert.equal(cleanName('\u202EecilA'), 'ecilA');
      assert.equal(cleanName('  Bob\n\t Smith\u0000 '), 'Bob Smith');
      assert.equal(cleanName('\u200B\u2066'), 'Unknown');
      const long = cleanName('x'.repeat(500));
      assert.equal(Array.from(long).length, 48);
      assert.ok(long.endsWith('…'));
      // astral characters are not split in half
      assert.equal(cleanName('😀'.repeat(60)).includes('\ufffd'), false);
    });

    it('initials and colours are stable', () => {
      assert.equal(initials('alice'), 'A');
      assert.equal(initials(''), 'U');
      assert.equal(colorIndex('abc', 6), colorIndex('abc', 6));
      const seen = new Set(Array.from({ length: 50 }, (_, i) => colorIndex(`peer${i}`, 6)));
      assert.ok(seen.size >= 5, 'spreads over the palette');
    });

    it('describes typing for any number of peers', () => {
      assert.equal(typingText([]), '');
      assert.equal(typingText(['Alice']), 'Alice is typing…');
      assert.equal(typingText(['Alice', 'Bob']), 'Alice and Bob are typing…');
      assert.equal(typingText(['A', 'B', 'C']), 'A, B and C are typing…');
      assert.equal(typingText(['A', 'B', 'C', 'D']), 'Several people are typing…');
    });

    it('labels delivery states for screen readers', () => {
      assert.deepEqual(deliveryView('queued'), { icon: 'clock', label: 'Queued, not sent yet' });
      assert.deepEqual(deliveryView('sent'), { icon: 'check', label: 'Sent' });
      assert.deepEqual(deliveryView('delivered'), { icon: 'check-all', label: 'Delivered' });
    });

    it('decides what a composer value sends', () => {
      assert.equal(outgoingText(''), undefined);
      assert.equal(outgoingText('  \n\t\n'), undefined);
      assert.equal(outgoingText('hi  \n'), 'hi');
      assert.equal(outgoingText('\n\n    indented code\nnext'), '    indented code\nnext');
    });
  });

  describe('members', () => {
    it('explains verification and paths', () => {
      const v = memberView({ peerId: 'p', name: 'Bob', presence: 'away', path: 'relayed', safetyNumber: '111 222', verified: false }, true);
      assert.equal(v.verified, false);
      assert.match(v.identityTitle, /not verified/);
      assert.match(v.identityTitle, /named rooms/);
      assert.match(v.identityTitle, /111 222/);
      assert.equal(v.pathLabel, 'Relayed');
      assert.equal(v.presenceLabel, 'Away');
      const w = memberView({ peerId: 'q', name: 'Al', presence: 'online', verified: true }, false);
      assert.equal(w.verified, true);
      assert.equal(w.pathLabel, 'Not linked');
    });

    it('sorts online, away, offline, then by name', () => {
      const sorted = sortMembers([
        { name: 'z', presence: 'offline' as const },
        { name: 'b', presence: 'online' as const },
        { name: 'c', presence: 'away' as const },
        { name: 'a', presence: 'online' as const },
      ]);
      assert.deepEqual(sorted.map((m) => m.name), ['a', 'b', 'c', 'z']);
    });
  });

  describe('snippets', () => {
    const s: SnippetPayload = { path: 'src/a.ts', language: 'typescript', startLine: 10, endLine: 12, code: 'a\nb\nc\n' };
    it('formats the range', () => {
      assert.equal(snippetRange(s), 'src/a.ts:10-12');
      assert.equal(snippetRange({ ...s, endLine: 10 }), 'src/a.ts:10');
      assert.equal(snippetRange({ ...s, startLine: -3, endLine: NaN }), 'src/a.ts:1');
    });
    it('numbers lines from startLine, bounded', () => {
      assert.deepEqual(snippetLineNumbers(s), ['10', '11', '12']);
      assert.deepEqual(snippetLineNumbers({ ...s, code: '' }), ['10']);
      assert.equal(snippetLineNumbers({ ...s, startLine: 1e300 })[0], '1000000000');
      assert.equal(snippetLineNumbers({ ...s, code: 'x\n'.repeat(50_000) }).length, 10_000);
    });
  });

  describe('TypingSignal', () => {
    it('sends true once per burst, repeats after repeatMs, false after idleMs', () => {
      const t = new TypingSignal({ repeatMs: 3000, idleMs: 4000 });
      assert.equal(t.input(0, true), true);
      assert.equal(t.input(100, true), undefined);
      assert.equal(t.input(2999, true), undefined);
      assert.equal(t.input(3000, true), true);
      assert.equal(t.deadline(), 7000);
      assert.equal(t.tick(6999), undefined);
      assert.equal(t.tick(7000), false);
      assert.equal(t.tick(8000), undefined);
      assert.equal(t.deadline(), undefined);
    });
    it('sends false when the draft empties or on stop, only if typing', () => {
      const t = new TypingSignal();
      assert.equal(t.stop(), undefined);
      assert.equal(t.input(0, false), undefined);
      assert.equal(t.input(0, true), true);
      assert.equal(t.input(10, false), false);
      assert.equal(t.input(20, true), true, 'a new burst starts at once');
      assert.equal(t.stop(), false);
      assert.equal(t.isTyping, false);
    });
  });
});
