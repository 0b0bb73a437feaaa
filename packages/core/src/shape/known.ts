import type { DType } from '../ir/dtype.js';
import { Tensor } from '../ir/tensor.js';
import type { Dim } from '../ir/types.js';
import type { Known } from '../ops/types.js';

const INT_DTYPES = new Set<DType>(['int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64']);

export function isIntDType(d: DType | undefined): boolean {
  return !!d && INT_DTYPES.has(d);
}

/** dtypes whose values constant folding can hold as JS numbers. */
export function isFoldableDType(d: DType | undefined): boolean {
  return !!d && (INT_DTYPES.has(d) || d === 'bool' || d === 'float32' || d === 'float64' || d === 'float16' || d === 'bfloat16');
}

export function elements(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

export function isNumeric(k: Known): boolean {
  for (const v of k.data) if (typeof v !== 'number') return false;
  return true;
}

/** A known value's elements as numbers, or undefined if any is symbolic/unknown. */
export function numbersOf(k: Known | undefined): number[] | undefined {
  return k && isNumeric(k) ? (k.data as number[]) : undefined;
}

/** Contents of a small numeric tensor (undefined when too big or not foldable). */
export function knownFromTensor(t: Tensor, maxElements: number): Known | undefined {
  if (!isFoldableDType(t.dtype) || t.size > maxElements) return undefined;
  const raw = t.values;
  const data: Dim[] = new Array(t.size);
  if (t.dtype === 'float16') for (let i = 0; i < data.length; i++) data[i] = halfToFloat(raw[i] as number);
  else if (t.dtype === 'bfloat16') for (let i = 0; i < data.length; i++) data[i] = bfloatToFloat(raw[i] as number);
  else for (let i = 0; i < data.length; i++) data[i] = Number(raw[i]);
  return { dtype: t.dtype, dims: [...t.dims], data };
}

const I64_MAX = 2n ** 63n - 1n;
const I64_MIN = -(2n ** 63n);

/** Build a tensor from a fully numeric known value. */
export function tensorFromKnown(k: Known, name = ''): Tensor {
  if (!isNumeric(k)) throw new Error(`value ${name} is not fully known`);
  const nums = k.data as number[];
  const t = new Tensor({ name, dtype: k.dtype, dims: k.dims });
  const out = t.values;
  if (k.dtype === 'int64' || k.dtype === 'uint64') {
    const o = out as BigInt64Array | BigUint64Array;
    for (let i = 0; i < nums.length; i++) {
      // Slice ends like INT64_MAX round up in doubles; clamp instead of wrapping.
      let b = BigInt(Math.trunc(nums[i]!));
      if (k.dtype === 'int64') b = b > I64_MAX ? I64_MAX : b < I64_MIN ? I64_MIN : b;
      o[i] = b;
    }
  } else if (k.dtype === 'float16') for (let i = 0; i < nums.length; i++) (out as Uint16Array)[i] = floatToHalf(nums[i]!);
  else if (k.dtype === 'bfloat16') for (let i = 0; i < nums.length; i++) (out as Uint16Array)[i] = floatToBfloat(nums[i]!);
  else for (let i = 0; i < nums.length; i++) (out as Float32Array)[i] = nums[i]!;
  return t;
}

/** Round/wrap a JS number to what `dtype` can hold (C cast semantics: truncation). */
export function castNumber(x: number, to: DType): number {
  switch (to) {
    case 'bool':
      return x !== 0 ? 1 : 0;
    case 'float32':
      return Math.fround(x);
    case 'float64':
      return x;
    case 'float16':
      return halfToFloat(floatToHalf(x));
    case 'bfloat16':
      return bfloatToFloat(floatToBfloat(x));
    case 'int8':
      return (Math.trunc(x) << 24) >> 24;
    case 'uint8':
      return Math.trunc(x) & 0xff;
    case 'int16':
      return (Math.trunc(x) << 16) >> 16;
    case 'uint16':
      return Math.trunc(x) & 0xffff;
    case 'int32':
      return Math.trunc(x) | 0;
    case 'uint32':
      return Math.trunc(x) >>> 0;
    default:
      return Number.isFinite(x) ? Math.trunc(x) : x;
  }
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

export function floatToHalf(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}

export function bfloatToFloat(h: number): number {
  u32[0] = h << 16;
  return f32[0]!;
}

export function floatToBfloat(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  if (Number.isNaN(x)) return 0x7fc0;
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}
