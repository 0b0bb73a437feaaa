import { errors } from '@shears/core';
import { sampleOrder } from './rng.js';
import type { BatchOptions } from './types.js';

export interface BatchPlan {
  /** Sample indices in visiting order, or null for 0..count-1. */
  order: Uint32Array | null;
  /** How many samples will be visited. */
  count: number;
  batchSize: number;
  dropLast: boolean;
}

export function planBatches(size: number, batchSize: number, opts: BatchOptions = {}): BatchPlan {
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw errors.option('batchSize', `must be a positive integer, got ${batchSize}`);
  const limit = opts.limit;
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) throw errors.option('limit', `must be a non-negative integer, got ${limit}`);
  const count = Math.min(size, limit ?? size);
  const order = opts.shuffle ? sampleOrder(size, true, opts.seed) : null;
  return { order, count, batchSize, dropLast: !!opts.dropLast };
}

/** [start, end) position ranges over the visiting order. */
export function* batchRanges(plan: BatchPlan): Generator<[number, number]> {
  for (let s = 0; s < plan.count; s += plan.batchSize) {
    const e = Math.min(plan.count, s + plan.batchSize);
    if (plan.dropLast && e - s < plan.batchSize) return;
    yield [s, e];
  }
}

export function indexAt(plan: BatchPlan, pos: number): number {
  return plan.order ? plan.order[pos]! : pos;
}

/** uint8 → float32 in [0, 1], exactly `b / 255` rounded to float32. */
export const U8_UNIT: Float32Array = (() => {
  const t = new Float32Array(256);
  for (let i = 0; i < 256; i++) t[i] = i / 255;
  return t;
})();
