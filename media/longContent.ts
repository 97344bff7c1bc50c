// Very long messages and snippets (a pasted 20,000-line log) must not freeze the panel: they arrive
// collapsed to their first lines, and the rest is drawn only when asked for, a slice per task, so no
// single task holds the main thread for long (the browser tests watch for long tasks).

/** A message or snippet longer than this is shown collapsed. */
export const COLLAPSE_LINES = 40;
export const COLLAPSE_CHARS = 4_000;
/** Lines appended per task when the rest of a long text is drawn. */
export const LINES_PER_TASK = 400;

export interface Collapsed {
  /** The first lines (at most COLLAPSE_LINES lines and about COLLAPSE_CHARS characters). */
  head: string;
  /** The rest, starting at a line boundary. */
  rest: string;
  totalLines: number;
}

/** Splits `text` at a line boundary when it is too long to draw at once; undefined when it is not. */
export function collapse(text: string): Collapsed | undefined {
  if (text.length <= COLLAPSE_CHARS && countLines(text, COLLAPSE_LINES + 1) <= COLLAPSE_LINES) return undefined;
  let cut = 0;
  for (let line = 0; line < COLLAPSE_LINES; line++) {
    const nl = text.indexOf('\n', cut);
    if (nl < 0 || nl > COLLAPSE_CHARS) break;
    cut = nl + 1;
  }
  // One enormous first line: cut inside it rather than draw it all.
  if (cut === 0) cut = COLLAPSE_CHARS;
  return { head: text.slice(0, cut).replace(/\n$/, ''), rest: text.slice(cut), totalLines: countLines(text, Infinity) };
}

/** Lines in `text`, counting no further than `stop`. */
export function countLines(text: string, stop: number): number {
  let n = 1;
  for (let i = text.indexOf('\n'); i >= 0 && n < stop; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/**
 * Resolves in a fresh task. Not a timer: the webview tests run under a fake clock, and a message
 * channel also skips the ≥ 4 ms clamp that nested timers get.
 */
export function nextTask(): Promise<void> {
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => {
      ch.port1.close();
      resolve();
    };
    ch.port2.postMessage(0);
  });
}

/**
 * Appends `text` to `target` as text (never parsed), LINES_PER_TASK lines per task, each slice a block of
 * its own (`.p2p-slice`: content-visibility, so slices off screen cost no layout); `each` sees every slice.
 */
export async function appendLinesInTasks(target: Node, text: string, each?: (slice: string) => void): Promise<void> {
  let at = 0;
  while (at < text.length) {
    let end = at;
    for (let n = 0; n < LINES_PER_TASK && end < text.length; n++) {
      const nl = text.indexOf('\n', end);
      end = nl < 0 ? text.length : nl + 1;
    }
    const slice = text.slice(at, end);
    target.appendChild(sliceBlock(slice));
    each?.(slice);
    at = end;
    if (at < text.length) await nextTask();
  }
}

/** One slice of a long text as a block; its trailing newline adds no empty line at the end of a block. */
export function sliceBlock(text: string): HTMLElement {
  const el = document.createElement('span');
  el.className = 'p2p-slice';
  el.textContent = text;
  return el;
}
