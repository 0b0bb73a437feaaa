import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeNpz } from '@shears/data';
import { smallFixture } from '@shears/fixtures';
import { beforeAll, describe, expect, it } from 'vitest';
import { shears } from './run-cli.js';

const tiny = smallFixture('tiny-cnn.onnx');
const plugin = createRequire(import.meta.url).resolve('shears-plugin-threshold');
let dir: string;
let data: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'shears-verbs-'));
  data = join(dir, 'val.npz');
  const x = new Float32Array(8 * 3 * 32 * 32).map((_, i) => Math.sin(i));
  await writeNpz(data, { x: { data: x, shape: [8, 3, 32, 32] }, y: Int32Array.of(0, 1, 2, 3, 4, 5, 6, 7) });
  await writeNpz(join(dir, 'mnist-like.npz'), { x: { data: new Float32Array(4 * 784), shape: [4, 1, 28, 28] }, y: Int32Array.of(0, 1, 2, 3) });
});

describe('shears eval / bench / compare', () => {
  it('eval gives {accuracy, top5, samples}', () => {
    const r = shears(['eval', tiny, '--data', data, '--json']);
    expect(r.stderr).toBe('');
    const j = r.json();
    expect(j.samples).toBe(8);
    expect(j.accuracy).toBeGreaterThanOrEqual(0);
    expect(j.top5).toBeGreaterThanOrEqual(j.accuracy);
    expect(j.top5).toBeLessThanOrEqual(1);
  });

  it('eval refuses data that does not fit the input, naming both shapes', () => {
    const r = shears(['eval', tiny, '--data', join(dir, 'mnist-like.npz')]);
    expect(r.status).toBe(3);
    expect(r.stderr.trim()).toBe(`shears: error: ${join(dir, 'mnist-like.npz')}: samples are 1x28x28 but model input input expects 3x32x32`);
  });

  it('bench gives {latencyMs: {median, p90}, threads}', () => {
    const j = shears(['bench', tiny, '--runs', '5', '--warmup', '1', '--threads', '1', '--json']).json();
    expect(j.threads).toBe(1);
    expect(j.latencyMs.median).toBeGreaterThan(0);
    expect(j.latencyMs.p90).toBeGreaterThanOrEqual(j.latencyMs.median);
  });

  it('compare gives {maxAbsDiff, cosine}', () => {
    const j = shears(['compare', tiny, tiny, '--data', data, '--json']).json();
    expect(j).toMatchObject({ maxAbsDiff: 0, cosine: 1, samples: 8 });
  });
});

