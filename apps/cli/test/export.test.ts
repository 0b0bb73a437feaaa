import { copyFileSync, existsSync, linkSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { smallFixture } from '@shears/fixtures';
import { readModel, writeModel } from '@shears/onnx';
import { describe, expect, it } from 'vitest';
import { shears } from './run-cli.js';

const tiny = smallFixture('tiny-cnn.onnx');

/** tiny-cnn with its input made dynamic: [N,3,32,32] (batch only) or [N,3,H,W]. */
async function dynamicCopy(dir: string, shape: (string | number)[]): Promise<string> {
  const m = await readModel(tiny);
  const x = m.graph.inputs[0]!;
  x.type = { ...x.type!, shape } as typeof x.type;
  const file = join(dir, `dyn-${shape.join('x')}.onnx`);
  await writeModel(m, file);
  return file;
}

describe('shears export: what it says about MACs, and hard links', () => {
  it('prints MACs per sample for a dynamic batch, and "MACs ?" naming the dims for other dynamic dims (never a false 0)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shears-export-dyn-'));
    const batch = shears(['export', await dynamicCopy(dir, ['N', 3, 32, 32]), '--format', 'onnx', '-o', join(dir, 'b.onnx')]);
    expect(batch.status).toBe(0);
    expect(batch.stdout).toMatch(/nodes 17 -> 13, MACs 6\.34M per sample$/m);
    const hw = shears(['export', await dynamicCopy(dir, ['N', 3, 'H', 'W']), '--format', 'onnx', '-o', join(dir, 'hw.onnx')]);
    expect(hw.status).toBe(0);
    expect(hw.stdout).toMatch(/nodes 17 -> 13, MACs \? \(dynamic dims: input\[N,3,H,W\]; give your real sizes, e.g. --input-shape input:1x3x224x224\)$/m);
    const j = shears(['export', join(dir, 'dyn-Nx3xHxW.onnx'), '--format', 'onnx', '-o', join(dir, 'hw2.onnx'), '--json']).json();
    expect(j.after).toMatchObject({ macs: null, nonzeroParams: null, dynamicInputs: ['input[N,3,H,W]'] });
    expect(j.after.params).toBeGreaterThan(0);
    expect(j.metadata['shears.macs_after']).toBeUndefined();
  });

  it('refuses an output that is a hard link to the input, naming both (exit 3), and leaves it alone', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shears-export-link-'));
    const input = join(dir, 'model.onnx');
    copyFileSync(tiny, input);
    const out = join(dir, 'deploy.onnx');
    linkSync(input, out);
    const before = readFileSync(input);
    const r = shears(['export', input, '--format', 'onnx', '-o', out]);
    expect(r.stderr.trim()).toBe(`shears: error: ${out}: refusing to write over the input file ${input} (the same file by another path or a hard link)`);
    expect(r.status).toBe(3);
    expect(readFileSync(out)).toEqual(before);
    expect(readdirSync(dir).sort()).toEqual(['deploy.onnx', 'model.onnx']);
  });
});

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
