import type { NamedTensor } from '@shears/core';

/** max |a − b| / max |a| over the elements (an absolute difference when a is all zero; NaN counts as Infinity). */
export function relDiff(a: NamedTensor, b: NamedTensor): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.data.length; i++) {
    const x = Number(a.data[i]);
    const e = Math.abs(x - Number(b.data[i]));
    d = Number.isNaN(e) ? Infinity : Math.max(d, e);
    m = Math.max(m, Math.abs(x));
  }
  return m > 0 ? d / m : d;
}
