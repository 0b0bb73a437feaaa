// PaddleOCR rec (PP-OCRv4, paddle2onnx, x [?,3,48,?]) pruned by filters with
// --input-shape: sizes let the graph follow the head's Squeeze of H=1, so the
// last Conv's group (conv2d_208) is pruned as well, while the SVTR attention
// (qkv Reshaped [N,?,360] → [N,?,3,8,15], cut by Slice, mixed by MatMul)
// stays pinned with the reason. The result equals its masked twin built on
// the same sizes; a twin built without them is refused (it would silently
// leave the channels the plan removes).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cloneModel, deserializePlan, fillUniform, inferShapes, normalizeModel, type NamedTensor, type PruningPlan } from '@shears/core';
import { registryModel } from '@shears/fixtures';
import { readModel } from '@shears/onnx';
import { afterAll, describe, expect, it } from 'vitest';
import { capture, forcedEquivalence, maskedTwin } from './forced-equivalence.js';
import { shears } from './run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'shears-rec-sized-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const SHAPE = [1, 3, 48, 320];

function relDiff(a: Record<string, NamedTensor>, b: Record<string, NamedTensor>): number {
  let d = 0;
  let m = 0;
  for (const [k, t] of Object.entries(a)) {
    const x = t.data as Float32Array;
    const y = b[k]!.data as Float32Array;
    for (let i = 0; i < x.length; i++) {
      d = Math.max(d, Math.abs(x[i]! - y[i]!));
      m = Math.max(m, Math.abs(x[i]!));
    }
  }
  return d / m;
}

const rec = registryModel('paddle-rec');

describe.skipIf(!rec)('PaddleOCR rec, filter 0.3 with --input-shape', () => {
  it('equals its masked twin (same sizes); the attention group stays pinned with the reason', { timeout: 120_000 }, async () => {
    const file = rec!;
    const out = join(dir, 'rec.onnx');
    const planFile = join(dir, 'rec.plan.json');
    const r = shears(['prune', file, '-o', out, '--strategy', 'filter', '--amount', '0.3', '--input-shape', `x:${SHAPE.join('x')}`, '--plan', planFile, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const plan: PruningPlan = deserializePlan(readFileSync(planFile, 'utf8'));
    const groups = new Set(plan.actions.flatMap((a) => (a.type === 'remove-channels' ? [a.group] : [])));
    // The head's last Conv, behind Squeeze(H=1) → Transpose → MatMul: followable only with sizes.
    expect(groups.has('conv2d_208.tmp_0')).toBe(true);
    expect(plan.skipped.map((s) => s.reason)).toContainEqual(expect.stringMatching(/Slice .* cuts a channel axis of a reshaped layout/));

    const dense = await readModel(file);
    normalizeModel(dense);
    // Without the sizes the plan was made with, the twin is refused, not silently left unmasked.
    expect(() => maskedTwin(dense, plan)).toThrow(/conv2d_208\.tmp_0: channel \d+ cannot be removed: Squeeze/);
    const sized = cloneModel(dense);
    inferShapes(sized, { inputShapes: { x: SHAPE } });
    const twin = maskedTwin(sized, plan);
    const pruned = await readModel(out);
    const feeds = { x: { dims: SHAPE, data: fillUniform(new Float32Array(SHAPE.reduce((a, b) => a * b, 1)), 5) } };
    const [want, got] = [await capture(twin, feeds), await capture(pruned, feeds)];
    // End to end float32 rounding grows a little through the network (measured 1e-5); node by node it stays at rounding level.
    expect(relDiff(want, got)).toBeLessThan(1e-4);
    const f = await forcedEquivalence(twin, pruned, feeds, plan);
    expect(f.values).toBeGreaterThan(100);
    expect(f.rel).toBeLessThanOrEqual(1e-5);
  });
});
