/** Image augmentation on NCHW float batches, in JavaScript (cheap next to a training step). */
import { mulberry32 } from '@shears/core';
export interface AugmentOptions {
  /** Random horizontal flip with probability 0.5. */
  flip?: boolean;
  /** Random crop: pad each side by this many pixels (zeros), then crop back to the original size. */
  crop?: number;
}

/** A seeded generator (core's mulberry32), so augmented runs repeat. */
export const rng: (seed: number) => () => number = mulberry32;

/** Augment a batch [N, C, H, W] (a new array; the input is not changed). */
export function augmentBatch(x: Float32Array, dims: readonly number[], opts: AugmentOptions, random: () => number): Float32Array {
  if (dims.length !== 4 || (!opts.flip && !opts.crop)) return x;
  const [n, c, h, w] = dims as [number, number, number, number];
  const out = new Float32Array(x.length);
  const pad = opts.crop ?? 0;
  const plane = h * w;
  for (let i = 0; i < n; i++) {
    const flip = opts.flip ? random() < 0.5 : false;
    const dy = pad ? Math.floor(random() * (2 * pad + 1)) - pad : 0;
    const dx = pad ? Math.floor(random() * (2 * pad + 1)) - pad : 0;
    for (let ch = 0; ch < c; ch++) {
      const base = (i * c + ch) * plane;
      for (let y = 0; y < h; y++) {
        const sy = y + dy;
        if (sy < 0 || sy >= h) continue;
        for (let xx = 0; xx < w; xx++) {
          const ox = flip ? w - 1 - xx : xx;
          const sx = ox + dx;
          if (sx < 0 || sx >= w) continue;
          out[base + y * w + xx] = x[base + sy * w + sx]!;
        }
      }
    }
  }
  return out;
}
