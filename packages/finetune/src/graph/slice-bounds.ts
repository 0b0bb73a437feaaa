/** Slice bounds on one axis of size d, wrapped and clamped the way the tfjs kernels expect. */
export function clampSliceBounds(d: number, start: number, end: number, step: number): [number, number] {
  let s = start < 0 ? start + d : start;
  let e = end < 0 ? end + d : end;
  if (step > 0) {
    s = Math.min(Math.max(s, 0), d);
    e = Math.min(Math.max(e, 0), d);
  } else {
    s = Math.min(Math.max(s, -1), d - 1);
    e = Math.min(Math.max(e, -1), d - 1);
  }
  return [s, e];
}
