// Code snippets, both ways: what "Share Selection" sends, and how a received snippet's path is mapped
// back into the receiver's workspace. The path comes from a peer, so it is treated as hostile: only
// plain relative segments are accepted, never `..`, absolute paths, drive letters or URLs.
// No `vscode` import: snippets.ts does the editor work.
import { inertText } from '../core/inertText';
import { MAX_SNIPPET_BYTES } from '../core/room/appMessages';
import type { SnippetPayload } from '../core/types';

export const MAX_SNIPPET_CHARS = MAX_SNIPPET_BYTES - 64 * 1024;

export interface SelectionFacts {
  /** Workspace-relative path as VS Code gives it, or undefined for files outside any folder / untitled. */
  relativePath: string | undefined;
  /** The document's file name (basename is used when there is no relative path). */
  fileName: string;
  languageId: string;
  /** 0-based, as VS Code positions are. */
  startLine: number;
  endLine: number;
  endCharacter: number;
  text: string;
}

export type SnippetResult = { ok: true; snippet: SnippetPayload } | { ok: false; error: string };

function basename(p: string): string {
  const parts = p.split(/[\\/]/).filter(Boolean);
  return parts[parts.length - 1] ?? 'snippet';
}

export function snippetFromSelection(s: SelectionFacts): SnippetResult {
  if (s.text.trim() === '') return { ok: false, error: 'Select some code to share first.' };
  if (s.text.length > MAX_SNIPPET_CHARS) {
    return { ok: false, error: `The selection is too large to share (${Math.round(s.text.length / 1024)} KiB; the limit is ${MAX_SNIPPET_CHARS / 1024} KiB).` };
  }
  // A selection ending at column 0 of a line does not include that line (as VS Code itself counts it).
  const endLine = s.endLine > s.startLine && s.endCharacter === 0 ? s.endLine - 1 : s.endLine;
  const path = (s.relativePath ?? basename(s.fileName)).replace(/\\/g, '/').replace(/^\.\//, '');
  return {
    ok: true,
    snippet: {
      path,
      language: s.languageId || 'plaintext',
      startLine: s.startLine + 1,
      endLine: endLine + 1,
      code: s.text.replace(/\r\n/g, '\n'),
    },
  };
}

/** The path's segments if it is a plain workspace-relative path, else undefined. */
export function safeRelativeSegments(path: string): string[] | undefined {
  if (path.length === 0 || path.length > 1024) return undefined;
  if (/[\u0000-\u001f\\]/.test(path)) return undefined;
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path) || /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(path)) return undefined;
  const segments = path.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.length === 0 || segments.some((s) => s === '..')) return undefined;
  return segments;
}

/** 0-based inclusive line range clamped to a document's length. */
export function clampLines(startLine: number, endLine: number, lineCount: number): { start: number; end: number } {
  const last = Math.max(0, lineCount - 1);
  const start = Math.min(Math.max(0, startLine - 1), last);
  const end = Math.min(Math.max(start, endLine - 1), last);
  return { start, end };
}

/**
 * Where a received snippet opens: the group beside the chat, always the same one, named by number
 * (ViewColumn.Beside is relative to the *active* group, and a click in the chat's webview does not
 * make the chat's group active, so Beside added a group per click). Chat in the first group: the
 * second (VS Code creates it when missing); anywhere else: the first.
 */
export function snippetColumn(chatColumn: number | undefined): number {
  return chatColumn === 1 ? 2 : 1;
}

/**
 * The path of the read-only document showing a snippet this workspace lacks: the peer's folders,
 * then `<file> (from <sender>)`, so the tab says which file and who sent it. Every part is peer
 * text: made inert (no link or icon syntax, no invisible characters), capped, stripped of `/`, `\`,
 * `.` and `..` segments; at most the last 6 folders are kept.
 */
export function snippetDocumentPath(path: string, sender: string): string {
  // Inert first (a `file:///` loses its scheme), then no slash may make a folder of a name.
  const part = (s: string, max: number) => inertText(inertText(s).value.replace(/[\\/]+/g, ' '), { max }).value;
  const segments = path
    .split(/[\\/]+/)
    .map((s) => part(s, 60))
    .filter((s) => s !== '' && s !== '.' && s !== '..' && !/^\.+$/.test(s));
  const file = segments.pop() ?? 'snippet';
  const from = part(sender, 40) || 'unknown';
  return '/' + [...segments.slice(-6), `${file} (from ${from})`].join('/');
}
