import { describe, expect, it } from 'vitest';
import { Tensor } from '../ir/tensor.js';
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

  it('summarizes ops', () => {
    expect(opSummary(tinyModel())).toBe('Conv×2, Relu×2, GlobalAveragePool×1, Flatten×1, Gemm×1');
  });
});
