import { describe, expect, it } from 'vitest';
import type { Value } from '../../ir/value.js';
import { inferShapes } from '../../shape/infer.js';
import { Kit } from '../../shape/test-kit.js';
import { findDeadChannels } from '../../structure/dead.js';
import { buildDependencyGraph } from '../../structure/graph.js';
import { foldBatchNorms } from '../../transform/fold-batchnorm.js';
import { defaultOpRegistry } from '../registry.js';
import { activationKeepsZero } from './contrib.js';

const MS = 'com.microsoft';
const kit = () => new Kit({ '': 17, [MS]: 1 });
const floats = (k: Kit, dims: number[], v = 0.5) => k.floats(dims, new Array(dims.reduce((a, b) => a * b, 1)).fill(v));
/** FusedConv 1x1 (x: [1, cin, 4, 4]) with an optional residual Z and an activation. */
const fused = (k: Kit, x: Value, cin: number, cout: number, opts: { z?: Value; act?: string; params?: number[]; w?: number } = {}) =>
  k.one('FusedConv', [x, floats(k, [cout, cin, 1, 1], opts.w ?? 0.5), floats(k, [cout], 0), ...(opts.z ? [opts.z] : [])], {
    kernel_shape: [1, 1],
    ...(opts.act ? { activation: opts.act } : {}),
    ...(opts.params ? { activation_params: { type: 'floats', value: opts.params } } : {}),
  }, MS);

describe('com.microsoft fused ops', () => {
  it('infer shapes and MACs like their plain ops (FusedConv, FusedGemm, FusedMatMul with transposes)', () => {
    const k = kit();
    const x = k.input('x', [1, 3, 8, 8]);
    const y = k.one('FusedConv', [x, k.floats([16, 3, 3, 3]), k.floats([16])], { strides: [2, 2], pads: [1, 1, 1, 1], activation: 'Relu' }, MS);
    const a = k.input('a', [2, 32]);
    const g = k.one('FusedGemm', [a, k.floats([10, 32]), k.floats([10])], { transB: 1, activation: 'Relu' }, MS);
    const m = k.one('FusedMatMul', [k.input('b', [4, 7, 5]), k.floats([6, 7])], { transA: 1, transB: 1, alpha: 0.5 }, MS);
    const r = inferShapes(k.model);
    expect([y.shape, g.shape, m.shape]).toEqual([[1, 16, 4, 4], [2, 10], [4, 5, 6]]);
    const macs = k.model.graph.nodes.map((n) => defaultOpRegistry().lookupNode(n, k.model)!.macs!(r.contextOf(n)));
    expect(macs).toEqual([16 * 16 * 27, 2 * 10 * 32, 4 * 5 * 6 * 7]);
  });

  it('know which fused activations keep zero', () => {
    expect(['', 'Relu', 'LeakyRelu', 'Tanh'].map((a) => activationKeepsZero(a, []))).toEqual([true, true, true, true]);
    expect(activationKeepsZero('Clip', [0, 6])).toBe(true);
    expect(activationKeepsZero('Clip', [1, 6])).toBe(false);
    expect(activationKeepsZero('Sigmoid', [])).toBe(false);
    expect(activationKeepsZero('HardSigmoid', [0.2, 0.5])).toBe(false);
    expect(activationKeepsZero('HardSigmoid', [0.2, 0])).toBe(true);
    expect(activationKeepsZero('SomethingNew', [])).toBe(false);
  });

  it("couple FusedConv's residual input Z with its output channels, like an Add", () => {
    const k = kit();
    const x = k.input('x', [1, 3, 4, 4]);
    const a = fused(k, x, 3, 8, { act: 'Relu' });
    const b = fused(k, a, 8, 8, { act: 'Relu' });
    const c = fused(k, b, 8, 8, { z: a, act: 'Relu' }); // c = relu(conv(b) + a)
    const head = k.one('Conv', [c, k.floats([2, 8, 1, 1])], {});
    k.output(head);
    const g = buildDependencyGraph(k.model);
    const shared = g.groups.find((x) => x.id === a.name)!;
    expect(shared.size).toBe(8);
    // One group: a's producer and c's producer (the residual stream), read by b and head.
    expect(shared.members.filter((m) => m.role === 'producer').map((m) => m.node.outputs[0]!.name).sort()).toEqual([a.name, c.name].sort());
    expect(g.groups.find((x) => x.id === c.name)).toBeUndefined();
  });

  it('pin the output channels when Z is not prunable, naming the node and op', () => {
    const k = kit();
    const x = k.input('x', [1, 3, 4, 4]);
    const z = k.input('z', [1, 8, 4, 4]);
    const c = fused(k, x, 3, 8, { z });
    k.output(k.one('Conv', [c, k.floats([2, 8, 1, 1])], {}));
    const g = buildDependencyGraph(k.model);
    const grp = g.groups.find((x) => x.id === c.name)!;
    expect(grp.pinned.every(Boolean)).toBe(true);
    expect(grp.pinned[0]).toMatch(/com\.microsoft::FusedConv FusedConv_\d+ adds z \(input 3\)/);
  });

  it('count a channel with zero weights as dead only when the activation keeps zero', () => {
    const build = (act: string, params?: number[]) => {
      const k = kit();
      const x = k.input('x', [1, 3, 4, 4]);
      const a = fused(k, x, 3, 4, { act, params, w: 0 });
      k.output(k.one('Conv', [a, k.floats([2, 4, 1, 1])], {}));
      return findDeadChannels(buildDependencyGraph(k.model));
    };
    expect(build('Relu').zeroProduced).toBe(4);
    expect(build('Clip', [0, 6]).zeroProduced).toBe(4);
    expect(build('Sigmoid').selection.size).toBe(0);
    expect(build('HardSigmoid', [0.2, 0.5]).selection.size).toBe(0);
  });

  it('never fold a BatchNorm into a FusedConv with an activation or a residual', () => {
    const k = kit();
    const x = k.input('x', [1, 3, 4, 4]);
    const a = fused(k, x, 3, 4, { act: 'Relu' });
    const bn = k.one('BatchNormalization', [a, floats(k, [4], 2), floats(k, [4], 0.1), floats(k, [4], 0.3), floats(k, [4], 1)]);
    const plain = fused(k, bn, 4, 4);
    const bn2 = k.one('BatchNormalization', [plain, floats(k, [4], 2), floats(k, [4], 0.1), floats(k, [4], 0.3), floats(k, [4], 1)]);
    k.output(bn2);
    const folded = foldBatchNorms(k.model);
    expect(folded.length).toBe(1);
    expect(k.model.graph.nodes.map((n) => n.opType)).toEqual(['FusedConv', 'BatchNormalization', 'FusedConv']);
  });
});
