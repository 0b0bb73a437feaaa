import type { Dim } from '@shears/core';
import { dataError, fmtShape, product } from './errors.js';
import type { Batch, BatchOptions, Dataset } from './types.js';

function dimMatches(want: Dim | undefined, have: number): boolean {
  return typeof want !== 'number' || want === have;
}

/**
 * Throw E_DATA unless the dataset's samples fit the model input's non-batch
 * dims (`inputShape` includes the batch dim; dynamic dims — null or a name —
 * match anything).
 */
export function checkFits(dataset: Dataset, inputShape: readonly Dim[], opts: { file?: string; inputName?: string } = {}): void {
  const want = inputShape.slice(1);
  const have = dataset.sampleShape;
  if (want.length === have.length && want.every((d, i) => dimMatches(d, have[i]!))) return;
  throw dataError(opts.file ?? dataset.name, `samples are ${fmtShape(have)} but model input ${opts.inputName ?? '(unnamed)'} expects ${fmtShape(want)}`);
}

/**
 * Throw E_DATA if a label is outside [0, numClasses). Needs `dataset.labels`
 * (all built-in loaders with labels provide it); a dataset without labels passes.
 */
export function checkLabels(dataset: Dataset, numClasses: number, opts: { file?: string } = {}): void {
  const y = dataset.labels;
  if (!y) return;
  for (let i = 0; i < y.length; i++) {
    const v = y[i]!;
    if (v < 0 || v >= numClasses) {
      const cls = dataset.classNames?.[v] !== undefined ? ` (class '${dataset.classNames[v]}')` : '';
      throw dataError(opts.file ?? dataset.name, `label ${v}${cls} at sample ${i} is outside the model's ${numClasses} classes`);
    }
  }
}

/**
 * Can samples of shape `from` be fed as `to` without moving data? True when
 * they agree after dropping size-1 dims, or `to` is the flat 1-D vector.
 */
export function isSafeReshape(from: readonly number[], to: readonly Dim[]): to is number[] {
  if (!to.every((d): d is number => typeof d === 'number')) return false;
  if (product(from) !== product(to)) return false;
  const a = from.filter((d) => d !== 1);
  const b = to.filter((d) => d !== 1);
  if (a.length === b.length && a.every((d, i) => d === b[i])) return true;
  return b.length <= 1;
}

/** The same samples viewed with another per-sample shape (same element count). */
export function reshapeDataset(dataset: Dataset, sampleShape: readonly number[]): Dataset {
  if (product(sampleShape) !== product(dataset.sampleShape)) throw dataError(dataset.name, `cannot view samples of ${fmtShape(dataset.sampleShape)} as ${fmtShape(sampleShape)}`);
  const shape = [...sampleShape];
  const inner = dataset;
  return {
    name: inner.name,
    size: inner.size,
    sampleShape: shape,
    numClasses: inner.numClasses,
    labels: inner.labels,
    classNames: inner.classNames,
    async *batches(batchSize: number, opts?: BatchOptions): AsyncGenerator<Batch> {
      for await (const b of inner.batches(batchSize, opts)) yield { ...b, dims: [b.dims[0]!, ...shape] };
    },
  };
}
