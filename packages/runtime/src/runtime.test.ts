import { readFileSync } from 'node:fs';
import { cloneModel, type Model } from '@shears/core';
import { arrayDataset, randomDataset } from '@shears/data';
import { smallFixture } from '@shears/fixtures';
import { readModel } from '@shears/onnx';
import { describe, expect, it } from 'vitest';
import { bench, Capture, compare, createRuntime, evaluate, randomFeeds, Session, withOutputs } from './index.js';

const floats = (file: string) => {
  const b = readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};
const tiny = () => readModel(smallFixture('tiny-cnn.onnx'));

describe('Session', () => {
  it('runs an IR model and matches the PyTorch reference output', async () => {
    const s = await Session.create(await tiny(), { threads: 1 });
    const out = await s.run({ input: { dims: [1, 3, 32, 32], data: floats(smallFixture('tiny-cnn.input.bin')) } });
    await s.release();
    const ref = floats(smallFixture('tiny-cnn.output.bin'));
    const got = out.output!.data as Float32Array;
    expect(out.output!.dims).toEqual([1, 10]);
    for (let i = 0; i < ref.length; i++) expect(Math.abs(got[i]! - ref[i]!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(ref[i]!)));
  });

  it('the ModelRuntime interface runs a model for plugins', async () => {
    const m = await tiny();
    const out = await createRuntime({ threads: 1 }).run(m, randomFeeds(m));
    expect(out.output!.dims).toEqual([1, 10]);
  });

  it('writes into preallocated outputs (into)', async () => {
    const s = await Session.create(await tiny(), { threads: 1 });
    const into = { output: { dims: [1, 10], data: new Float32Array(10) } };
    const out = await s.run({ input: { dims: [1, 3, 32, 32], data: floats(smallFixture('tiny-cnn.input.bin')) } }, ['output'], { into });
    await s.release();
    expect(out.output).toBe(into.output);
    const ref = floats(smallFixture('tiny-cnn.output.bin'));
    for (let i = 0; i < 10; i++) expect(Math.abs(into.output.data[i]! - ref[i]!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(ref[i]!)));
  });

  it('reports a model onnxruntime cannot load as E_RUNTIME', async () => {
    const m = await tiny();
    m.graph.nodes[0]!.opType = 'NoSuchOp';
    await expect(Session.create(m)).rejects.toMatchObject({ code: 'E_RUNTIME' });
  });
});

describe('Capture', () => {
  it('exposes intermediate activations without touching the model', async () => {
    const m = await tiny();
    const conv = m.graph.nodes.find((n) => n.opType === 'Conv')!;
    const name = conv.outputs[0]!.name;
    const outputsBefore = m.graph.outputs.length;
    const cap = await Capture.create(m, [name], { threads: 1 });
    const r = await cap.run(randomFeeds(m));
    await cap.release();
    expect(r[name]!.dims).toEqual([1, 16, 32, 32]);
    expect(m.graph.outputs.length).toBe(outputsBefore);
    expect(() => withOutputs(m, ['nope'])).toThrow(/no value of that name/);
  });
});

describe('bench', () => {
  it('gives ordered latency statistics over warm runs', async () => {
    const r = await bench(await tiny(), { runs: 7, warmup: 2, threads: 1 });
    expect(r.runs).toBe(7);
    expect(r.threads).toBe(1);
    expect(r.latencyMs.min).toBeGreaterThan(0);
    expect(r.latencyMs.min).toBeLessThanOrEqual(r.latencyMs.median);
    expect(r.latencyMs.median).toBeLessThanOrEqual(r.latencyMs.p90);
    expect(r.inputs).toEqual({ input: [1, 3, 32, 32] });
  });

  it('times a dynamic batch at 1; other dynamic dims must be given, and the message says which', async () => {
    const dynamic = (dims: (number | string)[]) => {
      const m = cloneModel(tinyModelSync);
      const v = m.graph.inputs[0]!;
      v.type = { kind: 'tensor', dtype: 'float32', shape: dims };
      return m;
    };
    const tinyModelSync = await tiny();
    const r = await bench(dynamic(['N', 3, 32, 32]), { runs: 3, warmup: 1, threads: 1 });
    expect(r.inputs).toEqual({ input: [1, 3, 32, 32] });
    const c = await compare(dynamic(['N', 3, 32, 32]), tinyModelSync, { threads: 1 });
    expect(c.maxAbsDiff).toBe(0);
    expect(() => randomFeeds(dynamic(['N', 3, 'H', 'W']))).toThrow('random inputs need concrete sizes, but input input has dynamic dims [N,3,H,W]; pass your real sizes, e.g. inputShapes: { input: [1, 3, 224, 224] }');
  });
});

/** Labels = the model's own argmax, with every `wrongEvery`-th label changed. */
async function labelled(m: Model, n: number, wrongEvery: number) {
  const data = randomDataset(n, [3, 32, 32], 7);
  const x = new Float32Array(n * 3 * 32 * 32);
  const y = new Int32Array(n);
  const s = await Session.create(m, { threads: 1 });
  let i = 0;
  for await (const b of data.batches(1)) {
    x.set(b.x, i * b.x.length);
    const logits = (await s.run({ input: { dims: b.dims, data: b.x } })).output!.data as Float32Array;
    const best = logits.indexOf(Math.max(...logits));
    y[i] = i % wrongEvery === 0 ? (best + 1) % 10 : best;
    i++;
  }
  await s.release();
  return arrayDataset('labelled', { dtype: 'float32', shape: [n, 3, 32, 32], data: x }, y);
}

describe('evaluate', () => {
  it('counts top-1 exactly, through a fixed batch-1 input', async () => {
    const m = await tiny();
    const data = await labelled(m, 20, 4); // samples 0,4,8,12,16 are wrong
    const r = await evaluate(m, data, { threads: 1, batchSize: 8 });
    expect(r.samples).toBe(20);
    expect(r.accuracy).toBeCloseTo(15 / 20, 10);
    expect(r.top5).toBeGreaterThanOrEqual(r.accuracy);
  });

  it('refuses labels outside the model classes and unlabelled data', async () => {
    const m = await tiny();
    const x = { dtype: 'float32' as const, shape: [2, 3, 32, 32], data: new Float32Array(2 * 3 * 32 * 32) };
    await expect(evaluate(m, arrayDataset('d', x, Int32Array.of(0, 12)))).rejects.toThrow(/label 12 at sample 1 is outside the model's 10 classes/);
    await expect(evaluate(m, randomDataset(2, [3, 32, 32]))).rejects.toThrow(/has no labels/);
  });
});

describe('compare', () => {
  it('is exact for the same model and sees a perturbed weight', async () => {
    const a = await tiny();
    const same = await compare(a, cloneModel(a), { threads: 1 });
    expect(same).toMatchObject({ maxAbsDiff: 0, cosine: 1 });
    const b = cloneModel(a);
    const w = [...b.graph.initializers.values()].find((v) => v.constValue!.dims.length === 4)!.constValue!.floats();
    for (let i = 0; i < w.length; i += 3) w[i] = 0;
    const diff = await compare(a, b, { threads: 1, data: randomDataset(6, [3, 32, 32], 3), batchSize: 4 });
    expect(diff.samples).toBe(6);
    expect(diff.maxAbsDiff).toBeGreaterThan(1e-3);
    expect(diff.cosine).toBeLessThan(1);
  });
});
