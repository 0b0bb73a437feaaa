import { describe, expect, it } from 'vitest';
import { fillUniform, mulberry32 } from './random.js';

describe('mulberry32', () => {
  it('is pinned: seed 1 starts 0.6270739405881613, 0.002735721180215478', () => {
    const next = mulberry32(1);
    expect([next(), next()]).toEqual([0.6270739405881613, 0.002735721180215478]);
  });

  it('fillUniform writes the same stream, in float32 and float64', () => {
    for (const seed of [0, 1, 0xdeadbeef, 2 ** 32 - 1]) {
      const next = mulberry32(seed);
      const ref = Float64Array.from({ length: 1000 }, () => next());
      expect(fillUniform(new Float64Array(1000), seed)).toEqual(ref);
      expect(fillUniform(new Float32Array(1000), seed)).toEqual(Float32Array.from(ref));
    }
  });
});
