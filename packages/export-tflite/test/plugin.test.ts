import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isShearsError, pipeline } from '@shears/core';
import { assertConformance, tinyModel } from '@shears/core/testing';
import { describe, expect, it } from 'vitest';
import { exportTflite, runTflite, type ExportTfliteDetails } from '../src/index.js';

describe('exportTflite plugin', () => {
  it('is named tflite-export (<format>-<verb>, like onnx-export and tensorrt-export)', () => {
    expect(exportTflite.pluginName).toBe('tflite-export');
    expect(exportTflite({ out: 'm.tflite' }).name).toBe('tflite-export');
  });

  it('passes the plugin conformance kit', async () => {
    await assertConformance({
      factory: exportTflite,
      options: (dir) => ({ out: join(dir, 'm.tflite') }),
      badOptions: [{ out: '' }, { out: 'x.tflite', fp16: 'yes' }, { out: 'x.tflite', groupedConv: 'sideways' }, { out: 'x.tflite', bogus: 1 }],
    });
  });

  it('writes through the stager and reports {path, bytes, ops, maxAbsDiff}', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shears-tflite-'));
    const out = join(dir, 'tiny.tflite');
    const r = await pipeline(exportTflite({ out })).run(tinyModel());
    expect(r.files).toEqual([out]);
    const d = r.steps[0]!.details as unknown as ExportTfliteDetails;
    expect(d.path).toBe(out);
    expect(d.bytes).toBe(statSync(out).size);
    expect(d.ops).toMatchObject({ CONV_2D: 2, FULLY_CONNECTED: 1, MEAN: 1 });
    expect(d.maxAbsDiff).toBeLessThan(1e-5);
    expect(d.sizes.plain).toBe(d.bytes);
    // The file runs on its own.
    const [y] = await runTflite(new Uint8Array(readFileSync(out)), [{ data: new Float32Array(3 * 64), shape: [1, 3, 8, 8] }]);
    expect(y!.shape).toEqual([1, 10]);
  });

  it('a result beyond the tolerance fails the step and leaves no file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shears-tflite-'));
    const out = join(dir, 'bad.tflite');
    const run = pipeline(exportTflite({ out, fp16: true, tolerance: 1e-12 })).run(tinyModel());
    await expect(run).rejects.toSatisfy((e: unknown) => isShearsError(e) && e.code === 'E_RUNTIME' && /differs from onnxruntime/.test(e.message));
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('verify: false skips the runtimes; fp16 and sizes are reported', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shears-tflite-'));
    const r = await pipeline(exportTflite({ out: join(dir, 'h.tflite'), fp16: true, verify: false })).run(tinyModel());
    const d = r.steps[0]!.details as unknown as ExportTfliteDetails;
    expect(d.maxAbsDiff).toBeNull();
    expect(d.ops.DEQUANTIZE).toBe(6); // two convs and the Gemm: weight and bias each
    expect(d.sizes.plain).toBeGreaterThan(d.bytes * 1.5);
  });
});
