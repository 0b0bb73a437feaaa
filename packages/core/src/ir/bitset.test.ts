import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../data/random.js';
import { BitOutOfRange, bitIndices, countBits, zeroBits } from './bitset.js';
import { Value } from './value.js';

/** A random bitset over n elements (density p) and its set elements, the slow way. */
function randomBits(n: number, p: number, seed: number): { bits: Int32Array; set: number[] } {
  const r = mulberry32(seed);
  const bits = new Int32Array((n + 31) >>> 5);
  const set: number[] = [];
  for (let i = 0; i < n; i++) if (r() < p) (bits[i >>> 5]! |= 1 << (i & 31)), set.push(i);
  return { bits, set };
}

describe('bitsets', () => {
  it('countBits, bitIndices and zeroBits agree with the slow way, sign bits and full words included', () => {
    for (const [n, p, seed] of [[1000, 0.5, 1], [4096, 0.97, 2], [77, 0.1, 3], [64, 1, 4]] as const) {
      const { bits, set } = randomBits(n, p, seed);
      expect(countBits(bits)).toBe(set.length);
      expect(Array.from(bitIndices(bits, set.length))).toEqual(set);
      const w = new Float32Array(n).fill(1);
      expect(zeroBits(bits, w)).toBe(set.length);
      expect([...w.keys()].filter((i) => w[i] === 0)).toEqual(set);
    }
  });

  it('zeroBits names the first bit past the array', () => {
    const bits = Int32Array.of(0, 1 << 3);
    expect(() => zeroBits(bits, new Float32Array(35))).toThrow(BitOutOfRange);
    expect(() => zeroBits(bits, new Float32Array(35))).toThrow('bit 35 is past the 35 elements');
  });

  it("a Value's byte mask built from pending bits clears exactly the set elements, merged across marks", () => {
    const n = 1000;
    const a = randomBits(n, 0.3, 5);
    const b = randomBits(n, 0.3, 6);
    const v = new Value('w');
    v.markPruned(a.bits, n);
    v.markPruned(b.bits, n);
    const pruned = new Set([...a.set, ...b.set]);
    expect([...v.mask!.keys()].filter((i) => v.mask![i] === 0)).toEqual([...pruned].sort((x, y) => x - y));
    const c = randomBits(n, 0.3, 7);
    v.markPruned(c.bits, n); // onto the built mask
    for (const i of c.set) pruned.add(i);
    expect([...v.mask!.keys()].filter((i) => v.mask![i] === 0)).toEqual([...pruned].sort((x, y) => x - y));
  });
});
