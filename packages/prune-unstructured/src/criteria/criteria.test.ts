import { applyPlan, CALIBRATION, CURRENT_CRITERION, type CriterionPlugin, type Model, type ScoreTarget } from '@shears/core';
import { assertConformance, tinyModel } from '@shears/core/testing';
import { createRuntime } from '@shears/runtime';
import { describe, expect, it } from 'vitest';
import { unstructuredPruning } from '../strategy.js';
import { chainModel, context, memDataset, rng } from '../test-helpers.js';
import { l1, random } from '@shears/criteria';
import { sparsegpt } from './sparsegpt.js';
import { wanda } from './wanda.js';

const target = (model: Model, node: string, granularity: ScoreTarget['granularity'] = { kind: 'element' }): ScoreTarget => {
  const n = model.graph.nodes.find((x) => x.name === node)!;
  return { model, node: n, input: 1, weight: n.inputs[1]!.constValue!, granularity };
};

const runtime = createRuntime();

describe('criteria: conformance', () => {
  it('l1 and random', async () => {
    await assertConformance({ factory: l1, badOptions: [{ p: 2 }] });
    await assertConformance({ factory: random, options: { seed: 1 }, badOptions: [{ seed: -1 }, { seed: 0.5 }] });
  });

  it('wanda (random:32 calibration when none is given)', async () => {
    await assertConformance({ factory: wanda, badOptions: [{ samples: 0 }, { batchSize: 'big' }], context: { runtime } });
  });

  it('sparsegpt', async () => {
    await assertConformance({ factory: sparsegpt, options: { samples: 8 }, badOptions: [{ blocksize: 0 }, { dampening: 0 }, { dampening: 2 }, { maxRows: -1 }], context: { runtime } });
  });
});

describe('l1 and random', () => {
  it('l1 is |w|; channel scores sum it', async () => {
    const m = tinyModel();
    const t = target(m, 'fc');
    const w = t.weight.floats();
    const s = await l1().score(t, context());
    expect(Array.from(s)).toEqual(Array.from(w, Math.abs));
    const ch = await l1().score(target(m, 'fc', { kind: 'channel', axis: 0 }), context());
    expect(ch[3]).toBeCloseTo(w.subarray(48, 64).reduce((a, x) => a + Math.abs(x), 0), 5);
  });

  it('random is seeded and depends on the seed', async () => {
    const t = target(tinyModel(), 'conv2');
    const a = await random({ seed: 1 }).score(t, context());
    expect(await random({ seed: 1 }).score(t, context())).toEqual(a);
    expect(await random({ seed: 2 }).score(t, context())).not.toEqual(a);
    expect(a.every((x) => x >= 0 && x <= 1)).toBe(true);
  });
});

