// Small-tensor kernels for constant folding of shape subgraphs. Elements are
// Dims so symbolic shape entries can flow through data-movement ops.
import type { DType } from '../ir/dtype.js';
import type { Dim } from '../ir/types.js';
import type { Known } from '../ops/types.js';
import { broadcastIndex, broadcastShapes } from './broadcast.js';
import { allNum, ShapeConflict } from './dims.js';
import { castNumber, elements } from './known.js';

export function stridesOf(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length);
  let acc = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= dims[i]!;
  }
  return s;
}

/**
 * Broadcasting n-ary map. `fn` sees numbers only; when an element is symbolic
 * or unknown `sym` decides (default: unknown).
 */
export function mapElementwise(
  inputs: readonly Known[],
  outDtype: DType,
  fn: (v: number[]) => number,
  sym: (v: Dim[]) => Dim = () => null,
): Known {
  const dims = broadcastShapes(...inputs.map((k) => k.dims)) as number[];
  const maps = inputs.map((k) => broadcastIndex(dims, k.dims));
  const n = elements(dims);
  const data: Dim[] = new Array(n);
  const args: Dim[] = new Array(inputs.length);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < inputs.length; j++) args[j] = inputs[j]!.data[maps[j]![i]!]!;
    data[i] = allNum(args) ? castNumber(fn(args), outDtype) : sym(args);
  }
  return { dtype: outDtype, dims, data };
}

export function transposeKnown(k: Known, perm: readonly number[]): Known {
  const dims = perm.map((p) => k.dims[p]!);
  const inStrides = stridesOf(k.dims);
  const n = k.data.length;
  const data: Dim[] = new Array(n);
  const counter = new Array<number>(dims.length).fill(0);
  for (let i = 0; i < n; i++) {
    let src = 0;
    for (let a = 0; a < dims.length; a++) src += counter[a]! * inStrides[perm[a]!]!;
    data[i] = k.data[src]!;
    for (let a = dims.length - 1; a >= 0; a--) {
      if (++counter[a]! < dims[a]!) break;
      counter[a] = 0;
    }
  }
  return { dtype: k.dtype, dims, data };
}

/** numpy.take along axis. */
export function gatherKnown(k: Known, indices: Known, axis: number): Known {
  const idx = indices.data.map((v) => {
    if (typeof v !== 'number') throw new ShapeConflict('gather: symbolic index');
    const j = v < 0 ? v + k.dims[axis]! : v;
    if (j < 0 || j >= k.dims[axis]!) throw new ShapeConflict(`gather: index ${v} out of range for dimension ${k.dims[axis]}`);
    return j;
  });
  const outer = elements(k.dims.slice(0, axis));
  const inner = elements(k.dims.slice(axis + 1));
  const dims = [...k.dims.slice(0, axis), ...indices.dims, ...k.dims.slice(axis + 1)];
  const data: Dim[] = [];
  for (let o = 0; o < outer; o++)
    for (const j of idx) for (let i = 0; i < inner; i++) data.push(k.data[(o * k.dims[axis]! + j) * inner + i]!);
  return { dtype: k.dtype, dims, data };
}

export function concatKnown(ks: readonly Known[], axis: number): Known {
  const first = ks[0]!;
  const dims = [...first.dims];
  dims[axis] = ks.reduce((a, k) => a + k.dims[axis]!, 0);
  const outer = elements(first.dims.slice(0, axis));
  const data: Dim[] = [];
  for (let o = 0; o < outer; o++)
    for (const k of ks) {
      const chunk = elements(k.dims.slice(axis));
      for (let i = 0; i < chunk; i++) data.push(k.data[o * chunk + i]!);
    }
  return { dtype: first.dtype, dims, data };
}

/** Normalized per-axis slice bounds (ONNX Slice clamping rules). */
export interface SliceRange {
  start: number;
  step: number;
  count: number;
}

export function sliceRange(dim: number, start: number, end: number, step: number): SliceRange {
  if (step === 0) throw new ShapeConflict('slice: step 0');
  if (start < 0) start += dim;
  if (end < 0) end += dim;
  if (step > 0) {
    start = Math.min(Math.max(start, 0), dim);
    end = Math.min(Math.max(end, 0), dim);
    return { start, step, count: Math.max(0, Math.ceil((end - start) / step)) };
  }
  start = Math.min(Math.max(start, 0), dim - 1);
  end = Math.min(Math.max(end, -1), dim - 1);
  return { start, step, count: Math.max(0, Math.ceil((start - end) / -step)) };
}

export function sliceKnown(k: Known, ranges: readonly SliceRange[]): Known {
  const dims = ranges.map((r) => r.count);
  const inStrides = stridesOf(k.dims);
  const n = elements(dims);
  const data: Dim[] = new Array(n);
  const counter = new Array<number>(dims.length).fill(0);
  for (let i = 0; i < n; i++) {
    let src = 0;
    for (let a = 0; a < dims.length; a++) src += (ranges[a]!.start + counter[a]! * ranges[a]!.step) * inStrides[a]!;
    data[i] = k.data[src]!;
    for (let a = dims.length - 1; a >= 0; a--) {
      if (++counter[a]! < dims[a]!) break;
      counter[a] = 0;
    }
  }
  return { dtype: k.dtype, dims, data };
}

/** Reduce over `axes` with a numeric combiner; symbolic inputs give unknown results. */
export function reduceKnown(
  k: Known,
  axes: readonly number[],
  keepdims: boolean,
  init: number,
  fn: (acc: number, v: number) => number,
  finish: (acc: number, count: number) => number = (a) => a,
): Known {
  const reduced = new Set(axes);
  const outDims = k.dims.map((d, i) => (reduced.has(i) ? 1 : d));
  const n = elements(outDims);
  const acc = new Array<number>(n).fill(init);
  const bad = new Array<boolean>(n).fill(false);
  const outStrides = stridesOf(outDims);
  const counter = new Array<number>(k.dims.length).fill(0);
  for (let i = 0; i < k.data.length; i++) {
    let dst = 0;
    for (let a = 0; a < k.dims.length; a++) if (!reduced.has(a)) dst += counter[a]! * outStrides[a]!;
    const v = k.data[i];
    if (typeof v === 'number') acc[dst] = fn(acc[dst]!, v);
    else bad[dst] = true;
    for (let a = k.dims.length - 1; a >= 0; a--) {
      if (++counter[a]! < k.dims[a]!) break;
      counter[a] = 0;
    }
  }
  const count = k.data.length / Math.max(n, 1);
  const data: Dim[] = acc.map((a, i) => (bad[i] ? null : castNumber(finish(a, count), k.dtype)));
  return { dtype: k.dtype, dims: keepdims ? outDims : k.dims.filter((_, i) => !reduced.has(i)), data };
}
