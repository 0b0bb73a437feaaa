import { ShearsError, type Model, type NamedTensor } from '@shears/core';
import type { Dataset } from '@shears/data';
import { randomFeeds } from './bench.js';
import { chunkBatch, primaryInput } from './feeds.js';
import { Session, type RuntimeOptions } from './session.js';

export interface CompareOptions extends RuntimeOptions {
  data?: Dataset;
  batchSize?: number;
  limit?: number;
}

export interface CompareResult {
  maxAbsDiff: number;
  /** maxAbsDiff divided by the largest |reference| value. */
  maxRelDiff: number;
  cosine: number;
  samples: number;
}

/** Run two models on the same inputs and measure how far their outputs are apart. */
export async function compare(a: Model, b: Model, opts: CompareOptions = {}): Promise<CompareResult> {
  const sa = await Session.create(a, opts);
  const sb = await Session.create(b, opts);
  const acc = { maxAbs: 0, maxRef: 0, dot: 0, na: 0, nb: 0, samples: 0 };
  const step = async (feeds: Record<string, NamedTensor>, rows: number) => {
    const [oa, ob] = [await sa.run(feeds), await sb.run(feeds)];
    if (sa.outputNames.length !== sb.outputNames.length)
      throw new ShearsError('E_RUNTIME', `models have ${sa.outputNames.length} and ${sb.outputNames.length} outputs`);
    // Outputs pair up by position, so a renamed output still compares.
    for (const [k, name] of sa.outputNames.entries()) {
      const ta = oa[name]!;
      const tb = ob[sb.outputNames[k]!]!;
      if (ta.data.length !== tb.data.length) throw new ShearsError('E_RUNTIME', `output ${name} has shape ${ta.dims.join('x')} vs ${tb.dims.join('x')}`);
      const x = ta.data as Float32Array;
      const y = tb.data as Float32Array;
      const used = (x.length / ta.dims[0]!) * rows;
      for (let i = 0; i < used; i++) {
        const d = Math.abs(x[i]! - y[i]!);
        if (d > acc.maxAbs || Number.isNaN(d)) acc.maxAbs = Number.isNaN(d) ? Infinity : d;
        acc.maxRef = Math.max(acc.maxRef, Math.abs(x[i]!));
        acc.dot += x[i]! * y[i]!;
        acc.na += x[i]! * x[i]!;
        acc.nb += y[i]! * y[i]!;
      }
    }
    acc.samples += rows;
  };
  try {
    if (opts.data) {
      const { name, batch } = primaryInput(a);
      for await (const bt of opts.data.batches(opts.batchSize ?? batch ?? 8, { limit: opts.limit ?? 64 }))
        for (const { feeds, rows } of chunkBatch(bt, name, batch)) await step(feeds, rows);
    } else {
      const feeds = randomFeeds(a);
      const first = Object.values(feeds)[0]!;
      await step(feeds, first.dims[0] ?? 1);
    }
  } finally {
    await sa.release();
    await sb.release();
  }
  const denom = Math.sqrt(acc.na) * Math.sqrt(acc.nb);
  return {
    maxAbsDiff: acc.maxAbs,
    maxRelDiff: acc.maxRef > 0 ? acc.maxAbs / acc.maxRef : acc.maxAbs,
    cosine: denom > 0 ? acc.dot / denom : acc.na === acc.nb ? 1 : 0,
    samples: acc.samples,
  };
}
