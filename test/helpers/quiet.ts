// Waiting for replies to stop, instead of for a fixed window: a check that counts what comes back (an
// amplification factor, "nothing back") is only as good as its wait. A loaded machine answers late,
// so a fixed 120 ms could end before a reply and pass a check that should fail. This waits until no
// datagram has arrived for `quietMs`, and gives up waiting (returning) after `maxMs` of steady traffic.

export interface QuietOptions {
  /** No new datagram for this long counts as quiet. */
  quietMs?: number;
  /** Overall bound, however chatty the socket stays. */
  maxMs?: number;
  /** Watch at least this long (a check about a whole window, e.g. a punch schedule), then until quiet. */
  minMs?: number;
}

/** Resolves once `count()` (datagrams received so far) has not changed for `quietMs`; returns the time waited. */
export async function untilQuiet(count: () => number, opts: QuietOptions = {}): Promise<number> {
  const quietMs = opts.quietMs ?? 400;
  const maxMs = opts.maxMs ?? 5000;
  const t0 = performance.now();
  let last = count();
  let lastChange = t0;
  for (;;) {
    await new Promise((r) => setTimeout(r, 10));
    const now = performance.now();
    const c = count();
    if (c !== last) {
      last = c;
      lastChange = now;
    }
    if ((now - lastChange >= quietMs && now - t0 >= (opts.minMs ?? 0)) || now - t0 >= maxMs) return now - t0;
  }
}
