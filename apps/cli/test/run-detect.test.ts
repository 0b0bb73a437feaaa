// `shears run` with `evaluate: { task: detect }` and a `snapshot` step, end to
// end on a tiny real-weight detector (test/detect-model.ts) and the YOLO folder
// fixtures/detect-yolo: every variant's mAP in the JSON and in the report is
// what `shears eval --task detect` says of the same file.
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { smallFixture } from '@shears/fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyDetector } from './detect-model.js';
import { shears } from './run-cli.js';

const RECIPE = `input: det.onnx
steps:
  - use: filter
    with: { amount: 0.5 }
  - use: snapshot
    with: { name: "pruned, before fine-tuning" }
  - use: onnx-export
    with: { out: out/det.pruned.onnx }
  - use: tflite-export
    with: { out: out/det.pruned.tflite }
evaluate:
  task: detect
  data: val
  bench: { runs: 3, warmup: 1, threads: 1 }
report: out/report.html
`;

interface V {
  name: string;
  file?: string;
  format: string;
  map: number;
  map50: number;
  images: number;
  perClass: { class: number; ap: number | null; ap50: number | null; gt: number }[];
  macs: number;
  latencyMs: number;
  batch: number;
  runtime: string;
}

let d: string;

/** A folder with the detector, the YOLO folder as val/ and a recipe (relative paths). */
function workspace(recipe: string): string {
  const w = mkdtempSync(join(tmpdir(), 'shears-run-detect-'));
  cpSync(join(d, 'det.onnx'), join(w, 'det.onnx'));
  cpSync(smallFixture('detect-yolo'), join(w, 'val'), { recursive: true });
  writeFileSync(join(w, 'recipe.yaml'), recipe);
  return w;
}

beforeAll(async () => {
  d = mkdtempSync(join(tmpdir(), 'shears-run-detect-'));
  await writeTinyDetector(join(d, 'det.onnx'));
});
afterAll(() => rmSync(d, { recursive: true, force: true }));

const evalJson = (model: string, data: string) => {
  const r = shears(['eval', model, '--task', 'detect', '--data', data, '--json']);
  expect(r.status, r.stderr).toBe(0);
  return r.json() as { map: number; map50: number; perClass: { ap: number | null }[] };
};

