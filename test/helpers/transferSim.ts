// Two TransferManagers joined by a simulated datagram path on a virtual clock: frames are encoded
// and decoded exactly as on the wire, each direction has a delay, a loss rate and an optional
// corruption hook, and time jumps from event to event (no sleeps, no real timers).
import { decodePacket, encodePacket, type Frame } from '../../extension/core/wire/frames';
import type { FileFrame } from '../../extension/core/wire/fileFrames';
import { TransferManager } from '../../extension/core/transfer/manager';
import { prng } from './prng';

export interface SimSide {
  name: string;
  manager: TransferManager;
}

export class TransferSim {
  now = 0;
  private readonly rand;
  private inTransit: { at: number; to: 'a' | 'b'; bytes: Buffer }[] = [];
  /** Return a replacement frame, or undefined to drop it. */
  tamper?: (from: 'a' | 'b', f: FileFrame) => FileFrame | undefined;
  delayMs = 5;
  loss = 0;
  wire = { aToB: 0, bToA: 0 };
  /** Bottleneck rate per direction (bytes per ms); Infinity = none. Packets queue behind it. */
  rateBytesPerMs = Infinity;
  private busyUntil = { a: 0, b: 0 };

  constructor(
    public a: TransferManager,
    public b: TransferManager,
    seed = 1,
  ) {
    this.rand = prng(seed);
  }

  up(): void {
    this.a.linkUp('B', this.now);
    this.b.linkUp('A', this.now);
  }

  private pump(from: 'a' | 'b'): void {
    const m = from === 'a' ? this.a : this.b;
    const out = m.poll(this.now);
    for (const frames of out.values()) {
      for (let f of frames) {
        if (this.tamper) {
          const t = this.tamper(from, f);
          if (!t) continue;
          f = t;
        }
        if (this.rand.next() < this.loss) continue;
        const bytes = encodePacket([f as Frame]);
        if (from === 'a') this.wire.aToB += bytes.length;
        else this.wire.bToA += bytes.length;
        let depart = this.now;
        if (this.rateBytesPerMs !== Infinity) {
          depart = Math.max(this.now, this.busyUntil[from]) + bytes.length / this.rateBytesPerMs;
          this.busyUntil[from] = depart;
        }
        this.inTransit.push({ at: depart + this.delayMs, to: from === 'a' ? 'b' : 'a', bytes });
      }
    }
  }

  /** Runs until `until()` holds or `maxMs` of virtual time pass. */
  run(until: () => boolean, maxMs = 600_000): void {
    const end = this.now + maxMs;
    for (let steps = 0; steps < 50_000_000; steps++) {
      this.pump('a');
      this.pump('b');
      if (until()) return;
      this.inTransit.sort((x, y) => x.at - y.at);
      const next = Math.min(this.inTransit[0]?.at ?? Infinity, this.a.nextWakeup(), this.b.nextWakeup());
      if (next > end) return;
      this.now = Math.max(this.now, next);
      while (this.inTransit.length && this.inTransit[0].at <= this.now) {
        const p = this.inTransit.shift()!;
        const d = decodePacket(p.bytes);
        if (!d.ok) throw new Error(d.error);
        const to = p.to === 'a' ? this.a : this.b;
        for (const f of d.value) to.receive(p.to === 'a' ? 'B' : 'A', f as FileFrame, this.now);
      }
    }
    throw new Error('simulation did not settle');
  }

  /** Forget what is in flight (a side restarts). */
  dropInTransit(): void {
    this.inTransit = [];
  }
}
