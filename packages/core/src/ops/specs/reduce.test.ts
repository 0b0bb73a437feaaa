import { describe, expect, it } from 'vitest';
import { inferShapes } from '../../shape/infer.js';
import { Kit } from '../../shape/test-kit.js';

describe('Reduce*', () => {
  it('reads axes from the attribute (ReduceMean < 18, ReduceSum < 13)', () => {
    const k = new Kit(12);
    const x = k.input('x', ['N', 64, 7, 7]);
    const m = k.one('ReduceMean', [x], { axes: [2, 3] });
    const s = k.one('ReduceSum', [x], { axes: [-1], keepdims: 0 });
    const all = k.one('ReduceMax', [x], { keepdims: 0 });
    inferShapes(k.model);
    expect(m.shape).toEqual(['N', 64, 1, 1]);
    expect(s.shape).toEqual(['N', 64, 7]);
    expect(all.shape).toEqual([]);
  });

  it('reads axes from input 1 (ReduceSum >= 13, others >= 18), with noop_with_empty_axes', () => {
    const k = new Kit(18);
    const x = k.input('x', [2, 3, 4]);
    const s = k.one('ReduceSum', [x, k.ints([1])], { keepdims: 0 });
    const l2 = k.one('ReduceL2', [x, k.ints([0, 2])]);
    const noop = k.one('ReduceMean', [x], { noop_with_empty_axes: 1 });
    const unknown = k.one('ReduceProd', [x, k.input('axes', [1], 'int64')]);
    inferShapes(k.model);
    expect(s.shape).toEqual([2, 4]);
    expect(l2.shape).toEqual([1, 3, 1]);
    expect(noop.shape).toEqual([2, 3, 4]);
    expect(unknown.shape).toEqual([null, null, null]);
  });
});

describe('ArgMax / TopK / CumSum', () => {
  it('ArgMax gives int64 with or without keepdims', () => {
    const k = new Kit();
    const x = k.input('x', ['N', 10]);
    const a = k.one('ArgMax', [x], { axis: 1 });
    const b = k.one('ArgMin', [x], { axis: -1, keepdims: 0 });
    inferShapes(k.model);
    expect(a.type).toEqual({ kind: 'tensor', dtype: 'int64', shape: ['N', 1] });
    expect(b.shape).toEqual(['N']);
  });

  it('TopK reads k from input (>= 10) or attribute (< 10)', () => {
    const k = new Kit();
    const [v, i] = k.node('TopK', [k.input('x', [3, 100]), k.ints([5])], {}, 2);
    const c = k.one('CumSum', [k.input('c', [2, 3]), k.ints([1], [])]);
    inferShapes(k.model);
    expect(v!.shape).toEqual([3, 5]);
    expect(i!.type).toEqual({ kind: 'tensor', dtype: 'int64', shape: [3, 5] });
    expect(c.shape).toEqual([2, 3]);
    const old = new Kit(9);
    const [w] = old.node('TopK', [old.input('x', [3, 100])], { k: 7, axis: 1 }, 2);
    inferShapes(old.model);
    expect(w!.shape).toEqual([3, 7]);
  });
});
