import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeNpz } from '@shears/data';
import { smallFixture } from '@shears/fixtures';
import { beforeAll, describe, expect, it } from 'vitest';
import { shears } from './run-cli.js';

// The pure-JS backend, as in CI.
const BACKEND = ['--backend', process.env.SHEARS_FINETUNE_BACKEND ?? 'wasm'];
let dir: string;
let train: string;
const tiny = smallFixture('tiny-cnn.onnx');

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'shears-cli-imp-'));
  train = join(dir, 'train.npz');
  let s = 11;
  const x = Float32Array.from({ length: 64 * 3 * 32 * 32 }, () => ((s = (s * 16807) % 2147483647) / 2147483647) * 2 - 1);
  writeNpz(train, { x: { data: x, shape: [64, 3, 32, 32] }, y: Int32Array.from({ length: 64 }, (_, i) => i % 10) });
});

describe('shears finetune --schedule iterative:k', () => {
  it('runs k rounds of prune → train and reports each round (sparsity, val accuracy) in the JSON and the text', () => {
    const args = ['finetune', tiny, '--data', train, '--val', train, '--schedule', 'iterative:3', '--sparsity', '0.9', '--rewind', 'weights:1', '--epochs', '1', '--batch-size', '16', '--workers', '1', ...BACKEND];
    const r = shears([...args, '-o', join(dir, 'ticket.onnx'), '--json']);
    expect(r.stderr).toMatch(/round 3\/3: sparsity 9\d\.\d\d%/);
    expect(r.status).toBe(0);
    const j = r.json();
    expect(j.rewind).toBe('weights:1');
    expect(j.steps).toBe(12);
    expect(j.rounds).toHaveLength(3);
    for (const [i, rd] of (j.rounds as { round: number; sparsity: number; target: number; valAccuracy: number }[]).entries()) {
      expect(rd.round).toBe(i + 1);
      expect(rd.target).toBeCloseTo(1 - 0.1 ** ((i + 1) / 3), 9);
      expect(Math.abs(rd.sparsity - rd.target)).toBeLessThan(1e-3);
      expect(rd.valAccuracy).toBeGreaterThanOrEqual(0);
    }
    const t = shears([...args, '-o', join(dir, 'ticket2.onnx'), '--rewind', 'lr', '--lr-schedule', 'cosine']);
    expect(t.status).toBe(0);
    expect(t.stdout).toMatch(/round 1: sparsity 53\.\d\d%, val accuracy [\d.]+%\n\s+round 2: sparsity 78\.\d\d%, val accuracy [\d.]+% \(rewind lr\)\n\s+round 3: sparsity 9\d\.\d\d%/);
  });

  it('refuses a rewind step with no checkpoint (naming the steps), --rewind without the schedule, and k < 1: exit 2', () => {
    const o = ['-o', join(dir, 'x.onnx'), '--data', train, '--batch-size', '16', ...BACKEND];
    const far = shears(['finetune', tiny, ...o, '--schedule', 'iterative:2', '--sparsity', '0.5', '--rewind', 'weights:4']);
    expect(far.status).toBe(2);
    expect(far.stderr.trim().split('\n').at(-1)).toBe(
      'shears: error: finetune: --rewind weights:4: no checkpoint at step 4; round 1 keeps steps 0–3 (1 epoch(s) × 4 steps): rewind to one of them, e.g. weights:0',
    );
    const neg = shears(['finetune', tiny, ...o, '--schedule', 'iterative:2', '--sparsity', '0.5', '--rewind', 'weights:-2']);
    expect(neg.status).toBe(2);
    expect(neg.stderr).toMatch(/no checkpoint at step -2; round 1 keeps steps 0–3/);
    const alone = shears(['finetune', tiny, ...o, '--rewind', 'lr']);
    expect(alone.status).toBe(2);
    expect(alone.stderr).toMatch(/option --rewind needs --schedule iterative:<rounds>/);
    const zero = shears(['finetune', tiny, ...o, '--schedule', 'iterative:0', '--sparsity', '0.9']);
    expect(zero.status).toBe(2);
    expect(zero.stderr).toMatch(/--schedule 'iterative:0': expected iterative:<rounds> with rounds ≥ 1/);
    const noS = shears(['finetune', tiny, ...o, '--schedule', 'iterative:2']);
    expect(noS.status).toBe(2);
    expect(noS.stderr).toMatch(/needs --sparsity/);
  });
});
