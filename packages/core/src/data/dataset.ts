import { stateKey } from '../plugin/context.js';

/** One batch of samples: x is [n, ...sampleShape] row-major; y holds class labels. */
export interface Batch {
  x: Float32Array;
  dims: number[];
  y?: Int32Array;
}

/**
 * A dataset is an async iterable of batches. Loaders live in @shears/data;
 * the interface lives here so that plugins can take data without depending on them.
 */
export interface Dataset {
  name: string;
  size: number;
  sampleShape: number[];
  numClasses?: number;
  batches(batchSize: number, opts?: { shuffle?: boolean; seed?: number; limit?: number }): AsyncIterable<Batch>;
}

/** Calibration data for data-aware criteria and strategies (set by the CLI from --calib). */
export const CALIBRATION = stateKey<Dataset>('shears.calibration');

/** How many calibration samples data-aware criteria use (set by strategies from calibSamples / --calib-samples). */
export const CALIBRATION_SAMPLES = stateKey<number>('shears.calibrationSamples');
