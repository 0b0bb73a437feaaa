import { describe, expect, it } from 'vitest';
import { Tensor } from '../ir/tensor.js';
import { Kit } from '../shape/test-kit.js';
import { tinyModel } from '../testing/tiny-model.js';
import { findPruneTargets, opSummary } from './targets.js';

describe('findPruneTargets', () => {
  it('finds Conv and Gemm weights from the op table, in graph order', () => {
    const { targets, skipped } = findPruneTargets(tinyModel());
    expect(targets.map((t) => `${t.node.name}:${t.value.name}`)).toEqual(['conv1:conv1.weight', 'conv2:conv2.weight', 'fc:fc.weight']);
    expect(targets.map((t) => t.order)).toEqual([0, 1, 2]);
    expect(targets[0]!.role).toMatchObject({ outAxis: 0, inAxis: 1 });
    expect(skipped).toEqual([]);
  });

  it('skips integer weights with a reason', () => {
    const m = tinyModel();
    m.graph.replaceInitializer('conv2.weight', new Tensor({ dtype: 'int8', dims: [16, 8, 3, 3] }));
    const { targets, skipped } = findPruneTargets(m);
    expect(targets.map((t) => t.value.name)).toEqual(['conv1.weight', 'fc.weight']);
    expect(skipped).toEqual([{ target: 'conv2', reason: 'weight conv2.weight is int8; only float32 weights are pruned', code: 'unsupported' }]);
  });

  it('skips a layer whose weight is computed from a graph input, says so, and keeps the others', () => {
    const k = new Kit();
    const x = k.input('x', [1, 3, 8, 8]);
    const w = k.one('Mul', [k.input('w', [8, 3, 1, 1]), k.floats([1], [2])]);
    const a = k.one('Conv', [x, w]);
    const c = k.one('Constant', [], { value: new Tensor({ dtype: 'float32', dims: [4, 8, 1, 1], data: new Float32Array(32) }) });
    const b = k.one('Conv', [a, c]);
    const folded = k.one('Transpose', [k.floats([3, 8, 1, 1])], { perm: [1, 0, 2, 3] });
    const d = k.one('Conv', [x, folded]);
    k.one('Conv', [d, k.floats([2, 8, 1, 1])]);
    k.output(b);
    const { targets, skipped } = findPruneTargets(k.model);
    expect(targets.map((t) => t.node.label)).toEqual([k.model.graph.nodes.at(-1)!.label]);
    expect(skipped.map((s) => s.reason)).toEqual([
      `weight ${w.name} is computed from graph input w at run time, not a constant: left dense`,
      `weight ${c.name} is held by Constant node ${c.producer!.label}, not a constant initializer (the normalize pass converts it)`,
      `weight ${folded.name} is computed from constants by Transpose ${folded.producer!.label}, not a constant initializer (the normalize pass folds it)`,
    ]);
  });

  it('leaves dense a layer that reads a Softmax distribution (a DFL read-out), not one after LogSoftmax', () => {
    const k = new Kit();
    const x = k.input('x', [1, 16, 4, 8]);
    const p = k.one('Softmax', [x], { axis: 1 });
    const dfl = k.one('Conv', [p, k.floats([1, 16, 1, 1])]);
    const l = k.one('LogSoftmax', [x], { axis: 1 });
    const after = k.one('Conv', [l, k.floats([2, 16, 1, 1])]);
    k.output(dfl);
    k.output(after);
    const { targets, skipped } = findPruneTargets(k.model);
    expect(targets.map((t) => t.node.label)).toEqual([after.producer!.label]);
    expect(skipped).toEqual([
      {
        target: dfl.producer!.label,
        reason: `reads the Softmax output of ${p.producer!.label}: its weights turn a probability distribution into values (an expectation, as YOLO's DFL over box bins); left dense`,
        code: 'pinned',
      },
    ]);
  });

  it('summarizes ops', () => {
    expect(opSummary(tinyModel())).toBe('Conv×2, Relu×2, GlobalAveragePool×1, Flatten×1, Gemm×1');
    const k = new Kit();
    let v = k.input('x', [1, 4]);
    for (const op of ['Relu', 'Sigmoid', 'Tanh', 'Abs', 'Neg', 'Exp', 'Log', 'Sqrt', 'Ceil', 'Floor', 'Sin', 'Cos']) v = k.one(op, [v]);
    expect(opSummary(k.model)).toBe('Relu×1, Sigmoid×1, Tanh×1, Abs×1, Neg×1, Exp×1, Log×1, Sqrt×1 and 4 more');
  });
});
