import { analyzeModel, inferShapes, type Model } from '@shears/core';

// Kept apart from shared.ts, whose data and runtime imports `shears prune` should not load.

/** Params, non-zeros, MACs, bytes and per-layer figures after (re-)inferring shapes. */
export function stats(model: Model) {
  inferShapes(model);
  const a = analyzeModel(model);
  return { params: a.params, nonzeroParams: a.nonzeroParams, macs: a.macs, bytes: a.bytes, layers: a.layers };
}
