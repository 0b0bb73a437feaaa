import { describe, expect, it } from 'vitest';
import { pruneLowestMagnitude } from './magnitude-masks.js';
import { pruneLowest, pruneLowestGlobal, pruneLowestStreaming, quickselect, radixSelect } from './select.js';
import { rng } from './test-helpers.js';

/** Arrays with many ties: values drawn from a few levels, zeros, negatives. */
function tiedArray(n: number, seed: number, levels: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => (r() < 0.2 ? 0 : Math.round((r() - 0.3) * levels) / levels));
}

/** Reference: sort indices by (value, index) and take the first k. */
function reference(a: Float32Array, k: number): number[] {
  return [...a.keys()]
    .sort((i, j) => a[i]! - a[j]! || i - j)
    .slice(0, k)
    .sort((i, j) => i - j);
}

describe('selection', () => {
  it('quickselect and radixSelect give the k-th smallest of random arrays with ties (vs a sort)', () => {
    for (let trial = 0; trial < 60; trial++) {
      const n = 1 + Math.floor(rng(trial)() * 3000);
      const a = trial % 3 === 0 ? Float32Array.from({ length: n }, rng(trial + 100)) : tiedArray(n, trial, 1 + (trial % 7));
      const sorted = Float32Array.from(a).sort();
      for (const k of [0, n - 1, Math.floor(n / 2), Math.floor(rng(trial + 7)() * n)]) {
        // (+ 0 folds -0 onto 0: they are equal scores)
        expect(quickselect(Float32Array.from(a), k) + 0).toBe(sorted[k]! + 0);
        expect(radixSelect([a], k) + 0).toBe(sorted[k]! + 0);
        // Split into segments: same answer.
        const cut = Math.floor(n / 3);
        expect(radixSelect([a.subarray(0, cut), a.subarray(cut)], k) + 0).toBe(sorted[k]! + 0);
      }
    }
  });

  it('handles negative scores, -0 and infinities', () => {
    const a = Float32Array.of(-0, 0, -1, 3, -Infinity, Infinity, 2, -0.5);
    const sorted = Float32Array.from(a).sort();
    for (let k = 0; k < a.length; k++) {
      expect(quickselect(Float32Array.from(a), k) === sorted[k]).toBe(true);
      expect(radixSelect([a], k) === sorted[k]).toBe(true);
    }
  });

  it('pruneLowest takes exactly k, ties broken by index, same set as a reference sort', () => {
    for (let trial = 0; trial < 40; trial++) {
      const a = tiedArray(500 + trial * 37, trial, 3);
      for (const k of [0, 1, 17, Math.floor(a.length / 2), a.length]) {
        const got = pruneLowest(a, k);
        expect(got.length).toBe(k);
        expect(Array.from(got)).toEqual(reference(a, k));
      }
    }
  });

  it('pruneLowestGlobal takes exactly k across segments, ties to earlier segments first', () => {
    for (let trial = 0; trial < 20; trial++) {
      const segs = [tiedArray(300, trial, 2), tiedArray(1000, trial + 50, 2), tiedArray(77, trial + 99, 2)];
      const all = new Float32Array(segs.reduce((s, x) => s + x.length, 0));
      let o = 0;
      for (const s of segs) all.set(s, (o += s.length) - s.length);
      for (const k of [0, 1, 700, all.length - 1]) {
        const got = pruneLowestGlobal(segs, k);
        expect(got.reduce((s, x) => s + x.length, 0)).toBe(k);
        let off = 0;
        const flat = got.flatMap((g, i) => {
          const r = Array.from(g, (x) => x + off);
          off += segs[i]!.length;
          return r;
        });
        expect(flat).toEqual(reference(all, k));
      }
    }
  });

  it('pruneLowestStreaming (scores produced twice, never all held) equals pruneLowestGlobal', async () => {
    for (let trial = 0; trial < 20; trial++) {
      const segs = [tiedArray(300, trial, 1 + (trial % 4)), Float32Array.from({ length: 999 }, rng(trial)), tiedArray(77, trial + 99, 3), new Float32Array(5)];
      const total = segs.reduce((a, x) => a + x.length, 0);
      const scratch = new Float32Array(1000);
      let calls = 0;
      const segment = async (i: number) => {
        calls++;
        const v = scratch.subarray(0, segs[i]!.length);
        v.set(segs[i]!);
        return v;
      };
      for (const k of [0, 1, 5, 400, 701, total - 1, total]) {
        calls = 0;
        const got = await pruneLowestStreaming(segs.length, segment, k);
        expect(got.map((g) => Array.from(g))).toEqual(pruneLowestGlobal(segs, k).map((g) => Array.from(g)));
        if (k > 0) expect(calls).toBe(2 * segs.length);
      }
    }
    await expect(pruneLowestStreaming(1, async () => Float32Array.of(1, NaN), 1, 'crit')).rejects.toThrow(/crit: segment 0 has NaN/);
  });

  it('pruneLowestMagnitude (from the weight bits) equals pruneLowestGlobal on |w|, ties and ±0 included', () => {
    for (let trial = 0; trial < 30; trial++) {
      const r = rng(trial + 500);
      const segs = Array.from({ length: 1 + (trial % 5) }, (_, i) => {
        const w = trial % 2 ? tiedArray(1 + Math.floor(r() * 400), trial * 10 + i, 1 + (trial % 4)) : Float32Array.from({ length: 1 + Math.floor(r() * 400) }, () => r() - 0.5);
        for (let j = 0; j < w.length; j += 7) w[j] = -w[j]!; // -0 and negatives of ties
        return w;
      });
      const abs = segs.map((w) => w.map(Math.abs));
      const total = segs.reduce((a, x) => a + x.length, 0);
      for (const k of [0, 1, Math.floor(total / 3), Math.floor(total / 2), total - 1, total]) {
        const got = pruneLowestMagnitude(segs, k);
        expect(got.map((g) => Array.from(g))).toEqual(pruneLowestGlobal(abs, k).map((g) => Array.from(g)));
        expect(got.reduce((a, g) => a + g.length, 0)).toBe(k);
        // One array: the same as pruneLowest on |w|.
        expect(Array.from(pruneLowestMagnitude([segs[0]!], Math.min(k, segs[0]!.length))[0]!)).toEqual(Array.from(pruneLowest(abs[0]!, Math.min(k, segs[0]!.length))));
      }
    }
    expect(() => pruneLowestMagnitude([Float32Array.of(1, NaN)], 1, 'l1')).toThrow(/l1: weight array 0 has NaN/);
  });

  it('rejects NaN scores', () => {
    expect(() => pruneLowest(Float32Array.of(1, NaN, 2), 1, 'crit')).toThrow(/crit: score 1 is NaN/);
  });

  it('stays linear on an all-equal array (three-way partition)', () => {
    const a = new Float32Array(2_000_000);
    const t0 = performance.now();
    expect(quickselect(a, 1_000_000)).toBe(0);
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});
