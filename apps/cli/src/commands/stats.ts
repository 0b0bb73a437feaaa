import { analyzeModel, inferShapes, type DynamicShapeDetails, type Model } from '@shears/core';
import { inputShapeFlags } from '../input-shape-hint.js';

// Kept apart from shared.ts, whose data and runtime imports `shears prune` should not load.

/**
 * Params, non-zeros, MACs, bytes and per-layer figures after (re-)inferring
 * shapes. MACs are null while some input dims stay unknown (`dynamic` says which).
 */
export function stats(model: Model) {
  inferShapes(model);
  const a = analyzeModel(model, { dynamic: 'unknown' });
  return { params: a.params, nonzeroParams: a.nonzeroParams, macs: a.macs, bytes: a.bytes, layers: a.layers, dynamic: a.dynamicDetails };
}

/** One line saying why MACs are unknown and how to get them: `--input-shape x:1x3x224x224`. */
export function unknownMacsNote(d: DynamicShapeDetails): string {
  const names = Object.keys(d.inputs);
  return `MACs unknown: input ${names.join(', ')} has dynamic dims; pass your real sizes, e.g. ${inputShapeFlags(d.inputs)}`;
}
