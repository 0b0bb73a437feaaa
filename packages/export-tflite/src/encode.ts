import type { Sparsity } from './writer.js';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE float32 → float16 bits, round to nearest even (overflow → ±inf). */
export function toHalf(x: number): number {
  f32[0] = x;
  const bits = u32[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let m = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    if (rem > half || (rem === half && m & 1)) m++;
    return sign | m;
  }
  let m = mant >>> 13;
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && m & 1)) {
    m++;
    if (m === 0x400) {
      m = 0;
      e++;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | m;
}

/** float16 bits → number. */
export function fromHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

export const HALF_MAX = 65504;

export function toHalfArray(src: Float32Array): Uint16Array {
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = toHalf(src[i]!);
  return out;
}

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
