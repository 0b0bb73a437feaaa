// `shears run` with a recipe's evaluate: and report: keys, relative paths
// resolved against the recipe, and `--report` on `shears prune`; on the
// Fashion-MNIST CNN fixture with real labelled images.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDataset, writeNpz } from '@shears/data';
import { fixture } from '@shears/fixtures';
import { beforeAll, describe, expect, it } from 'vitest';
import { shears } from './run-cli.js';

const model = fixture('fmnist_cnn');
const fmnist = process.env.SHEARS_FMNIST_DIR ?? '/usr/share/datasets/fashion-mnist';
const ready = !!model && existsSync(join(fmnist, 't10k-images-idx3-ubyte.gz'));
const N = 200;

/** A folder with the model, 200 labelled t10k images as val.npz, and a recipe using relative paths. */
async function workspace(recipe: string): Promise<string> {
  const d = mkdtempSync(join(tmpdir(), 'shears-run-eval-'));
  copyFileSync(model!, join(d, 'm.onnx'));
  const x = new Float32Array(N * 784);
  const y = new Int32Array(N);
  let i = 0;
  for await (const b of (await openDataset(`${fmnist}:t10k`)).batches(N, { limit: N })) {
    x.set(b.x);
    y.set(b.y!);
    i += b.dims[0]!;
  }
  expect(i).toBe(N);
  writeNpz(join(d, 'val.npz'), { x: { data: x, shape: [N, 1, 28, 28] }, y });
  writeFileSync(join(d, 'recipe.yaml'), recipe);
  return d;
}

const RECIPE = `input: m.onnx
steps:
  - use: filter
    with: { amount: 0.25, roundTo: 8 }
  - use: onnx-export
    with: { out: out/slim.onnx }
  - use: tflite-export
    with: { out: out/slim.tflite, inputShapes: { input: [1, 1, 28, 28] } }
evaluate:
  data: val.npz
  bench: { runs: 3, warmup: 1, batch: 4, threads: 1 }
report: out/report.html
`;

describe.skipIf(!ready)('shears run: evaluate and report', () => {
  let d: string;
  beforeAll(async () => {
    d = await workspace(RECIPE);
  });

  it('measures the input and every model output, resolves paths against the recipe, writes the report', () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'shears-cwd-'));
    const r = shears(['run', join(d, 'recipe.yaml'), '--json'], { cwd: elsewhere });
    expect(r.status, r.stderr).toBe(0);
    const j = r.json();
    expect(readdirSync(elsewhere)).toEqual([]);
    expect(readdirSync(join(d, 'out')).sort()).toEqual(['report.html', 'slim.onnx', 'slim.tflite']);
    expect(j.report).toBe(join(d, 'out', 'report.html'));
    expect(j.variants.map((v: { name: string; format: string }) => [v.name, v.format])).toEqual([
      ['input (dense)', 'onnx'],
      ['onnx-export: slim.onnx', 'onnx'],
      ['tflite-export: slim.tflite', 'tflite'],
    ]);
    const [dense, slim, tfl] = j.variants;
    // The dense row is what `shears eval` says of the input.
    const ev = shears(['eval', join(d, 'm.onnx'), '--data', join(d, 'val.npz'), '--json']);
    expect(ev.status).toBe(0);
    expect(dense.accuracy).toBe(ev.json().accuracy);
    expect(dense.samples).toBe(N);
    expect(slim.macs).toBeLessThan(dense.macs);
    expect(slim.bytes).toBeLessThan(dense.bytes);
    expect(Math.abs(tfl.accuracy - slim.accuracy)).toBeLessThanOrEqual(1 / N);
    for (const v of j.variants) expect(v.latencyMs).toBeGreaterThan(0);
    expect([dense.batch, slim.batch, tfl.batch]).toEqual([4, 4, 1]);
    const html = readFileSync(j.report, 'utf8');
    for (const id of ['chart-runs-macs', 'chart-runs-latency', 'chart-tflite-ops']) expect(html).toContain(`<canvas id="${id}"`);
    expect(html).toContain('onnx-export: slim.onnx');
  });

  it('prints a before/after table with ratios against the dense input', () => {
    const r = shears(['run', join(d, 'recipe.yaml'), '--report', join(d, 'other.html')]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/model\s+accuracy\s+Δ acc\s+params\s+non-zero\s+MACs\s+size\s+latency\s+speed-up\s+runtime/);
    expect(r.stdout).toMatch(/^input \(dense\)\s.*1\.00×\s+onnxruntime b4$/m);
    expect(r.stdout).toContain(`report ${join(d, 'other.html')}`);
    expect(existsSync(join(d, 'other.html'))).toBe(true);
    expect(r.stderr).toContain('step 1/5: onnx-import (importer)');
  });

  it('measures a snapshot step as its own row (classify): pruned, before the export', async () => {
    const w = await workspace(`input: m.onnx
steps:
  - use: filter
    with: { amount: 0.5, roundTo: 8 }
  - use: snapshot
    with: { name: "pruned, before fine-tuning" }
  - use: onnx-export
    with: { out: out/slim.onnx }
evaluate:
  data: val.npz
  bench: { runs: 2, warmup: 1, threads: 1 }
report: out/report.html
`);
    const r = shears(['run', join(w, 'recipe.yaml'), '--json']);
    expect(r.status, r.stderr).toBe(0);
    const [dense, snap, slim] = r.json().variants as { name: string; file?: string; accuracy: number; macs: number; samples: number }[];
    expect([dense!.name, snap!.name, slim!.name]).toEqual(['input (dense)', 'pruned, before fine-tuning', 'onnx-export: slim.onnx']);
    expect(snap!.file).toBeUndefined();
    expect(snap!.samples).toBe(N);
    expect(snap!.macs).toBe(slim!.macs);
    expect(snap!.macs).toBeLessThan(0.6 * dense!.macs);
    const ev = shears(['eval', join(w, 'out', 'slim.onnx'), '--data', join(w, 'val.npz'), '--json']).json();
    expect(slim!.accuracy).toBe(ev.accuracy);
    expect(snap!.accuracy).toBe(ev.accuracy);
    const html = readFileSync(join(w, 'out', 'report.html'), 'utf8');
    expect(html).toContain('<td class="name">pruned, before fine-tuning</td>');
  });

  it('fails before any work on missing evaluation data, naming the file', async () => {
    const w = await workspace(RECIPE.replace('data: val.npz', 'data: nope.npz'));
    const r = shears(['run', join(w, 'recipe.yaml')]);
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(/nope\.npz/);
    expect(existsSync(join(w, 'out'))).toBe(false);
  });

  it('refuses unknown evaluate keys and a report over the input', async () => {
    const w = await workspace(RECIPE.replace('batch: 4,', 'batch: 4, batches: 2,'));
    const bad = shears(['run', join(w, 'recipe.yaml')]);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain("evaluate.bench: unknown key 'batches'");
    const over = shears(['run', join(d, 'recipe.yaml'), '--report', join(d, 'm.onnx')]);
    expect(over.status).not.toBe(0);
    expect(over.stderr).toContain('refusing to write the report over an input file');
  });
});

