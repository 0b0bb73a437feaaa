// Real model, real data: a small CNN trained on Fashion-MNIST (fixture
// fmnist_cnn, scripts/export_models.py), pruned one-shot without fine-tuning,
// evaluated on the full t10k set. Calibration: the first 128 train images.
// Every number here is deterministic on one machine (measured twice, equal);
// the margins asserted leave room for other CPUs' float rounding.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { applyPlan, CALIBRATION, cloneModel, CURRENT_CRITERION, type CriterionPlugin, type Model } from '@shears/core';
import { openDataset } from '@shears/data';
import { fixture } from '@shears/fixtures';
import { readModel } from '@shears/onnx';
import { evaluate } from '@shears/runtime';
import { beforeAll, describe, expect, it } from 'vitest';
import { l1 } from '@shears/criteria';
import { sparsegpt } from './criteria/sparsegpt.js';
import { wanda } from './criteria/wanda.js';
import { unstructuredPruning, type UnstructuredOptions } from './strategy.js';
import { context } from './test-helpers.js';

const file = fixture('fmnist_cnn');
const dir = process.env.SHEARS_FMNIST_DIR ?? '/usr/share/datasets/fashion-mnist';
const ready = !!file && existsSync(join(dir, 't10k-images-idx3-ubyte.gz')) && existsSync(join(dir, 'train-images-idx3-ubyte.gz'));

describe.skipIf(!ready)('accuracy on Fashion-MNIST (fmnist_cnn, t10k)', () => {
  let model: Model;
  let test: Awaited<ReturnType<typeof openDataset>>;
  let train: Awaited<ReturnType<typeof openDataset>>;
  const accuracy = async (m: Model) => (await evaluate(m, test, { batchSize: 1000, threads: 2 })).accuracy * 100;

  async function pruned(crit: () => CriterionPlugin, options: UnstructuredOptions): Promise<number> {
    const m = cloneModel(model);
    const ctx = context();
    ctx.state.set(CALIBRATION, train);
    ctx.state.set(CURRENT_CRITERION, crit());
    const plan = await unstructuredPruning(options).plan(m, ctx);
    applyPlan(m, plan);
    return accuracy(m);
  }

  beforeAll(async () => {
    model = await readModel(file!);
    test = await openDataset(`${dir}:t10k`, { inputShape: [1, 1, 28, 28] });
    train = await openDataset(`${dir}:train`, { inputShape: [1, 1, 28, 28] });
  });

  it('the dense model scores what the manifest recorded from PyTorch', async () => {
    const manifest = JSON.parse(readFileSync(join(dirname(file!), 'manifest.json'), 'utf8')) as { name: string; testAccuracy: number }[];
    const recorded = manifest.find((e) => e.name === 'fmnist_cnn')!.testAccuracy * 100;
    const dense = await accuracy(model);
    expect(dense).toBeGreaterThan(85);
    expect(Math.abs(dense - recorded)).toBeLessThan(0.1);
  });

  // Measured (t10k accuracy %, dense 88.35):
  //   50%, every layer:           l1 87.17   wanda 87.43   sparsegpt 88.22
  //   50%, first/last kept dense: l1 88.04   wanda 88.04   sparsegpt 88.19
  //   80%, first/last kept dense: l1 77.33   wanda 84.38   sparsegpt 86.80
  it('at 50% of every layer, Wanda and SparseGPT lose less than magnitude pruning', async () => {
    const opts = { amount: 0.5, keepFirst: false, keepLast: false };
    const mag = await pruned(l1, opts);
    const wan = await pruned(wanda, opts);
    const gpt = await pruned(sparsegpt, opts);
    expect(wan).toBeGreaterThan(mag + 0.1);
    expect(gpt).toBeGreaterThan(mag + 0.5);
  });

  it('at 80% the gap is wide: Wanda +5 points, SparseGPT +7 over magnitude', async () => {
    const opts = { amount: 0.8 };
    const mag = await pruned(l1, opts);
    const wan = await pruned(wanda, opts);
    const gpt = await pruned(sparsegpt, opts);
    expect(wan).toBeGreaterThan(mag + 5);
    expect(gpt).toBeGreaterThan(mag + 7);
    expect(gpt).toBeGreaterThan(wan + 1);
  });
});
