#!/usr/bin/env node
// Issue #9 goals, measured in one run:
//  - export time of resnet50 to .tflite: convertToTflite on a loaded model, and
//    the whole `shears export --format tflite --no-verify` process (goal < 2 s);
//  - sizes: dense, --fp16, and an 80% unstructured-pruned resnet50 with and
//    without --sparse (each verified in LiteRT.js against onnxruntime);
//  - coverage: every CNN family exported, run in LiteRT.js and compared with
//    onnxruntime; and, when tensorflow imports for python3, in the official
//    interpreter (XNNPACK and builtin kernels) against PyTorch's output;
//  - ONNX ops (default domain) that still have no TFLite mapping.
//
//   pnpm build && node scripts/fixtures.mjs
//   node --expose-gc bench/export-tflite.bench.mjs [--runs 5] [--skip-python] [--json]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fixture, fixturesDir } from '../tooling/fixtures/index.js';
import { machine, median, timeProcess } from './lib.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const runs = Number(opt('runs', 5));
const json = args.includes('--json');
const log = (...a) => !json && console.log(...a);
const dist = (pkg) => import(pathToFileURL(join(root, pkg, 'dist/index.js')).href);
const [core, onnx, tfl] = await Promise.all(['packages/core', 'packages/onnx', 'packages/export-tflite'].map(dist));
const { pipeline, ONNX_OPS } = core;
const { readModel } = onnx;
const { convertToTflite, verifyTflite, TFLITE_OPS } = tfl;

const FAMILIES = ['resnet18', 'resnext50_32x4d', 'mobilenet_v2', 'mobilenet_v3_small', 'efficientnet_b0', 'densenet121', 'shufflenet_v2_x1_0', 'squeezenet1_1', 'googlenet', 'regnet_y_400mf', 'vgg11_bn', 'mnasnet0_5', 'convnext_tiny', 'lraspp_mobilenet_v3_large', 'tiny_unet'];
const result = { machine: machine(), loadAverage: loadavg()[0] };
log(`export-tflite bench on ${machine()}, load average ${loadavg()[0].toFixed(1)} on ${cpus().length} cores`);

const r50 = fixture('resnet50');
if (!r50) {
  console.log('export-tflite.bench: no fixtures (run `node scripts/fixtures.mjs`); skipped');
  process.exit(0);
}
const tmp = mkdtempSync(join(tmpdir(), 'shears-tflite-bench-'));
const mb = (n) => `${(n / 1e6).toFixed(2)} MB`;

// ---- export time
{
  let t0 = performance.now();
  const model = await readModel(r50);
  for (const init of model.graph.initializers.values()) void init.constValue.data; // load lazily-read tensors
  const readMs = performance.now() - t0;
  const t = [];
  for (let i = 0; i < runs; i++) {
    globalThis.gc?.();
    t0 = performance.now();
    convertToTflite(model);
    t.push(performance.now() - t0);
  }
  const convertMs = median(t);
  const bin = join(root, 'apps/cli/dist/bin.js');
  const processMs = timeProcess(process.execPath, [bin, 'export', r50, '--format', 'tflite', '-o', join(tmp, 'r50.tflite'), '--no-verify'], Math.max(3, Math.min(runs, 5)));
  result.resnet50 = { readMs, convertMs, processMs, goalMs: 2000 };
  log(`resnet50: read ONNX ${readMs.toFixed(0)} ms; convertToTflite ${convertMs.toFixed(0)} ms (median of ${runs}); whole \`shears export --format tflite --no-verify\` process ${processMs.toFixed(0)} ms (goal < 2000 ms)`);
}

// ---- sizes
{
  const model = await readModel(r50);
  const sizes = [];
  const size = async (label, m, opts) => {
    const conv = convertToTflite(m, opts);
    const v = await verifyTflite(m, conv);
    sizes.push({ label, bytes: conv.bytes.byteLength, maxRelDiff: v.maxRelDiff, fp16Reference: v.fp16Reference?.maxRelDiff, densify: conv.ops.DENSIFY ?? 0, dequantize: conv.ops.DEQUANTIZE ?? 0 });
  };
  await size('resnet50 dense', model, {});
  await size('resnet50 --fp16', model, { fp16: true });
  let pruned;
  try {
    const { unstructuredPruning } = await dist('packages/prune-unstructured');
    pruned = (await pipeline(unstructuredPruning({ amount: 0.8 })).run(await readModel(r50))).model;
  } catch (e) {
    log(`(80% unstructured rows skipped: ${String(e?.message ?? e).split('\n')[0]})`);
    pruned = undefined;
  }
  if (pruned) {
    await size('resnet50 80% unstructured, dense', pruned, {});
    await size('resnet50 80% unstructured, --sparse (XNNPACK rule: 1x1 convs)', pruned, { sparse: true });
    await size('resnet50 80% unstructured, --sparse, every conv/FC', pruned, { sparse: true, sparseScope: 'all' });
    await size('resnet50 80% unstructured, --sparse --fp16', pruned, { sparse: true, fp16: true });
  }
  result.sizes = sizes;
  log('\n| export | size | ratio | DENSIFY | DEQUANTIZE | max rel diff (LiteRT.js vs onnxruntime) | vs the model with float16-rounded weights |\n| --- | --- | --- | --- | --- | --- | --- |');
  for (const s of sizes) log(`| ${s.label} | ${mb(s.bytes)} | ${(s.bytes / sizes[0].bytes).toFixed(2)} | ${s.densify} | ${s.dequantize} | ${s.maxRelDiff.toExponential(1)} | ${s.fp16Reference?.toExponential(1) ?? ''} |`);
}

