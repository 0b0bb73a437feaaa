import { readModel } from '@shears/onnx';
import { fixture, smallFixture } from '@shears/fixtures';
import { describe, expect, it } from 'vitest';
import { convertToTflite, verifyTflite } from '../src/index.js';

// Real torchvision exports (scripts/fixtures.mjs): every family converts, runs in
// LiteRT.js and matches onnxruntime within 1e-4 of the output scale (≈35 s for all
// 15 on 2 cores). SHEARS_TFLITE_QUICK=1 runs a subset that still covers every op path.
const QUICK = ['resnet18', 'mobilenet_v3_small', 'efficientnet_b0', 'shufflenet_v2_x1_0', 'squeezenet1_1', 'regnet_y_400mf', 'mnasnet0_5', 'lraspp_mobilenet_v3_large', 'tiny_unet'];
const REST = ['resnext50_32x4d', 'mobilenet_v2', 'densenet121', 'googlenet', 'vgg11_bn', 'convnext_tiny'];
const families = process.env.SHEARS_TFLITE_QUICK === '1' ? QUICK : [...QUICK, ...REST];

describe('CNN families export to TFLite and match onnxruntime', () => {
  it('tiny-cnn (BatchNormalization kept in the ONNX graph)', async () => {
    const m = await readModel(smallFixture('tiny-cnn.onnx'));
    const conv = convertToTflite(m);
    expect(conv.rewrites.batchNormsFolded).toBe(4);
    const v = await verifyTflite(m, conv);
    expect(v.maxRelDiff).toBeLessThan(1e-4);
  });

  for (const name of families) {
    it.skipIf(!fixture(name))(name, async () => {
      const m = await readModel(fixture(name)!);
      const conv = convertToTflite(m);
      const v = await verifyTflite(m, conv);
      expect(v.maxRelDiff, `${name}: ${JSON.stringify(conv.ops)}`).toBeLessThan(1e-4);
      // Layout: NCHW in and out, so exactly one TRANSPOSE at each 4-D boundary; shufflenet adds one per channel shuffle.
      const boundary = conv.outputs[0]!.shape.length === 4 ? 2 : 1;
      expect(conv.ops.TRANSPOSE ?? 0).toBe(boundary + (name.startsWith('shufflenet') ? 16 : 0));
    });
  }

  // float16 weights: within 1e-2 of the float32 model, and exact (1e-4) against the
  // same model with its weights rounded to float16, so the exporter adds no error of its own.
  // (resnet50's random weights lose 1.5e-2 to float16 rounding alone, in onnxruntime too.)
  for (const name of ['mobilenet_v2', 'densenet121']) {
    it.skipIf(!fixture(name))(`${name} with --fp16: half the size, within 1e-2`, async () => {
      const m = await readModel(fixture(name)!);
      const dense = convertToTflite(m);
      const conv = convertToTflite(m, { fp16: true });
      expect(conv.bytes.byteLength).toBeLessThan(dense.bytes.byteLength * 0.52);
      expect(conv.ops.DEQUANTIZE).toBeGreaterThan(50);
      const v = await verifyTflite(m, conv);
      expect(v.maxRelDiff).toBeLessThan(1e-2);
      expect(v.fp16Reference!.maxRelDiff).toBeLessThan(1e-4);
    });
  }
});
