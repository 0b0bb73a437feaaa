import type { DType } from './dtype.js';

/** A dimension: a size, a symbolic name (dim_param) or unknown (null). */
export type Dim = number | string | null;

export type ValueType =
  | { kind: 'tensor' | 'sparse_tensor'; dtype: DType; shape?: Dim[]; dimDenotations?: (string | undefined)[]; denotation?: string }
  | { kind: 'sequence' | 'optional'; elem?: ValueType; denotation?: string }
  | { kind: 'map'; keyType: DType; valueType?: ValueType; denotation?: string };

export function tensorType(dtype: DType, shape?: Dim[]): ValueType {
  return { kind: 'tensor', dtype, shape };
}

export function isStaticShape(shape: readonly Dim[] | undefined): shape is number[] {
  return !!shape && shape.every((d) => typeof d === 'number' && d >= 0);
}

export function formatShape(shape: readonly Dim[] | undefined): string {
  if (!shape) return '?';
  return shape.map((d) => (d === null ? '?' : String(d))).join('x');
}
