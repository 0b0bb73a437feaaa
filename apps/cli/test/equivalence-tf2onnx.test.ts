// Structured results of real tf2onnx exports against their masked twins.
// End to end in float32 they differ by more than 1e-5 without any error in
// the pruning (float64 runs of both agree to 1e-13 or exactly):
// - M-LSD's `scores` is heat · (heat == MaxPool3×3(heat)), a local-maximum
//   mask, so rounding of 1e-7 flips a score on or off at near-ties;
// - least-squares refits on few calibration rows grow weights 4–10× per layer,
//   amplifying rounding (BlazeFace channel 50% random:64: 1.4e-4, while the
//   twin against itself at another onnxruntime optimization level: 1.1e-4).
// Node by node, each fed the twin's own inputs, both are at rounding level.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deserializePlan, normalizeModel, runtimeInputs, type Model, type NamedTensor } from '@shears/core';
import { registryModel } from '@shears/fixtures';
import { readModel } from '@shears/onnx';
import { describe, expect, it } from 'vitest';
import { capture, forcedEquivalence, maskedTwin } from './forced-equivalence.js';
import { shears } from './run-cli.js';

/** Seeded N(0,1) feeds at the model's static input shapes (as the coverage bench makes them). */
function feedsFor(model: Model): Record<string, NamedTensor> {
  const feeds: Record<string, NamedTensor> = {};
  let s = 7;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 4294967296;
  for (const v of runtimeInputs(model.graph)) {
    const dims = v.shape!.map((d) => (typeof d === 'number' && d > 0 ? d : 1));
    const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = Math.sqrt(-2 * Math.log(rnd())) * Math.cos(2 * Math.PI * rnd());
    feeds[v.name] = { dims, data };
  }
  return feeds;
}

/** Prune with the CLI, as the bench does; the normalized dense model, the plan, the result and the twin. */
async function prune(file: string, args: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'shears-eq-tf2onnx-'));
  const out = join(dir, 'o.onnx');
  const r = shears(['prune', file, '-o', out, ...args, '--plan', join(dir, 'plan.json'), '--json']);
  expect(r.status, r.stderr).toBe(0);
  const dense = await readModel(file);
  normalizeModel(dense);
  const plan = deserializePlan(readFileSync(join(dir, 'plan.json'), 'utf8'));
  const pruned = await readModel(out);
  return { dense, plan, pruned, twin: maskedTwin(dense, plan), feeds: feedsFor(dense) };
}

const maxRel = (a: NamedTensor, b: NamedTensor) => {
  const x = a.data as Float32Array;
  const y = b.data as Float32Array;
  let d = 0;
  let m = 0;
  for (let i = 0; i < x.length; i++) {
    d = Math.max(d, Math.abs(x[i]! - y[i]!));
    m = Math.max(m, Math.abs(x[i]!));
  }
  return d / m;
};

const mlsd = registryModel('mlsd-tiny');
const blazeface = registryModel('blazeface-front');

describe('tf2onnx exports: structured result vs masked twin', () => {
  it.skipIf(!mlsd)('M-LSD tiny, filter --target-macs 0.5: every node agrees; offsets agree end to end; scores differ only by local-maximum flips', async () => {
    const { plan, pruned, twin, feeds } = await prune(mlsd!, ['--strategy', 'filter', '--target-macs', '0.5']);
    const f = await forcedEquivalence(twin, pruned, feeds, plan);
    expect(f.rel, f.value).toBeLessThan(1e-5);
    expect(f.values).toBeGreaterThan(0.9 * f.of);
    const [a, b] = [await capture(twin, feeds), await capture(pruned, feeds)];
    expect(maxRel(a.offsets!, b.offsets!)).toBeLessThan(1e-5);
    // scores = heat · (heat == MaxPool(heat)): where they differ, one side masked the score out.
    const [x, y] = [a.scores!.data as Float32Array, b.scores!.data as Float32Array];
    const tol = 1e-5 * x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const flips = [];
    for (let i = 0; i < x.length; i++) if (Math.abs(x[i]! - y[i]!) > tol) flips.push([x[i], y[i]]);
    expect(flips.filter(([p, q]) => p !== 0 && q !== 0)).toEqual([]);
  }, 60_000);

  it.skipIf(!blazeface)('BlazeFace front, channel 50% with reconstruction (random:8): every node agrees', async () => {
    const { plan, pruned, twin, feeds } = await prune(blazeface!, ['--strategy', 'channel', '--amount', '0.5', '--calib', 'random:8']);
    expect(plan.actions.some((a) => a.type === 'set-tensor')).toBe(true);
    const f = await forcedEquivalence(twin, pruned, feeds, plan);
    expect(f.rel, f.value).toBeLessThan(1e-5);
    expect(f.values).toBeGreaterThan(0.9 * f.of);
    const [a, b] = [await capture(twin, feeds), await capture(pruned, feeds)];
    for (const k of Object.keys(a)) expect(maxRel(a[k]!, b[k]!)).toBeLessThan(1e-4);
  }, 60_000);
});
