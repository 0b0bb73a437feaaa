// Issue 15, "Training through a final Softmax" (measured, in the same run):
// the Keras-made ResNet-8 fixture (fixtures/keras-resnet8.onnx: tf2onnx layout,
// NHWC raw 0–255 inputs, a final Softmax; trained on Fashion-MNIST by
// scripts/make_keras_fixture.py), filter-pruned to half its MACs, then one epoch
// of distillation from the dense model at the runner's defaults (SGD 0.01,
// momentum 0.9, batch 32, α 0.7, T 4). The runner trains on the Softmax's input
// (real logits) and lands within one point of a PyTorch reference that trains
// the same graph (tools/torch-reference.py: same pruned weights, same samples
// in the same order, same optimizer, real logits). Training on the
// probabilities (the old behaviour, `logits: 'output'`) makes the first batch's
// distillation term and its gradient tiny. bench/finetune-softmax.bench.mjs
// prints the whole table (Adam too, the old behaviour's accuracy, the demo and
// a PyTorch-made raw-pixel CNN).
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { analyzeModel, cloneModel, inferShapes, pipeline, type Dataset, type Logger, type Model } from '@shears/core';
import { openDataset } from '@shears/data';
import { readModel, writeModel } from '@shears/onnx';
import { smallFixture } from '@shears/fixtures';
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
const SCRIPT = join(import.meta.dirname, '..', 'tools', 'torch-reference.py');
const TRAIN = 10_000;
const TEST = 2_000;
const BATCH = 32; // the runner's default
const ready = existsSync(PY) && existsSync(`${FMNIST}/train-images-idx3-ubyte.gz`) && existsSync(smallFixture('keras-resnet8.onnx'));

/** The first n images of a split as raw 0–255 floats (the IDX reader gives [0, 1]), samples shaped `sample` (one channel: NCHW and NHWC are the same bytes). */
async function rawSplit(split: string, n: number, sample: number[]): Promise<Dataset> {
  const ds = await openDataset(`${FMNIST}:${split}`);
  const x = new Float32Array(n * 784);
  const y = new Int32Array(n);
  let o = 0;
  for await (const b of ds.batches(1000, { limit: n })) {
    for (let i = 0; i < b.x.length; i++) x[o * 784 + i] = Math.round(b.x[i]! * 255);
    y.set(b.y!, o);
    o += b.dims[0]!;
  }
  return memoryDataset(split, x, sample, y, 10);
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

interface Case {
  name: string;
  file: string;
  /** One sample's shape. */
  sample: number[];
}

// One channel: NCHW and NHWC samples are the same bytes.
const CASES: Case[] = [{ name: 'Keras ResNet-8 (raw pixels, NHWC)', file: smallFixture('keras-resnet8.onnx'), sample: [28, 28, 1] }];
const RUNNER_DEFAULTS = ['--optimizer', 'sgd', '--lr', '0.01', '--momentum', '0.9', '--batch', String(BATCH), '--alpha', '0.7', '--temperature', '4'];

describe.skipIf(!ready)('training through a final Softmax (raw-pixel Fashion-MNIST)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shears-softmax-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(CASES)('$name: one epoch of distillation at the defaults lands within 1 point of PyTorch on real logits; probabilities starve the KD term', { timeout: 900_000 }, async (c) => {
    const backend = await testBackend();
    const denseFile = c.file;
    const dense = await readModel(denseFile);
    expect(findSoftmaxEnd(dense)?.op).toBe('Softmax');
    const shapes = { inputShapes: { [dense.graph.inputs[0]!.name]: [1, ...c.sample] } };
    const pruned = (await pipeline(filterPruning({ targetMacs: 0.5, ...shapes })).run(cloneModel(dense))).model;
    inferShapes(dense, shapes);
    inferShapes(pruned, shapes);
    const macs = analyzeModel(pruned).macs / analyzeModel(dense).macs;
    expect(macs).toBeLessThanOrEqual(0.52);
    await writeModel(pruned, join(dir, 'pruned.onnx'));

    const train = await rawSplit('train', TRAIN, c.sample);
    const test = await rawSplit('t10k', TEST, c.sample);
    const order = await trainingOrder(train);
    writeFileSync(join(dir, 'x.u8'), order.x);
    writeFileSync(join(dir, 'y.u8'), order.y);

    // The fix matters: the first batch's distillation term on probabilities is a sliver of the real one.
    const real = await firstBatchKd(pruned, dense, train, 'auto');
    const probs = await firstBatchKd(pruned, dense, train, 'output');
    expect(real.kd).toBeGreaterThan(50 * probs.kd);
    expect(real.gradNorm).toBeGreaterThan(50 * probs.gradNorm);

    // PyTorch (one thread) trains the same pruned graph while the runner does.
    const torch = run(PY, [SCRIPT, 'reference', '--student', join(dir, 'pruned.onnx'), '--teacher', denseFile, '--x', join(dir, 'x.u8'), '--y', join(dir, 'y.u8'), '--test', String(TEST), '--threads', '1', ...RUNNER_DEFAULTS], {
      maxBuffer: 1 << 24,
    });
    const lines: string[] = [];
    const keep = (m: string) => void lines.push(m);
    const logger: Logger = { debug: keep, info: keep, warn: keep, error: keep };
    const r = await finetune(pruned, { data: train, val: test, teacher: dense, backend, logger });
    const ref = JSON.parse((await torch).stdout.trim().split('\n').at(-1)!) as { accuracy: number; logits: string; first: { kd: number; kdGradNorm: number } };

    const end = findSoftmaxEnd(dense)!;
    expect(r.logitsFrom).toEqual({ output: dense.graph.outputs[0]!.name, node: end.node, op: 'Softmax', value: end.value });
    expect(r.teacherLogitsFrom?.value).toBe(end.value);
    expect(lines.some((l) => l.includes('ends in Softmax') && l.includes('training on its input logits'))).toBe(true);
    expect(lines.some((l) => l.includes('the inputs look unnormalized'))).toBe(true); // raw pixels with the default SGD
    expect(findSoftmaxEnd(pruned)?.op).toBe('Softmax'); // the model written out keeps its Softmax
    expect(ref.logits).toBe(end.value);
    // Same weights, batch and teacher: the first batch's KD term is PyTorch's.
    expect(Math.abs(real.kd - ref.first.kd)).toBeLessThan(1e-3 * ref.first.kd);
    expect(Math.abs(real.gradNorm - ref.first.kdGradNorm)).toBeLessThan(1e-2 * ref.first.kdGradNorm);
    const acc = r.epochs[0]!.valAccuracy!;
    expect(acc).toBeGreaterThanOrEqual(ref.accuracy - 0.01);
  });
});
