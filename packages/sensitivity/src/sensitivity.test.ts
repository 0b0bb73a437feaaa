// Real model, real data: the Fashion-MNIST CNN fixture on the first few
// hundred t10k images. Worker results must equal in-process results exactly.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline, type Model } from '@shears/core';
import { assertConformance, testContext } from '@shears/core/testing';
import { openDataset, type Dataset } from '@shears/data';
import { fixture } from '@shears/fixtures';
import { readModel } from '@shears/onnx';
import { filterPruning } from '@shears/prune-filter';
import { evaluate } from '@shears/runtime';
import { beforeAll, describe, expect, it } from 'vitest';
import { proposeAmount, proposalTable, scanLayers, scanSensitivity, sensitivity, SENSITIVITY, type SensitivityResult } from './index.js';

const file = fixture('fmnist_cnn');
const dir = process.env.SHEARS_FMNIST_DIR ?? '/usr/share/datasets/fashion-mnist';
const spec = `${dir}:t10k`;
const ready = !!file && existsSync(join(dir, 't10k-images-idx3-ubyte.gz'));
const LIMIT = 300;

describe('proposal', () => {
  it('takes the largest amount within tolerance, 0 when none', () => {
    const pts = [0.1, 0.3, 0.5, 0.7].map((amount, i) => ({ amount, accuracy: [0.9, 0.895, 0.89, 0.7][i]! }));
    expect(proposeAmount(pts, 0.9, 0.01)).toBe(0.5);
    expect(proposeAmount(pts, 0.9, 0.001)).toBe(0.1);
    expect(proposeAmount(pts.slice(3), 0.9, 0.01)).toBe(0);
  });

  it('anchors a key only when, read as a regex, it would match another layer', () => {
    const curves = [
      { layer: 'conv1', points: [{ amount: 0.5, accuracy: 1 }] },
      { layer: 'fc', points: [{ amount: 0.5, accuracy: 0 }] },
    ];
    const layers = ['conv1', 'conv10', 'fc'].map((label) => ({ label, names: [label, `${label}_out`] }));
    expect(proposalTable(curves, 1, 0.01, layers)).toEqual({ '^conv1$': 0.5, fc: 0 });
  });
});

