// Small-value ops computed in JavaScript: the shape arithmetic of dynamic
// exports (Shape → Gather → Unsqueeze → Concat → Reshape) runs here with the
// real batch size, so a model exported for batch 1 trains with batch 32.
import type { Node } from '@shears/core';
import { hval, sizeOf, type HVal } from './values.js';
import { clampSliceBounds } from './slice-bounds.js';

export type HostOp = (node: Node, ins: (HVal | undefined)[], opset: number) => HVal[] | undefined;

function strides(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1]! * dims[i + 1]!;
  return s;
}

function broadcastDims(a: readonly number[], b: readonly number[]): number[] | undefined {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1;
    const y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return undefined;
    out.push(x === 1 ? y : x);
  }
  return out;
}

function at(v: HVal, outDims: readonly number[], flat: number, outStrides: number[]): number {
  if (v.data.length === 1) return v.data[0]!;
  const off = outDims.length - v.dims.length;
  const vs = strides(v.dims);
  let idx = 0;
  for (let d = 0; d < v.dims.length; d++) {
    const coord = Math.floor(flat / outStrides[d + off]!) % outDims[d + off]!;
    idx += (v.dims[d] === 1 ? 0 : coord) * vs[d]!;
  }
  return v.data[idx]!;
}

function binary(fn: (a: number, b: number, isInt: boolean) => number, outDtype?: HVal['dtype']): HostOp {
  return (_node, [a, b]) => {
    if (!a || !b) return undefined;
    const dims = broadcastDims(a.dims, b.dims);
    if (!dims) return undefined;
    const n = sizeOf(dims);
    const st = strides(dims);
    const isInt = a.dtype !== 'float' && b.dtype !== 'float';
    const data = new Array<number>(n);
    for (let i = 0; i < n; i++) data[i] = fn(at(a, dims, i, st), at(b, dims, i, st), isInt);
    return [hval(outDtype ?? (isInt ? a.dtype : 'float'), dims, data)];
  };
}

const unary = (fn: (x: number) => number): HostOp => (_n, [a]) => (a ? [hval(a.dtype, [...a.dims], a.data.map(fn))] : undefined);

const norm = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis);

function intsOf(node: Node, ins: (HVal | undefined)[], attr: string, input: number, sinceInput: number, opset: number): number[] | undefined {
  if (opset >= sinceInput) return ins[input]?.data;
  return node.attrInts(attr);
}

/** Slice one axis-aligned box out of a host value. */
export function sliceHost(v: HVal, starts: number[], ends: number[], axes: number[], steps: number[]): HVal {
  const rank = v.dims.length;
  const st = new Array<number>(rank).fill(0);
  const en = [...v.dims];
  const sp = new Array<number>(rank).fill(1);
  axes.forEach((a0, k) => {
    const a = norm(a0, rank);
    const d = v.dims[a]!;
    const step = steps[k] ?? 1;
    const [s, e] = clampSliceBounds(d, starts[k]!, ends[k]!, step);
    st[a] = s;
    en[a] = e;
    sp[a] = step;
  });
  const dims = st.map((s, a) => Math.max(0, Math.ceil((en[a]! - s) / sp[a]!)));
  const vs = strides(v.dims);
  const out: number[] = [];
  const idx = new Array<number>(rank).fill(0);
  const n = sizeOf(dims);
  for (let i = 0; i < n; i++) {
    let rem = i;
    for (let a = rank - 1; a >= 0; a--) {
      idx[a] = rem % dims[a]!;
      rem = Math.floor(rem / dims[a]!);
    }
    let off = 0;
    for (let a = 0; a < rank; a++) off += (st[a]! + idx[a]! * sp[a]!) * vs[a]!;
    out.push(v.data[off]!);
  }
  return hval(v.dtype, dims, out);
}

