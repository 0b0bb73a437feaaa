// The `shears prune` command with this package's built-ins (apps/cli/dist, built).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Graph, Model, Node, tensorType, Value } from '@shears/core';
import { fixture } from '@shears/fixtures';
import { readModel, writeModel } from '@shears/onnx';
import { Session } from '@shears/runtime';
import { describe, expect, it } from 'vitest';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = join(repo, 'apps/cli/dist/bin.js');
const tiny = join(repo, 'fixtures/tiny-cnn.onnx');
const tmp = () => mkdtempSync(join(tmpdir(), 'prune-unstructured-cli-'));

function shears(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, json: () => JSON.parse(r.stdout) };
}

describe.skipIf(!existsSync(bin))('shears prune --strategy unstructured', () => {
  it('global L1: the report gives per-layer and achieved sparsity; the written weights are exact zeros', async () => {
    const out = join(tmp(), 'o.onnx');
    const r = shears('prune', tiny, '-o', out, '--strategy', 'unstructured', '--amount', '0.5', '--scope', 'global', '--json');
    expect(r.status, r.stderr).toBe(0);
    const report = r.json();
    expect(report.strategy).toBe('unstructured');
    expect(report.achievedSparsity).toBe(0.5);
    expect(report.modelSparsity).toBeGreaterThan(0.4);
    const conv = report.layers.find((l: { name: string }) => l.name === '/c2/Conv');
    expect(conv.sparsity).toBeGreaterThan(0);
    expect(report.skipped.map((s: { target: string }) => s.target)).toEqual(['/c1/Conv', '/fc/Gemm']);
    const m = await readModel(out);
    const zeros = [...m.graph.initializers.values()].reduce((a, v) => a + (v.constValue!.dtype === 'float32' ? v.constValue!.floats().filter((x) => x === 0).length : 0), 0);
    expect(zeros).toBe(report.before.nonzeroParams - report.after.nonzeroParams);
  });

  it('--criterion wanda --calib, --pattern 2:4, --exclude', () => {
    const dir = tmp();
    let r = shears('prune', tiny, '-o', join(dir, 'w.onnx'), '--strategy', 'unstructured', '--amount', '0.3', '--criterion', 'wanda', '--calib', 'random:8', '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(r.json().criterion).toBe('wanda');
    expect(r.stderr).not.toMatch(/poor calibration set/); // --calib given
    r = shears('prune', tiny, '-o', join(dir, 'p.onnx'), '--strategy', 'unstructured', '--pattern', '2:4', '--set', 'keepFirst=false', '--json');
    expect(r.status, r.stderr).toBe(0);
    // The first conv reads 3 channels: not a multiple of 4, so skipped and reported.
    expect(r.json().skipped.find((s: { target: string }) => s.target === '/c1/Conv').reason).toMatch(/3 channels, not a multiple of 4/);
    r = shears('prune', tiny, '-o', join(dir, 'e.onnx'), '--strategy', 'unstructured', '--amount', '0.5', '--exclude', 'c2', '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(r.json().skipped.map((s: { reason: string }) => s.reason)).toContain('excluded by c2');
  });

  it('refuses bad options, naming the plugin and option', () => {
    const out = join(tmp(), 'o.onnx');
    let r = shears('prune', tiny, '-o', out, '--strategy', 'unstructured', '--amount', '1');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unstructured: option --amount: must be in \[0, 1\)/);
    r = shears('prune', tiny, '-o', out, '--strategy', 'unstructured', '--pattern', '4:2');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unstructured: option pattern: must be N:M with 0 < N < M/);
    expect(existsSync(out)).toBe(false);
  });

  it('a model without prunable layers: an error naming its ops', async () => {
    const r = shears('prune', join(repo, 'fixtures/int8-weights.onnx'), '-o', join(tmp(), 'o.onnx'), '--strategy', 'unstructured', '--amount', '0.5');
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/no prunable layer; its ops are .*MatMulInteger×1/);
    // And one with nothing weight-bearing at all.
    const dir = tmp();
    const g = new Graph('g');
    const x = g.addInput(new Value('input', tensorType('float32', [1, 4])));
    const n = g.appendNode(new Node({ opType: 'Relu', inputs: [x], outputs: ['y'] }));
    n.outputs[0]!.type = tensorType('float32', [1, 4]);
    g.outputs.push(n.outputs[0]!);
    await writeModel(new Model({ graph: g }), join(dir, 'relu.onnx'));
    const r2 = shears('prune', join(dir, 'relu.onnx'), '-o', join(dir, 'o.onnx'), '--strategy', 'unstructured', '--amount', '0.5');
    expect(r2.stderr).toMatch(/no prunable layer; its ops are Relu×1/);
  });

  it('--sparse-format writes sparse initializers that onnxruntime runs like the dense model', async () => {
    const dir = tmp();
    const dense = join(dir, 'd.onnx');
    const sparse = join(dir, 's.onnx');
    for (const [out, extra] of [[dense, []], [sparse, ['--sparse-format']]] as const) {
      const r = shears('prune', tiny, '-o', out, '--strategy', 'unstructured', '--amount', '0.9', ...extra);
      expect(r.status, r.stderr).toBe(0);
    }
    expect(statSync(sparse).size).toBeLessThan(statSync(dense).size * 0.7);
    expect((await readModel(sparse)).graph.sparseInitializers.length).toBeGreaterThan(0);
    const x = Float32Array.from({ length: 3 * 32 * 32 }, (_, i) => Math.sin(i));
    const run = async (f: string) => {
      const s = await Session.create((await import('node:fs')).readFileSync(f), { threads: 1 });
      const y = await s.run({ input: { dims: [1, 3, 32, 32], data: x } });
      await s.release();
      return Array.from(y[s.outputNames[0]!]!.data as Float32Array);
    };
    expect(await run(sparse)).toEqual(await run(dense));
  });

  const fm = fixture('fmnist_cnn');
  const fmData = '/usr/share/datasets/fashion-mnist';
  it.skipIf(!fm || !existsSync(fmData))('sparsegpt with real calibration data on the Fashion-MNIST CNN', () => {
    const r = shears('prune', fm!, '-o', join(tmp(), 'o.onnx'), '--strategy', 'unstructured', '--amount', '0.5', '--criterion', 'sparsegpt', '--calib', `${fmData}:train`, '--input-shape', '1x1x28x28', '--json');
    expect(r.status, r.stderr).toBe(0);
    const report = r.json();
    expect(report.criterion).toBe('sparsegpt');
    expect(report.achievedSparsity).toBe(0.5);
  });
});
