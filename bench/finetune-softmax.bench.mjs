// Issue 15, "Train graphs as they were exported": one epoch of distillation
// (batch 32, α 0.7, T 4, dense model as the teacher in onnxruntime) on
// filter-pruned (target 50% MACs) models, by @shears/finetune and by a PyTorch
// reference that trains the same graph (packages/finetune/tools/torch-reference.py:
// the pruned ONNX run by a small interpreter, same samples in the same order),
// for each optimizer setting and for both ways of taking the logits:
//  - auto:   the input of a final Softmax (the fix; the same as output for a model without one);
//  - output: the graph output as it is (softmax applied to probabilities: the old behaviour).
// Models:
//  - demo: examples/demo/fmnist-cnn.onnx (inputs pixels/255, no final Softmax), its train.npz / val.npz;
//  - keras: fixtures/keras-resnet8.onnx (Keras ResNet-8, tf2onnx layout, NHWC raw 0–255 inputs, Softmax),
//          first 10k Fashion-MNIST training images / first 2k test images;
//  - raw:  a PyTorch-made CNN (tools/torch-reference.py make-model, cached: Conv-BN-ReLU ×3, GAP, Gemm, Softmax; raw 0–255 inputs),
//          first 10k Fashion-MNIST training images / first 2k test images.
// Also the dense model's accuracy (onnxruntime) on the same images. Prints accuracy on the held-out images, the first batch's KD term and its
// gradient norm, the first BatchNorm's running mean (mean |·|) after the epoch, and the time.
//   pnpm build && node bench/finetune-softmax.bench.mjs [--models demo,raw] [--configs sgd,adam] [--logits auto,output] [--torch 0]
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { machine } from './lib.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = (p) => import(join(root, 'packages', p, 'dist', 'index.js'));
const [core, data, onnx, filter, ft, rt] = await Promise.all([pkg('core'), pkg('data'), pkg('onnx'), pkg('prune-filter'), pkg('finetune'), pkg('runtime')]);
const run = promisify(execFile);
const args = process.argv.slice(2);
const arg = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const PY = '/usr/bin/python3';
const SCRIPT = join(root, 'packages', 'finetune', 'tools', 'torch-reference.py');
const FMNIST = '/usr/share/datasets/fashion-mnist';
const CONFIGS = {
  sgd: { optimizer: 'sgd', lr: 0.01, momentum: 0.9, py: ['--optimizer', 'sgd', '--lr', '0.01', '--momentum', '0.9'] },
  adam: { optimizer: 'adam', lr: 1e-3, py: ['--optimizer', 'adam', '--lr', '0.001'] },
};
const models = arg('models', 'demo,keras,raw').split(',');
const configs = arg('configs', 'sgd,adam').split(',');
const logitsModes = arg('logits', 'auto,output').split(',');
const withTorch = arg('torch', '1') !== '0';
const dir = mkdtempSync(join(tmpdir(), 'shears-bench-softmax-'));

/** An in-memory dataset (Fisher–Yates with a seeded LCG for shuffle), as the finetune tests make. */
function memory(name, x, y, sampleShape) {
  const size = y.length;
  return {
    name,
    size,
    sampleShape,
    numClasses: 10,
    labels: y,
    async *batches(bs, o = {}) {
      const order = Array.from({ length: size }, (_, i) => i);
      if (o.shuffle) {
        let s = (o.seed ?? 0) >>> 0;
        const r = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
        for (let i = size - 1; i > 0; i--) {
          const j = Math.floor(r() * (i + 1));
          [order[i], order[j]] = [order[j], order[i]];
        }
      }
      const n = Math.min(size, o.limit ?? size);
      for (let s = 0; s < n; s += bs) {
        const m = Math.min(bs, n - s);
        const xb = new Float32Array(m * 784);
        const yb = new Int32Array(m);
        for (let k = 0; k < m; k++) {
          xb.set(x.subarray(order[s + k] * 784, (order[s + k] + 1) * 784), k * 784);
          yb[k] = y[order[s + k]];
        }
        yield { x: xb, dims: [m, ...sampleShape], y: yb };
      }
    },
  };
}

/** The first n samples of a dataset, times `scale`, in memory (and as uint8 pixels for PyTorch). */
async function load(ds, n, scale, sampleShape = [1, 28, 28]) {
  const x = new Float32Array(n * 784);
  const y = new Int32Array(n);
  let o = 0;
  for await (const b of ds.batches(1000, { limit: n })) {
    for (let i = 0; i < b.x.length; i++) x[o * 784 + i] = scale === 255 ? Math.round(b.x[i] * 255) : b.x[i];
    y.set(b.y, o);
    o += b.dims[0];
  }
  return memory(ds.name, x, y, sampleShape);
}

/** The training samples as uint8 pixels in the order the runner visits them (epoch 1, seed 0), for PyTorch. */
async function order(ds, scale) {
  const x = new Uint8Array(ds.size * 784);
  const y = new Uint8Array(ds.size);
  let o = 0;
  for await (const b of ds.batches(32, { shuffle: true, seed: 0 })) {
    for (let i = 0; i < b.x.length; i++) x[o * 784 + i] = Math.round(b.x[i] / scale);
    y.set(b.y, o);
    o += b.dims[0];
  }
  return { x, y };
}