describe.skipIf(!ready)('shears run: calibration', () => {
  const recipe = (calibration: string) => `input: m.onnx
${calibration}
steps:
  - use: channel
    with: { amount: 0.5, calibSamples: 128 }
  - use: onnx-export
    with: { out: out/slim.onnx }
evaluate:
  data: val.npz
`;

  it("gives the recipe's calibration data to data-aware steps", async () => {
    // Calibrate on training images (IDX dir:split), evaluate on the 200 t10k ones.
    const w = await workspace(recipe(`calibration: { data: "${fmnist}:train" }`));
    const r = shears(['run', join(w, 'recipe.yaml'), '--json']);
    expect(r.status, r.stderr).toBe(0);
    const [dense, slim] = r.json().variants as { name: string; accuracy: number; macs: number }[];
    expect(slim!.macs).toBeLessThan(0.4 * dense!.macs);
    // Measured: dense 90.0%, slim 88.5% at 0.27× the MACs (refit by least squares on the calibration images; L1 filter pruning of 50% of the channels without refit keeps ~13%).
    expect(slim!.accuracy).toBeGreaterThan(dense!.accuracy - 0.04);
  });

  it('plans with it on --dry-run, and writes nothing', async () => {
    const w = await workspace(recipe(`calibration: { data: val.npz }`));
    const r = shears(['run', join(w, 'recipe.yaml'), '--dry-run', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const j = r.json();
    expect(j.steps.map((s: { plugin: string; modified: boolean }) => [s.plugin, s.modified])).toEqual([
      ['onnx-import', true],
      ['normalize', false],
      ['channel', false],
      ['onnx-export', false],
    ]);
    expect(j.files).toEqual([]);
    expect(existsSync(join(w, 'out'))).toBe(false);
  });

  it('without it, a data-aware step says how to give it', async () => {
    const w = await workspace(recipe(''));
    const r = shears(['run', join(w, 'recipe.yaml')]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('in a recipe, calibration: {data: …}');
    expect(existsSync(join(w, 'out'))).toBe(false);
    const bad = await workspace(recipe('calibration: { data: val.npz, samples: 3 }'));
    const b = shears(['run', join(bad, 'recipe.yaml')]);
    expect(b.stderr).toContain("calibration: unknown key 'samples'");
  });
});

describe.skipIf(!ready)('shears prune --report', () => {
  it('writes the before/after report of the prune run', () => {
    const d = mkdtempSync(join(tmpdir(), 'shears-prune-report-'));
    mkdirSync(join(d, 'o'));
    const r = shears(['prune', model!, '-o', join(d, 'o', 'slim.onnx'), '--strategy', 'filter', '--amount', '0.5', '--report', join(d, 'o', 'r.html'), '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.json().report).toBe(join(d, 'o', 'r.html'));
    const html = readFileSync(join(d, 'o', 'r.html'), 'utf8');
    expect(html).toContain('<canvas id="chart-channels"');
    expect(readdirSync(join(d, 'o')).sort()).toEqual(['r.html', 'slim.onnx']);
    const over = shears(['prune', model!, '-o', join(d, 'o', 'x.onnx'), '--strategy', 'filter', '--amount', '0.5', '--report', model!]);
    expect(over.status).not.toBe(0);
    expect(over.stderr).toContain('refusing to write the report over an input file');
  });
});
