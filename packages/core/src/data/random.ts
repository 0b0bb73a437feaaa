/**
 * mulberry32: a small, fast seeded generator of uniform floats in [0, 1).
 * Shared by every package that needs repeatable randomness (random data,
 * random criteria, augmentation), so one seed means one stream everywhere.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => mix((a = (a + 0x6d2b79f5) >>> 0));
}

/**
 * Fill `out` with mulberry32(seed)'s stream, the same numbers, without a call
 * per element (about 1.5× faster over millions of weights).
 */
export function fillUniform<T extends Float32Array | Float64Array>(out: T, seed: number): T {
  let a = seed >>> 0;
  for (let i = 0; i < out.length; i++) out[i] = mix((a = (a + 0x6d2b79f5) >>> 0));
  return out;
}

/** mulberry32's output function of its state. */
function mix(a: number): number {
  let t = a;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