// ---- coverage
const rows = [];
const jobs = [];
for (const name of FAMILIES) {
  const file = fixture(name);
  if (!file) {
    rows.push({ name, ok: false, error: 'fixture missing' });
    continue;
  }
  const m = await readModel(file);
  for (const init of m.graph.initializers.values()) void init.constValue.data; // time the conversion, not the lazy read
  try {
    const t0 = performance.now();
    const conv = convertToTflite(m);
    const ms = performance.now() - t0;
    const v = await verifyTflite(m, conv);
    const out = join(tmp, `${name}.tflite`);
    writeFileSync(out, conv.bytes);
    jobs.push({ name, tflite: out, input: join(fixturesDir(), `${name}.input.bin`), expected: join(fixturesDir(), `${name}.output.bin`) });
    const ops = Object.values(conv.ops).reduce((a, b) => a + b, 0);
    rows.push({ name, ok: true, bytes: conv.bytes.byteLength, ops, transposes: conv.ops.TRANSPOSE ?? 0, ms, maxRelDiff: v.maxRelDiff, opTypes: Object.keys(conv.ops).length });
  } catch (e) {
    rows.push({ name, ok: false, error: e.message.split('\n')[0] });
  }
}

// The official interpreter, as a second validator (one python process for all models).
const py = process.env.SHEARS_TF_PYTHON ?? 'python3';
if (!args.includes('--skip-python') && spawnSync(py, ['-c', 'import tensorflow'], { stdio: 'ignore', env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' } }).status === 0) {
  writeFileSync(join(tmp, 'jobs.json'), JSON.stringify(jobs));
  const r = spawnSync(py, [join(root, 'packages/export-tflite/scripts/tflite_check.py'), join(tmp, 'jobs.json')], { encoding: 'utf8', maxBuffer: 1 << 24 });
  for (const line of r.stdout.split('\n').filter((l) => l.startsWith('{'))) {
    const j = JSON.parse(line);
    const row = rows.find((x) => x.name === j.name);
    if (row) row.official = j.error ? { error: j.error } : { xnnpack: j.xnnpack.maxRelDiff, builtin: j.builtin.maxRelDiff };
  }
  result.officialInterpreter = py;
} else log(`\n(${py} has no tensorflow: the official-interpreter column is skipped; pip install tensorflow-cpu)`);
result.coverage = rows;
const ok = rows.filter((r) => r.ok).length;
log(`\ncoverage: ${ok}/${rows.length} families export and match onnxruntime in LiteRT.js (max rel diff < 1e-4: ${rows.filter((r) => r.ok && r.maxRelDiff < 1e-4).length})`);
log('\n| family | exports | size | TFLite ops | TRANSPOSE | convert | LiteRT.js vs onnxruntime | official XNNPACK vs PyTorch | official builtin vs PyTorch |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
const e = (x) => (x === undefined ? '–' : x.toExponential(1));
for (const r of rows) {
  if (!r.ok) log(`| ${r.name} | no: ${r.error} | | | | | | | |`);
  else log(`| ${r.name} | yes | ${mb(r.bytes)} | ${r.ops} | ${r.transposes} | ${r.ms.toFixed(0)} ms | ${e(r.maxRelDiff)} | ${r.official?.error ?? e(r.official?.xnnpack)} | ${r.official?.error ? '' : e(r.official?.builtin)} |`);
}

// ---- ops still missing
const missing = [...(ONNX_OPS ?? [])].filter((op) => !TFLITE_OPS[op]).sort();
result.missingOps = missing;
log(`\nONNX ops (default domain) with no TFLite mapping yet: ${missing.length} of ${(ONNX_OPS ?? []).length ?? '?'}; none of them appears in the families above.`);
log(missing.join(', '));
if (json) console.log(JSON.stringify(result, null, 2));
rmSync(tmp, { recursive: true, force: true });
