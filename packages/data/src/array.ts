import { dataError, fmtShape, product } from './errors.js';
import { batchRanges, indexAt, planBatches, U8_UNIT } from './batching.js';
import type { NpyArray, NpyData } from './npy.js';
import type { Batch, BatchOptions, Dataset } from './types.js';

/** Labels as Int32Array from any integer (or integral float) array; errors name `file`. */
export function toLabels(y: NpyArray, n: number, file: string): Int32Array {
  const shape = y.shape;
  const ok = (shape.length === 1 && shape[0] === n) || (shape.length === 2 && shape[0] === n && shape[1] === 1);
  if (!ok) {
    if (shape.length === 2 && shape[0] === n) throw dataError(file, `y has shape ${fmtShape(shape)}; expected ${n} integer labels (for one-hot labels save y.argmax(1))`);
    const m = shape.length === 0 ? 1 : shape[0]!;
    throw dataError(file, `x has ${n} samples but y has ${shape.length <= 1 ? `${m} labels` : `shape ${fmtShape(shape)}`}`);
  }
  if (y.data instanceof Int32Array) return y.data;
  const out = new Int32Array(n);
  const d = y.data;
  const isFloat = y.dtype === 'float32' || y.dtype === 'float64';
  for (let i = 0; i < n; i++) {
    const v = Number(d[i]);
    if (isFloat && !Number.isInteger(v)) throw dataError(file, `y[${i}] = ${v} is not an integer class label`);
    if (v > 2147483647 || v < -2147483648) throw dataError(file, `y[${i}] = ${v} is not a valid class label`);
    out[i] = v;
  }
  return out;
}

export function labelClassCount(y: Int32Array): number | undefined {
  if (y.length === 0) return undefined;
  let max = -1;
  for (let i = 0; i < y.length; i++) if (y[i]! > max) max = y[i]!;
  return max + 1;
}

/** Copy samples `idx` of `src` (each `per` elements) into `out` at sample `k`, as float32 (uint8 and bool scaled to [0,1]). */
function copySample(src: NpyData, scale: number, per: number, idx: number, out: Float32Array, k: number): void {
  const o = k * per;
  const s = idx * per;
  if (src instanceof Float32Array) {
    out.set(src.subarray(s, s + per), o);
  } else if (scale !== 1 && src instanceof Uint8Array) {
    for (let i = 0; i < per; i++) out[o + i] = U8_UNIT[src[s + i]!]!;
  } else if (src instanceof BigInt64Array || src instanceof BigUint64Array) {
    for (let i = 0; i < per; i++) out[o + i] = Number(src[s + i]);
  } else if (scale !== 1) {
    for (let i = 0; i < per; i++) out[o + i] = (src[s + i] as number) * scale;
  } else {
    out.set(src.subarray(s, s + per) as Exclude<NpyData, BigInt64Array | BigUint64Array>, o);
  }
}

/**
 * A dataset over arrays in memory: `x` is `[n, ...sampleShape]` (any npy
 * dtype; uint8/bool are scaled to [0,1]), `y` optional labels of length n.
 * Batches are converted to float32 one at a time.
 */
export function arrayDataset(name: string, x: NpyArray, y?: NpyArray | Int32Array): Dataset {
  if (x.shape.length === 0) throw dataError(name, 'x is a scalar; expected an array of samples [n, ...]');
  const size = x.shape[0]!;
  const sampleShape = x.shape.slice(1);
  const per = product(sampleShape);
  const scale = x.dtype === 'uint8' ? 1 / 255 : 1; // bool stays 0/1
  let labels: Int32Array | undefined;
  if (y !== undefined) {
    labels = y instanceof Int32Array ? y : toLabels(y, size, name);
    if (labels.length !== size) throw dataError(name, `x has ${size} samples but y has ${labels.length} labels`);
  }
  const numClasses = labels ? labelClassCount(labels) : undefined;
  return {
    name,
    size,
    sampleShape,
    numClasses,
    labels,
    async *batches(batchSize: number, opts?: BatchOptions): AsyncGenerator<Batch> {
      const plan = planBatches(size, batchSize, opts);
      for (const [s, e] of batchRanges(plan)) {
        const n = e - s;
        const out = new Float32Array(n * per);
        const yb = labels ? new Int32Array(n) : undefined;
        for (let k = 0; k < n; k++) {
          const idx = indexAt(plan, s + k);
          copySample(x.data, scale, per, idx, out, k);
          if (yb) yb[k] = labels![idx]!;
        }
        yield yb ? { x: out, dims: [n, ...sampleShape], y: yb } : { x: out, dims: [n, ...sampleShape] };
      }
    },
  };
}
