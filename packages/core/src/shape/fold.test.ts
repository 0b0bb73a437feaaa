import { describe, expect, it } from 'vitest';
import { Tensor } from '../ir/tensor.js';
import type { Value } from '../ir/value.js';
import { foldConstants } from './fold.js';
import { inferShapes } from './infer.js';
import { Kit } from './test-kit.js';

/** torch.flatten(x, 1) as PyTorch exports it with a dynamic batch. */
function flattenSubgraph(k: Kit, x: Value, opset: number): Value {
  const shape = k.one('Shape', [x]);
  const batch = k.one('Gather', [shape, k.ints([0], [])], { axis: 0 });
  const unsq = opset < 13 ? k.one('Unsqueeze', [batch], { axes: [0] }) : k.one('Unsqueeze', [batch, k.ints([0])]);
  const target = k.one('Concat', [unsq, k.ints([-1])], { axis: 0 });
  return k.one('Reshape', [x, target]);
}

describe('shape subgraph folding during inference', () => {
  it.each([11, 13, 17])('resolves Shape→Gather→Unsqueeze→Concat→Reshape symbolically (opset %i)', (opset) => {
    const k = new Kit(opset);
    const x = k.input('x', ['batch', 512, 1, 1]);
    const y = flattenSubgraph(k, x, opset);
    const res = inferShapes(k.model);
    expect(y.shape).toEqual(['batch', 512]);
    const target = y.producer!.input(1)!;
    expect(res.known.get(target)!.data).toEqual(['batch', -1]);
  });

  it('resolves to static shapes with inputShapes', () => {
    const k = new Kit();
    const x = k.input('x', ['batch', 512, 7, 7]);
    const y = flattenSubgraph(k, x, 17);
    const res = inferShapes(k.model, { inputShapes: { x: [4, 512, 7, 7] } });
    expect(y.shape).toEqual([4, 25088]);
    expect(res.known.get(y.producer!.input(1)!)!.data).toEqual([4, -1]);
  });

  it('folds Slice, Cast, arithmetic and Concat into Resize sizes (interpolate scale 2)', () => {
    const k = new Kit(13);
    const x = k.input('x', ['N', 8, 'H', 'W']);
    const shape = k.one('Shape', [x]);
    const hw = k.one('Slice', [shape, k.ints([2]), k.ints([4])]);
    const nc = k.one('Slice', [shape, k.ints([0]), k.ints([2])]);
    const f = k.one('Cast', [hw], { to: 1 });
    const scaled = k.one('Mul', [f, k.floats([], [2])]);
    const floor = k.one('Floor', [scaled]);
    const back = k.one('Cast', [floor], { to: 7 });
    const sizes = k.one('Concat', [nc, back], { axis: 0 });
    const y = k.one('Resize', [x, null, null, sizes]);
    inferShapes(k.model);
    expect(y.shape).toEqual(['N', 8, null, null]);
    inferShapes(k.model, { inputShapes: { x: [1, 8, 15, 20] } });
    expect(y.shape).toEqual([1, 8, 30, 40]);
  });

  it('folds Squeeze, integer Div and ConstantOfShape/Range/Equal/Where', () => {
    const k = new Kit(13);
    const x = k.input('x', [2, 116, 28, 28]);
    const shape = k.one('Shape', [x]);
    const c = k.one('Squeeze', [k.one('Slice', [shape, k.ints([1]), k.ints([2])]), k.ints([0])]);
    const half = k.one('Div', [c, k.ints([2], [])]);
    const ones = k.one('ConstantOfShape', [k.ints([4])], { value: Tensor.fromInt64('', [1], [1]) });
    const target = k.one('Concat', [k.ints([2, 2]), k.one('Unsqueeze', [half, k.ints([0])]), k.ints([-1])], { axis: 0 });
    const isNeg = k.one('Equal', [target, k.ints([-1], [])]);
    const fixed = k.one('Where', [isNeg, ones, target]);
    const range = k.one('Range', [k.ints([0], []), half, k.ints([29], [])]);
    const res = inferShapes(k.model);
    expect(res.known.get(half)!.data).toEqual([58]);
    expect(res.known.get(fixed)!.data).toEqual([2, 2, 58, 1]);
    expect(res.known.get(range)!.data).toEqual([0, 29]);
    const y = k.one('Reshape', [x, target]);
    inferShapes(k.model);
    expect(y.shape).toEqual([2, 2, 58, 784]);
  });

  it('ignores values larger than maxFoldElements', () => {
    const k = new Kit();
    const big = k.one('ConstantOfShape', [k.ints([50, 50])]);
    const res = inferShapes(k.model, { maxFoldElements: 100 });
    expect(big.shape).toEqual([50, 50]);
    expect(res.known.has(big)).toBe(false);
  });
});

describe('foldConstants', () => {
  it('replaces the shape subgraph with an initializer and removes dead nodes', () => {
    const k = new Kit();
    const x = k.input('x', ['batch', 64, 1, 1]);
    const y = flattenSubgraph(k, x, 17);
    k.output(y);
    const rep = foldConstants(k.model, { inputShapes: { x: [2, 64, 1, 1] } });
    expect(k.graph.nodes.map((n) => n.opType)).toEqual(['Reshape']);
    const target = k.graph.nodes[0]!.input(1)!;
    expect(target.constValue!.dtype).toBe('int64');
    expect([...(target.constValue!.values as BigInt64Array)]).toEqual([2n, -1n]);
    expect(rep.folded).toBeGreaterThan(0);
    expect(k.graph.initializers.size).toBe(1); // the Gather index and -1 constants are gone
    inferShapes(k.model);
    expect(y.shape).toEqual([2, 64]);
  });

  it('keeps graph outputs (as Constant nodes) and leaves dynamic shapes alone', () => {
    const k = new Kit();
    const x = k.input('x', ['batch', 3]);
    const dyn = k.one('Shape', [x]);
    const fixed = k.one('Gather', [dyn, k.ints([1], [])]);
    k.output(dyn, fixed);
    const name = fixed.name;
    foldConstants(k.model);
    expect(k.graph.outputs).toEqual([dyn, fixed]);
    expect(dyn.producer!.opType).toBe('Shape');
    expect(fixed.producer!.opType).toBe('Constant');
    expect(fixed.name).toBe(name);
    expect(fixed.producer!.attrTensor('value')!.toNumbers()).toEqual([3]);
  });

  it('clamps int64 extremes instead of wrapping', () => {
    const k = new Kit();
    const y = k.one('Add', [k.ints([2n ** 63n - 1n]), k.ints([0])]);
    const z = k.one('Slice', [k.input('x', [5]), k.ints([1]), y]);
    k.output(z);
    foldConstants(k.model);
    const end = z.producer!.input(2)!;
    expect((end.constValue!.values as BigInt64Array)[0]).toBe(2n ** 63n - 1n);
  });
});
