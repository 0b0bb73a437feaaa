import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { smallFixture } from '@shears/fixtures';
import { describe, expect, it } from 'vitest';
import { shears } from './run-cli.js';

const tiny = smallFixture('tiny-cnn.onnx');

describe('shears export --format tflite', () => {
  it('writes a verified .tflite and reports {path, bytes, ops, maxAbsDiff}', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'shears-tflite-')), 'tiny.tflite');
    const r = shears(['export', tiny, '--format', 'tflite', '-o', out, '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const j = r.json();
    expect(j).toMatchObject({ format: 'tflite', path: out, bytes: statSync(out).size });
    expect(j.ops).toMatchObject({ CONV_2D: 4, FULLY_CONNECTED: 1 });
    expect(j.maxAbsDiff).toBeLessThan(1e-4);
    expect(j.inputs[0]).toEqual({ name: 'input', shape: [1, 3, 32, 32], layout: 'NCHW' });
  });

  it('--fp16 --sparse --nhwc-io --no-verify', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'shears-tflite-')), 'tiny.tflite');
    const j = shears(['export', tiny, '--format', 'tflite', '-o', out, '--fp16', '--sparse', '--nhwc-io', '--no-verify', '--json']).json();
    expect(j.maxAbsDiff).toBeNull();
    expect(j.inputs[0]).toEqual({ name: 'input', shape: [1, 32, 32, 3], layout: 'NHWC' });
    expect(j.ops.DEQUANTIZE).toBeGreaterThan(0);
    expect(j.sizes.plain).toBeGreaterThan(j.bytes);
  });

  it('one line for the human: path, size, ops, difference', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'shears-tflite-')), 'tiny.tflite');
    const r = shears(['export', tiny, '--format', 'tflite', '-o', out]);
    expect(r.stdout).toMatch(new RegExp(`^wrote ${out} \\(\\d+ bytes, \\d+ ops\\): max \\|diff\\| vs onnxruntime \\d\\.\\d\\de-\\d+\\n$`));
  });

  it('a dynamic batch exports as 1, or as --input-shape gives it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shears-tflite-'));
    const model = smallFixture('shape-subgraph.onnx');
    const r = shears(['export', model, '--format', 'tflite', '-o', join(dir, 'a.tflite'), '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.json().inputs[0].shape).toEqual([1, 3, 8, 8]);
    const ok = shears(['export', model, '--format', 'tflite', '-o', join(dir, 'b.tflite'), '--input-shape', '2x3x8x8', '--json']);
    expect(ok.status).toBe(0);
    expect(ok.json().inputs[0].shape).toEqual([2, 3, 8, 8]);
  });

  it('unsupported ops: one error naming every op and node, nothing written (exit 3)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shears-tflite-'));
    const r = shears(['export', smallFixture('int8-weights.onnx'), '--format', 'tflite', '-o', join(dir, 'q.tflite')]);
    expect(r.status).toBe(3);
    expect(r.stderr.trim()).toMatch(/^shears: error: tflite: 2 nodes cannot be exported \(unsupported: DynamicQuantizeLinear, MatMulInteger\): /);
    expect(existsSync(join(dir, 'q.tflite'))).toBe(false);
    const u = shears(['export', smallFixture('unknown-op.onnx'), '--format', 'tflite', '-o', join(dir, 'u.tflite')]);
    expect(u.stderr).toContain('com.example::FancyOp: no TFLite mapping');
  });
});
