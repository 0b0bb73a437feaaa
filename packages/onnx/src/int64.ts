// int64 scalars (attribute ints, model_version, dims) become JS numbers.
// Values outside ±(2^53 - 1) cannot be held exactly, so they saturate to
// ±2^63, and ±2^63 writes back as INT64_MAX / INT64_MIN. This keeps the usual
// sentinels exact (Slice ends = INT64_MAX, INT64_MIN) and turns any other huge
// value into the sentinel of its sign. Tensor data is never converted: int64
// tensors keep BigInt64Array storage.

export const INT64_LIMIT = 2 ** 63;

/** What the decoder hands out for int64 fields: a number, or a Long's two halves. */
export type LongLike = number | { low: number; high: number; unsigned?: boolean };

/** The nearest double (exact within the safe range). */
export function longValue(v: LongLike): number {
  if (typeof v === 'number') return v;
  return (v.unsigned ? v.high >>> 0 : v.high | 0) * 2 ** 32 + (v.low >>> 0);
}

/** int64 from the decoder (number or Long) as a number, saturating beyond the safe range. */
export function int64ToNumber(v: LongLike): number {
  const n = longValue(v);
  if (Number.isSafeInteger(n)) return n;
  return n > 0 ? INT64_LIMIT : -INT64_LIMIT;
}

/** int64 as a number only when exact (dims, dim values); null otherwise. */
export function int64Exact(v: LongLike): number | null {
  const n = longValue(v);
  return Number.isSafeInteger(n) ? n : null;
}

/** Two's complement halves of a number written as int64 (saturating, truncating fractions). */
export function int64Halves(n: number): [lo: number, hi: number] {
  if (Number.isNaN(n)) return [0, 0];
  if (n >= INT64_LIMIT) return [0xffffffff, 0x7fffffff];
  if (n <= -INT64_LIMIT) return [0, 0x80000000];
  n = Math.trunc(n);
  if (n >= 0 && n < 2 ** 32) return [n, 0];
  const b = BigInt.asUintN(64, BigInt(n));
  return [Number(b & 0xffffffffn), Number(b >> 32n)];
}
