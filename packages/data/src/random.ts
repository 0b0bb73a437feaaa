import { errors } from '@shears/core';
import { product } from './errors.js';
import { batchRanges, indexAt, planBatches } from './batching.js';
import { fillNormal, mix32, mulberry32, seed32 } from './rng.js';
import type { Batch, BatchOptions, Dataset } from './types.js';

/**
 * `n` samples of standard-normal noise with shape `sampleShape`, no labels.
 * Sample i depends only on (seed, i), so batch size, limit and shuffling never
 * change what a given sample holds.
 */
export function randomDataset(n: number, sampleShape: readonly number[], seed = 0): Dataset {
  if (!Number.isSafeInteger(n) || n < 0) throw errors.option('random', `sample count must be a non-negative integer, got ${n}`);
  for (const d of sampleShape) {
    if (!Number.isSafeInteger(d) || d < 0) throw errors.option('random', `sample shape must be non-negative integers, got [${sampleShape.join(', ')}]`);
  }
  const shape = [...sampleShape];
  const per = product(shape);
  const base = seed32(seed);
  return {
    name: `random:${n}`,
    size: n,
    sampleShape: shape,
    async *batches(batchSize: number, opts?: BatchOptions): AsyncGenerator<Batch> {
      const plan = planBatches(n, batchSize, opts);
      for (const [s, e] of batchRanges(plan)) {
        const m = e - s;
        const x = new Float32Array(m * per);
        for (let k = 0; k < m; k++) {
          const idx = indexAt(plan, s + k);
          fillNormal(x, mulberry32(mix32(base ^ mix32(idx + 0x632be5ab))), k * per, (k + 1) * per);
        }
        yield { x, dims: [m, ...shape] };
      }
    },
  };
}
