import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cloneModel, pipeline, ShearsError, StateBag, type Model, type ProgressReporter } from '@shears/core';
import { assertConformance, testContext } from '@shears/core/testing';
import { readModel, writeModel } from '@shears/onnx';
import { evaluate } from '@shears/runtime';
import { beforeAll, describe, expect, it } from 'vitest';
import { augmentBatch, rng } from './augment.js';
import type { BackendInfo } from './backend.js';
import { CHECKPOINT_KEY } from './checkpoint.js';
import { TfGraph } from './graph/graph.js';
import { createOptimizer, learningRate } from './optim.js';
import { FINETUNE_DATA, finetunePlugin, TEACHER, teacherSnapshot } from './plugin.js';
import { magnitudeReprune } from './schedule.js';
import { memoryDataset, quadrantData, randn, seeded, smallCnn, testBackend } from './test-helpers.js';
import { smallFixture } from '@shears/fixtures';
import { evaluateGraph, finetune } from './train.js';

let backend: BackendInfo;
beforeAll(async () => {
  backend = await testBackend();
});

const tmp = () => mkdtempSync(join(tmpdir(), 'shears-finetune-'));
const { x: TX, y: TY } = quadrantData(512);
const { x: VX, y: VY } = quadrantData(256, 99);
const train = () => memoryDataset('train', TX, [1, 12, 12], TY, 4);
const val = () => memoryDataset('val', VX, [1, 12, 12], VY, 4);
const floats = (m: Model, name: string) => m.graph.initializer(name)!.floats();

/** Prune half of conv2's output filters with Value.mask (weights and biases). */
function maskHalfFilters(m: Model): void {
  const w = m.graph.initializers.get('conv2.weight')!;
  const b = m.graph.initializers.get('conv2.bias')!;
  const per = 8 * 9;
  w.mask = new Uint8Array(16 * per).fill(1);
  b.mask = new Uint8Array(16).fill(1);
  const data = w.constValue!.floats();
  const bias = b.constValue!.floats();
  for (let o = 0; o < 16; o += 2) {
    w.mask.fill(0, o * per, (o + 1) * per);
    data.fill(0, o * per, (o + 1) * per);
    b.mask[o] = 0;
    bias[o] = 0;
  }
}

