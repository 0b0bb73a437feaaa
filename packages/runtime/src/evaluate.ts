import { labelRank, ShearsError, type Model } from '@shears/core';
import type { Dataset } from '@shears/data';
import { chunkBatch, primaryInput } from './feeds.js';
import { Session, type RuntimeOptions } from './session.js';

export interface EvalOptions extends RuntimeOptions {
  batchSize?: number;
  /** Stop after this many samples. */
  limit?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface EvalResult {
  accuracy: number;
  top5: number;
  samples: number;
}

/** Top-1 and top-5 accuracy of a classifier over a labelled dataset. */
export async function evaluate(model: Model, data: Dataset, opts: EvalOptions = {}): Promise<EvalResult> {
  const { name, batch } = primaryInput(model);
  const session = await Session.create(model, opts);
  const total = Math.min(data.size, opts.limit ?? Infinity);
  let samples = 0;
  let top1 = 0;
  let top5 = 0;
  try {
    for await (const b of data.batches(opts.batchSize ?? batch ?? 32, { limit: opts.limit })) {
      if (!b.y) throw new ShearsError('E_DATA', `${data.name}: dataset has no labels, so accuracy cannot be measured`);
      for (const { feeds, rows, offset } of chunkBatch(b, name, batch)) {
        const out = await session.run(feeds);
        const logits = out[session.outputNames[0]!]!;
        const classes = logits.dims[logits.dims.length - 1]!;
        const scores = logits.data as Float32Array;
        for (let r = 0; r < rows; r++) {
          const label = b.y[offset + r]!;
          if (label < 0 || label >= classes) throw new ShearsError('E_DATA', `${data.name}: label ${label} at sample ${samples} is outside the model's ${classes} classes`);
          const rank = labelRank(scores, r, classes, label);
          if (rank === 0) top1++;
          if (rank < 5) top5++;
          samples++;
        }
      }
      opts.onProgress?.(samples, total);
    }
  } finally {
    await session.release();
  }
  if (samples === 0) throw new ShearsError('E_DATA', `${data.name}: dataset is empty`);
  return { accuracy: top1 / samples, top5: top5 / samples, samples };
}
