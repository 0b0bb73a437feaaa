import { describe, expect, it } from 'vitest';
import { maxNonzerosPerGroup, parsePattern, pruneNM } from './nm.js';
import { rng } from './test-helpers.js';

describe('N:M', () => {
  it('parses N:M with 0 < N < M only', () => {
    expect(parsePattern('2:4')).toEqual({ n: 2, m: 4 });
    expect(parsePattern(' 1 : 8 ')).toEqual({ n: 1, m: 8 });
    for (const bad of ['4:2', '2:2', '0:4', '2/4', 'a:b', '']) expect(parsePattern(bad)).toBeUndefined();
  });

  it('prunes m − n of every group along the axis, keeping the highest scores', () => {
    for (const [dims, axis, n, m] of [
      [[6, 8, 3, 3], 1, 2, 4],
      [[12, 16], 1, 1, 4],
      [[16, 5], 0, 3, 8],
      [[4, 6, 2], 1, 1, 2],
    ] as [number[], number, number, number][]) {
      const size = dims.reduce((a, b) => a * b, 1);
      const r = rng(size);
      const scores = Float32Array.from({ length: size }, () => Math.round(r() * 4)); // ties
      const prune = pruneNM(scores, dims, axis, { n, m });
      expect(prune.length).toBe((size / m) * (m - n));
      const data = Float32Array.from(scores, (s) => s + 1);
      for (const i of prune) data[i] = 0;
      expect(maxNonzerosPerGroup(data, dims, axis, m)).toBe(n);
      // Kept scores are never below pruned ones within a group: checked through the sum.
      const kept = data.reduce((a, v) => a + v, 0);
      const brute = bruteKept(scores, dims, axis, n, m);
      expect(kept).toBe(brute);
    }
  });
});

/** Sum of (score + 1) over the n highest of every group, by sorting each group. */
function bruteKept(scores: Float32Array, dims: number[], axis: number, n: number, m: number): number {
  let inner = 1;
  for (let i = axis + 1; i < dims.length; i++) inner *= dims[i]!;
  const outer = scores.length / (dims[axis]! * inner);
  let sum = 0;
  for (let o = 0; o < outer; o++)
    for (let g = 0; g < dims[axis]!; g += m)
      for (let i = 0; i < inner; i++) {
        const vals = Array.from({ length: m }, (_, j) => scores[(o * dims[axis]! + g + j) * inner + i]!).sort((a, b) => b - a);
        sum += vals.slice(0, n).reduce((a, v) => a + v + 1, 0);
      }
  return sum;
}
