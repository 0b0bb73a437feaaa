import type { Dim } from '../ir/types.js';

/** A plain Error for shape conflicts; the inference engine adds the node name. */
export class ShapeConflict extends Error {}

export function isNum(d: Dim | undefined): d is number {
  return typeof d === 'number';
}

export function allNum(dims: readonly Dim[]): dims is number[] {
  for (const d of dims) if (typeof d !== 'number') return false;
  return true;
}

/** Normalize a possibly negative axis against `rank`. */
export function normAxis(axis: number, rank: number, what = 'axis'): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new ShapeConflict(`${what} ${axis} is out of range for rank ${rank}`);
  return a;
}

export function normAxes(axes: readonly number[], rank: number, what = 'axes'): number[] {
  return axes.map((a) => normAxis(a, rank, what));
}

/**
 * Product of dims. Symbols survive only as a product with known 1s
 * (e.g. [batch,1] -> batch); anything else symbolic is unknown (null).
 */
export function dimProduct(dims: readonly Dim[]): Dim {
  let n = 1;
  let sym: string | null = null;
  for (const d of dims) {
    if (typeof d === 'number') n *= d;
    else if (typeof d === 'string' && sym === null) sym = d;
    else return d === null ? null : n === 0 ? 0 : null;
  }
  if (sym === null) return n;
  if (n === 0) return 0;
  return n === 1 ? sym : null;
}

/** Two dims that must be equal (Concat's other axes, MatMul's K): numbers win over symbols. */
export function unifyDim(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') {
    if (a !== b) throw new ShapeConflict(`dimension ${a} does not match ${b}`);
    return a;
  }
  if (typeof a === 'number') return a;
  if (typeof b === 'number') return b;
  return a ?? b;
}

/** Either-or merge (If branches): equal dims survive, others become unknown. */
export function joinDim(a: Dim, b: Dim): Dim {
  return a === b ? a : null;
}

export function joinShape(a: Dim[] | undefined, b: Dim[] | undefined): Dim[] | undefined {
  if (!a || !b || a.length !== b.length) return undefined;
  return a.map((d, i) => joinDim(d, b[i]!));
}

export function addDim(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  if (b === 0) return a;
  if (a === 0) return b;
  return null;
}

export function mulDim(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return a * b;
  if (a === 1) return b;
  if (b === 1) return a;
  if (a === 0 || b === 0) return 0;
  return null;
}

/** Output size of a sliding window (Conv/Pool) along one axis. */
export function windowOut(
  d: Dim,
  kernel: number,
  stride: number,
  dilation: number,
  padBegin: number,
  padEnd: number,
  ceil = false,
): Dim {
  const span = (kernel - 1) * dilation + 1;
  // A symbolic dim survives a size-preserving window (stride 1, pads filling the span: 1x1 or "same" convs).
  if (typeof d !== 'number') return typeof d === 'string' && stride === 1 && padBegin + padEnd === span - 1 ? d : null;
  const num = d + padBegin + padEnd - span;
  if (!ceil) return Math.floor(num / stride) + 1;
  let out = Math.ceil(num / stride) + 1;
  // PyTorch/ORT: the last window must start inside the input or the left padding.
  if ((out - 1) * stride >= d + padBegin) out--;
  return out;
}

/**
 * Reshape target with 0 (copy, unless allowzero) and one -1 (inferred),
 * symbol-aware: [batch,512,1,1] -> [batch,-1] gives [batch,512].
 */
export function reshapeTarget(input: readonly Dim[] | undefined, target: readonly Dim[], allowZero: boolean): Dim[] {
  const out: Dim[] = target.map((t, i) => {
    if (t === 0 && !allowZero) {
      if (!input) return null;
      if (i >= input.length) throw new ShapeConflict(`reshape: 0 at position ${i} has no input dimension to copy`);
      return input[i]!;
    }
    return t;
  });
  const neg = out.indexOf(-1);
  if (neg < 0) return out;
  if (out.some((d, i) => d === -1 && i !== neg)) throw new ShapeConflict('reshape: more than one -1');
  out[neg] = input ? inferMinusOne(input, out.filter((_, i) => i !== neg)) : null;
  return out;
}

function inferMinusOne(input: readonly Dim[], rest: readonly Dim[]): Dim {
  let num = 1;
  let den = 1;
  const syms = new Map<string, number>();
  for (const d of input) {
    if (d === null) return null;
    if (typeof d === 'number') num *= d;
    else syms.set(d, (syms.get(d) ?? 0) + 1);
  }
  for (const d of rest) {
    if (d === null) return null;
    if (typeof d === 'number') den *= d;
    else {
      const c = syms.get(d);
      if (!c) return null;
      if (c === 1) syms.delete(d);
      else syms.set(d, c - 1);
    }
  }
  if (den === 0) return null;
  if (syms.size === 0) {
    if (num % den !== 0) throw new ShapeConflict(`reshape: cannot infer -1, ${num} elements are not divisible by ${den}`);
    return num / den;
  }
  if (syms.size === 1 && num === den) {
    const [[s, c]] = [...syms];
    return c === 1 ? s! : null;
  }
  return null;
}
