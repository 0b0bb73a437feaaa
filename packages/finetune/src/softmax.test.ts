// Issue 15, "Training through a final Softmax" (measured, in the same run): a
// small CNN that ends in a Softmax and takes raw 0–255 pixels (trained briefly
// and exported by scripts/torch-reference.py, seeded, cached), filter-pruned to
// about half its MACs, then one epoch of distillation at the runner's defaults.
// The runner trains on the Softmax's input (real logits) and lands within one
// point of a PyTorch reference that trains the same graph (same pruned weights,
// same samples in the same order, same optimizer) on real logits. Training on
// the probabilities (the old behaviour, `logits: 'output'`) makes the
// distillation term and its gradient tiny.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { analyzeModel, cloneModel, inferShapes, pipeline, type Dataset, type Logger, type Model } from '@shears/core';
import { openDataset } from '@shears/data';
import { readModel, writeModel } from '@shears/onnx';
import { filterPruning } from '@shears/prune-filter';
import { afterAll, describe, expect, it } from 'vitest';
import { TfGraph } from './graph/graph.js';
import { findSoftmaxEnd } from './logits.js';
import { trainStep, type LossOptions } from './step.js';
import { ortTeacher } from './teacher.js';
import { memoryDataset, testBackend } from './test-helpers.js';
import { finetune } from './train.js';

const run = promisify(execFile);
const FMNIST = '/usr/share/datasets/fashion-mnist';
const PY = '/usr/bin/python3';
const SCRIPT = join(import.meta.dirname, '..', 'scripts', 'torch-reference.py');
const CACHE = join(homedir(), '.cache', 'shears', 'finetune-softmax-cnn-v1');
const TRAIN = 10_000;
const TEST = 2_000;
const BATCH = 32; // the runner's default
const ready = existsSync(PY) && existsSync(`${FMNIST}/train-images-idx3-ubyte.gz`);

/** The first n images of a split as raw 0–255 floats (the IDX reader gives [0, 1]) and their labels, as uint8 too. */
async function rawSplit(split: string, n: number): Promise<{ data: Dataset; u8: Uint8Array; y8: Uint8Array }> {
  const ds = await openDataset(`${FMNIST}:${split}`);
  const x = new Float32Array(n * 784);
  const y = new Int32Array(n);
  let o = 0;
  for await (const b of ds.batches(1000, { limit: n })) {
    for (let i = 0; i < b.x.length; i++) x[o * 784 + i] = Math.round(b.x[i]! * 255);
    y.set(b.y!, o);
    o += b.dims[0]!;
  }
  return { data: memoryDataset(split, x, [1, 28, 28], y, 10), u8: Uint8Array.from(x), y8: Uint8Array.from(y) };
}

/** The samples in the order the runner visits them in epoch 1 (seed 0), for the reference. */
async function trainingOrder(data: Dataset): Promise<{ x: Uint8Array; y: Uint8Array }> {
  const x = new Uint8Array(data.size * 784);
  const y = new Uint8Array(data.size);
  let o = 0;
  for await (const b of data.batches(BATCH, { shuffle: true, seed: 0 })) {
    x.set(b.x, o * 784);
    y.set(b.y!, o);
    o += b.dims[0]!;
  }
  return { x, y };
}

async function denseModel(): Promise<string> {
  const file = join(CACHE, 'dense.onnx');
  if (!existsSync(file)) {
    mkdirSync(CACHE, { recursive: true });
    await run(PY, [SCRIPT, 'make-model', `${file}.tmp`], { maxBuffer: 1 << 24 });
    renameSync(`${file}.tmp`, file);
  }
  return file;
}

