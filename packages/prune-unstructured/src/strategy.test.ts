import { applyPlan, CURRENT_CRITERION, Tensor, definePlugin, deserializePlan, Graph, inferShapes, isBitsetMask, isShearsError, maskCount, maskIndices, Model, Node, pipeline, serializePlan, tensorType, Value, type MaskAction, type PruningPlan } from '@shears/core';
import { assertConformance, tinyModel } from '@shears/core/testing';
import { describe, expect, it } from 'vitest';
import { l1, random } from '@shears/criteria';
import { maxNonzerosPerGroup } from './nm.js';
import { unstructuredPruning } from './strategy.js';
import { chainModel, context, convModel, mlpModel } from './test-helpers.js';

/** Mask actions with their pruned sets as index lists, whichever form the plan holds them in. */
const masks = (plan: PruningPlan) => rawMasks(plan).map((a) => ({ type: 'mask' as const, tensor: a.tensor, layer: a.layer, prune: maskIndices(a) }));
const rawMasks = (plan: PruningPlan) => plan.actions.filter((a): a is MaskAction => a.type === 'mask');

async function planFor(model: Model, options: Parameters<typeof unstructuredPruning>[0], ctx = context()) {
  return unstructuredPruning(options).plan(model, ctx);
}

/** |w| reference: the k lowest, ties by index. */
function lowest(w: Float32Array, k: number): number[] {
  return [...w.keys()]
    .sort((i, j) => Math.abs(w[i]!) - Math.abs(w[j]!) || i - j)
    .slice(0, k)
    .sort((i, j) => i - j);
}