export const HOST_OPS: Record<string, HostOp> = {
  Identity: (_n, [a]) => (a ? [a] : undefined),
  Add: binary((a, b) => a + b),
  Sub: binary((a, b) => a - b),
  Mul: binary((a, b) => a * b),
  Div: binary((a, b, isInt) => (isInt ? (b === 0 ? 0 : Math.trunc(a / b)) : a / b)),
  Equal: binary((a, b) => (a === b ? 1 : 0), 'bool'),
  Less: binary((a, b) => (a < b ? 1 : 0), 'bool'),
  Greater: binary((a, b) => (a > b ? 1 : 0), 'bool'),
  Max: binary((a, b) => Math.max(a, b)),
  Min: binary((a, b) => Math.min(a, b)),
  Neg: unary((x) => -x),
  Abs: unary(Math.abs),
  Floor: unary(Math.floor),
  Ceil: unary(Math.ceil),
  Sqrt: unary(Math.sqrt),
  Not: (_n, [a]) => (a ? [hval('bool', [...a.dims], a.data.map((x) => (x ? 0 : 1)))] : undefined),
  Cast: (node, [a]) => {
    if (!a) return undefined;
    const to = node.attrInt('to', 1);
    const float = to === 1 || to === 10 || to === 11 || to === 16;
    const bool = to === 9;
    return [hval(float ? 'float' : bool ? 'bool' : 'int', [...a.dims], a.data.map((x) => (float ? x : bool ? (x ? 1 : 0) : Math.trunc(x))))];
  },
  Gather: (node, [a, idx]) => {
    if (!a || !idx) return undefined;
    const axis = norm(node.attrInt('axis', 0), a.dims.length);
    const outer = sizeOf(a.dims.slice(0, axis));
    const inner = sizeOf(a.dims.slice(axis + 1));
    const d = a.dims[axis]!;
    const data: number[] = [];
    for (let o = 0; o < outer; o++)
      for (const i0 of idx.data) {
        const i = i0 < 0 ? i0 + d : i0;
        for (let k = 0; k < inner; k++) data.push(a.data[(o * d + i) * inner + k]!);
      }
    return [hval(a.dtype, [...a.dims.slice(0, axis), ...idx.dims, ...a.dims.slice(axis + 1)], data)];
  },
  Unsqueeze: (node, ins, opset) => {
    const a = ins[0];
    const axes = intsOf(node, ins, 'axes', 1, 13, opset);
    if (!a || !axes) return undefined;
    const rank = a.dims.length + axes.length;
    const set = new Set(axes.map((x) => norm(x, rank)));
    const dims: number[] = [];
    for (let i = 0, k = 0; i < rank; i++) dims.push(set.has(i) ? 1 : a.dims[k++]!);
    return [hval(a.dtype, dims, a.data)];
  },
  Squeeze: (node, ins, opset) => {
    const a = ins[0];
    if (!a) return undefined;
    const axes = intsOf(node, ins, 'axes', 1, 13, opset);
    const set = new Set((axes ?? a.dims.flatMap((d, i) => (d === 1 ? [i] : []))).map((x) => norm(x, a.dims.length)));
    return [hval(a.dtype, a.dims.filter((_, i) => !set.has(i)), a.data)];
  },
  Concat: (node, ins) => {
    const parts = ins.filter((x): x is HVal => !!x);
    if (parts.length !== ins.length || parts.length === 0) return undefined;
    const rank = parts[0]!.dims.length;
    const axis = norm(node.attrInt('axis', 0), rank);
    const outer = sizeOf(parts[0]!.dims.slice(0, axis));
    const data: number[] = [];
    for (let o = 0; o < outer; o++)
      for (const p of parts) {
        const chunk = sizeOf(p.dims.slice(axis));
        for (let k = 0; k < chunk; k++) data.push(p.data[o * chunk + k]!);
      }
    const dims = [...parts[0]!.dims];
    dims[axis] = parts.reduce((s, p) => s + p.dims[axis]!, 0);
    const dtype = parts.some((p) => p.dtype === 'float') ? 'float' : parts[0]!.dtype;
    return [hval(dtype, dims, data)];
  },
  Slice: (node, ins, opset) => {
    const a = ins[0];
    if (!a) return undefined;
    const starts = intsOf(node, ins, 'starts', 1, 10, opset);
    const ends = intsOf(node, ins, 'ends', 2, 10, opset);
    if (!starts || !ends) return undefined;
    const axes = intsOf(node, ins, 'axes', 3, 10, opset) ?? starts.map((_, i) => i);
    const steps = (opset >= 10 ? ins[4]?.data : undefined) ?? starts.map(() => 1);
    return [sliceHost(a, starts, ends, axes, steps)];
  },
  Reshape: (_node, [a, shape]) => {
    if (!a || !shape) return undefined;
    const dims = shape.data.map((d, i) => (d === 0 ? a.dims[i]! : d));
    const known = dims.filter((d) => d !== -1).reduce((x, y) => x * y, 1);
    return [hval(a.dtype, dims.map((d) => (d === -1 ? a.data.length / known : d)), a.data)];
  },
  ConstantOfShape: (node, [shape]) => {
    if (!shape) return undefined;
    const t = node.attrTensor('value');
    const v = t ? Number(t.values[0] ?? 0) : 0;
    const float = !t || t.dtype.startsWith('float');
    const n = sizeOf(shape.data);
    if (n > 1 << 16) return undefined;
    return [hval(float ? 'float' : 'int', [...shape.data], new Array<number>(n).fill(v))];
  },
  Range: (_node, [start, limit, delta]) => {
    if (!start || !limit || !delta) return undefined;
    const [s, l, d] = [start.data[0]!, limit.data[0]!, delta.data[0]!];
    const n = Math.max(0, Math.ceil((l - s) / d));
    return [hval(start.dtype, [n], Array.from({ length: n }, (_, i) => s + i * d))];
  },
  Where: (_node, [c, a, b]) => {
    if (!c || !a || !b) return undefined;
    const dims = broadcastDims(broadcastDims(c.dims, a.dims) ?? [], b.dims);
    if (!dims) return undefined;
    const st = strides(dims);
    const n = sizeOf(dims);
    const data = new Array<number>(n);
    for (let i = 0; i < n; i++) data[i] = at(c, dims, i, st) ? at(a, dims, i, st) : at(b, dims, i, st);
    return [hval(a.dtype, dims, data)];
  },
  Expand: (_node, [a, shape]) => {
    if (!a || !shape) return undefined;
    const dims = broadcastDims(a.dims, shape.data);
    if (!dims || sizeOf(dims) > 1 << 16) return undefined;
    const st = strides(dims);
    return [hval(a.dtype, dims, Array.from({ length: sizeOf(dims) }, (_, i) => at(a, dims, i, st)))];
  },
  ReduceProd: (node, [a]) => {
    if (!a || node.attrInts('axes')) return undefined;
    const keep = node.attrInt('keepdims', 1) === 1;
    return [hval(a.dtype, keep ? a.dims.map(() => 1) : [], [a.data.reduce((x, y) => x * y, 1)])];
  },
};
