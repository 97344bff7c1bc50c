// Syntax highlighting for snippets and fenced code: highlight.js core with a hand-picked set of
// languages (the full build is ~10x larger). No DOM, so it also runs under Node unit tests.
import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import c from 'highlight.js/lib/languages/c';
import cpp from 'highlight.js/lib/languages/cpp';
import csharp from 'highlight.js/lib/languages/csharp';
import css from 'highlight.js/lib/languages/css';
import diff from 'highlight.js/lib/languages/diff';
import dockerfile from 'highlight.js/lib/languages/dockerfile';
import go from 'highlight.js/lib/languages/go';
import ini from 'highlight.js/lib/languages/ini';
import java from 'highlight.js/lib/languages/java';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import makefile from 'highlight.js/lib/languages/makefile';
import markdown from 'highlight.js/lib/languages/markdown';
import plaintext from 'highlight.js/lib/languages/plaintext';
import python from 'highlight.js/lib/languages/python';
import ruby from 'highlight.js/lib/languages/ruby';
import rust from 'highlight.js/lib/languages/rust';
import shell from 'highlight.js/lib/languages/shell';
import sql from 'highlight.js/lib/languages/sql';
import typescript from 'highlight.js/lib/languages/typescript';
import xml from 'highlight.js/lib/languages/xml';
import yaml from 'highlight.js/lib/languages/yaml';

const registered = {
  bash, c, cpp, csharp, css, diff, dockerfile, go, ini, java, javascript, json, makefile, markdown,
  plaintext, python, ruby, rust, shell, sql, typescript, xml, yaml,
};
for (const [name, lang] of Object.entries(registered)) hljs.registerLanguage(name, lang);
// A hostile language name must not be able to make highlight.js throw or log.
hljs.configure({ ignoreUnescapedHTML: true, throwUnescapedHTML: false });

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

/** Highlighting cost grows with input; past this, show plain (escaped) text. */
export const MAX_HIGHLIGHT_CHARS = 50_000;

/** The registered hljs language for a VS Code id or fence info word, if any. */
export function resolveLanguage(id: string): string | undefined {
  const key = id.trim().toLowerCase();
  if (!/^[a-z0-9_+#.-]{1,32}$/.test(key)) return undefined;
  const mapped = VSCODE_TO_HLJS[key] ?? key;
  const lang = hljs.getLanguage(mapped);
  if (!lang) return undefined;
  // getLanguage resolves aliases (ts, py, sh …); report the canonical registered name.
  return Object.keys(registered).find((n) => hljs.getLanguage(n) === lang);
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** Code as HTML: only `<span class="hljs-…">` around escaped text, or just escaped text. */
export function highlightToHtml(code: string, languageId: string): { html: string; language?: string } {
  const language = resolveLanguage(languageId);
  if (!language || language === 'plaintext' || code.length > MAX_HIGHLIGHT_CHARS) {
    return { html: escapeHtml(code), language };
  }
  try {
    return { html: hljs.highlight(code, { language, ignoreIllegals: true }).value, language };
  } catch {
    return { html: escapeHtml(code), language };
  }
}

export const REGISTERED_LANGUAGES: readonly string[] = Object.keys(registered);
