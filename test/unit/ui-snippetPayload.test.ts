import assert from 'node:assert/strict';
import { clampLines, MAX_SNIPPET_CHARS, safeRelativeSegments, snippetColumn, snippetDocumentPath, snippetFromSelection, type SelectionFacts } from '../../extension/ui/snippetPayload';

const base: SelectionFacts = {
  relativePath: 'src/app.ts',
  fileName: '/home/u/proj/src/app.ts',
  languageId: 'typescript',
  startLine: 9,
  endLine: 11,
  endCharacter: 4,
  text: 'a\r\nb\r\nc',
};

describe('snippetFromSelection', () => {
  it('turns 0-based positions into a 1-based inclusive range and normalises line ends', () => {
    const r = snippetFromSelection(base);
    assert.ok(r.ok);
    assert.deepEqual(r.snippet, { path: 'src/app.ts', language: 'typescript', startLine: 10, endLine: 12, code: 'a\nb\nc' });
  });

  it('does not count a last line the selection only touches at column 0', () => {
    const r = snippetFromSelection({ ...base, endLine: 12, endCharacter: 0 });
    assert.ok(r.ok && r.snippet.endLine === 12);
    const single = snippetFromSelection({ ...base, startLine: 4, endLine: 4, endCharacter: 0, text: 'x' });
    assert.ok(single.ok && single.snippet.startLine === 5 && single.snippet.endLine === 5);
  });

  it('uses forward slashes, and the file name outside a workspace', () => {
    const win = snippetFromSelection({ ...base, relativePath: 'src\\win\\a.ts' });
    assert.ok(win.ok && win.snippet.path === 'src/win/a.ts');
    const loose = snippetFromSelection({ ...base, relativePath: undefined, fileName: 'C:\\Users\\u\\notes.md' });
    assert.ok(loose.ok && loose.snippet.path === 'notes.md');
  });

  it('refuses empty and oversized selections with a reason', () => {
    const empty = snippetFromSelection({ ...base, text: '  \n ' });
    assert.ok(!empty.ok && /Select/.test(empty.error));
    const huge = snippetFromSelection({ ...base, text: 'x'.repeat(MAX_SNIPPET_CHARS + 1) });
    assert.ok(!huge.ok && /too large/.test(huge.error));
  });
});

describe('safeRelativeSegments (paths from peers)', () => {
  it('accepts plain relative paths', () => {
    assert.deepEqual(safeRelativeSegments('src/app.ts'), ['src', 'app.ts']);
    assert.deepEqual(safeRelativeSegments('./a//b/./c.txt'), ['a', 'b', 'c.txt']);
    assert.deepEqual(safeRelativeSegments('.vscode/settings.json'), ['.vscode', 'settings.json']);
  });

  it('rejects anything that could leave the workspace', () => {
    for (const p of ['', '/etc/passwd', '../x', 'a/../../x', 'a/..', 'C:/x', 'c:x', 'a\\..\\b', 'file:///etc/passwd', 'a\u0000b', '.', 'x'.repeat(2000)]) {
      assert.equal(safeRelativeSegments(p), undefined, JSON.stringify(p.slice(0, 30)));
    }
  });
});

describe('clampLines', () => {
  it('maps a 1-based range into a document, clamped', () => {
    assert.deepEqual(clampLines(3, 5, 10), { start: 2, end: 4 });
    assert.deepEqual(clampLines(8, 50, 10), { start: 7, end: 9 });
    assert.deepEqual(clampLines(40, 50, 10), { start: 9, end: 9 });
    assert.deepEqual(clampLines(5, 2, 10), { start: 4, end: 4 });
    assert.deepEqual(clampLines(1, 1, 0), { start: 0, end: 0 });
  });
});

describe('opening a received snippet', () => {
  it('always the same group beside the chat, whatever group is active', () => {
    assert.equal(snippetColumn(1), 2);
    assert.equal(snippetColumn(2), 1);
    assert.equal(snippetColumn(3), 1);
    assert.equal(snippetColumn(undefined), 1);
  });

  it('names the read-only document after the path and the sender', () => {
    assert.equal(snippetDocumentPath('src/app.ts', 'Bob'), '/src/app.ts (from Bob)');
    assert.equal(snippetDocumentPath('app.ts', ''), '/app.ts (from unknown)');
    assert.equal(snippetDocumentPath('', 'Bob'), '/snippet (from Bob)');
  });

  it('makes every part of the name inert: no link, icon, traversal or invisible character', () => {
    const p = snippetDocumentPath('../../[p](command:workbench.action.terminal.new)/./x\u202e.py', '[Join call](file:///etc/passwd) $(verified)'.slice(0, 40));
    assert.doesNotMatch(p, /\]\(|\$\(|command:|file:|\u202e|\/\.\.?\//);
    assert.equal(p, '/[p] (command∶workbench.action.terminal.new)/x.py (from [Join call] (file∶ etc passwd) $ (verifi)');
    const deep = snippetDocumentPath(`${'d/'.repeat(50)}f.ts`, 'x'.repeat(500));
    assert.equal(deep.split('/').length, 8, 'at most 6 folders, then the file');
    assert.ok(deep.length < 120, deep);
  });
});
