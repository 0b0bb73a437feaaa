import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyPlan, type Model } from '@shears/core';
import { assertConformance, tinyModel } from '@shears/core/testing';
import { encodeModel, readModel } from '@shears/onnx';
import { Session } from '@shears/runtime';
import { describe, expect, it } from 'vitest';
import { onnxSparseWrite, toSparseInitializers } from './sparse-format.js';
import { unstructuredPruning } from './strategy.js';
import { context, convModel, rng } from './test-helpers.js';

async function outputs(model: Model | Uint8Array, x: Float32Array): Promise<Float32Array> {
  const s = await Session.create(model, { threads: 1 });
  try {
    const r = await s.run({ input: { dims: [1, 8, 6, 6], data: x } });
    return r[s.outputNames[0]!]!.data as Float32Array;
  } finally {
    await s.release();
  }
}

describe('sparse initializers (--sparse-format)', () => {
  it('passes the conformance kit', async () => {
    await assertConformance({ factory: onnxSparseWrite, options: (dir) => ({ out: join(dir, 'o.onnx') }), badOptions: [{}, { out: '' }, { out: 'a.onnx', level: 3 }] });
  });

  it('converts only where bytes are saved; onnxruntime loads the file and gives identical outputs', async () => {
    const model = convModel(4);
    applyPlan(model, await unstructuredPruning({ amount: 0.9 }).plan(model, context()));
    const { model: sparse, converted } = toSparseInitializers(model);
    // The three inner convs are 90% sparse (12·nnz < 4·size); the dense first conv and classifier stay.
    expect(converted.map((c) => c.name).sort()).toEqual(['l2.weight', 'l4.weight', 'l6.weight']);
    expect(sparse.graph.sparseInitializers).toHaveLength(3);
    expect([...sparse.graph.initializers.keys()]).not.toContain('l2.weight');
    expect([...model.graph.initializers.keys()]).toContain('l2.weight'); // the input is untouched
    const dense = encodeModel(model);
    const bytes = encodeModel(sparse);
    expect(bytes.length).toBeLessThan(dense.length * 0.75);
    const r = rng(1);
    const x = Float32Array.from({ length: 288 }, () => r() * 2 - 1);
    expect(Array.from(await outputs(bytes, x))).toEqual(Array.from(await outputs(dense, x)));
  });

  it('at 50% sparsity nothing is smaller in ONNX sparse form, so the model stays dense', async () => {
    const model = tinyModel();
    applyPlan(model, await unstructuredPruning({ amount: 0.5, keepFirst: false, keepLast: false }).plan(model, context()));
    expect(toSparseInitializers(model).converted).toEqual([]);
  });

  it('writes through the pipeline stager', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sparse-'));
    const model = convModel(2);
    applyPlan(model, await unstructuredPruning({ amount: 0.95 }).plan(model, context()));
    const ctx = context();
    const r = await onnxSparseWrite({ out: join(dir, 'm.onnx') }).export(model, ctx);
    (ctx.outputs as unknown as { commit(): string[] }).commit();
    expect(readdirSync(dir)).toEqual(['m.onnx']);
    expect(r.details).toMatchObject({ sparseInitializers: 3 });
    expect(statSync(join(dir, 'm.onnx')).size).toBe(r.details!.bytes);
    const back = await readModel(join(dir, 'm.onnx'));
    expect(back.graph.sparseInitializers.map((s) => s.values.name).sort()).toEqual(['l2.weight', 'l4.weight', 'l6.weight']);
  });
});