describe('shears run: evaluate: {task: detect} and snapshot', () => {
  it('measures mAP of the input, the snapshot and every output; JSON and report agree with shears eval --task detect', () => {
    const w = workspace(RECIPE);
    const r = shears(['run', join(w, 'recipe.yaml'), '--json']);
    expect(r.status, r.stderr).toBe(0);
    const j = r.json();
    const vs = j.variants as V[];
    expect(vs.map((v) => [v.name, v.format, v.runtime, v.batch])).toEqual([
      ['input (dense)', 'onnx', 'onnxruntime', 1],
      ['pruned, before fine-tuning', 'onnx', 'onnxruntime', 1],
      ['onnx-export: det.pruned.onnx', 'onnx', 'onnxruntime', 1],
      ['tflite-export: det.pruned.tflite', 'tflite', 'litert', 1],
    ]);
    const [dense, snap, slim, tfl] = vs as [V, V, V, V];
    expect(snap.file).toBeUndefined();
    // The rows are what `shears eval --task detect` says of the same files.
    const evDense = evalJson(join(w, 'det.onnx'), join(w, 'val'));
    const evSlim = evalJson(slim.file!, join(w, 'val'));
    expect([dense.map, dense.map50]).toEqual([evDense.map, evDense.map50]);
    expect([slim.map, slim.map50]).toEqual([evSlim.map, evSlim.map50]);
    expect(dense.perClass.map((c) => c.ap)).toEqual(evDense.perClass.map((c) => c.ap));
    // Measured: dense mAP@0.5:0.95 0.800, pruned 0.838 (the convs only jitter the boxes); mAP@0.5 1 for all.
    expect(dense.map).toBeCloseTo(0.8, 6);
    expect(slim.map).not.toBeCloseTo(dense.map, 3);
    expect(snap.map).toBeCloseTo(slim.map, 6); // the export folds nothing that changes outputs
    expect(Math.abs(tfl.map - slim.map)).toBeLessThan(1e-3);
    expect(tfl.map50).toBe(slim.map50);
    expect(snap.macs).toBe(slim.macs);
    expect(slim.macs).toBeLessThan(0.6 * dense.macs);
    for (const v of vs) {
      expect(v.images).toBe(2);
      expect(v.perClass.map((c) => c.gt)).toEqual([2, 2]);
      expect(v.latencyMs).toBeGreaterThan(0);
    }
    // The report carries the same figures, in its data and its tables.
    const html = readFileSync(j.report, 'utf8');
    const data = JSON.parse(html.match(/<script type="application\/json" id="shears-report-data">([\s\S]*?)<\/script>/)![1]!);
    expect(data.runs.map((x: { map: number }) => x.map)).toEqual(vs.map((v) => v.map));
    expect(data.runs.map((x: { map50: number }) => x.map50)).toEqual(vs.map((v) => v.map50));
    expect(data.summary.before.map).toBe(dense.map);
    expect(data.summary.after.map).toBe(slim.map);
    const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
    expect(html).toContain(`<th scope="row">mAP@0.5:0.95</th><td class="num">${pct(dense.map)}</td><td class="num">${pct(slim.map)}</td>`);
    expect(html).toContain('<th class="num">mAP@0.5</th><th class="num">Δ</th><th class="num">mAP@0.5:0.95</th><th class="num">Δ</th>');
    expect(html).toMatch(new RegExp(`<td class="name">pruned, before fine-tuning</td><td class="num">${pct(snap.map50)}</td><td class="num[^"]*">[^<]*</td><td class="num[^"]*">${pct(snap.map)}</td>`));
    expect(html).toContain('id="per-class-ap"');
    expect(html).toContain('mAP: COCO mAP@0.5 and mAP@0.5:0.95');
    expect(data.notes).toContain('"pruned, before fine-tuning": the model as a snapshot step kept it mid-pipeline (measured in memory; size of its ONNX serialization).');
  });

  it('refuses bad evaluate: options before any step runs, naming the recipe and the option', () => {
    const cases: [string, string, number, string][] = [
      ['task: detect', 'task: segment', 2, 'recipe.yaml: evaluate.task: must be classify or detect, got "segment"'],
      ['data: val', 'data: val/labels', 3, 'recipe.yaml: evaluate.data: '],
      ['task: detect', 'task: classify\n  conf: 0.25', 2, 'recipe.yaml: evaluate.conf: applies to task: detect only'],
      ['warmup: 1,', 'warmup: 1, batch: 8,', 2, 'recipe.yaml: evaluate.bench.batch: detection latency is measured on one letterboxed image (batch 1)'],
    ];
    for (const [from, to, status, msg] of cases) {
      const w = workspace(RECIPE.replace(from, to));
      const r = shears(['run', join(w, 'recipe.yaml')]);
      expect(r.status, to).toBe(status);
      expect(r.stderr, to).toContain(msg);
      expect(existsSync(join(w, 'out')), to).toBe(false);
    }
    // A malformed label line: the file and line, before any step runs.
    const w = workspace(RECIPE);
    writeFileSync(join(w, 'val', 'labels', 'b.txt'), '0 0.5 0.5 0.2 0.2\n1 0.5 0.5\n');
    const r = shears(['run', join(w, 'recipe.yaml')]);
    expect(r.status).toBe(3);
    expect(r.stderr.trim()).toBe(`shears: error: ${join(w, 'recipe.yaml')}: evaluate.data: ${join('labels', 'b.txt')}:2: expected "class cx cy w h" (5 numbers), found 3 fields`);
    expect(existsSync(join(w, 'out'))).toBe(false);
  });
});