describe('wanda', () => {
  // Input 2×3×3 planes, constant per (sample, channel): v[s][c].
  const v = [
    [1, 2],
    [3, 0],
  ];
  const x = Float32Array.from({ length: 2 * 2 * 9 }, (_, i) => v[Math.floor(i / 18)]![Math.floor(i / 9) % 2]!);
  const model = () =>
    chainModel([1, 2, 3, 3], [
      { op: 'Conv', w: [4, 2, 2, 2], values: (i) => ((i * 37) % 11) / 5 - 1 },
      { op: 'Relu' },
      { op: 'Conv', w: [4, 2, 1, 1], attrs: { group: 2 }, values: (i) => [0.5, -0.25, 0.1, 2, -1, 0.75, 0.3, -0.2][i]! },
    ]);

  it('equals |W| × RMS of the input channel, on a hand-computed conv', async () => {
    const m = model();
    const ctx = context();
    ctx.state.set(CALIBRATION, memDataset(x, [2, 3, 3]));
    const crit = wanda();
    // Layer 1 input: rms_c = sqrt(mean over samples and positions of x²).
    const rms0 = Math.sqrt((1 + 9) / 2); // channel 0: 1 then 3
    const rms1 = Math.sqrt((4 + 0) / 2); // channel 1: 2 then 0
    const w1 = m.graph.initializer('l0.weight')!.floats();
    const s1 = await crit.score(target(m, 'l0'), ctx);
    // W[k, c, i, j]: c = floor(e / 4) % 2
    for (let e = 0; e < 32; e++) expect(s1[e]).toBeCloseTo(Math.abs(w1[e]!) * (Math.floor(e / 4) % 2 === 0 ? rms0 : rms1), 5);
    // Layer 2 (group 2) input: relu(conv) of constant planes is constant over the 2×2 output: y_k = Σ_c v_c·Σ_ij W[k,c,i,j].
    const relu = (s: number, k: number) => Math.max(0, v[s]![0]! * sumK(w1, k, 0) + v[s]![1]! * sumK(w1, k, 1));
    const rms = [0, 1, 2, 3].map((k) => Math.sqrt((relu(0, k) ** 2 + relu(1, k) ** 2) / 2));
    const s2 = await crit.score(target(m, 'l2'), ctx);
    const w2 = [0.5, -0.25, 0.1, 2, -1, 0.75, 0.3, -0.2];
    // W2[k, c]: group g = floor(k / 2), input channel 2g + c.
    const expected = w2.map((w, e) => Math.abs(w) * rms[2 * Math.floor(Math.floor(e / 2) / 2) + (e % 2)]!);
    expect(Array.from(s2).map((a) => +a.toFixed(5))).toEqual(expected.map((a) => +Math.fround(a).toFixed(5)));
    expect(ctx.warnings).toEqual([]);
  });

  it('warns when it falls back to random calibration data', async () => {
    const ctx = context();
    await wanda().score(target(model(), 'l0'), ctx);
    expect(ctx.warnings.join('\n')).toMatch(/wanda: no calibration data given \(--calib, or calibration: in a recipe\); using random:32\. Random data is a poor calibration set/);
  });

  it('refuses calibration data that does not fit the input', async () => {
    const ctx = context();
    ctx.state.set(CALIBRATION, memDataset(new Float32Array(20), [5, 2]));
    await expect(wanda().score(target(model(), 'l0'), ctx)).rejects.toThrow(/wanda: calibration data does not fit the model: mem: samples are 5x2 but model input input expects 2x3x3/);
  });
});

function sumK(w: Float32Array, k: number, c: number): number {
  let s = 0;
  for (let i = 0; i < 4; i++) s += w[k * 8 + c * 4 + i]!;
  return s;
}

describe('sparsegpt', () => {
  /** A Gemm layer W[8, 32] (transB) fed correlated inputs: x = z·A + 0.05·noise, z in R^6. */
  function correlated(seed: number) {
    const r = rng(seed);
    const gauss = () => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
    const a = Array.from({ length: 6 * 32 }, gauss);
    const n = 256;
    const x = new Float32Array(n * 32);
    for (let s = 0; s < n; s++) {
      const z = Array.from({ length: 6 }, gauss);
      for (let j = 0; j < 32; j++) {
        let v = 0.05 * gauss();
        for (let q = 0; q < 6; q++) v += z[q]! * a[q * 32 + j]!;
        x[s * 32 + j] = v;
      }
    }
    const model = chainModel([1, 32], [{ op: 'Gemm', w: [8, 32], attrs: { transB: 1 }, values: () => gauss() }]);
    return { model, x };
  }

  async function outputError(crit: CriterionPlugin, seed: number, options: Parameters<typeof unstructuredPruning>[0]) {
    const { model, x } = correlated(seed);
    const w0 = Float32Array.from(model.graph.initializer('l0.weight')!.floats());
    const ctx = context();
    ctx.state.set(CALIBRATION, memDataset(x, [32]));
    ctx.state.set(CURRENT_CRITERION, crit);
    const plan = await unstructuredPruning({ keepFirst: false, keepLast: false, ...options }).plan(model, ctx);
    applyPlan(model, plan);
    const w = model.graph.initializer('l0.weight')!.floats();
    let err = 0;
    let ref = 0;
    for (let s = 0; s < 256; s++) {
      for (let k = 0; k < 8; k++) {
        let a = 0;
        let b = 0;
        for (let j = 0; j < 32; j++) {
          a += x[s * 32 + j]! * w0[k * 32 + j]!;
          b += x[s * 32 + j]! * w[k * 32 + j]!;
        }
        err += (a - b) ** 2;
        ref += a * a;
      }
    }
    return { rel: err / ref, w, plan };
  }

  it('reconstructs a layer with correlated inputs far better than magnitude pruning', async () => {
    for (const seed of [1, 2, 3]) {
      const mag = await outputError(l1(), seed, { amount: 0.5 });
      const gpt = await outputError(sparsegpt(), seed, { amount: 0.5 });
      expect(gpt.w.filter((v) => v === 0).length).toBe(128);
      expect(gpt.plan.actions.map((a) => a.type)).toEqual(['mask', 'set-tensor']);
      expect(gpt.rel).toBeLessThan(mag.rel / 5);
    }
  });

  it('with 2:4, every group of the reduction axis keeps 2 and the error still beats magnitude', async () => {
    const mag = await outputError(l1(), 4, { pattern: '2:4' });
    const gpt = await outputError(sparsegpt(), 4, { pattern: '2:4' });
    for (let g = 0; g < 64; g++) expect(gpt.w.subarray(g * 4, g * 4 + 4).filter((v) => v !== 0).length).toBe(2);
    expect(gpt.rel).toBeLessThan(mag.rel);
  });
});

