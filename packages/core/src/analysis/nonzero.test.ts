import { describe, expect, it } from 'vitest';
import { Tensor } from '../ir/tensor.js';
import { countNonzero } from './nonzero.js';

describe('countNonzero', () => {
  it('treats ±0 as zero and NaN as non-zero for float32', () => {
    expect(countNonzero(Tensor.fromFloat32('', [6], [0, -0, 1e-45, NaN, -3, Infinity]))).toBe(4);
  });

  it('tests raw bits for reduced-precision floats', () => {
    const bf = new Tensor({ dtype: 'bfloat16', dims: [3], data: Uint16Array.of(0x8000, 0x3f80, 0) });
    const f8 = new Tensor({ dtype: 'float8e4m3fn', dims: [3], data: Uint8Array.of(0x80, 0x01, 0) });
    const f8uz = new Tensor({ dtype: 'float8e4m3fnuz', dims: [2], data: Uint8Array.of(0x80, 0) });
    expect([countNonzero(bf), countNonzero(f8), countNonzero(f8uz)]).toEqual([1, 1, 1]);
  });

  it('handles int64, float64 and packed 4-bit data', () => {
    expect(countNonzero(Tensor.fromInt64('', [3], [0, 5, -1]))).toBe(2);
    expect(countNonzero(new Tensor({ dtype: 'float64', dims: [2], data: Float64Array.of(0, 2) }))).toBe(1);
    expect(countNonzero(new Tensor({ dtype: 'int4', dims: [3], data: Uint8Array.of(0x70, 0x01) }))).toBe(2);
    expect(countNonzero(new Tensor({ dtype: 'float4e2m1', dims: [2], data: Uint8Array.of(0x28) }))).toBe(1);
  });
});

describe('countNonzero on lazy misaligned bytes', () => {
  it('counts from the raw bytes without loading', () => {
    const f = Float32Array.of(0, -0, 1.5, 0, -2, 3e-40, 0);
    const buf = new Uint8Array(f.byteLength + 1);
    buf.set(new Uint8Array(f.buffer), 1); // offset 1: no Float32Array view possible
    const raw = buf.subarray(1);
    const t = new Tensor({ dtype: 'float32', dims: [7], raw, load: () => { throw new Error('must not load'); } });
    expect(countNonzero(t)).toBe(3);
    expect(t.loaded).toBe(false);
  });
});
