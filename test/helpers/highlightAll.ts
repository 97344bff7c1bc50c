// Under Node there are no grammar scripts to fetch: install highlight.js's engine and every offered
// grammar synchronously, as the webview ends up with once they have all loaded.
import type { LanguageFn } from 'highlight.js';
import hljs from 'highlight.js/lib/core';
import { installHighlighter, registerLanguage } from '../../media/highlight';
import { LANGUAGE_NAMES } from '../../media/hljs/languages';

/** A grammar from the npm package (CommonJS: the module itself is the language function). */
export function grammarOf(name: string): LanguageFn {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(`highlight.js/lib/languages/${name}`) as LanguageFn | { default: LanguageFn };
  return typeof mod === 'function' ? mod : mod.default;
}

export function installAllLanguages(): void {
  installHighlighter(hljs);
  for (const name of LANGUAGE_NAMES) registerLanguage(name, grammarOf(name));
}