/** KD loss and gradient norm of the first batch, KD term only (α = 1), with the logits taken as `mode` says. */
async function firstBatchKd(student: Model, teacher: Model, data: Dataset, mode: 'auto' | 'output'): Promise<{ kd: number; gradNorm: number }> {
  const backend = await testBackend();
  const tf = backend.tf;
  const graph = TfGraph.build(cloneModel(student), { backend });
  const t = await ortTeacher(teacher, [], 1, mode);
  try {
    const b = (await data.batches(BATCH, { shuffle: true, seed: 0 })[Symbol.asyncIterator]().next()).value!;
    const params = graph.trainable();
    const loss: LossOptions = { logits: mode === 'auto' ? findSoftmaxEnd(student)!.value : graph.outputNames[0]!, alpha: 1, temperature: 4, features: [], featureWeight: 1, labelSmoothing: 0 };
    const r = trainStep(graph, params, params.map((p) => p.variable), b, await t.run(b.x, b.dims), loss);
    const gradNorm = Math.sqrt(r.grads.reduce((a, g) => a + tf.tidy(() => tf.sum(tf.square(g)).dataSync()[0]!), 0));
    for (const g of r.grads) g.dispose();
    for (const s of r.stats) s.value.dispose();
    return { kd: r.loss, gradNorm };
  } finally {
    graph.dispose();
    await t.dispose();
  }
}

describe.skipIf(!ready)('training through a final Softmax (raw-pixel Fashion-MNIST CNN)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shears-softmax-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('one epoch of distillation at the defaults lands within 1 point of PyTorch on real logits; probabilities starve the KD term', { timeout: 900_000 }, async () => {
    const backend = await testBackend();
    const denseFile = await denseModel();
    const dense = await readModel(denseFile);
    expect(findSoftmaxEnd(dense)?.op).toBe('Softmax');
    const shapes = { inputShapes: { input: [1, 1, 28, 28] } };
    const pruned = (await pipeline(filterPruning({ targetMacs: 0.5, ...shapes })).run(cloneModel(dense))).model;
    inferShapes(dense, shapes);
    inferShapes(pruned, shapes);
    const macs = analyzeModel(pruned).macs / analyzeModel(dense).macs;
    expect(macs).toBeLessThanOrEqual(0.52);
    await writeModel(pruned, join(dir, 'pruned.onnx'));

    const train = await rawSplit('train', TRAIN);
    const test = await rawSplit('t10k', TEST);
    const order = await trainingOrder(train.data);
    writeFileSync(join(dir, 'x.u8'), order.x);
    writeFileSync(join(dir, 'y.u8'), order.y);

    // The fix matters: the first batch's distillation term on probabilities is a sliver of the real one.
    const real = await firstBatchKd(pruned, dense, train.data, 'auto');
    const probs = await firstBatchKd(pruned, dense, train.data, 'output');
    expect(real.kd).toBeGreaterThan(50 * probs.kd);
    expect(real.gradNorm).toBeGreaterThan(10 * probs.gradNorm);

    // PyTorch (one thread) trains the same pruned graph while the runner does.
    const torch = run(PY, [SCRIPT, 'reference', '--student', join(dir, 'pruned.onnx'), '--teacher', denseFile, '--x', join(dir, 'x.u8'), '--y', join(dir, 'y.u8'), '--test', String(TEST), '--threads', '1'], {
      maxBuffer: 1 << 24,
    });
    const lines: string[] = [];
    const keep = (m: string) => void lines.push(m);
    const logger: Logger = { debug: keep, info: keep, warn: keep, error: keep };
    const r = await finetune(pruned, { data: train.data, val: test.data, teacher: dense, backend, logger });
    const ref = JSON.parse((await torch).stdout.trim().split('\n').at(-1)!) as { accuracy: number; logits: string; first: { kd: number; kdGradNorm: number } };

    const end = findSoftmaxEnd(dense)!;
    expect(r.logitsFrom).toEqual({ output: 'prob', node: end.node, op: 'Softmax', value: end.value });
    expect(r.teacherLogitsFrom?.value).toBe(end.value);
    expect(lines.some((l) => l.includes('ends in Softmax') && l.includes('training on its input logits'))).toBe(true);
    expect(findSoftmaxEnd(pruned)?.op).toBe('Softmax'); // the model written out keeps its Softmax
    expect(ref.logits).toBe(end.value);
    // Same weights, batch and teacher: the first batch's KD term is PyTorch's.
    expect(Math.abs(real.kd - ref.first.kd)).toBeLessThan(1e-3 * ref.first.kd);
    expect(Math.abs(real.gradNorm - ref.first.kdGradNorm)).toBeLessThan(1e-2 * ref.first.kdGradNorm);
    const acc = r.epochs[0]!.valAccuracy!;
    expect(acc).toBeGreaterThanOrEqual(ref.accuracy - 0.01);
  });
});