describe('training', () => {
  it('learns, keeps masked weights exactly zero, trains BN stats, and writes an ONNX that onnxruntime scores the same', async () => {
    const m = smallCnn();
    maskHalfFilters(m);
    const mean0 = Float32Array.from(floats(m, 'bn1.mean'));
    const ticks: string[] = [];
    const progress: ProgressReporter = { start: (label) => ({ tick: (_n, note) => void ticks.push(`${label}: ${note}`), done() {} }) };
    const r = await finetune(m, { data: train(), val: val(), epochs: 3, batchSize: 32, optimizer: 'adam', lr: 0.01, backend, progress });
    expect(r.backend).toBe(backend.name);
    expect(r.epochs).toHaveLength(3);
    expect(r.epochs[2]!.valAccuracy!).toBeGreaterThan(0.9);
    expect(ticks.length).toBe(48);
    expect(ticks.at(-1)).toMatch(/loss [\d.]+ acc [\d.]+% [\d.]+ steps\/s/);
    const w = floats(m, 'conv2.weight');
    const mask = m.graph.initializers.get('conv2.weight')!.mask!;
    for (let i = 0; i < w.length; i++) if (!mask[i]) expect(w[i]).toBe(0);
    expect(w.some((v, i) => mask[i] && v !== 0)).toBe(true);
    expect(floats(m, 'conv2.bias').filter((_, i) => i % 2 === 0).every((v) => v === 0)).toBe(true);
    expect(Array.from(floats(m, 'bn1.mean'))).not.toEqual(Array.from(mean0));
    // The written model, read back, scores the same in onnxruntime as tfjs did.
    const dir = tmp();
    await writeModel(m, join(dir, 'tuned.onnx'));
    const back = await readModel(join(dir, 'tuned.onnx'));
    const ort = await evaluate(back, val());
    expect(ort.accuracy).toBeCloseTo(r.epochs[2]!.valAccuracy!, 6);
    // Read back from ONNX (no masks stored), the pruned filters are found again as zeros.
    const g = TfGraph.build(back, { backend });
    try {
      const p = g.params.find((q) => q.name === 'conv2.weight')!;
      expect(p.maskSource).toBe('zeros');
      expect(Array.from(g.readMask(p)!)).toEqual(Array.from(mask));
      expect(g.params.find((q) => q.name === 'conv2.bias')!.mask).toBeUndefined();
    } finally {
      g.dispose();
    }
  });

  it('trains fixtures/tiny-cnn.onnx (3-channel input, residual Adds, BN) with a dropping loss', async () => {
    const m = await readModel(smallFixture('tiny-cnn.onnx'));
    const rr = seeded(2);
    const x = randn(64 * 3 * 32 * 32, rr);
    const y = Int32Array.from({ length: 64 }, (_, i) => i % 10);
    const data = memoryDataset('rand', x, [3, 32, 32], y, 10);
    const r = await finetune(m, { data, epochs: 3, batchSize: 16, optimizer: 'adam', lr: 0.01, backend });
    expect(r.epochs[2]!.trainLoss).toBeLessThan(r.epochs[0]!.trainLoss);
  });

  it('freezes BatchNormalization statistics on request', async () => {
    const m = smallCnn();
    const mean0 = Array.from(floats(m, 'bn1.mean'));
    await finetune(m, { data: train(), epochs: 1, limit: 64, bn: 'freeze', backend });
    expect(Array.from(floats(m, 'bn1.mean'))).toEqual(mean0);
  });

  it('distills from a teacher (onnxruntime or tfjs), with labels, without labels, and on named features', async () => {
    const teacherModel = smallCnn();
    await finetune(teacherModel, { data: train(), epochs: 3, optimizer: 'adam', lr: 0.01, backend });
    const student = () => {
      const s = cloneModel(teacherModel);
      maskHalfFilters(s);
      return s;
    };
    const unlabelled = memoryDataset('unlabelled', TX, [1, 12, 12]);
    const ort = await finetune(student(), { data: train(), val: val(), teacher: teacherModel, alpha: 0.5, temperature: 2, epochs: 2, optimizer: 'adam', lr: 0.01, backend });
    expect(ort.teacher).toBe('ort');
    expect(ort.epochs[1]!.valAccuracy!).toBeGreaterThan(0.85);
    const free = await finetune(student(), { data: unlabelled, val: val(), teacher: teacherModel, teacherBackend: 'tfjs', temperature: 2, epochs: 2, optimizer: 'adam', lr: 0.01, backend });
    expect(free.teacher).toBe('tfjs');
    expect(free.epochs[1]!.trainAccuracy).toBeUndefined();
    expect(free.epochs[1]!.valAccuracy!).toBeGreaterThan(0.75);
    const feat = await finetune(student(), { data: train(), teacher: teacherModel, features: ['a1'], featureWeight: 0.5, epochs: 1, limit: 128, backend });
    expect(Number.isFinite(feat.epochs[0]!.trainLoss)).toBe(true);
    await expect(finetune(student(), { data: unlabelled, epochs: 1, backend })).rejects.toThrow(/unlabelled has no labels: label-free fine-tuning distills from a teacher; give the dense model as teacher/);
    await expect(finetune(student(), { data: train(), teacher: teacherModel, features: ['nope'], epochs: 1, backend })).rejects.toThrow(/no value 'nope'/);
  });

  it('re-prunes on a schedule (any object with sparsityAt) and holds the new zeros', async () => {
    const m = smallCnn();
    const rounds: number[] = [];
    const schedule = { sparsityAt: (round: number) => (rounds.push(round), Math.min(0.6, 0.2 * (round + 1))) };
    const r = await finetune(m, { data: train(), epochs: 1, backend, prune: { schedule, every: 4, scope: 'layer' } });
    expect(rounds.slice(0, 4)).toEqual([0, 1, 2, 3]);
    expect(r.epochs[0]!.sparsity).toBeCloseTo(0.6);
    for (const name of ['conv1.weight', 'conv2.weight', 'fc.weight']) {
      const w = floats(m, name);
      const zeros = w.filter((v) => v === 0).length;
      expect(zeros).toBe(Math.floor(0.6 * w.length));
      expect(m.graph.initializers.get(name)!.mask!.filter((v) => v === 0).length).toBe(zeros);
    }
    // The default re-pruner never revives a pruned weight.
    const t = { name: 't', dims: [4], weights: Float32Array.of(5, 0.1, 3, 0.2), mask: Uint8Array.of(1, 1, 0, 1) };
    magnitudeReprune('layer')([t], 0.5, 0);
    expect(Array.from(t.mask)).toEqual([1, 0, 0, 1]);
  });

  it('checkpoints after each epoch, resumes, keeps the best, and stops early', async () => {
    const dir = tmp();
    const log = join(dir, 'log.jsonl');
    const m = smallCnn();
    const r1 = await finetune(m, { data: train(), val: val(), epochs: 1, optimizer: 'adam', lr: 0.01, checkpointDir: dir, log, backend });
    expect(readdirSync(dir).sort()).toEqual(['best.onnx', 'last.onnx', 'last.optim.npz', 'log.jsonl']);
    const ck = await readModel(join(dir, 'last.onnx'));
    expect(JSON.parse(ck.getMetadata(CHECKPOINT_KEY)!)).toMatchObject({ epoch: 1, step: 16, complete: true });
    expect(m.getMetadata(CHECKPOINT_KEY)).toBeUndefined();
    const m2 = smallCnn();
    const r2 = await finetune(m2, { data: train(), val: val(), epochs: 3, optimizer: 'adam', lr: 0.01, checkpointDir: dir, resume: true, log, backend, earlyStopping: { patience: 1, minDelta: 2 } });
    expect(r2.resumedFrom).toBe(join(dir, 'last.onnx'));
    expect(r2.epochs.map((e) => e.epoch)).toEqual([1, 2, 3].slice(0, r2.epochs.length));
    expect(r2.epochs[0]).toEqual(r1.epochs[0]);
    expect(r2.stopped).toBe('early-stopping');
    expect(r2.epochs).toHaveLength(2);
    const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.epoch)).toEqual([1, 2]);
    expect(lines[1]).toMatchObject({ backend: backend.name, steps: 16 });
  });

  it('leaves a usable last checkpoint when interrupted (Ctrl-C)', async () => {
    const dir = tmp();
    const ac = new AbortController();
    let n = 0;
    const progress: ProgressReporter = { start: () => ({ tick: () => void (++n === 5 && ac.abort()), done() {} }) };
    const err = await finetune(smallCnn(), { data: train(), epochs: 2, checkpointDir: dir, signal: ac.signal, progress, backend }).catch((e) => e);
    expect(err).toBeInstanceOf(ShearsError);
    expect(err.code).toBe('E_ABORTED');
    expect(err.message).toContain(join(dir, 'last.onnx'));
    const ck = await readModel(join(dir, 'last.onnx'));
    expect(JSON.parse(ck.getMetadata(CHECKPOINT_KEY)!)).toMatchObject({ epoch: 0, step: 5, complete: false });
    const resumed = await finetune(smallCnn(), { data: train(), val: val(), epochs: 1, checkpointDir: dir, resume: true, backend });
    expect(resumed.epochs).toHaveLength(1);
    expect(resumed.steps).toBe(16);
  });

  it('stops on a NaN loss with the last good weights and checkpoint', async () => {
    const dir = tmp();
    const m = smallCnn();
    await finetune(m, { data: train(), epochs: 1, checkpointDir: dir, backend });
    const good = readFileSync(join(dir, 'last.onnx'));
    const bad = new Float32Array(TX).fill(NaN);
    const before = Array.from(floats(m, 'fc.weight'));
    const err = await finetune(m, { data: memoryDataset('bad', bad, [1, 12, 12], TY, 4), epochs: 1, checkpointDir: dir, backend }).catch((e) => e);
    expect(err).toBeInstanceOf(ShearsError);
    expect(err.message).toMatch(/loss is NaN in epoch 1 at step 0 \(learning rate/);
    expect(err.message).toContain(`last checkpoint`);
    expect(readFileSync(join(dir, 'last.onnx')).equals(good)).toBe(true);
    expect(Array.from(floats(m, 'fc.weight'))).toEqual(before);
  });

  it('refuses data that does not fit the model', async () => {
    const m = smallCnn();
    await expect(finetune(m, { data: memoryDataset('wrong', new Float32Array(4 * 100), [100], new Int32Array(4)), backend })).rejects.toThrow(/samples are 100 but model input input expects 1x12x12/);
    const many = Int32Array.from(TY, (v) => v + 3);
    const e = await finetune(m, { data: memoryDataset('classes', TX, [1, 12, 12], many), backend }).catch((x) => x);
    expect(e.code).toBe('E_DATA');
    expect(e.message).toMatch(/labels go up to 6 but the model has 4 outputs/);
  });
});

