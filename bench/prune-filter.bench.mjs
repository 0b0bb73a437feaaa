#!/usr/bin/env node
// Issue #5 goals, measured in one run (medians; ratios against baselines from
// the same run):
//  - resnet50 (torchvision export) at --target-macs 0.5: onnxruntime-node CPU
//    batch-1 latency ≥ 1.7× better than the dense model (and the MACs ratio);
//  - dependency graph + planning on resnet50 < 1 s;
//  - the whole `shears prune` process < 3 s;
//  - coverage: the share of the architecture families that prune at
//    --amount 0.3 into a valid, smaller, equivalent model.
//
//   pnpm build && node scripts/fixtures.mjs
//   node --expose-gc bench/prune-filter.bench.mjs [--runs 40] [--skip-coverage] [--json]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fixture } from '../tooling/fixtures/index.js';
import { cpus, loadavg } from 'node:os';
import { fmt, machine, median, timeIt, timeProcess } from './lib.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const runs = Number(opt('runs', 40));
const json = args.includes('--json');
const dist = (pkg) => import(pathToFileURL(join(root, pkg, 'dist/index.js')).href);
const [core, onnx, runtime, filter, criteria] = await Promise.all(['packages/core', 'packages/onnx', 'packages/runtime', 'packages/prune-filter', 'packages/criteria'].map(dist));
const { analyzeModel, applyPlan, buildDependencyGraph, cloneModel, CURRENT_CRITERION, maskChannels, StateBag, silentLogger, silentProgress, RunStager } = core;
const { readModel } = onnx;
const { Session, randomFeeds } = runtime;
const { filterPruning } = filter;

const ctx = () => {
  const state = new StateBag();
  state.set(CURRENT_CRITERION, criteria.l1());
  // ops: the run's op table (ctx.ops, the v0.2 contract; older trees ignore it).
  return { logger: silentLogger, progress: silentProgress, signal: new AbortController().signal, state, outputs: new RunStager(), dryRun: true, ops: core.defaultOpRegistry() };
};
const log = (...a) => !json && console.log(...a);
const result = { machine: machine() };
log(`prune-filter bench on ${machine()}, load average ${loadavg()[0].toFixed(1)} on ${cpus().length} cores`);

const r50 = process.env.SHEARS_BENCH_MODEL ?? fixture('resnet50');
if (!r50) {
  console.log('prune-filter.bench: no resnet50 fixture (run `node scripts/fixtures.mjs`); skipped');
  process.exit(0);
}

// --- dependency graph and planning ---------------------------------------------------
const model = await readModel(r50);
const tCold = performance.now();
const coldPlan = await filterPruning({ targetMacs: 0.5 }).plan(model, ctx());
const cold = performance.now() - tCold; // includes decoding the weights on first touch
const graphMs = await timeIt(async () => buildDependencyGraph(model), 5);
const planMs = await timeIt(async () => filterPruning({ targetMacs: 0.5 }).plan(model, ctx()), 5);
result.planning = { graphMs, graphAndPlanMs: planMs, firstPlanMs: cold };
log(`dependency graph (resnet50)          ${fmt(graphMs)}`);
log(`graph + planning, --target-macs 0.5  ${fmt(planMs)}   (goal < 1000 ms; first call, which also decodes the weights: ${fmt(cold)})`);

// --- latency ---------------------------------------------------------------------------
const pruned = cloneModel(model);
applyPlan(pruned, coldPlan);
const macs0 = analyzeModel(cloneModel(model, { shareWeights: true })).macs;
const macs1 = analyzeModel(pruned).macs;
const feeds = randomFeeds(model);
result.latency = { macsRatio: macs0 / macs1, runs };
log(`onnxruntime CPU batch 1, ${runs} interleaved runs (MACs ×${(macs0 / macs1).toFixed(2)}: ${(macs1 / 1e9).toFixed(2)}G of ${(macs0 / 1e9).toFixed(2)}G)`);
for (const threads of [undefined, 1]) {
  const dense = await Session.create(model, { threads });
  const slim = await Session.create(pruned, { threads });
  for (let i = 0; i < 5; i++) {
    await dense.run(feeds);
    await slim.run(feeds);
  }
  // Interleaved, so load from anything else on the machine hits both alike.
  const td = [];
  const tp = [];
  for (let i = 0; i < runs; i++) {
    let t0 = performance.now();
    await dense.run(feeds);
    td.push(performance.now() - t0);
    t0 = performance.now();
    await slim.run(feeds);
    tp.push(performance.now() - t0);
  }
  const n = dense.threads;
  await dense.release();
  await slim.release();
  const [md, mp] = [median(td), median(tp)];
  result.latency[`threads${n}`] = { denseMs: md, prunedMs: mp, speedup: md / mp };
  log(`  ${n} thread${n > 1 ? 's' : ' '}  dense ${fmt(md)}   pruned ${fmt(mp)}   speedup ×${(md / mp).toFixed(2)}  (goal ≥ 1.7)`);
}

