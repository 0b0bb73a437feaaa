import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyPlan, definePlugin, maskIndices, pipeline, ShearsError } from '@shears/core';
import { assertConformance, testContext, tinyModel } from '@shears/core/testing';
import { onnxImport, onnxWrite, readModel } from '@shears/onnx';
import { describe, expect, it } from 'vitest';
import { thresholdPruning } from './index.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../../..');

describe('shears-plugin-threshold', () => {
  it('passes the Shears conformance kit', async () => {
    await assertConformance({ factory: thresholdPruning, options: { threshold: 0.1 }, badOptions: [{ threshold: -1 }, { threshold: 0.1, colour: 'red' }, {}] });
  });

  it('plans exactly the weights below the threshold, and the applier zeroes them', async () => {
    const model = tinyModel();
    const w = Float32Array.from(model.graph.initializer('conv1.weight')!.floats());
    const plan = await thresholdPruning({ threshold: 0.2 }).plan(model, testContext());
    const expected = [...w.keys()].filter((i) => Math.abs(w[i]!) < 0.2);
    const action = plan.actions.find((a) => a.type === 'mask' && a.tensor === 'conv1.weight')!;
    expect(action.type === 'mask' && Array.from(maskIndices(action))).toEqual(expected);
    applyPlan(model, plan);
    const after = model.graph.initializer('conv1.weight')!.floats();
    expect([...after.keys()].filter((i) => after[i] === 0)).toEqual(expected);
  });

  it('uses the criterion before it in a pipeline', async () => {
    const everything = definePlugin({ name: 'zero-score', kind: 'criterion', async score(t) { return new Float32Array(t.weight.size); } });
    const r = await pipeline(everything, thresholdPruning({ threshold: 0.5, exclude: '^fc$' })).run(tinyModel());
    const g = r.model.graph;
    expect(g.initializer('conv2.weight')!.floats().every((x) => x === 0)).toBe(true);
    expect(g.initializer('fc.weight')!.floats().some((x) => x !== 0)).toBe(true);
    expect(r.steps[1]!.plan!.skipped).toEqual([{ target: 'fc', reason: 'excluded by ^fc$' }]);
  });

  it('names itself and the option on bad options', () => {
    expect(() => thresholdPruning({ threshold: -1 })).toThrow(ShearsError);
    expect(() => thresholdPruning({ threshold: -1 })).toThrow(/^threshold: option threshold:/);
  });

  it('runs on a real ONNX model through the pipeline', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'threshold-'));
    const out = join(dir, 'out.onnx');
    const input = join(repo, 'fixtures', 'tiny-cnn.onnx');
    await pipeline(onnxImport(), thresholdPruning({ threshold: 0.05 }), onnxWrite({ out })).run(input);
    const m = await readModel(out);
    const zeros = [...m.graph.initializers.values()].reduce((a, v) => a + (v.constValue!.dtype === 'float32' ? v.constValue!.floats().filter((x) => x === 0).length : 0), 0);
    expect(zeros).toBeGreaterThan(0);
    expect(readdirSync(dir)).toEqual(['out.onnx']);
  });

  it('plugs into the shears CLI by module path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'threshold-cli-'));
    // The repo's built CLI (a published plugin would use its installed `shears`).
    const bin = join(repo, 'apps', 'cli', 'dist', 'bin.js');
    const r = spawnSync(process.execPath, [bin, 'prune', join(repo, 'fixtures', 'tiny-cnn.onnx'), '-o', join(dir, 'o.onnx'), '--strategy', join(here, '..', 'dist', 'index.js'), '--set', 'threshold=0.05', '--json'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.strategy).toBe('threshold');
    expect(report.after.nonzeroParams).toBeLessThan(report.before.nonzeroParams);
  });
});
