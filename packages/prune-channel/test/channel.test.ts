import { applyPlan, CALIBRATION, cloneModel, deserializePlan, Graph, Model, Node, serializePlan, ShearsError, Tensor, tensorType, Value, type NamedTensor } from '@shears/core';
import { assertConformance, seededFloats, testContext, tinyModel } from '@shears/core/testing';
import { randomDataset } from '@shears/data';
import { createRuntime, Session } from '@shears/runtime';
import { describe, expect, it } from 'vitest';
import { redundantModel as redundant, residualModel } from './model.js';
import { captureModel } from '../src/calibrate.js';
import { MatMul } from '../src/matmul.js';
import { channelPruning, cholesky, cholSolve, cholSolveBlocked, choleskyBlocked, NO_CALIBRATION, type ChannelOptions, type GroupReport, type LayerReport, type NotRefitReport } from '../src/index.js';

async function run(model: Model, feeds: Record<string, NamedTensor>): Promise<Float32Array> {
  const s = await Session.create(model, { threads: 1 });
  try {
    return (await s.run(feeds))[s.outputNames[0]!]!.data as Float32Array;
  } finally {
    await s.release();
  }
}

const runtime = createRuntime();

function ctxWith(n = 64, shape = [3, 10, 10]) {
  const ctx = testContext({ runtime });
  ctx.state.set(CALIBRATION, randomDataset(n, shape, 7));
  return ctx;
}

async function relError(a: Model, b: Model, shape = [1, 3, 10, 10]): Promise<number> {
  let num = 0;
  let den = 0;
  // Fresh samples from the calibration distribution.
  for await (const bt of randomDataset(8, shape.slice(1), 99).batches(1)) {
    const feeds = { input: { dims: shape, data: bt.x } };
    const [x, y] = [await run(a, feeds), await run(b, feeds)];
    for (let i = 0; i < x.length; i++) {
      num += (x[i]! - y[i]!) ** 2;
      den += x[i]! ** 2;
    }
  }
  return num / den;
}

async function prune(model: Model, options: ChannelOptions) {
  const plan = await channelPruning(options).plan(model, ctxWith());
  const out = cloneModel(model);
  applyPlan(out, deserializePlan(serializePlan(plan)));
  return { plan, out };
}

describe('least squares', () => {
  it('cholesky solves a small SPD system with several right-hand sides', () => {
    const A = Float64Array.from([4, 2, 0.4, 2, 5, 1, 0.4, 1, 3]);
    const L = A.slice();
    expect(cholesky(L, 3)).toBe(true);
    const X = Float64Array.from([1, 0, 2, 1, 3, 1]);
    const B = new Float64Array(6);
    for (let i = 0; i < 3; i++) for (let c = 0; c < 2; c++) for (let k = 0; k < 3; k++) B[i * 2 + c] += A[i * 3 + k]! * X[k * 2 + c]!;
    cholSolve(L, 3, B, 2);
    for (let i = 0; i < 6; i++) expect(B[i]).toBeCloseTo(X[i]!, 10);
  });

  it('blocked Cholesky and solves (float64 products in onnxruntime) match the plain loops', async () => {
    const n = 70;
    const m = 5;
    const R = seededFloats(n * n, 3);
    const A = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) A[i * n + j] += R[i * n + k]! * R[j * n + k]!;
    for (let i = 0; i < n; i++) A[i * n + i] += 0.5;
    const B = Float64Array.from(seededFloats(n * m, 4));
    const [L1, L2, B1, B2] = [A.slice(), A.slice(), B.slice(), B.slice()];
    const mm = new MatMul(createRuntime({ threads: 1 }));
    const mul = mm.mul64.bind(mm);
    try {
      expect(cholesky(L1, n)).toBe(true);
      expect(await choleskyBlocked(L2, n, mul, 16)).toBe(true);
      for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) expect(L2[i * n + j]).toBeCloseTo(L1[i * n + j]!, 10);
      cholSolve(L1, n, B1, m);
      await cholSolveBlocked(L2, n, B2, m, mul, 16);
      for (let i = 0; i < n * m; i++) expect(B2[i]).toBeCloseTo(B1[i]!, 9);
    } finally {
      await mm.release();
    }
  });
});