describe('shears prune', () => {
  it('prunes with a third-party strategy module and reports before/after', () => {
    const out = join(dir, 'pruned.onnx');
    const r = shears(['prune', tiny, '-o', out, '--strategy', plugin, '--set', 'threshold=0.05', '--json']);
    expect(r.status).toBe(0);
    const j = r.json();
    for (const k of ['params', 'nonzeroParams', 'macs', 'bytes']) expect(typeof j.before[k]).toBe('number');
    expect(j.after.params).toBe(j.before.params);
    expect(j.after.nonzeroParams).toBeLessThan(j.before.nonzeroParams);
    expect(j.seconds).toBeGreaterThan(0);
    expect(j.layers.some((l: { sparsity: number }) => l.sparsity > 0)).toBe(true);
    // The written file holds the zeros.
    const again = shears(['inspect', out, '--json']).json();
    expect(again.nonzeroParams).toBe(j.after.nonzeroParams);
  });

  it('dry run writes only the plan', () => {
    const d = mkdtempSync(join(tmpdir(), 'shears-dry-'));
    const r = shears(['prune', tiny, '-o', join(d, 'o.onnx'), '--strategy', plugin, '--set', 'threshold=0.05', '--dry-run', '--plan', join(d, 'plan.json')]);
    expect(r.status).toBe(0);
    expect(readdirSync(d)).toEqual(['plan.json']);
  });

  it.each([
    // Bad usage is exit 2: a name that is no plugin, or a plugin of the wrong kind.
    [['--strategy', 'nope', '--amount', '0.5'], 2, /^shears: error: prune: option --strategy: unknown strategy 'nope': not a built-in strategy \(unstructured, filter, compact, channel\)/],
    [['--strategy', 'filterr', '--amount', '0.5'], 2, /unknown strategy 'filterr' \(did you mean 'filter'\?\)/],
    [['--strategy', './no-such-plugin.mjs'], 2, /option --strategy: unknown strategy '\.\/no-such-plugin\.mjs'/],
    [['--strategy', 'l1', '--amount', '0.5'], 2, /prune: option --strategy: 'l1' is a criterion plugin, not a strategy/],
    [['--strategy', 'filter', '--criterion', 'l11', '--amount', '0.5'], 2, /option --criterion: unknown criterion 'l11' \(did you mean 'l1'\?\)/],
    [['--strategy', plugin, '--amount', '1.5'], 2, /index.cjs: option --amount: must be in \[0, 1\) \(got 1.5\)/],
    [['--strategy', plugin, '--set', 'threshold=-1'], 2, /threshold: option threshold:/],
    [['--strategy', plugin, '--set', 'thresh=1'], 2, /threshold: option \(options\): Unrecognized key|threshold: option/],
  ])('refuses %j with exit %i', (args, code, msg) => {
    const d = mkdtempSync(join(tmpdir(), 'shears-bad-'));
    const r = shears(['prune', tiny, '-o', join(d, 'o.onnx'), ...(args as string[])]);
    expect(r.status).toBe(code);
    expect(r.stderr).toMatch(msg as RegExp);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(readdirSync(d)).toEqual([]);
  });

  it('says when a module is not a plugin', () => {
    const notPlugin = join(dir, 'not-plugin.mjs');
    writeFileSync(notPlugin, 'export default 42;\n');
    const r = shears(['prune', tiny, '-o', join(dir, 'x.onnx'), '--strategy', notPlugin]);
    expect(r.status).toBe(4);
    expect(r.stderr).toMatch(/is not a Shears plugin: its default export expected a plugin object, got number/);
  });
});

