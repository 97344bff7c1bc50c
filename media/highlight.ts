// Syntax highlighting for snippets and fenced code. highlight.js's core and each grammar arrive as
// separate scripts, the first time a message needs them (media/hljs/): the panel opens without them,
// code shows as plain escaped text at once and is coloured in place when its grammar has loaded. No DOM
// here, so the rules are unit-tested under Node (where the tests install the engine synchronously).
import type { HLJSApi, LanguageFn } from 'highlight.js';
import { LANGUAGE_ALIASES, LANGUAGE_NAMES } from './hljs/languages';

/** VS Code language ids (and a few fence aliases hljs lacks) → registered hljs names. */
const VSCODE_TO_HLJS: Record<string, string> = {
  javascriptreact: 'javascript',
  typescriptreact: 'typescript',
  jsonc: 'json',
  jsonl: 'json',
  shellscript: 'bash',
  'cuda-cpp': 'cpp',
  scss: 'css',
  less: 'css',
  html: 'xml',
  svg: 'xml',
  xsl: 'xml',
  properties: 'ini',
  toml: 'ini',
  dockercompose: 'yaml',
  text: 'plaintext',
  txt: 'plaintext',
};

const BY_ALIAS = new Map<string, string>();
for (const name of LANGUAGE_NAMES) {
  BY_ALIAS.set(name, name);
  for (const alias of LANGUAGE_ALIASES[name]!) if (!BY_ALIAS.has(alias)) BY_ALIAS.set(alias, name);
}

/** Highlighting cost grows with input; past this, show plain (escaped) text. */
export const MAX_HIGHLIGHT_CHARS = 50_000;

let engine: HLJSApi | undefined;
const loaded = new Set<string>();
const requested = new Set<string>();
let loader: ((language: string) => void) | undefined;
const listeners: ((language: string) => void)[] = [];

/** Hands over highlight.js's core (from its own script, or directly in tests). */
export function installHighlighter(hljs: HLJSApi): void {
  if (engine) return;
  engine = hljs;
  // A hostile language name must not be able to make highlight.js throw or log.
  hljs.configure({ ignoreUnescapedHTML: true, throwUnescapedHTML: false });
}

/** A grammar has arrived: register it and let views colour what was waiting for it. */
export function registerLanguage(name: string, language: LanguageFn): void {
  if (!engine || !(name in LANGUAGE_ALIASES) || loaded.has(name)) return;
  engine.registerLanguage(name, language);
  loaded.add(name);
  for (const l of listeners) l(name);
}

/** Called with a canonical name the first time code in a language not yet loaded is shown. */
export function setLanguageLoader(load: (language: string) => void): void {
  loader = load;
}

export function onLanguageLoaded(listener: (language: string) => void): void {
  listeners.push(listener);
}

export function isLanguageLoaded(language: string): boolean {
  return loaded.has(language);
}

/** The offered hljs language for a VS Code id or fence info word, if any (loaded or not). */
export function resolveLanguage(id: string): string | undefined {
  const key = id.trim().toLowerCase();
  if (!/^[a-z0-9_+#.-]{1,32}$/.test(key)) return undefined;
  return BY_ALIAS.get(VSCODE_TO_HLJS[key] ?? key);
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

export interface Highlighted {
  /** Only `<span class="hljs-…">` around escaped text, or just escaped text. */
  html: string;
  language?: string;
  /** The grammar is on its way: the caller shows `html` (plain) and colours it on `onLanguageLoaded`. */
  pending?: boolean;
}

export function highlightToHtml(code: string, languageId: string): Highlighted {
  const language = resolveLanguage(languageId);
  if (!language || language === 'plaintext' || code.length > MAX_HIGHLIGHT_CHARS) {
    return { html: escapeHtml(code), language };
  }
  if (!engine || !loaded.has(language)) {
    if (!requested.has(language)) {
      requested.add(language);
      loader?.(language);
    }
    return { html: escapeHtml(code), language, pending: true };
  }
  try {
    return { html: engine.highlight(code, { language, ignoreIllegals: true }).value, language };
  } catch {
    return { html: escapeHtml(code), language };
  }
}

/** Back to "nothing loaded" (unit tests start from a known state whatever ran before them). */
export function resetHighlighter(): void {
  engine = undefined;
  loaded.clear();
  requested.clear();
  loader = undefined;
  listeners.length = 0;
}

export const REGISTERED_LANGUAGES: readonly string[] = LANGUAGE_NAMES;
