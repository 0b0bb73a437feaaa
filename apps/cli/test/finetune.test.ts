import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeNpz } from '@shears/data';
import { smallFixture } from '@shears/fixtures';
import { beforeAll, describe, expect, it } from 'vitest';
import { shears } from './run-cli.js';

// The pure-JS backend, as in CI (auto would pick tfjs-node where its addon is built).
const BACKEND = ['--backend', process.env.SHEARS_FINETUNE_BACKEND ?? 'wasm'];
let dir: string;
let train: string;
const tiny = smallFixture('tiny-cnn.onnx');

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'shears-cli-finetune-'));
  train = join(dir, 'train.npz');
  let s = 7;
  const x = Float32Array.from({ length: 64 * 3 * 32 * 32 }, () => ((s = (s * 16807) % 2147483647) / 2147483647) * 2 - 1);
  writeNpz(train, { x: { data: x, shape: [64, 3, 32, 32] }, y: Int32Array.from({ length: 64 }, (_, i) => i % 10) });
  writeNpz(join(dir, 'wrong.npz'), { x: { data: new Float32Array(4 * 784), shape: [4, 1, 28, 28] }, y: Int32Array.of(0, 1, 2, 3) });
});

describe('shears finetune', () => {
  it('fine-tunes with a teacher, writes the model and checkpoints, and eval scores it as tfjs did', () => {
    const out = join(dir, 'tuned.onnx');
    const log = join(dir, 'log.jsonl');
    const r = shears(['finetune', tiny, '-o', out, '--data', train, '--val', train, '--teacher', tiny, '--alpha', '0.5', '--temperature', '2', '--epochs', '2', '--batch-size', '16', '--lr', '0.01', '--log', log, '--json', ...BACKEND]);
    expect(r.stderr).not.toMatch(/warning|error/i);
    expect(r.stderr).toMatch(/epoch 2\/2: loss [\d.]+ acc [\d.]+%\s+val acc [\d.]+%/);
    expect(r.status).toBe(0);
    const report = r.json();
    expect(report).toMatchObject({ input: tiny, output: out, teacher: 'ort', steps: 8, stopped: 'completed' });
    expect(report.backend).toBe(BACKEND[1] === 'node' ? 'tensorflow' : BACKEND[1]);
    expect(report.epochs).toHaveLength(2);
    expect(existsSync(out)).toBe(true);
    expect(existsSync(join(dir, 'tuned.onnx.ckpt', 'last.onnx'))).toBe(true);
    expect(readFileSync(log, 'utf8').trim().split('\n')).toHaveLength(2);
    const ev = shears(['eval', out, '--data', train, '--json']);
    expect(ev.status).toBe(0);
    expect(ev.json().accuracy).toBeCloseTo(report.epochs[1].valAccuracy, 6);
  });

  it('refuses data that does not fit, and bad options, with one-line errors', () => {
    const r = shears(['finetune', tiny, '-o', join(dir, 'x.onnx'), '--data', join(dir, 'wrong.npz'), ...BACKEND]);
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/samples are 1x28x28 but model input input expects 3x32x32/);
    const o = shears(['finetune', tiny, '-o', join(dir, 'y.onnx'), '--data', train, '--optimizer', 'rmsprop']);
    expect(o.status).toBe(2);
    expect(o.stderr).toMatch(/finetune: option optimizer/);
    const w = shears(['finetune', tiny, '-o', join(dir, 'z.onnx'), '--data', train, '--workers', '3']);
    expect(w.status).toBe(2);
    expect(w.stderr.trim().split('\n').at(-1)).toBe('shears: error: finetune: option --workers: must be 1, 2 or auto (got 3)');
    expect(shears(['finetune', tiny, '--data', train]).stderr).toMatch(/-o\/--output is required/);
  });

  it('is listed with the built-in plugins, and finetune/teacher-snapshot run from a recipe', () => {
    const list = shears(['plugins', '--json']).json().plugins.map((p: { name: string; kind: string }) => `${p.name}:${p.kind}`);
    expect(list).toContain('finetune:finetuner');
    expect(list).toContain('teacher-snapshot:pass');
    const out = join(dir, 'recipe-out.onnx');
    const recipe = join(dir, 'recipe.json');
    writeFileSync(
      recipe,
      JSON.stringify({
        input: tiny,
        steps: [
          { use: 'teacher-snapshot' },
          { use: 'finetune', with: { data: train, epochs: 1, batchSize: 32, backend: BACKEND[1] } },
          { use: 'onnx-write', with: { out } },
        ],
      }),
    );
    const r = shears(['run', recipe, '--json']);
    expect(r.stderr).not.toMatch(/warning|error/i);
    expect(r.status).toBe(0);
    const steps = r.json().steps;
    expect(steps.map((s: { plugin: string }) => s.plugin)).toEqual(['onnx-import', 'normalize', 'teacher-snapshot', 'finetune', 'onnx-write']);
    expect(steps[3].details.teacher).toBe('ort');
    expect(existsSync(out)).toBe(true);
  });
});
