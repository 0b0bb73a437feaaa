/**
 * Slice bounds on one axis of size d, wrapped and clamped as the ONNX spec
 * (and @shears/core's shape inference) does: starts into [0, d] forward and
 * [0, d-1] backward, ends into [0, d] forward and [-1, d-1] backward (an end
 * of -1 then means "through index 0", which the tfjs path masks).
 */
export function clampSliceBounds(d: number, start: number, end: number, step: number): [number, number] {
  let s = start < 0 ? start + d : start;
  let e = end < 0 ? end + d : end;
  if (step > 0) {
    s = Math.min(Math.max(s, 0), d);
    e = Math.min(Math.max(e, 0), d);
  } else {
    s = Math.min(Math.max(s, 0), d - 1);
    e = Math.min(Math.max(e, -1), d - 1);
  }
  return [s, e];
}
