/** Small seeded PRNGs: deterministic across platforms and Node versions. */
import { mulberry32 } from '@shears/core';

/** Mix a 32-bit value (the splitmix32 / murmur3 finalizer). */
export function mix32(x: number): number {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/** A 32-bit seed from any finite number (fractions and large values included). */
export function seed32(seed: number): number {
  if (!Number.isFinite(seed)) seed = 0;
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 4294967296) >>> 0;
  return mix32(lo ^ mix32(hi + 0x9e3779b9));
}

export { mulberry32 };

/** Fill `out` with standard normal values (Box-Muller) from a uniform source. */
export function fillNormal(out: Float32Array, rand: () => number, start = 0, end = out.length): void {
  let i = start;
  while (i < end) {
    const u1 = 1 - rand(); // (0, 1]
    const u2 = rand();
    const r = Math.sqrt(-2 * Math.log(u1));
    const t = 2 * Math.PI * u2;
    out[i++] = r * Math.cos(t);
    if (i < end) out[i++] = r * Math.sin(t);
  }
}

/** The visiting order for `n` samples: identity, or a seeded Fisher-Yates permutation. */
export function sampleOrder(n: number, shuffle: boolean | undefined, seed: number | undefined): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (!shuffle) return order;
  const rand = mulberry32(seed32(seed ?? 0));
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}