describe('shears run', () => {
  it('runs a recipe with a third-party plugin and writes the output', () => {
    const d = mkdtempSync(join(tmpdir(), 'shears-recipe-'));
    writeFileSync(join(d, 'r.yaml'), `input: ${tiny}\nsteps:\n  - use: ${plugin}\n    with: {threshold: 0.05}\n  - use: onnx-write\n    with: {out: out.onnx}\n`);
    const r = shears(['run', join(d, 'r.yaml'), '--json'], { cwd: d });
    expect(r.stderr).toBe('');
    const j = r.json();
    expect(j.steps.map((s: { plugin: string }) => s.plugin)).toEqual(['onnx-import', 'normalize', 'threshold', 'onnx-write']);
    expect(j.files).toEqual([join(d, 'out.onnx')]);
  });

  it('a recipe with a wrong key names the file and key', () => {
    const d = mkdtempSync(join(tmpdir(), 'shears-recipe-'));
    writeFileSync(join(d, 'r.yaml'), `input: ${tiny}\nsteps:\n  - use: onnx-write\n    whith: {out: o.onnx}\n`);
    const r = shears(['run', join(d, 'r.yaml')]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe(`shears: error: ${join(d, 'r.yaml')}: steps[0]: unknown key 'whith' (did you mean 'with'?)`);
  });

  it('a recipe with `step:` for `steps:` names the unknown key and suggests steps (exit 2)', () => {
    const d = mkdtempSync(join(tmpdir(), 'shears-recipe-'));
    writeFileSync(join(d, 'r.yaml'), `input: ${tiny}\nstep:\n  - use: onnx-write\n    with: {out: o.onnx}\n`);
    const r = shears(['run', join(d, 'r.yaml')]);
    expect(r.stderr.trim()).toBe(`shears: error: ${join(d, 'r.yaml')}: unknown key 'step' (did you mean 'steps'?)`);
    expect(r.status).toBe(2);
  });

  it('a recipe step naming no plugin is a recipe error (exit 2), with the closest built-in', () => {
    const d = mkdtempSync(join(tmpdir(), 'shears-recipe-'));
    writeFileSync(join(d, 'r.yaml'), `input: ${tiny}\nsteps:\n  - use: filterr\n  - use: onnx-write\n    with: {out: o.onnx}\n`);
    const r = shears(['run', join(d, 'r.yaml')]);
    expect(r.stderr.trim()).toMatch(new RegExp(`^shears: error: ${join(d, 'r.yaml')}: steps\\[0\\]\\.use: unknown plugin 'filterr' \\(did you mean 'filter'\\?\\)`));
    expect(r.status).toBe(2);
    expect(readdirSync(d)).toEqual(['r.yaml']);
  });

  it('a failing step leaves no output behind', () => {
    const d = mkdtempSync(join(tmpdir(), 'shears-recipe-'));
    writeFileSync(join(d, 'fail.mjs'), "export default () => ({ name: 'fail', kind: 'pass', async run() { throw new Error('boom'); } });\n");
    writeFileSync(join(d, 'r.yaml'), `input: ${tiny}\nsteps:\n  - use: onnx-write\n    with: {out: first.onnx}\n  - use: ./fail.mjs\n`);
    const r = shears(['run', join(d, 'r.yaml')]);
    expect(r.status).toBe(4);
    expect(r.stderr).toMatch(/fail \(run\) failed: boom/);
    expect(readdirSync(d).sort()).toEqual(['fail.mjs', 'r.yaml']);
  });
});

describe('shears plugins', () => {
  it('lists the built-ins with kinds, and installed plugin packages', () => {
    // apps/cli depends on the example plugin, which has the keyword "shears-plugin".
    const j = shears(['plugins', '--json'], { cwd: join(dirname(fileURLToPath(import.meta.url)), '..') }).json();
    expect(j.installed).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'shears-plugin-threshold', version: '0.1.0' })]));
    expect(j.plugins).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'onnx-import', kind: 'importer' }), expect.objectContaining({ name: 'onnx-write', kind: 'exporter' })]));
    // The old name of tflite-export is listed last, as a deprecated alias.
    expect(j.plugins.find((p: { name: string }) => p.name === 'tflite-export')).toMatchObject({ kind: 'exporter' });
    expect(j.plugins.at(-1)).toEqual({ name: 'export-tflite', kind: 'exporter', description: 'deprecated alias of tflite-export', deprecated: true, aliasOf: 'tflite-export' });
    const text = shears(['plugins']).stdout;
    expect(text).toMatch(/^export-tflite \(deprecated\)\s+exporter\s+deprecated alias of tflite-export$/m);
  });

  it('a recipe using the old name export-tflite still runs, with one deprecation line', () => {
    const d = mkdtempSync(join(tmpdir(), 'shears-alias-'));
    writeFileSync(join(d, 'r.yaml'), `input: ${tiny}\nsteps:\n  - use: export-tflite\n    with: {out: m.tflite, verify: false}\n`);
    const r = shears(['run', join(d, 'r.yaml'), '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr.split('\n').filter((l) => l.includes('deprecated'))).toEqual([
      expect.stringMatching(/'export-tflite' is a deprecated name of the built-in plugin 'tflite-export'; use 'tflite-export'/),
    ]);
    expect(r.json().steps.map((s: { plugin: string }) => s.plugin)).toEqual(['onnx-import', 'normalize', 'tflite-export']);
    expect(readdirSync(d).sort()).toEqual(['m.tflite', 'r.yaml']);
  });
});
