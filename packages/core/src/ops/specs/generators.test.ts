import { describe, expect, it } from 'vitest';
import { Tensor } from '../../ir/tensor.js';
import { inferShapes } from '../../shape/infer.js';
import { Kit } from '../../shape/test-kit.js';

describe('shape readers and generators', () => {
  it('Shape honours start/end (opset 15) and Size is a scalar', () => {
    const k = new Kit(15);
    const x = k.input('x', ['N', 3, 224, 224]);
    const all = k.one('Shape', [x]);
    const hw = k.one('Shape', [x], { start: -2 });
    const mid = k.one('Shape', [x], { start: 1, end: -1 });
    const size = k.one('Size', [x]);
    const res = inferShapes(k.model);
    expect(all.type).toEqual({ kind: 'tensor', dtype: 'int64', shape: [4] });
    expect(res.known.get(all)!.data).toEqual(['N', 3, 224, 224]);
    expect(res.known.get(hw)!.data).toEqual([224, 224]);
    expect(mid.shape).toEqual([2]);
    expect(size.shape).toEqual([]);
  });

  it('ConstantOfShape takes dims from its input and dtype from value', () => {
    const k = new Kit();
    const a = k.one('ConstantOfShape', [k.ints([2, 3])], { value: Tensor.fromInt64('', [1], [7]) });
    const b = k.one('ConstantOfShape', [k.input('s', [3], 'int64')]);
    const res = inferShapes(k.model);
    expect(a.type).toEqual({ kind: 'tensor', dtype: 'int64', shape: [2, 3] });
    expect(res.known.get(a)!.data).toEqual([7, 7, 7, 7, 7, 7]);
    expect(b.type).toEqual({ kind: 'tensor', dtype: 'float32', shape: [null, null, null] });
  });

  it('Range length is ceil((limit - start) / delta)', () => {
    const k = new Kit();
    const r = k.one('Range', [k.ints([1], []), k.ints([10], []), k.ints([3], [])]);
    const f = k.one('Range', [k.floats([], [0]), k.input('lim', [], 'float32'), k.floats([], [1])]);
    const res = inferShapes(k.model);
    expect(r.shape).toEqual([3]);
    expect(res.known.get(r)!.data).toEqual([1, 4, 7]);
    expect(f.shape).toEqual([null]);
  });

  it('OneHot inserts depth at axis; NonZero is data dependent', () => {
    const k = new Kit();
    const o = k.one('OneHot', [k.input('i', ['B', 5], 'int64'), k.ints([10], []), k.floats([2])], { axis: 1 });
    const nz = k.one('NonZero', [k.input('m', [4, 5])]);
    const eye = k.one('EyeLike', [k.input('e', [3, 3])], { dtype: 7 });
    inferShapes(k.model);
    expect(o.shape).toEqual(['B', 10, 5]);
    expect(nz.type).toEqual({ kind: 'tensor', dtype: 'int64', shape: [2, null] });
    expect(eye.type).toEqual({ kind: 'tensor', dtype: 'int64', shape: [3, 3] });
  });
});
