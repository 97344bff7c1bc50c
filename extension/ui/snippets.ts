// Code snippets in the editor: reading the selection to share, and opening a received one, always in
// the one group beside the chat: as the same file of this workspace when it exists, else as a
// read-only document of our own scheme, named after its path and sender, in the language it came with.
import { createHash } from 'node:crypto';
import * as vscode from 'vscode';
import type { SnippetPayload } from '../core/types';
import { clampLines, safeRelativeSegments, snippetColumn, snippetDocumentPath, snippetFromSelection, type SnippetResult } from './snippetPayload';

export const SNIPPET_SCHEME = 'p2p-chat-snippet';
/** Snippet documents kept for the provider: enough for any screenful of cards, bounded for a long session. */
const MAX_DOCUMENTS = 200;

export function selectionSnippet(editor: vscode.TextEditor): SnippetResult {
  const doc = editor.document;
  const sel = editor.selection;
  const folder = vscode.workspace.getWorkspaceFolder(doc.uri);
  const relativePath = folder && doc.uri.scheme !== 'untitled' && doc.uri.scheme !== SNIPPET_SCHEME ? vscode.workspace.asRelativePath(doc.uri, false) : undefined;
  return snippetFromSelection({
    relativePath,
    fileName: doc.fileName,
    languageId: doc.languageId,
    startLine: sel.start.line,
    endLine: sel.end.line,
    endCharacter: sel.end.character,
    text: doc.getText(sel),
  });
}

async function findInWorkspace(relPath: string): Promise<vscode.Uri | undefined> {
  const segments = safeRelativeSegments(relPath);
  if (!segments) return undefined;
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    const uri = vscode.Uri.joinPath(folder.uri, ...segments);
    try {
      const stat = await vscode.workspace.fs.stat(uri);
      if (stat.type & vscode.FileType.File) return uri;
    } catch {
      // Not in this folder; try the next one.
    }
  }
  return undefined;
}

/** Opens received snippets; provides the read-only documents of SNIPPET_SCHEME. */
export class SnippetViewer implements vscode.TextDocumentContentProvider, vscode.Disposable {
  /** uri.toString() → content. A Map keeps insertion order: the oldest goes first. */
  private readonly documents = new Map<string, string>();
  private readonly registration: vscode.Disposable;

  constructor() {
    this.registration = vscode.workspace.registerTextDocumentContentProvider(SNIPPET_SCHEME, this);
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    // A tab VS Code restored after a reload: the code was only ever in memory.
    return this.documents.get(uri.toString()) ?? '(This snippet is no longer in memory: open it again from its card in the chat.)\n';
  }

  /** `sender`: the display name of whoever sent it (peer text; made safe for the title here). */
  async open(snippet: SnippetPayload, sender: string, chatColumn: vscode.ViewColumn | undefined): Promise<void> {
    const viewColumn = snippetColumn(chatColumn) as vscode.ViewColumn;
    const uri = await findInWorkspace(snippet.path);
    if (uri) {
      const doc = await vscode.workspace.openTextDocument(uri);
      const { start, end } = clampLines(snippet.startLine, snippet.endLine, doc.lineCount);
      const range = new vscode.Range(start, 0, end, doc.lineAt(end).range.end.character);
      await vscode.window.showTextDocument(doc, { selection: range, preview: true, viewColumn });
      return;
    }
    // The same snippet from the same sender is the same document (and tab); another one is a new one.
    const key = createHash('sha256').update(JSON.stringify([sender, snippet.path, snippet.language, snippet.startLine, snippet.code])).digest('hex').slice(0, 16);
    const virtual = vscode.Uri.from({ scheme: SNIPPET_SCHEME, path: snippetDocumentPath(snippet.path, sender), query: key });
    this.documents.delete(virtual.toString());
    this.documents.set(virtual.toString(), snippet.code);
    while (this.documents.size > MAX_DOCUMENTS) this.documents.delete(this.documents.keys().next().value as string);
    let doc = await vscode.workspace.openTextDocument(virtual);
    const languages = await vscode.languages.getLanguages();
    if (languages.includes(snippet.language) && doc.languageId !== snippet.language) {
      doc = await vscode.languages.setTextDocumentLanguage(doc, snippet.language);
    }
    await vscode.window.showTextDocument(doc, { preview: true, viewColumn });
  }

  dispose(): void {
    this.registration.dispose();
    this.documents.clear();
  }
}
