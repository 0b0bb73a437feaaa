// End-to-end: the `pnpm demo:detect` recipe on a reduced setting (a small
// synthetic set: 100 held-out canvases; 32 calibration images; distillation on
// 32 images), through the real CLI, onnxruntime-node, tfjs and LiteRT.js.
// Floors are the ones measured on this machine (see README.md).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { haveChromium, inspectReport } from '../../../packages/report/test/browser-check.js';

const here = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const repo = resolve(here, '../..');
const model = join(here, 'detector.onnx');
// make-data.mjs reads Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist).
const source = process.env.FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';
const haveSource = existsSync(join(source, 't10k-images-idx3-ubyte.gz'));
if (!haveSource) console.warn(`detector demo test skipped: ${source} is missing (apt-get install -y dataset-fashion-mnist)`);
const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

interface Variant {
  name: string;
  file?: string;
  format: string;
  map: number;
  map50: number;
  images: number;
  macs: number;
  bytes: number;
  latencyMs: number;
}
interface RunJson {
  steps: { plugin: string; kind: string; details: Record<string, any> | null }[];
  files: string[];
  variants: Variant[];
  report: string | null;
}

describe.skipIf(!haveSource)('pnpm demo:detect (reduced: 32 training canvases, 100 held-out)', () => {
  let run: RunJson;
  let out: string;
  let before: string;

  beforeAll(() => {
    before = sha(model);
    out = mkdtempSync(join(tmpdir(), 'shears-detect-'));
    const argv = ['--out', out, '--data', join(out, 'data'), '--train', '32', '--val', '100', '--calib', '32', '--limit', '32', '--runs', '5', '--backend', 'wasm', '--json'];
    const r = spawnSync(process.execPath, [join(here, 'run.mjs'), ...argv], { encoding: 'utf8', timeout: 600_000 });
    if (r.status !== 0) throw new Error(`demo failed (${r.status}): ${r.stderr.split('\n').slice(-5).join('\n')}`);
    run = JSON.parse(r.stdout);
  }, 600_000);

  it('makes a YOLO-format set: a label file per image, normalized boxes, 10 classes', () => {
    for (const split of ['train', 'val']) expect(existsSync(join(out, 'data', split, 'labels', '00000.txt')), split).toBe(true);
    const rows = readFileSync(join(out, 'data', 'val', 'labels', '00000.txt'), 'utf8').trim().split('\n');
    for (const row of rows) {
      const [c, ...box] = row.split(' ').map(Number);
      expect(Number.isInteger(c) && c! >= 0 && c! < 10, row).toBe(true);
      for (const v of box) expect(v > 0 && v <= 1, row).toBe(true);
    }
  });

  it('runs every stage of the recipe in order, and never touches the embedded model', () => {
    expect(run.steps.map((s) => s.plugin)).toEqual(['onnx-import', 'normalize', 'teacher-snapshot', 'channel', 'snapshot', 'finetune', 'onnx-export', 'tensorrt-export', 'tflite-export']);
    for (const f of run.files) expect(existsSync(f), f).toBe(true);
    expect(sha(model)).toBe(before);
  });

  it('evaluates every file on the 100 held-out canvases: dense, right after pruning, ONNX, TensorRT-ready ONNX, TFLite', () => {
    expect(run.variants.map((v) => v.format)).toEqual(['onnx', 'onnx', 'onnx', 'onnx', 'tflite']);
    for (const v of run.variants) {
      expect(v.images, v.name).toBe(100);
      expect(v.latencyMs, v.name).toBeGreaterThan(0);
      expect(v.map, v.name).toBeGreaterThan(0);
      expect(v.map50, v.name).toBeGreaterThanOrEqual(v.map);
    }
  });

  it('the dense detector is accurate (measured on these 100 canvases: mAP@0.5:0.95 58.93%)', () => {
    expect(run.variants[0]!.map).toBeGreaterThan(0.55);
  });

  it('prunes to half the MACs, physically: a smaller file', () => {
    const [dense, snap, onnx] = run.variants;
    expect(snap!.macs / dense!.macs).toBeLessThanOrEqual(0.52);
    expect(onnx!.macs / dense!.macs).toBeLessThanOrEqual(0.52);
    expect(onnx!.macs / dense!.macs).toBeGreaterThan(0.4);
    expect(onnx!.bytes).toBeLessThan(0.6 * dense!.bytes);
  });

  it('exports that agree: TensorRT-ready ONNX equals the ONNX export, TFLite within 0.5 pt', () => {
    const [, , onnx, trt, tflite] = run.variants;
    expect(trt!.map).toBeCloseTo(onnx!.map, 6);
    expect(Math.abs(tflite!.map - onnx!.map)).toBeLessThanOrEqual(0.005);
    const t = run.steps.find((s) => s.plugin === 'tflite-export')!.details!;
    expect(Object.keys(t.ops)).toContain('CONV_2D');
  });

  it('writes the HTML report with the mAP columns', () => {
    expect(run.report).toBe(join(out, 'out', 'report.html'));
    const html = readFileSync(run.report!, 'utf8');
    expect(html).toContain('mAP@0.5:0.95');
  });

  it.skipIf(!haveChromium)('the report renders every chart in Chromium without errors (artifacts/detect-report.png)', async () => {
    const charts = ['chart-channels', 'chart-runs-macs', 'chart-runs-latency', 'chart-tflite-ops', 'chart-tensorrt'];
    const seen = await inspectReport(run.report!, charts, { screenshot: join(repo, 'artifacts', 'detect-report.png') });
    for (const c of seen.charts) {
      expect(c, c.id).toMatchObject({ exists: true, chart: true });
      expect(c.inked, `${c.id} has drawn pixels`).toBeGreaterThan(500);
    }
    expect(seen.problems).toEqual([]);
    expect(seen.requests).toEqual([]);
  });
});