describe('pieces', () => {
  it('learning-rate schedules: constant, warm-up, cosine, step', () => {
    const base = { lr: 1, totalSteps: 110 };
    expect(learningRate({ ...base, name: 'constant' }, 50)).toBe(1);
    expect(learningRate({ ...base, name: 'cosine', warmupSteps: 10 }, 4)).toBeCloseTo(0.5);
    expect(learningRate({ ...base, name: 'cosine', warmupSteps: 10 }, 10)).toBeCloseTo(1);
    expect(learningRate({ ...base, name: 'cosine', warmupSteps: 10 }, 60)).toBeCloseTo(0.5);
    expect(learningRate({ ...base, name: 'cosine', warmupSteps: 10, minLr: 0.1 }, 110)).toBeCloseTo(0.1);
    expect(learningRate({ ...base, name: 'step', stepSize: 30, gamma: 0.1 }, 65)).toBeCloseTo(0.01);
  });

  it('optimizers: SGD momentum, Adam and AdamW match their update rules', () => {
    const tf = backend.tf;
    const run = (name: 'sgd' | 'adam' | 'adamw', wd = 0) => {
      const v = tf.variable(tf.tensor1d([1, -2]));
      const o = createOptimizer(tf, { name, momentum: 0.9, weightDecay: wd });
      for (let i = 0; i < 2; i++) o.apply([v], [tf.tensor1d([0.5, 1])], 0.1);
      const out = Array.from(v.dataSync());
      const state = o.state();
      o.dispose();
      v.dispose();
      return { out, state };
    };
    // SGD: m1 = g, m2 = 0.9g + g = 1.9g → w = w0 − 0.1·2.9g
    expect(run('sgd').out.map((x) => +x.toFixed(5))).toEqual([1 - 0.145, -2 - 0.29]);
    // Adam with a constant gradient moves each weight by lr per step.
    expect(run('adam').out.map((x) => +x.toFixed(4))).toEqual([0.8, -2.2]);
    // AdamW also decays: w ← w − lr·wd·w each step.
    const w = run('adamw', 0.5).out;
    expect(w[0]).toBeCloseTo((1 - 0.05 - 0.1) * (1 - 0.05) - 0.1, 3);
    expect(run('adam').state['__step']!.data[0]).toBe(2);
  });

  it('augmentation: seeded flips and crops', () => {
    const x = Float32Array.from({ length: 2 * 1 * 2 * 3 }, (_, i) => i + 1);
    const a = augmentBatch(x, [2, 1, 2, 3], { flip: true, crop: 1 }, rng(1));
    const b = augmentBatch(x, [2, 1, 2, 3], { flip: true, crop: 1 }, rng(1));
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(augmentBatch(x, [2, 1, 2, 3], {}, rng(1)))).toEqual(Array.from(x));
    let sawFlip = false;
    for (let s = 0; s < 20 && !sawFlip; s++) sawFlip = augmentBatch(x, [1, 1, 2, 3], { flip: true }, rng(s))[0] === 3;
    expect(sawFlip).toBe(true);
  });

  it('evaluateGraph reports accuracy and loss', async () => {
    const g = TfGraph.build(smallCnn(), { backend });
    try {
      const r = await evaluateGraph(g, val());
      expect(r.samples).toBe(256);
      expect(r.accuracy).toBeGreaterThanOrEqual(0);
      expect(Number.isFinite(r.loss!)).toBe(true);
    } finally {
      g.dispose();
    }
  });
});

