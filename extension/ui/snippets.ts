// Code snippets in the editor: reading the selection to share, and opening a received one either as
// the same file in this workspace (when it exists) or as an untitled document.
import * as vscode from 'vscode';
import type { SnippetPayload } from '../core/types';
import { clampLines, safeRelativeSegments, snippetFromSelection, type SnippetResult } from './snippetPayload';

export function selectionSnippet(editor: vscode.TextEditor): SnippetResult {
  const doc = editor.document;
  const sel = editor.selection;
  const folder = vscode.workspace.getWorkspaceFolder(doc.uri);
  const relativePath = folder && doc.uri.scheme !== 'untitled' ? vscode.workspace.asRelativePath(doc.uri, false) : undefined;
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

/** Opens in the first column, or beside the chat when the chat is there, so the chat stays in view. */
export async function openSnippet(snippet: SnippetPayload, chatColumn?: vscode.ViewColumn): Promise<void> {
  const viewColumn = chatColumn === vscode.ViewColumn.One ? vscode.ViewColumn.Beside : vscode.ViewColumn.One;
  const uri = await findInWorkspace(snippet.path);
  if (uri) {
    const doc = await vscode.workspace.openTextDocument(uri);
    const { start, end } = clampLines(snippet.startLine, snippet.endLine, doc.lineCount);
    const range = new vscode.Range(start, 0, end, doc.lineAt(end).range.end.character);
    await vscode.window.showTextDocument(doc, { selection: range, preview: true, viewColumn });
    return;
  }
  const languages = await vscode.languages.getLanguages();
  const language = languages.includes(snippet.language) ? snippet.language : 'plaintext';
  const doc = await vscode.workspace.openTextDocument({ language, content: snippet.code });
  await vscode.window.showTextDocument(doc, { preview: true, viewColumn });
}