describe('without a runtime', () => {
  /** A context with calibration data but no runtime. */
  const noRuntime = () => {
    const ctx = context({ runtime: undefined });
    ctx.state.set(CALIBRATION, memDataset(new Float32Array(4 * 3 * 8 * 8).map((_, i) => Math.sin(i)), [3, 8, 8]));
    return ctx;
  };
  const refusal = (hook: () => Promise<unknown>) =>
    hook().then(
      () => undefined,
      (err: unknown) => err,
    );
  const expectNoRuntime = (e: unknown, name: string) => {
    expect(e, `${name} ran without a runtime`).toBeInstanceOf(Error);
    expect((e as { code?: string }).code).toBe('E_NO_RUNTIME');
    expect((e as Error).message).not.toContain('\n');
    expect((e as Error).message).toMatch(new RegExp(`^${name} .*npm install @shears/runtime`));
  };

  /** Conv → ReLU → Conv → ReLU → GAP → Gemm with every shape known, so each layer has a matrix view (tinyModel's inner shapes are unknown). */
  const shaped = () =>
    chainModel([1, 3, 8, 8], [
      { op: 'Conv', w: [4, 3, 3, 3], attrs: { pads: [1, 1, 1, 1] } },
      { op: 'Relu' },
      { op: 'Conv', w: [4, 4, 3, 3], attrs: { pads: [1, 1, 1, 1] } },
      { op: 'Relu' },
      { op: 'GlobalAveragePool' },
      { op: 'Flatten' },
      { op: 'Gemm', w: [10, 4], attrs: { transB: 1 } },
    ]);

  for (const factory of [wanda, sparsegpt]) {
    it(`${factory.pluginName}: prepare(), score() and the strategy fail with E_NO_RUNTIME naming the plugin and @shears/runtime`, async () => {
      const name = factory.pluginName!;
      const m = shaped();
      expectNoRuntime(await refusal(() => factory({ samples: 4 }).score(target(m, 'l2'), noRuntime())), name);
      expectNoRuntime(await refusal(() => factory({ samples: 4 }).prepare!(m, [target(m, 'l2')], noRuntime())), name);
      const ctx = noRuntime();
      ctx.state.set(CURRENT_CRITERION, factory({ samples: 4 }));
      expectNoRuntime(await refusal(() => unstructuredPruning({ amount: 0.5 }).plan(m, ctx)), name);
    });
  }

  it('sparsegpt: reconstruct() fails the same way', async () => {
    const m = shaped();
    expectNoRuntime(await refusal(() => sparsegpt({ samples: 4 }).reconstruct!(target(m, 'l2'), { count: 10 }, noRuntime())), 'sparsegpt');
  });

  it('l1 and random (data-free) prune with no runtime at all', async () => {
    for (const crit of [undefined, l1(), random({ seed: 3 })]) {
      const m = tinyModel();
      const ctx = context({ runtime: undefined });
      if (crit) ctx.state.set(CURRENT_CRITERION, crit);
      const plan = await unstructuredPruning({ amount: 0.5, keepFirst: false, keepLast: false }).plan(m, ctx);
      expect(plan.criterion).toBe(crit?.name ?? 'l1');
      applyPlan(m, plan);
      for (const name of ['conv1.weight', 'conv2.weight', 'fc.weight']) {
        const w = m.graph.initializer(name)!.floats();
        expect(w.filter((x) => x === 0).length, name).toBe(Math.round(w.length / 2));
      }
    }
  });
});
