// Its own script (dist/media/hljs/core.js), loaded with the first code block: highlight.js's engine,
// handed to the main bundle through the hook media/lazyHighlight.ts installs.
import hljs from 'highlight.js/lib/core';

(globalThis as { p2pHljs?: { core(h: typeof hljs): void } }).p2pHljs?.core(hljs);
