import { isFloatDType } from '../ir/dtype.js';
import type { Tensor } from '../ir/tensor.js';

/**
 * Count non-zero elements straight over the typed array. ±0 count as zero,
 * NaN as non-zero. Reduced-precision floats are tested on their raw bits.
 */
export function countNonzero(t: Tensor): number {
  if (t.dtype === 'string') return (t.data as Uint8Array[]).length;
  // A lazy float32 tensor over misaligned bytes: scan the bytes, skip the copy.
  const raw = t.dtype === 'float32' && !t.loaded ? t.peekBytes() : undefined;
  if (raw) return nzFloat32Bytes(raw, t.size);
  const a = t.values;
  const n = t.size;
  switch (t.dtype) {
    case 'float32':
      return nzFloat32(a as Float32Array, n);
    case 'float16':
    case 'bfloat16':
      return nzMasked16(a as Uint16Array, n, 0x7fff);
    case 'float8e4m3fn':
    case 'float8e5m2':
      return nzMasked8(a as Uint8Array, n, 0x7f);
    case 'float4e2m1':
    case 'int4':
    case 'uint4':
      return nzNibbles(a as Uint8Array, n, t.dtype === 'float4e2m1' ? 0x7 : 0xf);
    case 'int64':
    case 'uint64':
      return nzBigInt(a as BigInt64Array, n);
    case 'complex64':
    case 'complex128':
      return nzComplex(a as Float64Array, n);
    default:
      // float64, the fnuz float8s (only 0x00 is zero) and plain ints.
      return nzPlain(a as Float64Array, n);
  }
}

// One function per array type keeps each loop monomorphic (about 2x faster in V8).

function nzFloat32(f: Float32Array, n: number): number {
  // Test the bits: ±0 have all but the sign bit clear.
  const u = new Int32Array(f.buffer, f.byteOffset, n);
  let c = 0;
  for (let i = 0; i < n; i++) c += ((u[i]! & 0x7fffffff) + 0x7fffffff) >>> 31;
  return c;
}

function nzFloat32Bytes(b: Uint8Array, n: number): number {
  let c = 0;
  for (let i = 0, k = 0; i < n; i++, k += 4) c += (b[k]! | b[k + 1]! | b[k + 2]! | (b[k + 3]! & 0x7f)) !== 0 ? 1 : 0;
  return c;
}

function nzMasked16(u: Uint16Array, n: number, mask: number): number {
  let c = 0;
  for (let i = 0; i < n; i++) if ((u[i]! & mask) !== 0) c++;
  return c;
}

function nzMasked8(u: Uint8Array, n: number, mask: number): number {
  let c = 0;
  for (let i = 0; i < n; i++) if ((u[i]! & mask) !== 0) c++;
  return c;
}

/** Two elements per byte, low nibble first. */
function nzNibbles(u: Uint8Array, n: number, mask: number): number {
  let c = 0;
  for (let i = 0; i < n; i++) if (((u[i >> 1]! >> ((i & 1) * 4)) & mask) !== 0) c++;
  return c;
}

function nzBigInt(b: BigInt64Array, n: number): number {
  let c = 0;
  for (let i = 0; i < n; i++) if (b[i] !== 0n) c++;
  return c;
}

function nzComplex(f: Float64Array, n: number): number {
  let c = 0;
  for (let i = 0; i < n; i++) if (f[2 * i] !== 0 || f[2 * i + 1] !== 0) c++;
  return c;
}

function nzPlain(f: Float64Array, n: number): number {
  let c = 0;
  for (let i = 0; i < n; i++) if (f[i] !== 0) c++;
  return c;
}

/** Whether a tensor counts as parameters (floating-point data). */
export function isParamTensor(t: Tensor): boolean {
  return isFloatDType(t.dtype);
}
