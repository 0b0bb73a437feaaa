import type { ReportData } from '../src/index.js';

/** A layer name that would run script if anything were not escaped. */
export const EVIL = '</script><img src=x onerror=alert(1)>';

/** Realistic data: a small Fashion-MNIST CNN, filter-pruned to ~50% MACs, fine-tuned and exported. */
export function sampleReport(): ReportData {
  const layers = [
    { name: 'conv1', op: 'Conv', paramsBefore: 320, paramsAfter: 176, sparsity: 0.02, channelsBefore: 32, channelsAfter: 16 },
    { name: 'conv2', op: 'Conv', paramsBefore: 18496, paramsAfter: 4640, sparsity: 0.05, channelsBefore: 64, channelsAfter: 32 },
    { name: 'conv3', op: 'Conv', paramsBefore: 73856, paramsAfter: 27712, sparsity: 0.11, channelsBefore: 128, channelsAfter: 96 },
    { name: EVIL, op: 'Conv', paramsBefore: 36928, paramsAfter: 18496, sparsity: 0.5, channelsBefore: 64, channelsAfter: 32 },
    { name: 'fc1', op: 'Gemm', paramsBefore: 401536, paramsAfter: 200768, sparsity: 0.5, channelsBefore: 128, channelsAfter: 128 },
    { name: 'fc2', op: 'Gemm', paramsBefore: 1290, paramsAfter: 1290, sparsity: 0, channelsBefore: 10, channelsAfter: 10 },
  ];
  const amounts = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
  const curve = (layer: string, k: number) => ({ layer, points: [{ amount: 0, accuracy: 0.912 }, ...amounts.map((a) => ({ amount: a, accuracy: +(0.912 - k * a ** 3).toFixed(4) }))] });
  return {
    version: 1,
    title: 'tiny-cnn on Fashion-MNIST',
    model: 'examples/models/fashion-cnn.onnx',
    generatedAt: '2026-11-28T13:40:00.000Z',
    summary: {
      before: { params: 532426, nonzeroParams: 532100, macs: 11_780_000, bytes: 2_129_704, latencyMs: 0.92, accuracy: 0.912 },
      after: { params: 253082, nonzeroParams: 228450, macs: 5_610_000, bytes: 1_012_328, latencyMs: 0.49, accuracy: 0.9081 },
    },
    layers,
    sensitivity: [curve('conv1', 0.9), curve('conv2', 0.35), curve('conv3', 0.2), curve(EVIL, 0.12), curve('fc1', 0.05)],
    runs: [
      { name: 'dense', accuracy: 0.912, macs: 11_780_000, latencyMs: 0.92, bytes: 2_129_704 },
      { name: 'filter 50% MACs', accuracy: 0.861, macs: 5_610_000, latencyMs: 0.5, bytes: 1_012_328 },
      { name: 'filter + fine-tune', accuracy: 0.9081, macs: 5_610_000, latencyMs: 0.49, bytes: 1_012_328 },
      { name: 'ONNX fp16', accuracy: 0.908, macs: 5_610_000, latencyMs: 0.47, bytes: 508_020 },
      { name: 'TFLite', accuracy: 0.9079, macs: 5_610_000, bytes: 1_020_112 },
    ],
    exports: {
      tflite: { path: 'out/fashion-cnn.tflite', bytes: 1_020_112, ops: { CONV_2D: 4, MAX_POOL_2D: 2, FULLY_CONNECTED: 2, RESHAPE: 1, SOFTMAX: 1 }, maxAbsDiff: 3.1e-6 },
      tensorrt: {
        compliantFraction: 0.4,
        layers: [
          { name: 'conv1', eligible: false, compliant: false, reason: 'input channels 1 < 16' },
          { name: 'conv2', eligible: true, compliant: false, reason: 'not 2:4 (dense)' },
          { name: 'conv3', eligible: true, compliant: false, reason: 'not 2:4 (11% sparse)' },
          { name: EVIL, eligible: true, compliant: true, reason: '2:4 along input channels' },
          { name: 'fc1', eligible: true, compliant: true, reason: '2:4 along input features' },
          { name: 'fc2', eligible: true, compliant: false, reason: 'output features 10 not a multiple of 8' },
        ],
      },
    },
    plans: [{ strategy: 'filter', criterion: 'l1', actions: 4, removedChannels: 160, maskedWeights: 0, skipped: [{ target: 'fc2', reason: 'feeds a graph output' }] }],
    notes: ['Latency: onnxruntime-node, CPU, batch 1, 200 runs after 20 warm-up.'],
  };
}

/** A detector's run: dense, pruned before fine-tuning, distilled, exported (mAP instead of accuracy, AP per class). */
export function sampleDetectReport(): ReportData {
  const perClass = (aps: [number | null, number | null][]) => aps.map(([ap, ap50], c) => ({ class: c, ap, ap50, gt: [120, 95, 0][c]! }));
  return {
    version: 1,
    title: 'detector on synthetic MNIST boxes',
    model: 'examples/detect/detector.onnx',
    summary: {
      before: { params: 1_020_000, nonzeroParams: 1_019_000, macs: 812_000_000, bytes: 4_100_000, latencyMs: 21.4, map: 0.612, map50: 0.874 },
      after: { params: 512_000, nonzeroParams: 511_000, macs: 404_000_000, bytes: 2_060_000, latencyMs: 12.9, map: 0.603, map50: 0.869 },
    },
    runs: [
      { name: 'input (dense)', map: 0.612, map50: 0.874, perClass: perClass([[0.63, 0.88], [0.594, 0.868], [null, null]]), macs: 812_000_000, latencyMs: 21.4, bytes: 4_100_000 },
      { name: 'pruned, before fine-tuning', map: 0.318, map50: 0.551, perClass: perClass([[0.35, 0.58], [0.286, 0.522], [null, null]]), macs: 404_000_000, latencyMs: 13.1, bytes: 2_070_000 },
      { name: 'onnx-export: detector.pruned.onnx', map: 0.603, map50: 0.869, perClass: perClass([[0.62, 0.88], [0.586, 0.858], [null, null]]), macs: 404_000_000, latencyMs: 12.9, bytes: 2_060_000 },
      { name: 'tflite-export: detector.pruned.tflite (litert, batch 1)', map: 0.6028, map50: 0.869, perClass: perClass([[0.6196, 0.88], [0.586, 0.858], [null, null]]), macs: 404_000_000, latencyMs: 30.2, bytes: 2_080_000 },
    ],
    notes: ['mAP: COCO mAP@0.5 and mAP@0.5:0.95 on the YOLO folder val (200 images).'],
  };
}
