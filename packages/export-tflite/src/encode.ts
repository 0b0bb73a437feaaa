import type { Sparsity } from './writer.js';

export { fromHalf, toHalf, toHalfArray } from '@shears/core';

export const HALF_MAX = 65504;


/** Whether every value fits float16's range (else fp16 would turn it into inf). */
export function fitsHalf(src: Float32Array): boolean {
  for (let i = 0; i < src.length; i++) if (!(Math.abs(src[i]!) <= HALF_MAX)) return false;
  return true;
}

export function zeroFraction(src: Float32Array): number {
  let z = 0;
  for (let i = 0; i < src.length; i++) if (src[i] === 0) z++;
  return src.length ? z / src.length : 0;
}

/**
 * TFLite's sparse encoding of a dense row-major tensor: every dimension dense
 * except the last, which is CSR (segments per row of the leading dims, column
 * indices), traversed in order. Returns the metadata and the non-zero values.
 */
export function encodeSparse(src: Float32Array, shape: readonly number[]): { sparsity: Sparsity; values: Float32Array } {
  const cols = shape[shape.length - 1]!;
  const rows = src.length / cols;
  let nnz = 0;
  for (let i = 0; i < src.length; i++) if (src[i] !== 0) nnz++;
  const values = new Float32Array(nnz);
  const indices = new Int32Array(nnz);
  const segments = new Int32Array(rows + 1);
  let k = 0;
  for (let r = 0; r < rows; r++) {
    segments[r] = k;
    for (let c = 0; c < cols; c++) {
      const v = src[r * cols + c]!;
      if (v !== 0) {
        values[k] = v;
        indices[k++] = c;
      }
    }
  }
  segments[rows] = k;
  return {
    sparsity: {
      traversalOrder: shape.map((_, i) => i),
      dims: shape.map((d, i) => (i < shape.length - 1 ? { format: 'dense' as const, denseSize: d } : { format: 'csr' as const, segments, indices })),
    },
    values,
  };
}

/** Bytes the sparse encoding adds besides the values (segments and indices, narrowest type). */
export function sparseIndexBytes(s: Sparsity): number {
  let n = 0;
  for (const d of s.dims) {
    if (d.format !== 'csr') continue;
    for (const v of [d.segments, d.indices]) {
      let max = 0;
      for (const x of v) if (x > max) max = x;
      n += v.length * (max < 256 ? 1 : max < 65536 ? 2 : 4);
    }
  }
  return n;
}
