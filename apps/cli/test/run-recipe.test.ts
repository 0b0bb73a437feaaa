// A recipe runs the same from code (runRecipe, exported by @shears/cli) as
// from `shears run`: calibration data reaches the data-aware steps, evaluate:
// measures every output, report: is written, and paths resolve against the
// recipe. On the Fashion-MNIST CNN fixture with real labelled images.
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRecipe, pipelineFromRecipe } from '@shears/core';
import { openDataset, writeNpz } from '@shears/data';
import { fixture } from '@shears/fixtures';
import { describe, expect, it } from 'vitest';
import { runRecipe } from '../src/index.js';
import { loadBuiltins } from '../src/builtins.js';
import { shears } from './run-cli.js';

const model = fixture('fmnist_cnn');
const fmnist = process.env.SHEARS_FMNIST_DIR ?? '/usr/share/datasets/fashion-mnist';
const ready = !!model && existsSync(join(fmnist, 't10k-images-idx3-ubyte.gz'));
const N = 128;

async function workspace(): Promise<string> {
  const d = mkdtempSync(join(tmpdir(), 'shears-run-recipe-'));
  copyFileSync(model!, join(d, 'm.onnx'));
  const x = new Float32Array(N * 784);
  const y = new Int32Array(N);
  for await (const b of (await openDataset(`${fmnist}:t10k`)).batches(N, { limit: N })) {
    x.set(b.x);
    y.set(b.y!);
  }
  writeNpz(join(d, 'data.npz'), { x: { data: x, shape: [N, 1, 28, 28] }, y });
  // channel (data-aware: greedy selection and least-squares refit) needs the calibration data.
  writeFileSync(
    join(d, 'recipe.yaml'),
    `input: m.onnx
calibration: { data: data.npz }
steps:
  - use: channel
    with: { amount: 0.25, roundTo: 8, calibSamples: 64 }
  - use: onnx-export
    with: { out: out/slim.onnx }
evaluate:
  data: data.npz
  bench: { runs: 2, warmup: 1, batch: 4, threads: 1 }
report: out/report.html
`,
  );
  return d;
}

describe.skipIf(!ready)('runRecipe: a recipe from code', () => {
  it('uses calibration:, evaluate: and report: as shears run does', async () => {
    const d = await workspace();
    const cwd = process.cwd();
    const run = await runRecipe(join(d, 'recipe.yaml'));
    expect(process.cwd()).toBe(cwd); // restored
    const channel = run.result.steps.find((s) => s.plugin === 'channel')!;
    expect(channel.modified).toBe(true);
    expect(channel.plan!.details!.selection).toBe('greedy');
    expect(run.result.files).toEqual([join(d, 'out', 'slim.onnx')]);
    expect(run.variants.map((v) => v.name)).toEqual(['input (dense)', 'onnx-export: slim.onnx']);
    for (const v of run.variants) expect(v.accuracy).toBeGreaterThan(0.7);
    expect(run.variants[1]!.macs!).toBeLessThan(run.variants[0]!.macs!);
    expect(readFileSync(run.report!.path, 'utf8')).toContain('<html');

    // The CLI runs the same function: the same plan, the same accuracy.
    const cli = shears(['run', join(d, 'recipe.yaml'), '--json']);
    expect(cli.status, cli.stderr).toBe(0);
    const j = cli.json() as { variants: { accuracy: number }[] };
    expect(j.variants.map((v) => v.accuracy)).toEqual(run.variants.map((v) => v.accuracy));
  });

  it('pipelineFromRecipe alone builds only the steps: without calibration data the channel step says what is missing', async () => {
    const d = await workspace();
    const recipe = await loadRecipe(join(d, 'recipe.yaml'));
    const p = await pipelineFromRecipe({ ...recipe, steps: recipe.steps.slice(0, 1) }, { builtins: await loadBuiltins(['channel']) });
    const { readModel } = await import('@shears/onnx');
    const { createRuntime } = await import('@shears/runtime');
    await expect(p.run(await readModel(join(d, 'm.onnx')), { runtime: createRuntime() })).rejects.toMatchObject({ code: 'E_OPTION', plugin: 'channel', option: 'calib' });
  });
});
