// Characters that peer text must not carry into any place it is shown, shared by the webview
// (media/viewModel.ts cleanName) and the extension host's sinks (core/inertText.ts), so both strip
// exactly the same set. Why each range: they are invisible or reorder what surrounds them, so a peer
// could make "Alice" and "Alice\u200B" two people, or make `exe.txt` read `txt.exe` (bidi override).
// No imports: the webview bundle and the pure core both use it.

/**
 * Invisible "format" characters: zero-width spaces and joiners, bidi marks, embeddings, overrides and
 * isolates (U+061C, U+200E/F, U+202A–E, U+2066–9), word joiner and invisible operators, soft hyphen,
 * combining grapheme joiner, Hangul and Khmer fillers that render as nothing, Mongolian vowel
 * separator, interlinear annotations, BOM, and the Unicode tag block (U+E0000–E007F).
 */
export const INVISIBLE_FORMAT_SOURCE =
  '\\u00ad\\u034f\\u061c\\u115f\\u1160\\u17b4\\u17b5\\u180b-\\u180f\\u200b-\\u200f\\u202a-\\u202e\\u2060-\\u206f' +
  '\\u3164\\ufe00-\\ufe0e\\uffa0\\ufeff\\ufff9-\\ufffb\\u{e0000}-\\u{e007f}';

/** C0 and C1 control characters, DEL, and the Unicode line and paragraph separators. */
export const CONTROL_SOURCE = '\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029';

/** Every character in either set (global, unicode-aware). */
export function unsafeCharsRegExp(): RegExp {
  return new RegExp(`[${CONTROL_SOURCE}${INVISIBLE_FORMAT_SOURCE}]`, 'gu');
}

/** Invisible format characters only (global, unicode-aware). */
export function invisibleFormatRegExp(): RegExp {
  return new RegExp(`[${INVISIBLE_FORMAT_SOURCE}]`, 'gu');
}
