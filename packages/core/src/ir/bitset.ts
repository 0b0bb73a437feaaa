/** A set bit at or past the elements a bitset should cover. */
export class BitOutOfRange extends RangeError {
  constructor(
    readonly index: number,
    readonly limit: number,
  ) {
    super(`bit ${index} is past the ${limit} elements`);
  }
}

/**
 * The walk over a bitset's set bits (lowest first) that zeroes them in a
 * weight array (the plan applier). Returns the number of set bits; throws
 * BitOutOfRange for the first bit at or past `out.length`. Monomorphic on
 * purpose: a loop shared with byte masks measured 40% slower; byte masks are
 * built from `bitIndices` instead (only when a fine-tuner reads one).
 */
export function zeroBits(bits: Int32Array, out: Float32Array): number {
  const limit = out.length;
  let n = 0;
  for (let w = 0; w < bits.length; w++) {
    let word = bits[w]!;
    while (word !== 0) {
      const k = (w << 5) + 31 - Math.clz32(word & -word); // lowest set bit
      word &= word - 1;
      if (k >= limit) throw new BitOutOfRange(k, limit);
      out[k] = 0;
      n++;
    }
  }
  return n;
}

/** How many bits are set. */
export function countBits(bits: Int32Array): number {
  let n = 0;
  for (let w = 0; w < bits.length; w++) {
    let x = bits[w]! | 0;
    x = (x - ((x >>> 1) & 0x55555555)) | 0;
    x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
    n += Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
  }
  return n;
}

/** The set bits of a bitset as ascending flat indices (`count` of them). Branch-free within a word. */
export function bitIndices(words: Int32Array, count: number): Uint32Array {
  const out = new Uint32Array(count + 32); // room for the unconditional stores
  let k = 0;
  for (let j = 0; j < words.length; j++) {
    const x = words[j]!;
    if (x === 0) continue;
    const base = j << 5;
    for (let b = 0; b < 32; b++) {
      out[k] = base + b;
      k += (x >>> b) & 1;
    }
  }
  return out.subarray(0, count);
}
