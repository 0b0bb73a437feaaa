import type { Dim } from '../ir/types.js';
import { ShapeConflict } from './dims.js';

/** Numpy-style broadcast of two dims. Unknowns stay unknown unless the other side decides. */
export function broadcastDim(a: Dim, b: Dim): Dim {
  if (a === b) return a;
  if (a === 1) return b;
  if (b === 1) return a;
  if (typeof a === 'number' && typeof b === 'number') throw new ShapeConflict(`cannot broadcast ${a} with ${b}`);
  // A size other than 1 decides: the symbolic/unknown side must equal it (or be 1).
  if (typeof a === 'number') return a;
  if (typeof b === 'number') return b;
  return null;
}

/** Multidirectional broadcast; undefined if any rank is unknown. */
export function broadcastShapes(...shapes: (readonly Dim[] | undefined)[]): Dim[] | undefined {
  let out: Dim[] = [];
  for (const s of shapes) {
    if (!s) return undefined;
    const rank = Math.max(out.length, s.length);
    const next: Dim[] = new Array(rank);
    for (let i = 0; i < rank; i++) {
      const a = i - (rank - out.length) >= 0 ? out[i - (rank - out.length)]! : 1;
      const b = i - (rank - s.length) >= 0 ? s[i - (rank - s.length)]! : 1;
      next[i] = broadcastDim(a, b);
    }
    out = next;
  }
  return out;
}

/**
 * Map each flat index of `out` to the flat index of a broadcast input
 * (for constant folding of small tensors).
 */
export function broadcastIndex(out: readonly number[], input: readonly number[]): Int32Array {
  const size = out.reduce((a, b) => a * b, 1);
  const idx = new Int32Array(size);
  const r = out.length;
  const offset = r - input.length;
  const strides = new Array<number>(r).fill(0);
  let s = 1;
  for (let i = input.length - 1; i >= 0; i--) {
    strides[i + offset] = input[i] === 1 ? 0 : s;
    s *= input[i]!;
  }
  const counter = new Array<number>(r).fill(0);
  let cur = 0;
  for (let k = 0; k < size; k++) {
    idx[k] = cur;
    for (let ax = r - 1; ax >= 0; ax--) {
      counter[ax]!++;
      cur += strides[ax]!;
      if (counter[ax]! < out[ax]!) break;
      cur -= strides[ax]! * counter[ax]!;
      counter[ax] = 0;
    }
  }
  return idx;
}