describe.skipIf(!ready)('sensitivity scan on Fashion-MNIST (fmnist_cnn)', () => {
  let model: Model;
  let data: Dataset;
  let filterWorkers: SensitivityResult;

  beforeAll(async () => {
    model = await readModel(file!);
    data = await openDataset(spec, { inputShape: [1, 1, 28, 28] });
    filterWorkers = await scanSensitivity({ model, data, strategy: 'filter', amounts: [0, 0.5, 0.9], limit: LIMIT, workers: 2, strategyOptions: { roundTo: 1 } });
  });

  it('baseline equals @shears/runtime evaluate, and amount 0 equals the baseline exactly', async () => {
    const ref = await evaluate(model, data, { threads: 1, batchSize: 64, limit: LIMIT });
    expect(filterWorkers.samples).toBe(LIMIT);
    expect(filterWorkers.baseline).toBe(ref.accuracy);
    expect(filterWorkers.curves.length).toBe(scanLayers(model, 'filter').length);
    for (const c of filterWorkers.curves) expect(c.points[0]).toEqual({ amount: 0, accuracy: filterWorkers.baseline });
    // Pruning 90% of a layer's filters hurts at least one layer.
    expect(filterWorkers.curves.some((c) => c.points[2]!.accuracy < filterWorkers.baseline - 0.05)).toBe(true);
  });

  it('worker threads give exactly the in-process results (filter)', async () => {
    const inProcess = await scanSensitivity({ model: file!, data: spec, strategy: 'filter', amounts: [0.9, 0.5, 0], limit: LIMIT, workers: 0, strategyOptions: { roundTo: 1 } });
    expect(inProcess.baseline).toBe(filterWorkers.baseline);
    expect(inProcess.curves).toEqual(filterWorkers.curves);
    expect(inProcess.proposal).toEqual(filterWorkers.proposal);
  });

  it('worker threads give exactly the in-process results (unstructured), whatever the worker count', async () => {
    const opts = { model, data, strategy: 'unstructured' as const, amounts: [0, 0.6, 0.95], limit: 200 };
    const [a, b, c] = [await scanSensitivity({ ...opts, workers: 0 }), await scanSensitivity({ ...opts, workers: 1 }), await scanSensitivity({ ...opts, workers: 3 })];
    expect(a.curves.map((c) => c.layer)).toEqual(['/0/Conv', '/2/Conv', '/4/Conv', '/7/Gemm']);
    expect(b.curves).toEqual(a.curves);
    expect(c.curves).toEqual(a.curves);
    expect(c.baseline).toBe(a.baseline);
    for (const cv of a.curves) expect(cv.points[0]!.accuracy).toBe(a.baseline);
    expect(a.curves.some((cv) => cv.points[2]!.accuracy < a.baseline)).toBe(true);
  });

  it('proposes, per layer, the largest amount within tolerance; the table works as amountTable', async () => {
    const r = filterWorkers;
    for (const tol of [0.01, 0.05]) {
      const table = proposalTable(r.curves, r.baseline, tol);
      for (const c of r.curves) {
        const a = table[c.layer]!;
        const ok = c.points.filter((p) => r.baseline - p.accuracy <= tol + 1e-12);
        expect(a).toBe(ok.length ? Math.max(...ok.map((p) => p.amount)) : 0);
      }
    }
    expect(Object.keys(r.proposal).sort()).toEqual(r.curves.map((c) => c.layer).sort());
    // Each label, as a key, prunes its group alone.
    for (const c of r.curves) {
      const plan = await filterPruning({ amountTable: { [c.layer]: 0.5 }, roundTo: 1 }).plan(model, testContext());
      const groups = plan.actions.filter((a) => a.type === 'remove-channels');
      expect(groups).toHaveLength(1);
      expect((groups[0] as { layers: string[] }).layers[0]).toBe(c.layer);
    }
  });

  it('only the layers asked for; clear errors for bad options', async () => {
    const one = await scanSensitivity({ model, data, strategy: 'unstructured', amounts: [0.5], limit: 64, workers: 1, layers: /Gemm/ });
    expect(one.curves.map((c) => c.layer)).toEqual(['/7/Gemm']);
    const bad = (o: object) => scanSensitivity({ model, data, strategy: 'filter', amounts: [0.5], limit: 64, ...o } as never);
    await expect(bad({ amounts: [0.5, 1] })).rejects.toThrow(/^sensitivity: option amounts: every amount must be in \[0, 1\) \(got 1\)$/);
    await expect(bad({ amounts: [] })).rejects.toThrow(/option amounts/);
    await expect(bad({ strategy: 'channel' })).rejects.toThrow(/^sensitivity: option strategy: must be filter or unstructured/);
    await expect(bad({ layers: 'nothing-like-this' })).rejects.toThrow(/option layers: .* matches none of the 3 prunable layers/);
    await expect(bad({ data: await openDataset('random:8', { inputShape: [1, 1, 28, 28] }) })).rejects.toMatchObject({ code: 'E_DATA' });
  });

  it('stops on abort', async () => {
    const ac = new AbortController();
    const p = scanSensitivity({ model, data, strategy: 'unstructured', amounts: [0.1, 0.2, 0.3, 0.4, 0.5], limit: 300, workers: 2, signal: ac.signal, onProgress: (d) => d === 2 && ac.abort() });
    await expect(p).rejects.toMatchObject({ code: 'E_ABORTED' });
  });

  it('the sensitivity pass stores its result in the run state and passes the model through', async () => {
    await assertConformance({
      factory: sensitivity,
      options: { data, amounts: [0.5], limit: 32, workers: 1 },
      model: () => readModel(file!),
      badOptions: [{}, { data: spec, amounts: [1.5] }, { data: spec, strategy: 'channel' }, { data: spec, layers: '(' }, { data: spec, colour: 1 }],
    });
    const r = await pipeline(sensitivity({ data: spec, strategy: 'unstructured', amounts: [0.5, 0.9], limit: 64, workers: 2 })).run(model);
    const s = r.state.get(SENSITIVITY)!;
    expect(s.curves.map((c) => c.points.length)).toEqual([2, 2, 2, 2]);
    expect(s.proposal).toEqual((r.steps[0]!.details as { proposal: unknown }).proposal);
    expect(r.steps[0]!.modified).toBe(false);
    expect((r.steps[0]!.details as { layers: number }).layers).toBe(4);
  });
});
