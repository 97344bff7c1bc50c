// Code snippets, both ways: what "Share Selection" sends, and how a received snippet's path is mapped
// back into the receiver's workspace. The path comes from a peer, so it is treated as hostile: only
// plain relative segments are accepted, never `..`, absolute paths, drive letters or URLs.
// No `vscode` import: snippets.ts does the editor work.
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
