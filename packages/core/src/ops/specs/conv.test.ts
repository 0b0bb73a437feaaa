import { describe, expect, it } from 'vitest';
import { inferShapes } from '../../shape/infer.js';
import { Kit } from '../../shape/test-kit.js';

describe('Conv shape rule', () => {
  it('uses pads, strides and the kernel from W', () => {
    const k = new Kit();
    const y = k.one('Conv', [k.input('x', [1, 3, 224, 224]), k.floats([64, 3, 7, 7])], { strides: [2, 2], pads: [3, 3, 3, 3] });
    inferShapes(k.model);
    expect(y.type).toEqual({ kind: 'tensor', dtype: 'float32', shape: [1, 64, 112, 112] });
  });

  it('handles dilation, groups, asymmetric pads and 1-D/3-D convs', () => {
    const k = new Kit();
    const dw = k.one('Conv', [k.input('x', ['N', 32, 17, 20]), k.floats([32, 1, 3, 3])], { group: 32, dilations: [2, 2], pads: [2, 0, 2, 1] });
    const c1 = k.one('Conv', [k.input('s', [2, 4, 100]), k.floats([8, 4, 5])], { strides: [3] });
    const c3 = k.one('Conv', [k.input('v', [1, 2, 8, 8, 8]), k.floats([4, 2, 3, 3, 3])], {});
    inferShapes(k.model);
    expect(dw.shape).toEqual(['N', 32, 17, 17]);
    expect(c1.shape).toEqual([2, 8, 32]);
    expect(c3.shape).toEqual([1, 4, 6, 6, 6]);
  });

  it('supports auto_pad SAME_UPPER and VALID', () => {
    const k = new Kit();
    const x = k.input('x', [1, 3, 15, 15]);
    const same = k.one('Conv', [x, k.floats([8, 3, 3, 3])], { auto_pad: 'SAME_UPPER', strides: [2, 2] });
    const valid = k.one('Conv', [x, k.floats([8, 3, 3, 3])], { auto_pad: 'VALID', strides: [2, 2] });
    inferShapes(k.model);
    expect(same.shape).toEqual([1, 8, 8, 8]);
    expect(valid.shape).toEqual([1, 8, 7, 7]);
  });

  it('rejects a channel mismatch between X and W', () => {
    const k = new Kit();
    k.one('Conv', [k.input('x', [1, 4, 8, 8]), k.floats([8, 3, 3, 3])]);
    expect(() => inferShapes(k.model)).toThrow(/Conv.*4 channels/);
  });
});

describe('ConvTranspose shape rule', () => {
  it('computes stride*(d-1) + output_padding + kernel - pads, channels W[1]*group', () => {
    const k = new Kit();
    const x = k.input('x', [1, 16, 7, 7]);
    const y = k.one('ConvTranspose', [x, k.floats([16, 4, 3, 3])], { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1], group: 2 });
    const z = k.one('ConvTranspose', [x, k.floats([16, 8, 4, 4])], { output_shape: [20, 21], strides: [3, 3] });
    inferShapes(k.model);
    expect(y.shape).toEqual([1, 8, 14, 14]);
    expect(z.shape).toEqual([1, 8, 20, 21]);
  });
});

describe('quantized convolutions', () => {
  it('types QLinearConv by y_zero_point and ConvInteger as int32', () => {
    const k = new Kit();
    const xq = k.input('xq', [1, 3, 8, 8], 'uint8');
    const s = k.floats([]);
    const zp = k.input('zp', [], 'int8');
    const wq = k.input('wq', [4, 3, 3, 3], 'int8');
    const q = k.one('QLinearConv', [xq, s, k.input('xzp', [], 'uint8'), wq, s, zp, s, zp]);
    const ci = k.one('ConvInteger', [xq, wq]);
    inferShapes(k.model);
    expect(q.type).toEqual({ kind: 'tensor', dtype: 'int8', shape: [1, 4, 6, 6] });
    expect(ci.type).toEqual({ kind: 'tensor', dtype: 'int32', shape: [1, 4, 6, 6] });
  });
});

describe('pool shape rules', () => {
  it('MaxPool floor and ceil mode, with the Indices output', () => {
    const k = new Kit();
    const x = k.input('x', [1, 64, 112, 112]);
    const [p, idx] = k.node('MaxPool', [x], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }, 2);
    const c = k.one('MaxPool', [k.input('y', [1, 64, 55, 55])], { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 });
    inferShapes(k.model);
    expect(p!.shape).toEqual([1, 64, 56, 56]);
    expect(idx!.type).toEqual({ kind: 'tensor', dtype: 'int64', shape: [1, 64, 56, 56] });
    expect(c.shape).toEqual([1, 64, 27, 27]);
  });

  it('AveragePool keeps symbolic batch; global pools reduce space to 1', () => {
    const k = new Kit();
    const x = k.input('x', ['N', 8, 10, 10]);
    const a = k.one('AveragePool', [x], { kernel_shape: [2, 2], strides: [2, 2] });
    const g = k.one('GlobalAveragePool', [x]);
    const m = k.one('GlobalMaxPool', [k.input('v', [2, 3, 4, 5, 6])]);
    inferShapes(k.model);
    expect(a.shape).toEqual(['N', 8, 5, 5]);
    expect(g.shape).toEqual(['N', 8, 1, 1]);
    expect(m.shape).toEqual([2, 3, 1, 1, 1]);
  });
});
