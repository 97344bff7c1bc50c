// The highlight.js languages the webview offers, with their aliases (languages.json, which the build
// also reads to make one script per language: dist/media/hljs/<name>.js, loaded the first time a
// message needs it, so the panel's first paint does not carry ~75 KiB of grammars nobody may use).
// The aliases are listed because a language must be resolvable before its script has loaded;
// test/unit/webview-highlight.test.ts checks them against highlight.js itself, so they cannot drift.
import table from './languages.json';

export const LANGUAGE_ALIASES: Readonly<Record<string, readonly string[]>> = table;
export const LANGUAGE_NAMES: readonly string[] = Object.keys(table);
