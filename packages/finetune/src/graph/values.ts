// Values flowing through the tfjs translation of a graph, and layout helpers.
//
// Layout: activations keep ONNX's logical NCHW semantics, but rank-4 tensors
// produced by convolutions, pools and normalizations are *stored* NHWC (what
// tfjs' conv kernels take) and stay NHWC through elementwise ops, concat,
// split, slice and reductions, whose axes are remapped. Only ops whose result
// depends on memory order (Reshape, Flatten over spatial dims, Transpose,
// MatMul) see a physical transpose, and a transpose that only moves size-1
// dims is a free reshape. Weights are converted once, when variables are made.
import type { Tensor, TF } from '../backend.js';

/** A tensor; `nhwc` marks a rank-4 tensor whose logical NCHW value is stored NHWC. */
export interface TVal {
  kind: 't';
  t: Tensor;
  nhwc: boolean;
  /** Memo of the other layout within one forward pass. */
  other?: Tensor;
}

/**
 * A small value computed in JavaScript: shapes, indices, scalars and
 * Constant nodes (the Shape → Gather → Concat → Reshape arithmetic of dynamic
 * exports runs here, with the real batch size).
 */
export interface HVal {
  kind: 'h';
  dtype: 'float' | 'int' | 'bool';
  dims: number[];
  data: number[];
  /** A cached tensor for static values (kept for the model's lifetime). */
  tensor?: Tensor;
  static?: boolean;
}

export type Val = TVal | HVal;

/** Logical axis (NCHW) → physical axis in NHWC storage. */
export const NHWC_AXIS = [0, 3, 1, 2] as const;
export const TO_NHWC = [0, 2, 3, 1];
export const TO_NCHW = [0, 3, 1, 2];

export const tval = (t: Tensor, nhwc = false): TVal => ({ kind: 't', t, nhwc: nhwc && t.rank === 4 });

export function hval(dtype: HVal['dtype'], dims: number[], data: number[]): HVal {
  return { kind: 'h', dtype, dims, data };
}

export function sizeOf(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** Transpose, as a reshape when the permutation only moves size-1 dims. */
export function permute(tf: TF, t: Tensor, perm: readonly number[]): Tensor {
  if (perm.every((p, i) => p === i)) return t;
  const shape = t.shape;
  const moved = perm.map((p) => shape[p]!);
  const nonOne = perm.filter((p) => shape[p] !== 1);
  if (nonOne.every((p, i) => i === 0 || p > nonOne[i - 1]!)) return tf.reshape(t, moved);
  return tf.transpose(t, [...perm]);
}

export function composePerm(first: readonly number[], second: readonly number[]): number[] {
  // transpose(transpose(x, first), second) == transpose(x, first[second[i]])
  return second.map((i) => first[i]!);
}

/** The tensor in logical (ONNX) order. */
export function logical(tf: TF, v: TVal): Tensor {
  if (!v.nhwc) return v.t;
  v.other ??= permute(tf, v.t, TO_NCHW);
  return v.other;
}

/** A rank-4 tensor stored NHWC. */
export function nhwc(tf: TF, v: TVal): Tensor {
  if (v.nhwc) return v.t;
  if (v.t.rank !== 4) throw new Error(`expected a rank-4 tensor, got rank ${v.t.rank}`);
  v.other ??= permute(tf, v.t, TO_NHWC);
  return v.other;
}

export function logicalShape(v: Val): number[] {
  if (v.kind === 'h') return v.dims;
  const s = v.t.shape;
  return v.nhwc ? [s[0]!, s[3]!, s[1]!, s[2]!] : [...s];
}

/** A host value as a tensor (cached when the value is static). */
export function hostTensor(tf: TF, h: HVal): Tensor {
  if (h.tensor) return h.tensor;
  const t = tf.tensor(h.data, h.dims, h.dtype === 'float' ? 'float32' : h.dtype === 'bool' ? 'bool' : 'int32');
  if (h.static) h.tensor = tf.keep(t);
  return t;
}

/** Any value as a logical tensor. */
export function asTensor(tf: TF, v: Val): Tensor {
  return v.kind === 'h' ? hostTensor(tf, v) : logical(tf, v);
}
