// onnxruntime-optimized graphs (com.microsoft FusedConv, FusedGemm…), as users
// ship them: written by onnxruntime-node at test time from real models, then
// pruned the four ways through the CLI (see ort-optimized.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture, registryModel } from '@shears/fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opCounts, ortOptimize, pruneOneWay, shapeArg, table, WAYS, type WayResult } from './ort-optimized.js';
import { shears } from './run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'shears-ort-opt-'));
const rows: WayResult[] = [];
afterAll(() => {
  if (rows.length) console.log(`onnxruntime-optimized models, four ways:\n${table(rows)}`);
  rmSync(dir, { recursive: true, force: true });
});

interface Case {
  label: string;
  src: string | null;
  level: 'extended' | 'all';
  inputShapes?: Record<string, number[]>;
  /** Contrib ops the optimized file must hold (domain::type[/inputs when > 3]). */
  expects: string[];
}

const CASES: Case[] = [
  { label: 'resnet18 (extended)', src: fixture('resnet18'), level: 'extended', expects: ['com.microsoft::FusedConv'] },
  { label: 'mobilenet_v2 (extended)', src: fixture('mobilenet_v2'), level: 'extended', expects: ['com.microsoft::FusedConv'] },
  { label: 'blazeface-front (extended)', src: registryModel('blazeface-front'), level: 'extended', expects: ['com.microsoft::FusedConv'] },
  { label: 'paddle-cls (extended)', src: registryModel('paddle-cls'), level: 'extended', inputShapes: { x: [1, 3, 48, 192] }, expects: ['com.microsoft::FusedConv'] },
  // Level 'all' without NCHWc: Conv+Add+Relu become one FusedConv with the residual Z input.
  { label: 'blazeface-front (all, Z)', src: registryModel('blazeface-front'), level: 'all', expects: ['com.microsoft::FusedConv/4'] },
];

for (const c of CASES) {
  describe.skipIf(!c.src)(`onnxruntime-optimized ${c.label}`, () => {
    const file = join(dir, `${c.label.replace(/[^\w]+/g, '_')}.onnx`);
    beforeAll(async () => {
      await ortOptimize(c.src!, file, c.level);
    });

    it('holds the fused contrib ops, and inspect knows every op', async () => {
      const ops = await opCounts(file);
      for (const op of c.expects) expect(ops.get(op) ?? 0, `${op} in ${[...ops.keys()].join(', ')}`).toBeGreaterThan(0);
      const r = shears(['inspect', file, ...(c.inputShapes ? shapeArg(c.inputShapes) : []), '--json']);
      expect(r.status, r.stderr).toBe(0);
      expect(r.json().macs).toBeGreaterThan(0);
    });

    it.each(WAYS)('$name: runs in onnxruntime; structured results are smaller and equal their masked twin', async (way) => {
      rows.push(await pruneOneWay(c.label, file, way, dir, c.inputShapes));
    }, 300_000);
  });
}

// FusedGemm (Gemm+Relu) appears in classifiers with hidden layers: vgg11_bn's.
describe.skipIf(!fixture('vgg11_bn'))('onnxruntime-optimized vgg11_bn (FusedGemm)', () => {
  const file = join(dir, 'vgg11_bn.onnx');
  it('filter 0.3 prunes through FusedGemm and equals its masked twin', async () => {
    await ortOptimize(fixture('vgg11_bn')!, file);
    expect((await opCounts(file)).get('com.microsoft::FusedGemm')).toBe(2);
    rows.push(await pruneOneWay('vgg11_bn (extended)', file, WAYS[1]!, dir));
  }, 300_000);
});
