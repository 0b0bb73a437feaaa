import { describe, expect, it } from 'vitest';
import { clampSliceBounds } from './slice-bounds.js';

/** The indices a slice visits, from bounds as clampSliceBounds returns them. */
const visit = (d: number, start: number, end: number, step: number) => {
  const [s, e] = clampSliceBounds(d, start, end, step);
  const out: number[] = [];
  for (let i = s; step > 0 ? i < e : i > e; i += step) out.push(i);
  return out;
};

// Expected values are what onnxruntime-node 1.30 returns for the same Slice
// on a length-5 tensor (checked by hand; the spec's clamping rules).
describe('clampSliceBounds (ONNX Slice semantics)', () => {
  it.each([
    // [d, start, end, step, expected indices]
    [5, 0, 5, 1, [0, 1, 2, 3, 4]],
    [5, 1, -1, 1, [1, 2, 3]],
    [5, -100, 100, 2, [0, 2, 4]],
    [5, 4, -6, -1, [4, 3, 2, 1, 0]], // backward to the start: end clamps to -1
    [5, 100, -100, -2, [4, 2, 0]], // start clamps to d-1
    [5, -100, -100, -1, [0]], // start clamps to 0 (not -1), end to -1: index 0, as onnxruntime 1.30 returns
    [5, -3, 0, -1, [2, 1]],
    [1, 0, -2, -1, [0]],
  ] as [number, number, number, number, number[]][])('d=%i start=%i end=%i step=%i', (d, start, end, step, expected) => {
    expect(visit(d, start, end, step)).toEqual(expected);
  });
});
