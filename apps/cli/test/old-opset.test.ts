// Old-opset exports (opset 7-9, IR 3-4), as torch 1.13 writes them: parameters
// in attributes (Clip, Split, Unsqueeze, Upsample, Slice, Pad), every
// initializer listed as a graph input (IR < 4). Pruned the four ways through
// the CLI (see ort-optimized.ts), and exported.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture } from '@shears/fixtures';
import { readModel } from '@shears/onnx';
import { createRuntime } from '@shears/runtime';
import { afterAll, describe, expect, it } from 'vitest';
import { pruneOneWay, relDiff, seededFeeds, table, WAYS, type WayResult } from './ort-optimized.js';
import { shears } from './run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'shears-old-opset-'));
const rows: WayResult[] = [];
afterAll(() => {
  if (rows.length) console.log(`old-opset exports, four ways:\n${table(rows)}`);
  rmSync(dir, { recursive: true, force: true });
});
const runtime = createRuntime({ threads: 2 });

const MODELS: { name: string; opset: number; ops: string[] }[] = [
  { name: 'old_ops-opset7', opset: 7, ops: ['Upsample', 'Slice', 'Pad', 'Split', 'BatchNormalization', 'Unsqueeze'] },
  { name: 'old_ops-opset9', opset: 9, ops: ['Upsample', 'Slice', 'Pad', 'Split', 'BatchNormalization'] },
  { name: 'mobilenet_v2-opset7', opset: 7, ops: ['Clip', 'Gemm'] },
  { name: 'shufflenet_v2_x1_0-opset8', opset: 8, ops: ['Split', 'Transpose', 'Unsqueeze'] },
  { name: 'resnet18-opset9', opset: 9, ops: ['Gemm'] },
];

/** Every initializer is a graph input too (the format's rule below IR 4). */
async function initializersListed(file: string): Promise<boolean> {
  const m = await readModel(file);
  const inputs = new Set(m.graph.inputs.map((v) => v.name));
  return m.irVersion >= 4 || [...m.graph.initializers.keys()].every((n) => inputs.has(n));
}

for (const { name, opset, ops } of MODELS) {
  const src = fixture(name);
  describe.skipIf(!src)(`old-opset export ${name}`, () => {
    it(`is opset ${opset} with the attribute forms, and export --format onnx keeps it valid and equal`, async () => {
      const m = await readModel(src!);
      expect(m.opset('')).toBe(opset);
      const types = new Set(m.graph.nodes.map((n) => n.opType));
      for (const op of ops) expect(types.has(op), `${op} in ${[...types].join(', ')}`).toBe(true);
      const out = join(dir, `${name}.export.onnx`);
      const r = shears(['export', src!, '--format', 'onnx', '-o', out, '--json']);
      expect(r.status, r.stderr).toBe(0);
      const e = await readModel(out);
      expect([e.irVersion, e.opset('')]).toEqual([m.irVersion, opset]);
      expect(await initializersListed(out)).toBe(true);
      const feeds = seededFeeds(m);
      expect(relDiff(await runtime.run(m, feeds), await runtime.run(e, feeds))).toBeLessThanOrEqual(1e-5);
    }, 120_000);

    it.each(WAYS)('$name: runs in onnxruntime; structured results are smaller and equal their masked twin', async (way) => {
      rows.push(await pruneOneWay(name, src!, way, dir));
      const out = join(dir, `${`${name}-${way.name}`.replace(/[^\w.-]+/g, '_')}.onnx`);
      expect(await initializersListed(out), 'pruned file keeps IR 3 valid').toBe(true);
      if (way.name === 'filter 0.3') {
        // A pruned old-opset model exports valid too (the official checker runs when Python's onnx is there).
        const r = shears(['export', out, '--format', 'onnx', '-o', join(dir, `${name}.pruned.export.onnx`)]);
        expect(r.status, r.stderr).toBe(0);
      }
    }, 300_000);
  });
}
