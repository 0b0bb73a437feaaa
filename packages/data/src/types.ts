import type { Batch, Dataset as CoreDataset } from '@shears/core';

/**
 * `Batch` and the base `Dataset` interface live in @shears/core (so plugins can
 * take data without depending on the loaders); this package re-exports `Batch`
 * and extends `Dataset` with optional extras every loader here fills in.
 *
 * Batch: `x` is `dims[0]` samples of `sampleShape` floats, C order; `dims` is
 * `[n, ...sampleShape]` (n may be smaller than the batch size on the last
 * batch); `y` holds n class labels when the dataset has labels.
 */
export type { Batch };

export interface BatchOptions {
  /** Visit samples in a seeded random order (the permutation depends only on `seed` and the dataset size). */
  shuffle?: boolean;
  /** Seed for `shuffle`; default 0, so shuffled runs are reproducible unless a seed is chosen. */
  seed?: number;
  /** Stop after this many samples (applied after shuffling, so shuffle+limit is a random subset). */
  limit?: number;
  /** Drop a last batch smaller than `batchSize`. */
  dropLast?: boolean;
}

export interface Dataset extends CoreDataset {
  /** The file, folder or spec the data came from; errors start with it. */
  name: string;
  /** Number of samples. */
  size: number;
  /** Shape of one sample, without the batch dimension (e.g. `[1, 28, 28]`). */
  sampleShape: number[];
  /**
   * Number of classes when known: the class folders of an image folder, or
   * `max(label) + 1` for label arrays (IDX, npz `y`).
   */
  numClasses?: number;
  /** All labels in sample order, when the dataset has labels (cheap: no samples are decoded). */
  labels?: Int32Array;
  /** Class names by label index (image folders). */
  classNames?: string[];
  batches(batchSize: number, opts?: BatchOptions): AsyncIterable<Batch>;
}