// --- the whole CLI process -----------------------------------------------------------------
const dir = mkdtempSync(join(tmpdir(), 'shears-prune-filter-bench-'));
try {
  const bin = join(root, 'apps/cli/dist/bin.js');
  const cliMs = timeProcess(process.execPath, [bin, 'prune', r50, '-o', join(dir, 'out.onnx'), '--strategy', 'filter', '--criterion', 'l1', '--target-macs', '0.5', '--json'], 3);
  const convertMs = timeProcess(process.execPath, [bin, 'convert', r50, '-o', join(dir, 'copy.onnx')], 3);
  result.cli = { ms: cliMs, convertMs };
  log(`shears prune resnet50 --strategy filter --target-macs 0.5 (whole process)   ${fmt(cliMs)}   (goal < 3000 ms)`);
  log(`  baseline: shears convert resnet50 (read + write only)                        ${fmt(convertMs)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

// --- coverage -------------------------------------------------------------------------------
if (!args.includes('--skip-coverage')) {
  const families = [
    ['ResNet', 'resnet50'],
    ['ResNeXt', 'resnext50_32x4d'],
    ['MobileNetV2', 'mobilenet_v2'],
    ['MobileNetV3', 'mobilenet_v3_small'],
    ['EfficientNet', 'efficientnet_b0'],
    ['DenseNet', 'densenet121'],
    ['ShuffleNetV2', 'shufflenet_v2_x1_0'],
    ['SqueezeNet', 'squeezenet1_1'],
    ['GoogLeNet', 'googlenet'],
    ['RegNet', 'regnet_y_400mf'],
    ['VGG', 'vgg11_bn'],
    ['MNASNet', 'mnasnet0_5'],
    ['ConvNeXt', 'convnext_tiny'],
    ['FPN/U-Net: LR-ASPP', 'lraspp_mobilenet_v3_large'],
    ['FPN/U-Net: U-Net', 'tiny_unet'],
  ];
  const rows = [];
  for (const [family, name] of families) {
    const file = name === 'resnet50' ? r50 : fixture(name);
    if (!file) {
      rows.push({ family, name, ok: false, why: 'fixture missing' });
      continue;
    }
    try {
      const m = name === 'resnet50' ? model : await readModel(file);
      const plan = await filterPruning({ amount: 0.3 }).plan(m, ctx());
      const sel = new Map(plan.actions.map((a) => [a.group, a.channels]));
      const masked = cloneModel(m);
      maskChannels(masked, sel);
      const small = cloneModel(m);
      applyPlan(small, plan);
      const f = randomFeeds(m);
      const out = async (x) => {
        const s = await Session.create(x);
        const o = await s.run(f);
        await s.release();
        return s.outputNames.map((k) => o[k]);
      };
      const [a, b] = [await out(masked), await out(small)];
      let maxAbs = 0;
      let maxRef = 0;
      let shapes = true;
      a.forEach((x, k) => {
        shapes &&= x.dims.join() === b[k].dims.join();
        for (let i = 0; i < x.data.length; i++) {
          maxAbs = Math.max(maxAbs, Math.abs(x.data[i] - b[k].data[i]));
          maxRef = Math.max(maxRef, Math.abs(x.data[i]));
        }
      });
      const params = [analyzeModel(cloneModel(m, { shareWeights: true })).params, analyzeModel(small).params];
      const rel = maxAbs / (maxRef || 1);
      const ok = shapes && params[1] < params[0] && rel < 1e-5;
      rows.push({ family, name, ok, rel, params: params[1] / params[0], channels: plan.actions.reduce((s, x) => s + x.channels.length, 0) });
    } catch (e) {
      rows.push({ family, name, ok: false, why: String(e.message ?? e).split('\n')[0] });
    }
  }
  const passed = rows.filter((r) => r.ok).length;
  result.coverage = { passed, total: rows.length, rows };
  log(`coverage at --amount 0.3 (valid, smaller, equivalent within 1e-5): ${passed}/${rows.length} = ${((100 * passed) / rows.length).toFixed(0)}%`);
  for (const r of rows)
    log(`  ${r.ok ? 'ok  ' : 'FAIL'} ${r.family.padEnd(20)} ${r.name.padEnd(26)} ${r.ok ? `params ×${r.params.toFixed(3)}  rel diff ${r.rel.toExponential(1)}  ${r.channels} channels` : r.why ?? `rel ${r.rel}`}`);
}
if (json) console.log(JSON.stringify(result, null, 2));
