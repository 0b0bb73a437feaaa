// Before any training, the tfjs translation's forward pass equals
// onnxruntime's within 1e-4 (relative to the output's scale) on every real
// model of the filter-pruning families. The fixtures are torchvision exports
// made by scripts/export_models.py (node scripts/fixtures.mjs); without them
// these tests skip.
import { fixture } from '@shears/fixtures';
import { readModel } from '@shears/onnx';
import { Session } from '@shears/runtime';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BackendInfo } from './backend.js';
import { TfGraph } from './graph/graph.js';
import { readF32, testBackend } from './test-helpers.js';

/**
 * Every supported real model. With SHEARS_PARITY=ci only the subset below runs
 * (see README: forward passes at 224×224 on the pure-JS backends take seconds each).
 */
const MODELS = [
  'resnet18',
  'mobilenet_v2',
  'mobilenet_v3_small',
  'efficientnet_b0',
  'shufflenet_v2_x1_0',
  'squeezenet1_1',
  'densenet121',
  'googlenet',
  'regnet_y_400mf',
  'mnasnet0_5',
  'convnext_tiny',
  'tiny_unet',
  'lraspp_mobilenet_v3_large',
  'fmnist_cnn',
];
const CI_SUBSET = new Set(['mobilenet_v3_small', 'shufflenet_v2_x1_0', 'squeezenet1_1', 'regnet_y_400mf', 'mnasnet0_5', 'tiny_unet', 'lraspp_mobilenet_v3_large', 'fmnist_cnn']);
const chosen = process.env.SHEARS_PARITY === 'ci' ? MODELS.filter((m) => CI_SUBSET.has(m)) : MODELS;

let backend: BackendInfo;
beforeAll(async () => {
  backend = await testBackend();
});

describe('forward parity with onnxruntime on real models', () => {
  it.each(chosen)('%s', async (name) => {
    const file = fixture(name);
    if (!file) return; // fixtures not generated on this machine
    const model = await readModel(file);
    const input = model.graph.inputs[0]!;
    const dims = input.shape!.map((d) => (typeof d === 'number' ? d : 1));
    const x = readF32(file.replace(/\.onnx$/, '.input.bin'));
    const s = await Session.create(model, { threads: 1 });
    let ref: Float32Array;
    try {
      ref = (await s.run({ [input.name]: { dims, data: x } }))[s.outputNames[0]!]!.data as Float32Array;
    } finally {
      await s.release();
    }
    const tf = backend.tf;
    const g = TfGraph.build(model, { backend });
    try {
      const t = tf.tidy(() => g.forward(tf.tensor(x, dims), { training: false }).outputs[g.outputNames[0]!]!.clone());
      const got = t.dataSync() as Float32Array;
      let maxAbs = 0;
      let maxRef = 0;
      for (let i = 0; i < ref.length; i++) {
        maxAbs = Math.max(maxAbs, Math.abs(ref[i]! - got[i]!));
        maxRef = Math.max(maxRef, Math.abs(ref[i]!));
      }
      t.dispose();
      expect(got.length).toBe(ref.length);
      expect(maxAbs / maxRef).toBeLessThan(1e-4);
    } finally {
      g.dispose();
    }
  });
});
