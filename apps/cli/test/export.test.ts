import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { smallFixture } from '@shears/fixtures';
import { describe, expect, it } from 'vitest';
import { shears } from './run-cli.js';

const tiny = smallFixture('tiny-cnn.onnx');

describe('shears export', () => {
  it('--format onnx writes a deployable model (BN folded, opset converted) and reports it as JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shears-export-'));
    const out = join(dir, 'deploy.onnx');
    const r = shears(['export', tiny, '--format', 'onnx', '-o', out, '--opset', '13', '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const j = r.json();
    expect(j.output).toBe(out);
    expect(j.opset).toMatchObject({ from: 17, to: 13 });
    expect(j.passes['fold-batchnorm'].folded).toHaveLength(4);
    expect(j.metadata['shears.macs_before']).toBe(String(j.before.macs));
    expect(existsSync(out)).toBe(true);
  });

  it('--format tensorrt writes model, layer report and README; JSON has layers and compliantFraction', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shears-export-trt-'));
    const r = shears(['export', tiny, '--format', 'tensorrt', '-o', dir, '--fp16', '--enforce-2of4', '--json']);
    expect(r.status).toBe(0);
    const j = r.json();
    expect(j.layers.length).toBeGreaterThan(0);
    expect(Object.keys(j.layers[0]).sort()).toEqual(['compliant', 'eligible', 'name', 'reason']);
    expect(j.compliantFraction).toBeGreaterThanOrEqual(0);
    expect(readFileSync(join(dir, 'README.md'), 'utf8')).toContain('--sparsity=enable');
    expect(existsSync(join(dir, 'model.layers.json'))).toBe(true);
  });

  it('names the node and what to do for a model TensorRT cannot take', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shears-export-bad-'));
    const r = shears(['export', smallFixture('int8-weights.onnx'), '--format', 'tensorrt', '-o', dir]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/DynamicQuantizeLinear is int8 arithmetic without QuantizeLinear\/DequantizeLinear/);
  });

  it('refuses an unknown format', () => {
    const r = shears(['export', tiny, '--format', 'caffe', '-o', 'x']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/--format must be one of .*onnx.*tensorrt.*\(got caffe\)/);
  });
});