async function setup(name) {
  if (name === 'demo') {
    const file = join(root, 'examples', 'demo', 'fmnist-cnn.onnx');
    const train = await load(await data.openDataset(join(root, 'examples', 'demo', 'train.npz')), 10_000, 1);
    const val = await load(await data.openDataset(join(root, 'examples', 'demo', 'val.npz')), 2_000, 1);
    return { file, train, val, scale: 1 / 255, test: 2000 };
  }
  if (name === 'keras') {
    // fixtures/keras-resnet8.onnx: NHWC N×28×28×1 raw pixels (one channel: the same bytes as NCHW).
    const file = join(root, 'fixtures', 'keras-resnet8.onnx');
    const train = await load(await data.openDataset(`${FMNIST}:train`), 10_000, 255, [28, 28, 1]);
    const val = await load(await data.openDataset(`${FMNIST}:t10k`), 2_000, 255, [28, 28, 1]);
    return { file, train, val, scale: 1, test: 2000, sample: [28, 28, 1] };
  }
  const file = join(homedir(), '.cache', 'shears', 'finetune-softmax-cnn-v1', 'dense.onnx');
  if (!existsSync(file)) await run(PY, [SCRIPT, 'make-model', file], { maxBuffer: 1 << 24 });
  const train = await load(await data.openDataset(`${FMNIST}:train`), 10_000, 255);
  const val = await load(await data.openDataset(`${FMNIST}:t10k`), 2_000, 255);
  return { file, train, val, scale: 1, test: 2000 };
}

/** Mean |running mean| of the first BatchNormalization. */
function firstBnMean(model) {
  const bn = model.graph.nodes.find((n) => n.opType === 'BatchNormalization');
  if (!bn) return NaN;
  const d = bn.input(3).constValue.floats();
  return d.reduce((a, v) => a + Math.abs(v), 0) / d.length;
}

console.log(machine());
const rows = [];
for (const name of models) {
  const m = await setup(name);
  const dense = await onnx.readModel(m.file);
  const shapes = { inputShapes: { [dense.graph.inputs[0].name]: [1, ...(m.sample ?? [1, 28, 28])] } };
  const pruned = (await core.pipeline(filter.filterPruning({ targetMacs: 0.5, ...shapes })).run(core.cloneModel(dense))).model;
  const prunedFile = join(dir, `${name}.pruned.onnx`);
  await onnx.writeModel(pruned, prunedFile);
  const o = await order(m.train, m.scale);
  writeFileSync(join(dir, `${name}.x.u8`), o.x);
  writeFileSync(join(dir, `${name}.y.u8`), o.y);
  const bn0 = firstBnMean(pruned);
  const before = { dense: (await rt.evaluate(dense, m.val)).accuracy, pruned: (await rt.evaluate(pruned, m.val)).accuracy };
  core.inferShapes(dense, shapes);
  core.inferShapes(pruned, shapes);
  const macs = core.analyzeModel(pruned).macs / core.analyzeModel(dense).macs;
  console.log(`${name}: dense ${(100 * before.dense).toFixed(2)}%, pruned to ${(100 * macs).toFixed(1)}% of the MACs ${(100 * before.pruned).toFixed(2)}% (${m.val.size} held-out images)`);
  for (const c of configs) {
    for (const logits of logitsModes) {
      if (logits === 'output' && !ft.findSoftmaxEnd(dense)) continue; // the same as auto
      const cfg = CONFIGS[c];
      const torch = withTorch
        ? run(PY, [SCRIPT, 'reference', '--student', prunedFile, '--teacher', m.file, '--x', join(dir, `${name}.x.u8`), '--y', join(dir, `${name}.y.u8`), '--scale', String(m.scale), '--test', String(m.test), '--logits', logits, '--threads', '1', ...cfg.py], {
            maxBuffer: 1 << 24,
          })
        : undefined;
      const student = core.cloneModel(pruned);
      const t0 = performance.now();
      const r = await ft.finetune(student, { data: m.train, val: m.val, teacher: dense, optimizer: cfg.optimizer, lr: cfg.lr, momentum: cfg.momentum, logits });
      const secs = (performance.now() - t0) / 1000;
      const ref = torch ? JSON.parse((await torch).stdout.trim().split('\n').at(-1)) : undefined;
      const row = {
        model: name,
        optimizer: `${c} ${cfg.lr}`,
        logits,
        logitsFrom: r.logitsFrom ? `${r.logitsFrom.op} ${r.logitsFrom.node}` : '-',
        shears: `${(100 * r.epochs[0].valAccuracy).toFixed(2)}%`,
        torch: ref ? `${(100 * ref.accuracy).toFixed(2)}%` : '-',
        'torch KD@1': ref ? ref.first.kd.toPrecision(3) : '-',
        'torch |∇KD|@1': ref ? ref.first.kdGradNorm.toPrecision(3) : '-',
        'BN1 |mean|': `${bn0.toFixed(2)} → ${firstBnMean(student).toFixed(2)}`,
        seconds: secs.toFixed(1),
      };
      rows.push(row);
      console.log(JSON.stringify(row));
    }
  }
}
console.table(rows);
rmSync(dir, { recursive: true, force: true });