describe('channel strategy', () => {
  it('Conv→ReLU→Conv with linearly redundant channels: reconstruction recovers the output exactly', async () => {
    const model = redundant();
    const { plan, out } = await prune(model, { amount: 0.5, roundTo: 1, ridge: 1e-9 });
    const rm = plan.actions.filter((a) => a.type === 'remove-channels');
    expect(rm).toHaveLength(1);
    expect(rm[0]!.type === 'remove-channels' && rm[0]!.channels).toEqual([4, 5, 6, 7]);
    expect(plan.actions.filter((a) => a.type === 'set-tensor').map((a) => a.type === 'set-tensor' && a.tensor).sort()).toEqual(['conv2.bias', 'conv2.weight']);
    expect(out.graph.initializer('conv2.weight')!.dims).toEqual([16, 4, 3, 3]);
    expect(out.graph.initializer('conv1.weight')!.dims).toEqual([4, 3, 3, 3]);
    expect(await relError(model, out)).toBeLessThan(1e-8);
    const layers = (plan.details as { layers: LayerReport[] }).layers;
    expect(layers).toHaveLength(1);
    expect(layers[0]!.errorBefore).toBeGreaterThan(1e-5);
    expect(layers[0]!.errorAfter).toBeLessThan(1e-8);
    // Without the refit the same channels go and the output changes.
    const { out: plain } = await prune(model, { amount: 0.5, roundTo: 1, reconstruct: false });
    expect(await relError(model, plain)).toBeGreaterThan(1e-5);
  });

  it('per-layer mode, LASSO and L1 selection plan and apply', async () => {
    const model = redundant();
    for (const opts of [{ mode: 'layer' }, { selection: 'lasso' }, { selection: 'l1' }] as ChannelOptions[]) {
      const { plan, out } = await prune(model, { amount: 0.5, roundTo: 1, ridge: 1e-9, ...opts });
      expect(plan.actions.some((a) => a.type === 'remove-channels')).toBe(true);
      expect(out.graph.initializer('conv2.weight')!.dims).toEqual([16, 4, 3, 3]);
      if (opts.selection === 'lasso') expect(await relError(model, out)).toBeLessThan(1e-6);
    }
  });

  it('sequential mode beats per-layer mode on a two-stage chain', async () => {
    const model = tinyModel();
    const ctx = () => {
      const c = testContext({ runtime });
      c.state.set(CALIBRATION, randomDataset(64, [3, 8, 8], 3));
      return c;
    };
    const apply = async (mode: 'sequential' | 'layer') => {
      const p = await channelPruning({ amount: 0.5, roundTo: 1, mode }).plan(model, ctx());
      const m = cloneModel(model);
      applyPlan(m, p);
      return relError(model, m, [1, 3, 8, 8]);
    };
    const seq = await apply('sequential');
    const per = await apply('layer');
    expect(seq).toBeLessThanOrEqual(per * 1.05);
  });

  it('residual Add: coupled channels chosen once for the whole group, error summed over both consumers', async () => {
    const model = residualModel();
    const ctx = ctxWith(32, [3, 8, 8]);
    const plan = await channelPruning({ amount: 0.5, roundTo: 1 }).plan(model, ctx);
    const rm = plan.actions.filter((a) => a.type === 'remove-channels');
    expect(rm).toHaveLength(1);
    const groups = (plan.details as { groups: GroupReport[] }).groups;
    expect(groups).toHaveLength(1);
    expect(groups[0]!.consumers.sort()).toEqual(['b', 'c']);
    expect(plan.actions.filter((a) => a.type === 'set-tensor').map((a) => a.type === 'set-tensor' && a.tensor).sort()).toEqual(['b.bias', 'b.weight', 'c.bias', 'c.weight']);
    const out = cloneModel(model);
    applyPlan(out, plan);
    expect(out.graph.initializer('a.weight')!.dims).toEqual([4, 3, 3, 3]);
    expect(out.graph.initializer('b.weight')!.dims).toEqual([4, 4, 3, 3]);
    expect(out.graph.initializer('c.weight')!.dims).toEqual([4, 4, 1, 1]);
    const err = await relError(model, out, [1, 3, 8, 8]);
    const plain = cloneModel(model);
    applyPlan(plain, await channelPruning({ amount: 0.5, roundTo: 1, reconstruct: false }).plan(model, ctxWith(32, [3, 8, 8])));
    expect(err).toBeLessThan(await relError(model, plain, [1, 3, 8, 8]));
  });

  it('capture with a cut: an activation fed instead of computed gives the same outputs (sequential passes reuse them)', async () => {
    const model = redundant();
    const input = { dims: [1, 3, 10, 10], data: seededFloats(300, 5) };
    const full = await Session.create(captureModel(model, ['r1', 'y']), { threads: 1 });
    const cut = captureModel(model, ['y'], new Set(['r1']));
    expect(cut.graph.nodes.map((n) => n.name)).toEqual(['conv2']);
    expect(cut.graph.inputs.map((v) => v.name)).toContain('r1');
    const part = await Session.create(cut, { threads: 1 });
    try {
      const a = await full.run({ input });
      const b = await part.run({ input, r1: a.r1! });
      expect(Array.from(b.y!.data as Float32Array)).toEqual(Array.from(a.y!.data as Float32Array));
    } finally {
      await full.release();
      await part.release();
    }
  });

  it('grouped conv consumer (groupedConv divisible): not refit, its group left unpruned, listed in notRefit and skipped', async () => {
    const g = new Graph('grouped');
    const x = g.addInput(new Value('input', tensorType('float32', [1, 3, 8, 8])));
    const w = (name: string, dims: number[], seed: number) => g.addInitializer(new Tensor({ name, dtype: 'float32', dims, data: seededFloats(dims.reduce((p, q) => p * q, 1), seed, 0.4) }));
    const a = g.appendNode(new Node({ opType: 'Conv', name: 'a', inputs: [x, w('a.weight', [8, 3, 3, 3], 1), w('a.bias', [8], 2)], outputs: ['a'], attributes: { pads: { type: 'ints', value: [1, 1, 1, 1] } } }));
    const r = g.appendNode(new Node({ opType: 'Relu', name: 'r', inputs: [a.outputs[0]!], outputs: ['r'] }));
    const b = g.appendNode(new Node({ opType: 'Conv', name: 'b', inputs: [r.outputs[0]!, w('b.weight', [8, 4, 3, 3], 3), w('b.bias', [8], 4)], outputs: ['y'], attributes: { group: { type: 'int', value: 2 } } }));
    b.outputs[0]!.type = tensorType('float32');
    g.outputs.push(b.outputs[0]!);
    const model = new Model({ opsetImports: { '': 17 } });
    model.graph = g;
    const plan = await channelPruning({ amount: 0.5, roundTo: 1, groupedConv: 'divisible' }).plan(model, ctxWith(8, [3, 8, 8]));
    const notRefit = (plan.details as { notRefit: NotRefitReport[] }).notRefit;
    expect(notRefit).toEqual([expect.objectContaining({ layer: 'b', effect: 'group not pruned', reason: expect.stringMatching(/grouped convolution/) })]);
    expect(plan.skipped.some((s) => s.target === notRefit[0]!.group && /not reconstructable/.test(s.reason))).toBe(true);
    expect(plan.actions.filter((a) => a.type === 'remove-channels')).toHaveLength(0);
  });

  it('refuses to run without calibration data, explaining why', async () => {
    await expect(channelPruning({ amount: 0.5 }).plan(redundant(), testContext())).rejects.toThrow(/random:N is accepted but poor/);
    expect(NO_CALIBRATION).toMatch(/least squares/);
    // L1 without a refit needs no data.
    const plan = await channelPruning({ amount: 0.5, roundTo: 1, selection: 'l1', reconstruct: false }).plan(redundant(), testContext());
    expect(plan.actions.length).toBe(1);
  });

  it('without a runtime: reconstruction fails with E_NO_RUNTIME in one line naming channel and @shears/runtime; L1 without a refit needs none', async () => {
    const noRuntime = () => {
      const ctx = testContext();
      ctx.state.set(CALIBRATION, randomDataset(8, [3, 10, 10], 7));
      return ctx;
    };
    const plugin = channelPruning({ amount: 0.5, roundTo: 1 });
    for (const hook of [() => plugin.plan(redundant(), noRuntime()), async () => plugin.requires!(redundant(), noRuntime())]) {
      const e = await hook().then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(ShearsError);
      expect((e as ShearsError).code).toBe('E_NO_RUNTIME');
      expect((e as ShearsError).message).not.toContain('\n');
      expect((e as ShearsError).message).toMatch(/^channel .*@shears\/runtime/);
    }
    const l1 = channelPruning({ amount: 0.5, roundTo: 1, selection: 'l1', reconstruct: false });
    const ctx = noRuntime();
    await l1.requires!(redundant(), ctx);
    const model = redundant();
    const plan = await l1.plan(model, ctx);
    const rm = plan.actions.filter((a) => a.type === 'remove-channels');
    expect(rm).toHaveLength(1);
    expect(rm[0]!.type === 'remove-channels' && rm[0]!.channels).toHaveLength(4);
    expect(plan.actions.some((a) => a.type === 'set-tensor')).toBe(false);
    const out = cloneModel(model);
    applyPlan(out, plan);
    expect(out.graph.initializer('conv1.weight')!.dims).toEqual([4, 3, 3, 3]);
  });

  it('too few calibration rows: warns and raises the ridge term', async () => {
    const warnings: string[] = [];
    const ctx = testContext({ runtime, logger: { debug() {}, info() {}, warn: (m: string) => warnings.push(m), error() {} } as never });
    ctx.state.set(CALIBRATION, randomDataset(2, [3, 10, 10], 1));
    const plan = await channelPruning({ amount: 0.5, roundTo: 1, positionsPerImage: 4 }).plan(redundant(), ctx);
    expect(warnings.some((w) => /raising the ridge term/.test(w))).toBe(true);
    expect((plan.details as { layers: LayerReport[] }).layers[0]!.underdetermined).toBe(true);
  });

  it('passes the conformance kit', async () => {
    await assertConformance({
      factory: channelPruning,
      options: { amount: 0.5, roundTo: 1 },
      badOptions: [{ amount: 1.5 }, { amount: 0.5, selection: 'nope' }, { amount: 0.5, targetMacs: 0.5 }, { amount: 0.5, ridge: -1 }],
      context: { state: (() => ctxWith(16, [3, 8, 8]).state)(), runtime },
    });
  });
});
