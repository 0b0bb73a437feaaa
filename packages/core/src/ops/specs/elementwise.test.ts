import { describe, expect, it } from 'vitest';
import { Tensor } from '../../ir/tensor.js';
import { inferShapes } from '../../shape/infer.js';
import { floatAttr, Kit } from '../../shape/test-kit.js';
import { defaultOpRegistry } from '../registry.js';
import { resolveFlag } from '../helpers.js';

describe('broadcasting elementwise ops', () => {
  it('broadcast arithmetic keeps input 0 dtype; comparisons give bool', () => {
    const k = new Kit();
    const x = k.input('x', ['N', 64, 56, 56]);
    const add = k.one('Add', [x, k.floats([64, 1, 1])]);
    const sum = k.one('Sum', [x, k.floats([56]), k.floats([1, 1, 56, 1])]);
    const eq = k.one('Equal', [k.input('i', [3], 'int64'), k.ints([1], [])]);
    const and = k.one('And', [k.input('p', [2, 1], 'bool'), k.input('q', [3], 'bool')]);
    const pow = k.one('Pow', [x, k.input('e', [], 'int32')]);
    inferShapes(k.model);
    expect(add.shape).toEqual(['N', 64, 56, 56]);
    expect(sum.shape).toEqual(['N', 64, 56, 56]);
    expect(eq.type).toEqual({ kind: 'tensor', dtype: 'bool', shape: [3] });
    expect(and.type).toEqual({ kind: 'tensor', dtype: 'bool', shape: [2, 3] });
    expect(pow.dtype).toBe('float32');
  });

  it('Where takes its dtype from X; PRelu keeps X', () => {
    const k = new Kit();
    const w = k.one('Where', [k.input('c', [1, 4], 'bool'), k.input('a', [3, 1], 'int64'), k.ints([0], [])]);
    const p = k.one('PRelu', [k.input('x', [1, 8, 4, 4]), k.floats([8, 1, 1])]);
    inferShapes(k.model);
    expect(w.type).toEqual({ kind: 'tensor', dtype: 'int64', shape: [3, 4] });
    expect(p.shape).toEqual([1, 8, 4, 4]);
  });

  it('before opset 7, broadcast=1 aligns B with A at axis (and PRelu has one slope per channel)', () => {
    const k = new Kit(6);
    const x = k.input('x', ['N', 3, 4, 5]);
    const bias = k.one('Add', [x, k.floats([3])], { broadcast: 1, axis: 1 });
    const tail = k.one('Mul', [x, k.floats([4, 5])], { broadcast: 1 });
    const p = k.one('PRelu', [k.input('y', [2, 3, 4]), k.floats([3])]);
    // Folding follows the same alignment: [[1,2,3],[4,5,6]] + [10,20] at axis 0.
    const folded = k.one('Add', [k.ints([1, 2, 3, 4, 5, 6], [2, 3]), k.ints([10, 20])], { broadcast: 1, axis: 0 });
    const r = inferShapes(k.model);
    expect(bias.shape).toEqual(['N', 3, 4, 5]);
    expect(tail.shape).toEqual(['N', 3, 4, 5]);
    expect(p.shape).toEqual([2, 3, 4]);
    expect(r.known.get(folded)).toEqual({ dtype: 'int64', dims: [2, 3], data: [11, 12, 13, 24, 25, 26] });
    expect(r.issues).toEqual([]);
  });

  it('reports incompatible broadcasts as E_SHAPE naming the node', () => {
    const k = new Kit();
    k.one('Mul', [k.input('a', [2, 3]), k.input('b', [4])]);
    expect(() => inferShapes(k.model)).toThrow(expect.objectContaining({ code: 'E_SHAPE', message: expect.stringMatching(/^node Mul_0 \(Mul\): cannot broadcast 3 with 4/) }));
  });
});

describe('unary ops', () => {
  it('keep shape and dtype; Cast/CastLike change dtype; IsNaN gives bool', () => {
    const k = new Kit();
    const x = k.input('x', ['N', 3]);
    const ys = ['Relu', 'Sigmoid', 'HardSwish', 'Gelu', 'Erf', 'Sqrt', 'Softmax', 'LogSoftmax', 'Identity'].map((op) => k.one(op, [x]));
    const cast = k.one('Cast', [x], { to: 7 });
    const like = k.one('CastLike', [x, k.input('h', [], 'float16')]);
    const nan = k.one('IsNaN', [x]);
    const [drop, mask] = k.node('Dropout', [x], {}, 2);
    inferShapes(k.model);
    for (const y of ys) expect(y.type).toEqual({ kind: 'tensor', dtype: 'float32', shape: ['N', 3] });
    expect(cast.type).toEqual({ kind: 'tensor', dtype: 'int64', shape: ['N', 3] });
    expect(like.dtype).toBe('float16');
    expect(nan.dtype).toBe('bool');
    expect(drop!.shape).toEqual(['N', 3]);
    expect(mask!.dtype).toBe('bool');
  });

  it('decides Clip zero preservation from attribute (<11) or constant inputs (>=11)', () => {
    const reg = defaultOpRegistry();
    const k = new Kit(11);
    const x = k.input('x', [4]);
    const relu6 = k.one('Clip', [x, k.floats([], [0]), k.floats([], [6])]);
    const shifted = k.one('Clip', [x, k.floats([], [0.5]), k.floats([], [6])]);
    const open = k.one('Clip', [x]);
    const spec = reg.lookup('Clip', '', 11)!;
    expect(resolveFlag(spec.zeroPreserving, relu6.producer!)).toBe(true);
    expect(resolveFlag(spec.zeroPreserving, shifted.producer!)).toBe(false);
    expect(resolveFlag(spec.zeroPreserving, open.producer!)).toBe(true);
    const old = new Kit(6);
    const c = old.one('Clip', [old.input('x', [4])], { min: floatAttr(-1), max: floatAttr(-0.5) });
    expect(resolveFlag(reg.lookup('Clip', '', 6)!.zeroPreserving, c.producer!)).toBe(false);
    inferShapes(k.model);
    expect(relu6.shape).toEqual([4]);
  });

  it('Constant sources report their tensor type', () => {
    const k = new Kit();
    const a = k.one('Constant', [], { value: Tensor.fromFloat32('', [2, 2], [1, 2, 3, 4]) });
    const b = k.one('Constant', [], { value_ints: { type: 'ints', value: [1, 2, 3] } });
    const c = k.one('Constant', [], { value_float: floatAttr(0.5) });
    inferShapes(k.model);
    expect(a.type).toEqual({ kind: 'tensor', dtype: 'float32', shape: [2, 2] });
    expect(b.type).toEqual({ kind: 'tensor', dtype: 'int64', shape: [3] });
    expect(c.type).toEqual({ kind: 'tensor', dtype: 'float32', shape: [] });
  });
});
