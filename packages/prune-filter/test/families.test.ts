// Every architecture family of issue #5, as real torchvision exports: the
// filter strategy at amount 0.3 gives a valid, smaller model whose outputs
// equal the masked original's (pruned channels' consumer weights zeroed)
// within 1e-5 relative, in onnxruntime. Skips when the generated fixtures
// are missing (node scripts/fixtures.mjs).
import { CURRENT_CRITERION, deserializePlan, serializePlan } from '@shears/core';
import { testContext } from '@shears/core/testing';
import { l1 } from '@shears/criteria';
import { fixture, smallFixture } from '@shears/fixtures';
import { readModel } from '@shears/onnx';
import { describe, expect, it } from 'vitest';
import { filterPruning } from '../src/index.js';
import { equivalence, fixtureFeeds } from './helpers.js';

/** family → fixture. ResNet is covered by resnet18 (resnet50 is the benchmark's). */
export const FAMILIES: [string, string][] = [
  ['ResNet', 'resnet18'],
  ['ResNeXt (grouped)', 'resnext50_32x4d'],
  ['MobileNetV2', 'mobilenet_v2'],
  ['MobileNetV3 (SE, HardSwish)', 'mobilenet_v3_small'],
  ['EfficientNet (SiLU, SE)', 'efficientnet_b0'],
  ['DenseNet (Concat chains, BN)', 'densenet121'],
  ['ShuffleNetV2 (Slice, channel shuffle)', 'shufflenet_v2_x1_0'],
  ['SqueezeNet (Concat)', 'squeezenet1_1'],
  ['GoogLeNet (Concat)', 'googlenet'],
  ['RegNet (grouped, SE)', 'regnet_y_400mf'],
  ['VGG (Flatten into Gemm)', 'vgg11_bn'],
  ['MNASNet', 'mnasnet0_5'],
  ['ConvNeXt (LayerNorm, MatMul)', 'convnext_tiny'],
  ['LR-ASPP (segmentation, Resize)', 'lraspp_mobilenet_v3_large'],
  ['U-Net (Resize, Concat skips)', 'tiny_unet'],
];

async function prunes(name: string, file: string, opts: Record<string, unknown> = { amount: 0.3 }) {
  const model = await readModel(file);
  const ctx = testContext();
  ctx.state.set(CURRENT_CRITERION, l1());
  const plan = await filterPruning(opts as never).plan(model, ctx);
  const r = await equivalence(model, deserializePlan(serializePlan(plan)), fixtureFeeds(name, model));
  expect(r.channels, `${name}: channels removed`).toBeGreaterThan(0);
  expect(r.sameOutputShapes).toBe(true);
  expect(r.params[1]).toBeLessThan(r.params[0]);
  expect(r.macs[1]).toBeLessThan(r.macs[0]);
  expect(r.rel, `${name}: relative difference`).toBeLessThan(1e-5);
  return { plan, r };
}

describe('filter pruning at amount 0.3 is exact on every family', () => {
  it('tiny-cnn (BatchNormalization nodes kept)', async () => {
    await prunes('tiny-cnn', smallFixture('tiny-cnn.onnx'));
  });

  for (const [family, name] of FAMILIES) {
    it.skipIf(!fixture(name))(`${family}: ${name}`, async () => {
      await prunes(name, fixture(name)!);
    });
  }
});

describe('other selections on real models', () => {
  it.skipIf(!fixture('resnet18'))('target MACs 0.5, global ranking', async () => {
    const { r } = await prunes('resnet18', fixture('resnet18')!, { targetMacs: 0.5 });
    expect(Math.abs(r.macs[1] / r.macs[0] - 0.5)).toBeLessThanOrEqual(0.02);
  });

  it.skipIf(!fixture('regnet_y_400mf'))('grouped convs keeping channels divisible by the group count', async () => {
    await prunes('regnet_y_400mf', fixture('regnet_y_400mf')!, { amount: 0.3, groupedConv: 'divisible', roundTo: 1 });
  });

  it.skipIf(!fixture('resnet18-dynbatch'))('a dynamic batch axis (Flatten and Gemm with a symbolic batch)', async () => {
    await prunes('resnet18-dynbatch', fixture('resnet18-dynbatch')!, { amount: 0.3, scope: 'global' });
  });
});