describe('unstructured strategy', () => {
  it('passes the conformance kit', async () => {
    await assertConformance({
      factory: unstructuredPruning,
      options: { amount: 0.5 },
      badOptions: [
        { amount: 1 },
        { amount: -0.1 },
        { amount: 1.5 },
        {},
        { amount: 0.5, scope: 'everything' },
        { amount: 0.5, colour: 'red' },
        { pattern: '4:2' },
        { pattern: '2:2' },
        { pattern: 'two of four' },
        { pattern: '2:4', amount: 0.3 },
        { amount: 0.5, exclude: '(' },
        { amount: 0.5, scope: 'global', allocation: 'erk' },
        { amount: 0.5, maxLayerAmount: 2 },
        { allocation: 'lamp' },
        { amountTable: { conv: 1.2 } },
      ],
    });
  });

  it('names the plugin and the option on a bad amount', () => {
    expect(() => unstructuredPruning({ amount: 1 })).toThrow(/^unstructured: option amount: must be in \[0, 1\)/);
    try {
      unstructuredPruning({ pattern: '4:4' });
    } catch (e) {
      expect(isShearsError(e) && e.code === 'E_OPTION' && e.option === 'pattern' && e.plugin === 'unstructured').toBe(true);
    }
  });

  it('layer scope: every layer within half a weight of the amount, the lowest |w| by index on ties', async () => {
    // Few distinct magnitudes: many ties.
    const model = mlpModel(3, (i) => ((i * 7919) % 5) - 2 || 0.5);
    for (const amount of [0, 0.1, 0.37, 0.5, 0.9, 0.999]) {
      const plan = await planFor(model, { amount, keepFirst: false, keepLast: false });
      expect(masks(plan)).toHaveLength(4);
      for (const a of masks(plan)) {
        const w = model.graph.initializer(a.tensor)!.floats();
        expect(Math.abs(a.prune.length - amount * w.length)).toBeLessThanOrEqual(0.5);
        expect(Array.from(a.prune)).toEqual(lowest(w, a.prune.length));
      }
    }
  });

  it('global scope: one threshold, exactly round(amount × total) pruned', async () => {
    const model = convModel(5);
    for (const amount of [0.3, 0.5, 0.77]) {
      const plan = await planFor(model, { amount, scope: 'global' });
      const ms = masks(plan);
      const total = ms.reduce((a, m) => a + model.graph.initializer(m.tensor)!.size, 0);
      const pruned = ms.reduce((a, m) => a + m.prune.length, 0);
      expect(Math.abs(pruned - amount * total)).toBeLessThanOrEqual(0.5);
      // Every pruned |w| ≤ every kept |w|, across layers.
      let maxPruned = 0;
      let minKept = Infinity;
      for (const m of ms) {
        const w = model.graph.initializer(m.tensor)!.floats();
        const set = new Set(m.prune);
        w.forEach((v, i) => (set.has(i) ? (maxPruned = Math.max(maxPruned, Math.abs(v))) : (minKept = Math.min(minKept, Math.abs(v)))));
      }
      expect(maxPruned).toBeLessThanOrEqual(minKept);
    }
  });

  it('global scope with ties across layers is deterministic and exact', async () => {
    const model = mlpModel(1, () => 1); // every |w| equal
    const plan = await planFor(model, { amount: 0.5, scope: 'global', keepFirst: false, keepLast: false });
    const sizes = masks(plan).map((m) => model.graph.initializer(m.tensor)!.size);
    const total = sizes.reduce((a, b) => a + b, 0);
    const counts = masks(plan).map((m) => m.prune.length);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(Math.round(total / 2));
    // Ties go to earlier layers first, by index.
    expect(counts).toEqual([384, 124, 0, 0]);
    expect(Array.from(masks(plan)[1]!.prune)).toEqual([...Array(124).keys()]);
  });

  it('global scope on a model too large to keep every score streams them, with the same result', async () => {
    // 8.5 M weights: above the threshold where scores are kept (streaming path).
    const model = chainModel([1, 2048], [
      { op: 'MatMul', w: [2048, 2048], values: (i) => ((i * 2654435761) % 1000) / 1000 - 0.5 },
      { op: 'MatMul', w: [2048, 2100], values: (i) => ((i * 40503) % 977) / 977 - 0.5 },
    ]);
    const plan = await planFor(model, { amount: 0.4, scope: 'global', keepFirst: false, keepLast: false });
    const ms = masks(plan);
    const total = 2048 * 2048 + 2048 * 2100;
    expect(ms.reduce((a, m) => a + m.prune.length, 0)).toBe(Math.round(0.4 * total));
    let maxPruned = 0;
    let minKept = Infinity;
    for (const m of ms) {
      const w = model.graph.initializer(m.tensor)!.floats();
      const mask = new Uint8Array(w.length);
      for (const i of m.prune) mask[i] = 1;
      for (let i = 0; i < w.length; i++) {
        const a = Math.abs(w[i]!);
        if (mask[i]) maxPruned = Math.max(maxPruned, a);
        else minKept = Math.min(minKept, a);
      }
    }
    expect(maxPruned).toBeLessThanOrEqual(minKept);
    // The l1 fast path (bitsets from the weight bits) and the scored streaming
    // path (the same |w| scores through a criterion that declares no
    // elementMagnitude) prune exactly the same weights.
    const ctx = context();
    ctx.state.set(CURRENT_CRITERION, { ...l1(), capabilities: undefined });
    const scored = masks(await planFor(model, { amount: 0.4, scope: 'global', keepFirst: false, keepLast: false }, ctx));
    expect(scored.map((m) => m.prune)).toEqual(ms.map((m) => m.prune));
  });

  it('l1 plans hold each mask as a bitset action (the scored path as indices): the same sets, and both serialize', async () => {
    const model = convModel(3);
    for (const scope of ['layer', 'global'] as const) {
      const plan = await planFor(model, { amount: 0.6, scope, keepFirst: false });
      const ctx = context();
      ctx.state.set(CURRENT_CRITERION, { ...l1(), capabilities: undefined }); // scored path (no declared capability), plain arrays
      const ref = masks(await planFor(model, { amount: 0.6, scope, keepFirst: false }, ctx));
      const ms = masks(plan);
      expect(ms.length).toBe(ref.length);
      expect(rawMasks(plan).every((a) => isBitsetMask(a) && a.count === maskCount(a) && a.bits.length === Math.ceil(model.graph.initializer(a.tensor)!.size / 32))).toBe(true);
      expect(rawMasks(await planFor(model, { amount: 0.6, scope, keepFirst: false }, ctx)).some(isBitsetMask)).toBe(false);
      for (const [i, m] of ms.entries()) {
        expect(m.prune).toBeInstanceOf(Uint32Array);
        expect(Array.from(m.prune)).toEqual(Array.from(ref[i]!.prune));
        expect(m).toEqual(ref[i]);
      }
      const back = deserializePlan(serializePlan(plan));
      expect(rawMasks(back).every(isBitsetMask)).toBe(true);
      expect(masks(back).map((m) => Array.from(m.prune))).toEqual(ref.map((m) => Array.from(m.prune)));
    }
  });

  it('maxLayerAmount caps a layer and re-solves the global threshold for the rest', async () => {
    const wave = (scale: number) => (i: number) => scale * (1 + (i % 13) / 100);
    const model = chainModel([1, 24], [
      { op: 'Gemm', w: [16, 24], attrs: { transB: 1 }, values: wave(0.001) }, // tiny: global would take all of it
      { op: 'MatMul', w: [16, 12], values: wave(1) },
      { op: 'Gemm', w: [12, 20], values: wave(2) },
      { op: 'Gemm', w: [20, 10], values: wave(3) },
    ]);
    const plan = await planFor(model, { amount: 0.4, scope: 'global', maxLayerAmount: 0.6, keepFirst: false, keepLast: false });
    const ms = masks(plan);
    const sizes = ms.map((m) => model.graph.initializer(m.tensor)!.size);
    ms.forEach((m, i) => expect(m.prune.length).toBeLessThanOrEqual(Math.floor(0.6 * sizes[i]!)));
    expect(ms[0]!.prune.length).toBe(Math.floor(0.6 * 384));
    expect(ms.reduce((a, m) => a + m.prune.length, 0)).toBe(Math.round(0.4 * sizes.reduce((a, b) => a + b, 0)));
  });

  it('N:M: every eligible group along the input-channel axis keeps at most N; others are skipped and reported', async () => {
    const model = chainModel(
      [1, 8, 5, 5],
      [
        { op: 'Conv', w: [6, 8, 3, 3], attrs: { pads: [1, 1, 1, 1] } },
        { op: 'Conv', w: [16, 6, 3, 3] }, // C = 6: not a multiple of 4
        { op: 'Conv', w: [8, 4, 1, 1], attrs: { group: 4 } }, // C/g = 4
        { op: 'GlobalAveragePool' },
        { op: 'Flatten' },
        { op: 'Gemm', w: [12, 8], attrs: { transB: 1 } }, // along K = axis 1
        { op: 'Gemm', w: [12, 8] }, // transB 0: W [K=12, N=8], along axis 0
        { op: 'MatMul', w: [8, 4] }, // B [K, N]: along axis 0
      ],
    );
    const plan = await planFor(model, { pattern: '2:4', keepFirst: false, keepLast: false });
    expect(plan.skipped).toEqual([{ target: 'l1', reason: '2:4: input-channel axis 1 has 6 channels, not a multiple of 4', code: 'unsupported' }]);
    applyPlan(model, plan);
    const axes: Record<string, number> = { 'l0.weight': 1, 'l2.weight': 1, 'l5.weight': 1, 'l6.weight': 0, 'l7.weight': 0 };
    expect(masks(plan).map((m) => m.tensor).sort()).toEqual(Object.keys(axes).sort());
    for (const [name, axis] of Object.entries(axes)) {
      const t = model.graph.initializer(name)!;
      expect(maxNonzerosPerGroup(t.floats(), t.dims, axis, 4)).toBe(2);
      const zeros = t.floats().filter((x) => x === 0).length;
      expect(zeros).toBe(t.size / 2);
    }
  });

  it('N:M keeps the highest scores in each group', async () => {
    const model = chainModel([1, 4], [{ op: 'Gemm', w: [2, 4], attrs: { transB: 1 }, values: (i) => [0.1, -4, 3, 0.2, 5, 5, -5, 1][i]! }]);
    const plan = await planFor(model, { pattern: '2:4', keepFirst: false, keepLast: false });
    expect(Array.from(masks(plan)[0]!.prune)).toEqual([0, 3, 4, 7]); // |5|, |5|, |-5| tie: the lower index is pruned first
  });

  it('keeps the first and last layer dense by default, overridable; exclude by regex', async () => {
    const model = convModel();
    let plan = await planFor(model, { amount: 0.5 });
    expect(masks(plan).map((m) => m.layer)).toEqual(['l2', 'l4', 'l6']);
    expect(plan.skipped.map((s) => s.target)).toEqual(['l0', 'l9']);
    plan = await planFor(model, { amount: 0.5, keepFirst: false, keepLast: false, exclude: '^l4$' });
    expect(masks(plan).map((m) => m.layer)).toEqual(['l0', 'l2', 'l6', 'l9']);
    expect(plan.skipped).toEqual([{ target: 'l4', reason: 'excluded by ^l4$', code: 'excluded' }]);
  });

  it('skips integer weights with a warning, and prunes the float ones', async () => {
    const model = chainModel([1, 8], [
      { op: 'Gemm', w: [8, 8], attrs: { transB: 1 } },
      { op: 'Gemm', w: [8, 8], attrs: { transB: 1 } },
      { op: 'Relu' },
    ]);
    // An int32 constant MatMul weight between them.
    const g = model.graph;
    const w = g.addInitializer(new Tensor({ name: 'int.weight', dtype: 'int32', dims: [8, 8], data: new Int32Array(64).fill(3) }));
    const mm = new Node({ opType: 'MatMul', name: 'intmm', inputs: [g.inputs[0]!, w], outputs: ['intout'] });
    g.insertNode(mm, { before: g.nodes[0]! });
    g.outputs.push(mm.outputs[0]!);
    const ctx = context();
    const plan = await planFor(model, { amount: 0.5, keepFirst: false, keepLast: false }, ctx);
    expect(plan.skipped).toEqual([{ target: 'intmm', reason: 'weight int.weight is int32; only float32 weights are pruned', code: 'unsupported' }]);
    expect(ctx.warnings.some((m) => /intmm.*int32/.test(m))).toBe(true);
    expect(masks(plan)).toHaveLength(2);
    expect(Array.from(g.initializer('int.weight')!.values as Int32Array).every((x) => x === 3)).toBe(true);
  });

  it('refuses a model without prunable layers, naming its ops', async () => {
    const g = new Graph('g');
    const x = g.addInput(new Value('x', tensorType('float32', [1, 4])));
    const n = g.appendNode(new Node({ opType: 'Relu', inputs: [x], outputs: ['y'] }));
    g.outputs.push(n.outputs[0]!);
    const model = new Model({ graph: g });
    inferShapes(model);
    await expect(planFor(model, { amount: 0.5 })).rejects.toThrow(/no prunable layer; its ops are Relu×1/);
  });

  it('ERK, LAMP and amount tables allocate per layer', async () => {
    const model = convModel(9);
    const total = (plan: PruningPlan) => masks(plan).reduce((a, m) => a + m.prune.length, 0);
    const size = (plan: PruningPlan) => masks(plan).reduce((a, m) => a + model.graph.initializer(m.tensor)!.size, 0);
    const erk = await planFor(model, { amount: 0.6, allocation: 'erk', keepFirst: false, keepLast: false });
    expect(Math.abs(total(erk) - 0.6 * size(erk))).toBeLessThanOrEqual(masks(erk).length);
    const rates = masks(erk).map((m) => m.prune.length / model.graph.initializer(m.tensor)!.size);
    expect(rates[3]).toBeGreaterThan(rates[2]!); // the 20×12×3×3 conv loses more than the 1×1 grouped one
    const lamp = await planFor(model, { amount: 0.6, allocation: 'lamp', keepFirst: false, keepLast: false });
    expect(total(lamp)).toBe(Math.round(0.6 * size(lamp)));
    const table = await planFor(model, { amount: 0.1, amountTable: { l2: 0.5, '^l[46]$': 0.25 } });
    expect(masks(table).map((m) => [m.layer, m.prune.length])).toEqual([
      ['l2', Math.round(0.5 * 16 * 12 * 9)],
      ['l4', Math.round(0.25 * 72)],
      ['l6', Math.round(0.25 * 20 * 12 * 9)],
    ]);
  });

  it('uses the criterion before it in a pipeline and keeps masks beside the weights', async () => {
    const model = tinyModel();
    const r = await pipeline(random({ seed: 3 }), unstructuredPruning({ amount: 0.5, keepFirst: false })).run(model);
    const plan = r.steps[1]!.plan!;
    expect(plan.criterion).toBe('random');
    const v = r.model.graph.initializers.get('conv1.weight')!;
    expect(v.mask!.filter((x) => x === 0).length).toBe(Math.round(0.5 * 216));
    v.constValue!.floats().forEach((x, i) => v.mask![i] === 0 && expect(x).toBe(0));
    expect(deserializePlan(serializePlan(plan)).actions).toHaveLength(2);
  });

  it('checks what a reconstructing criterion returns', async () => {
    const liar = definePlugin({
      name: 'liar',
      kind: 'criterion',
      score: async (t) => new Float32Array(t.weight.size),
      reconstruct: async (t) => ({ prune: Uint32Array.of(0), data: new Float32Array(t.weight.size) }),
    });
    const ctx = context();
    ctx.state.set(CURRENT_CRITERION, liar);
    await expect(planFor(tinyModel(), { amount: 0.5 }, ctx)).rejects.toThrow(/liar: reconstruct\(\) for conv2 must prune exactly 576/);
    ctx.state.set(CURRENT_CRITERION, l1());
    await expect(planFor(tinyModel(), { amount: 0.5 }, ctx)).resolves.toBeTruthy();
  });
});
