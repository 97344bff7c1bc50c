// Fragment numbers: internally a plain counter (exact in a double up to 2^53, i.e. forever);
// on the wire only its low 32 bits. Each side expands a wire value to the internal number
// nearest to a reference it already knows (the receiver's next expected fragment, the sender's
// oldest unacknowledged one). That is unambiguous while both windows stay far below 2^31
// fragments, which the option limits guarantee, so sessions never need re-keying for wrap.

export const SEQ_MODULUS = 2 ** 32;
/** Windows are capped well below half the sequence space so expansion stays unambiguous. */
export const MAX_WINDOW = 2 ** 20;

export function toWire(seq: number): number {
  return seq >>> 0;
}

/** The internal number congruent to `wire` (mod 2^32) that lies within ±2^31 of `reference`. */
export function expand(wire: number, reference: number): number {
  const diff = (wire - (reference >>> 0)) | 0;
  return reference + diff;
}
