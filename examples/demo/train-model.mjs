#!/usr/bin/env node
// Trains the demo's embedded classifier from scratch with Shears' own
// fine-tune runner (@shears/finetune on tfjs) on Fashion-MNIST (Debian's
// dataset-fashion-mnist; MIT licence, see examples/demo/README.md), and writes
//   examples/demo/fmnist-cnn.onnx   the model (inputs: pixels / 255, N×1×28×28)
//   examples/demo/val.npz           a labelled held-out set (from t10k)
//   examples/demo/train.npz         a training subset for the demo's fine-tuning
// Run after `pnpm build`:
//   node examples/demo/train-model.mjs [--epochs 6] [--limit N] [--out dir]
// Deterministic for a given seed and backend. The architecture keeps channel
// counts multiples of 16, the SIMD block width onnxruntime's CPU convs use,
// so that pruning channels in steps of 16 turns MACs into latency.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Graph, Model, Node, Tensor, Value } from '@shears/core';
import { openDataset, writeNpz } from '@shears/data';
import { finetune } from '@shears/finetune';
import { writeModel } from '@shears/onnx';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const arg = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const FMNIST = '/usr/share/datasets/fashion-mnist';
const outDir = arg('out', here);
const epochs = Number(arg('epochs', '6'));
const limit = arg('limit') ? Number(arg('limit')) : undefined;
const widths = arg('widths', '32,64,64,128').split(',').map(Number);
const VAL_SIZE = Number(arg('val', '2000'));
const TRAIN_SUBSET = Number(arg('train-subset', '10000'));

// Seeded Gaussian init (He), so the run is reproducible.
let s = 7;
const uniform = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
const randn = (n, std) =>
  Float32Array.from({ length: n }, () => std * Math.sqrt(-2 * Math.log(uniform() || 1e-9)) * Math.cos(2 * Math.PI * uniform()));
const size = (dims) => dims.reduce((a, b) => a * b, 1);

function buildModel([c1, c2, c3, c4]) {
  const g = new Graph('fmnist_cnn');
  const x = g.addInput(new Value('input', { kind: 'tensor', dtype: 'float32', shape: ['batch', 1, 28, 28] }));
  const init = (name, dims, fill) =>
    g.addInitializer(new Tensor({ name, dtype: 'float32', dims, data: typeof fill === 'number' ? new Float32Array(size(dims)).fill(fill) : fill }));
  const node = (opType, name, inputs, attributes) => g.appendNode(new Node({ opType, name, inputs, outputs: [`${name}.y`], attributes })).outputs[0];
  const ints = (value) => ({ type: 'ints', value });
  const block = (h, name, cin, cout, stride) => {
    h = node('Conv', name, [h, init(`${name}.weight`, [cout, cin, 3, 3], randn(cout * cin * 9, Math.sqrt(2 / (9 * cin))))], {
      kernel_shape: ints([3, 3]),
      strides: ints([stride, stride]),
      pads: ints([1, 1, 1, 1]),
    });
    h = node('BatchNormalization', `${name}.bn`, [h, init(`${name}.bn.scale`, [cout], 1), init(`${name}.bn.bias`, [cout], 0), init(`${name}.bn.mean`, [cout], 0), init(`${name}.bn.var`, [cout], 1)], {
      epsilon: { type: 'float', value: 1e-5 },
    });
    return node('Relu', `${name}.relu`, [h]);
  };
  let h = block(x, 'conv1', 1, c1, 1); // c1 × 28 × 28
  h = block(h, 'conv2', c1, c2, 2); //      c2 × 14 × 14
  h = block(h, 'conv3', c2, c3, 1); //      c3 × 14 × 14
  h = block(h, 'conv4', c3, c4, 2); //      c4 × 7 × 7
  h = node('GlobalAveragePool', 'pool', [h]);
  h = node('Flatten', 'flatten', [h]);
  const y = g.appendNode(
    new Node({ opType: 'Gemm', name: 'fc', inputs: [h, init('fc.weight', [10, c4], randn(10 * c4, Math.sqrt(1 / c4))), init('fc.bias', [10], 0)], outputs: ['logits'], attributes: { transB: { type: 'int', value: 1 } } }),
  ).outputs[0];
  y.type = { kind: 'tensor', dtype: 'float32', shape: ['batch', 10] };
  g.outputs.push(y);
  return new Model({ graph: g, opsetImports: { '': 13 }, producerName: 'shears examples/demo/train-model.mjs' });
}

/** The first `n` samples of a dataset as {x, y} arrays (uint8 pixels to keep files small). */
async function take(ds, n, skip = 0) {
  const x = new Uint8Array(n * 784);
  const y = new Uint8Array(n);
  let i = 0;
  let seen = 0;
  for await (const b of ds.batches(500)) {
    for (let k = 0; k < b.dims[0] && i < n; k++, seen++) {
      if (seen < skip) continue;
      for (let p = 0; p < 784; p++) x[i * 784 + p] = Math.round(b.x[k * 784 + p] * 255);
      y[i++] = b.y[k];
    }
    if (i >= n) break;
  }
  return { x, y };
}

const train = await openDataset(`${FMNIST}:train`);
const test = await openDataset(`${FMNIST}:t10k`);
const model = buildModel(widths);
const t0 = performance.now();
const r = await finetune(model, {
  data: train,
  val: test,
  valLimit: VAL_SIZE,
  epochs,
  limit,
  batchSize: 64,
  optimizer: 'adam',
  lr: 0.003,
  lrSchedule: 'cosine',
  warmupSteps: 100,
  bn: 'train',
  masks: 'none',
  restoreBest: false, // val is the demo's held-out set: no model selection on it
  seed: 1,
  backend: arg('backend', 'auto'),
  onEpoch: (e) => console.log(`epoch ${e.epoch}: loss ${e.trainLoss.toFixed(4)}, val ${(100 * (e.valAccuracy ?? 0)).toFixed(2)}%, ${e.stepsPerSecond.toFixed(1)} steps/s, ${e.seconds.toFixed(0)} s`),
});
console.log(`trained on ${r.backend} in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
mkdirSync(outDir, { recursive: true });
await writeModel(r.model, join(outDir, 'fmnist-cnn.onnx'));
// Held-out: the first VAL_SIZE t10k images (the ones validated above); the
// fine-tuning subset comes from the train split, so the two never overlap.
const val = await take(test, VAL_SIZE);
writeNpz(join(outDir, 'val.npz'), { x: { dtype: 'uint8', shape: [VAL_SIZE, 1, 28, 28], data: val.x }, y: { dtype: 'uint8', shape: [VAL_SIZE], data: val.y } }, { compress: true });
const sub = await take(train, TRAIN_SUBSET);
writeNpz(join(outDir, 'train.npz'), { x: { dtype: 'uint8', shape: [TRAIN_SUBSET, 1, 28, 28], data: sub.x }, y: { dtype: 'uint8', shape: [TRAIN_SUBSET], data: sub.y } }, { compress: true });
console.log(`wrote ${outDir}/{fmnist-cnn.onnx,val.npz,train.npz}`);
