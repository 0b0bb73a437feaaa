import { mulberry32 } from '@shears/core';
import { describe, expect, it } from 'vitest';
import { magnitudeMasks, magnitudeMasksBracketed, magnitudeMasksExact, type MagnitudeMasks } from './magnitude-masks.js';
import { pruneLowestGlobal } from './select.js';

/** Roughly normal weights (sum of uniforms), some negated, some exactly ±0. */
function weights(n: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  const w = new Float32Array(n);
  for (let i = 0; i < n; i++) w[i] = (r() + r() + r() - 1.5) * 0.1;
  for (let i = 0; i < n; i += 97) w[i] = i % 2 ? -0 : 0;
  return w;
}

/** Few distinct magnitudes: ties at any threshold. */
function quantized(n: number, seed: number, levels: number): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => (Math.floor(r() * levels) - levels / 2) / levels);
}

const same = (a: MagnitudeMasks, b: MagnitudeMasks) => {
  expect(a.counts).toEqual(b.counts);
  a.words.forEach((w, i) => expect(Buffer.compare(Buffer.from(w.buffer), Buffer.from(b.words[i]!.buffer))).toBe(0));
};

const bitsOf = (m: MagnitudeMasks) => m.words.map((w, s) => Array.from({ length: m.counts[s]! > 0 ? w.length * 32 : 0 }, (_, i) => i).filter((i) => (w[i >>> 5]! >>> (i & 31)) & 1));

describe('magnitudeMasks (one pass, sample-bracketed)', () => {
  it('gives the exact two-pass result on large inputs, in one pass', () => {
    const segs = [weights(300_000, 1), weights(40_000, 2), weights(700_001, 3)];
    const total = segs.reduce((a, w) => a + w.length, 0);
    for (const k of [1, 1000, Math.floor(total / 3), Math.floor(total / 2), Math.floor(0.9 * total), total - 1]) {
      const fast = magnitudeMasksBracketed(segs, k);
      expect(fast, `k=${k}`).toBeDefined();
      same(fast!, magnitudeMasksExact(segs, k));
      expect(fast!.counts.reduce((a, b) => a + b, 0)).toBe(k);
    }
  });

  it('breaks ties at the threshold by array, then index (the rule of select.ts)', () => {
    const segs = [quantized(200_000, 4, 16), quantized(150_000, 5, 16)];
    const abs = segs.map((w) => w.map(Math.abs));
    for (const k of [123_457, 175_000, 300_001]) {
      const fast = magnitudeMasksBracketed(segs, k);
      expect(fast).toBeDefined();
      same(fast!, magnitudeMasksExact(segs, k));
      expect(bitsOf(fast!)).toEqual(pruneLowestGlobal(abs, k).map((g) => Array.from(g)));
    }
  });

  it('falls back to the exact passes when the sample misses the threshold', () => {
    // Every sampled position (stride 5 here) holds a big weight, the rest are tiny: the sample sees only big ones.
    const n = 1_400_000;
    const w = new Float32Array(n);
    for (let i = 0; i < n; i++) w[i] = i % 5 === 0 ? 100 + (i % 7) : 1e-3 * ((i % 11) + 1);
    const k = n / 2;
    expect(magnitudeMasksBracketed([w], k)).toBeUndefined();
    const m = magnitudeMasks([w], k);
    same(m, magnitudeMasksExact([w], k));
    expect(m.counts[0]).toBe(k);
  });

  it('rejects NaN weights the sample does not see', () => {
    const w = weights(500_000, 6);
    w[123_457] = Number.NaN;
    expect(() => magnitudeMasks([weights(1000, 7), w], 250_000, 'l1')).toThrow(/l1: weight array 1 has NaN values/);
  });

  it('leaves small inputs and the ends (k = 0, k = all) to the exact passes', () => {
    expect(magnitudeMasksBracketed([weights(1000, 8)], 500)).toBeUndefined();
    const w = weights(100_000, 9);
    expect(magnitudeMasksBracketed([w], 0)).toBeUndefined();
    expect(magnitudeMasks([w], w.length).counts[0]).toBe(w.length);
  });
});
