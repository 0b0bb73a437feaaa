// How a reshape (Reshape, Flatten, Squeeze, Unsqueeze) moves indices between axes.
import type { Dim } from '../ir/types.js';

/** Input axes `ins` hold the same row-major elements as output axes `outs`. */
export interface ReshapeGroup {
  ins: number[];
  outs: number[];
}

/**
 * Split a reshape into minimal groups of axes with equal products, so that
 * within a group the row-major flat index is the same on both sides.
 * Symbolic dims must map one to one. Undefined when the shapes do not factor.
 */
export function reshapeGroups(from: readonly Dim[], to: readonly Dim[]): ReshapeGroup[] | undefined {
  const groups: ReshapeGroup[] = [];
  let i = 0;
  let j = 0;
  const num = (d: Dim | undefined): d is number => typeof d === 'number' && d >= 0;
  while (i < from.length || j < to.length) {
    const a = from[i];
    const b = to[j];
    if (i < from.length && a === 1 && !(j < to.length && b === 1)) {
      groups.push({ ins: [i++], outs: [] });
      continue;
    }
    if (j < to.length && b === 1 && !(i < from.length && a === 1)) {
      groups.push({ ins: [], outs: [j++] });
      continue;
    }
    if (i >= from.length || j >= to.length) return undefined;
    if (!num(a) || !num(b)) {
      if (a === null || b === null || a !== b) return undefined;
      groups.push({ ins: [i++], outs: [j++] });
      continue;
    }
    const g: ReshapeGroup = { ins: [i++], outs: [j++] };
    let pa = a;
    let pb = b;
    while (pa !== pb) {
      if (pa < pb) {
        const d = from[i];
        if (!num(d)) return undefined;
        g.ins.push(i++);
        pa *= d;
      } else {
        const d = to[j];
        if (!num(d)) return undefined;
        g.outs.push(j++);
        pb *= d;
      }
      if (pa === 0 || pb === 0) return undefined;
    }
    groups.push(g);
  }
  return groups;
}