describe('plugins', () => {
  it('passes the conformance kit', async () => {
    await assertConformance({
      factory: finetunePlugin,
      options: { epochs: 1, limit: 32, backend: backend.name },
      badOptions: [{ epochs: -1 }, { optimizer: 'rmsprop' }, { alpha: 2 }, { colour: 'red' }],
      model: () => smallCnn(),
      context: { state: (() => {
        const s = new StateBag();
        s.set(FINETUNE_DATA, train());
        return s;
      })() },
    });
    await assertConformance({ factory: teacherSnapshot, badOptions: [{ x: 1 } as never] });
  });

  it('chains teacher-snapshot → pruning → finetune → onnx-write in one pipeline', async () => {
    const { onnxWrite } = await import('@shears/onnx');
    const { definePlugin } = await import('@shears/core');
    const dir = tmp();
    const out = join(dir, 'out.onnx');
    const halfFilters = definePlugin({
      name: 'half-filters',
      kind: 'strategy',
      async plan(model) {
        const w = model.graph.initializer('conv2.weight')!;
        const per = w.size / 16;
        const prune = new Uint32Array(8 * per);
        for (let k = 0, o = 0; o < 16; o += 2) for (let i = 0; i < per; i++) prune[k++] = o * per + i;
        return { version: 1, strategy: 'half-filters', options: {}, actions: [{ type: 'mask', tensor: 'conv2.weight', prune, layer: 'conv2' }], skipped: [] };
      },
    });
    const state = new StateBag();
    state.set(FINETUNE_DATA, train());
    const model = smallCnn();
    const r = await pipeline(teacherSnapshot(), halfFilters, finetunePlugin({ epochs: 1, backend: backend.name }), onnxWrite({ out })).run(model, { state });
    expect(state.get(TEACHER)).toBeDefined();
    const d = r.steps[2]!.details!;
    expect(d.teacher).toBe('ort');
    expect(d.backend).toBe(backend.name);
    expect(existsSync(out)).toBe(true);
    const w = (await readModel(out)).graph.initializer('conv2.weight')!.floats();
    expect(w.subarray(0, 72).every((v) => v === 0)).toBe(true);
    expect(w.subarray(72, 144).some((v) => v !== 0)).toBe(true);
    const ctx = testContext();
    await expect(finetunePlugin({ epochs: 1 }).finetune(smallCnn(), ctx)).rejects.toThrow(/option data: no training data/);
  });
});
