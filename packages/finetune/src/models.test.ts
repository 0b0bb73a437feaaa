// Training steps on real models: every op's gradient path runs (depthwise and
// grouped convs with Shears' gradients, channel shuffle, squeeze-excitation,
// concat-heavy blocks, train-mode BatchNormalization in densenet).
// Two steps on the same two images must lower the loss.
import { fixture } from '@shears/fixtures';
import { readModel } from '@shears/onnx';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BackendInfo } from './backend.js';
import { memoryDataset, randn, seeded, testBackend } from './test-helpers.js';
import { finetune } from './train.js';

const MODELS = ['mobilenet_v3_small', 'shufflenet_v2_x1_0', 'regnet_y_400mf', 'squeezenet1_1', 'googlenet', 'mnasnet0_5'];

let backend: BackendInfo;
beforeAll(async () => {
  backend = await testBackend();
});

describe('training steps on real models', () => {
  it.each(MODELS)('%s', async (name) => {
    const file = fixture(name);
    if (!file) return;
    const m = await readModel(file);
    const x = randn(2 * 3 * 224 * 224, seeded(1));
    const data = memoryDataset('random', x, [3, 224, 224], Int32Array.of(1, 2), 1000);
    const r = await finetune(m, { data, epochs: 2, batchSize: 2, lr: 1e-3, backend });
    expect(r.epochs[1]!.trainLoss).toBeLessThan(r.epochs[0]!.trainLoss);
    expect(r.trainable.tensors).toBeGreaterThan(10);
  });
});
