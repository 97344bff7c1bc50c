import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

// The rule of docs/ARCHITECTURE.md "Where peer text is shown", enforced on the source: only
// extension/ui/sinks.ts may call VS Code APIs that show text (its functions take InertText, so peer
// text cannot get there without core/inertText.ts). New UI that needs another sink adds it to
// sinks.ts; this test fails for a direct call anywhere else in extension/ui.

const UI = path.join(__dirname, '..', '..', 'extension', 'ui');

const FORBIDDEN: [RegExp, string][] = [
  [/\bshow(Information|Warning|Error)Message\s*\(/, 'a notification or dialog'],
  [/\bshowQuickPick\s*\(|\bcreateQuickPick\s*\(/, 'a quick pick'],
  [/\bshowInputBox\s*\(|\bcreateInputBox\s*\(/, 'an input box'],
  [/\bsetStatusBarMessage\s*\(/, 'a status bar message'],
  [/\bcreateWebviewPanel\s*\(|\bcreateWebviewView\b/, 'a panel title'],
  [/\bcreateOutputChannel\s*\(/, 'an output channel'],
  [/\bMarkdownString\b/, 'markdown'],
  [/\bcreateTreeView\s*\(|\bregisterTreeDataProvider\s*\(|\bTreeItem\b/, 'a tree item'],
  [/\bregisterHoverProvider\s*\(|\bcreateTerminal\s*\(/, 'a hover or terminal'],
  [/(?<!\bthis)\.(tooltip|title|text|description|detail|label|placeholder|prompt|validationMessage)\s*=(?!=)/, 'a text property'],
  [/\bisTrusted\s*=\s*true|\bsupportHtml\s*=\s*true|enableCommandUris\s*:\s*true/, 'trusted markup'],
];

describe('UI sinks: every text-showing VS Code API is called from sinks.ts only', () => {
  // Subfolders too (ui/sidebar/…): a tree view in a folder of its own is still UI.
  const files = (readdirSync(UI, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts') && f !== 'sinks.ts');

  it('finds the UI sources', () => {
    assert.ok(files.length >= 10, `only ${files.length} files in ${UI}`);
    assert.ok(files.some((f) => f.startsWith('sidebar')), 'the sidebar folder is checked');
  });

  for (const f of files) {
    it(f, () => {
      const lines = readFileSync(path.join(UI, f), 'utf8').split('\n');
      const found: string[] = [];
      lines.forEach((line, i) => {
        if (/^\s*(\/\/|\*|\/\*)/.test(line)) return; // comments
        for (const [re, what] of FORBIDDEN) if (re.test(line)) found.push(`${f}:${i + 1}: ${what}: ${line.trim()}`);
      });
      assert.deepEqual(found, [], 'use the InertText functions of extension/ui/sinks.ts instead');
    });
  }

  it('would catch a direct call (the check itself works)', () => {
    const sample = "void vscode.window.showInformationMessage(`${name}: hi`);\nitem.tooltip = name;";
    const hits = sample.split('\n').filter((l) => FORBIDDEN.some(([re]) => re.test(l)));
    assert.equal(hits.length, 2);
  });
});
