#!/usr/bin/env node
// Issue #6 goal: channel pruning with least-squares reconstruction of a
// resnet18-sized model, 256 calibration images, 50% of the channels, in
// under 60 s on 2 cores, with memory bounded by the sampling options (rows =
// images × positions per image), not by the dataset size.
//
//   pnpm build && node scripts/fixtures.mjs
//   node --expose-gc bench/prune-channel.bench.mjs [--runs 3] [--images 256] [--mode layer|sequential] [--positions N] [--outputs N] [--json]
//   (without --mode/--positions/--outputs: the strategy's defaults, as the CLI runs it)
//
// random:256 calibration is fine for timing (the accuracy test uses real data).
// The calibration images are generated once, before the timed runs (as an npz
// would be loaded), so the figures time the pruning, not the Gaussian RNG.
// Prints the median wall time of the plan (calibration + selection +
// reconstruction), its phases, CPU time, peak RSS and the load average
// before and after (the dev machine is shared: note it with the figures).
import { dirname, join } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fixture } from '../tooling/fixtures/index.js';
import { fmt, machine, median } from './lib.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const runs = Number(opt('runs', 3));
const images = Number(opt('images', 256));
// Defaults: the strategy's own (what `shears prune --strategy channel` users get);
// --mode/--positions/--outputs give a lighter configuration as a separate row.
const modeArg = opt('mode');
const positionsArg = opt('positions');
const outputsArg = opt('outputs');
const json = args.includes('--json');
const log = (...a) => !json && console.log(...a);
const dist = (pkg) => import(pathToFileURL(join(root, pkg, 'dist/index.js')).href);
const [core, onnx, data, channel, runtime] = await Promise.all(['packages/core', 'packages/onnx', 'packages/data', 'packages/prune-channel', 'packages/runtime'].map(dist));
// The v0.2 contract: the op table and the runtime come through the context
// (ctx.ops, ctx.runtime). Trees before it ignore both fields, so the same
// script measures either.
const contractCtx = () => ({ ops: core.defaultOpRegistry(), runtime: runtime.createRuntime() });

const file = process.env.SHEARS_BENCH_MODEL ?? fixture('resnet18-dynbatch') ?? fixture('resnet18');
if (!file) {
  console.log('prune-channel.bench: no resnet18 fixture (run `node scripts/fixtures.mjs`); skipped');
  process.exit(0);
}
const load0 = loadavg()[0];
log(`prune-channel bench on ${machine()}, load average ${load0.toFixed(1)} on ${cpus().length} cores`);
const model = await onnx.readModel(file);
const calib = await materialize(data.randomDataset(images, [3, 224, 224], 1));
const defaults = channel.parseChannelOptions({ amount: 0.5 });
const mode = modeArg ?? defaults.mode;
const positions = positionsArg ? Number(positionsArg) : defaults.positionsPerImage;
const outputs = outputsArg ? Number(outputsArg) : defaults.outputsPerPosition;
const isDefault = mode === defaults.mode && positions === defaults.positionsPerImage && outputs === defaults.outputsPerPosition;
const opts = { amount: 0.5, mode, calibSamples: images, positionsPerImage: positions, outputsPerPosition: outputs };
const times = [];
const cpuMs = [];
const phases = {};
let peak = 0;
let plan;
for (let i = 0; i < runs; i++) {
  globalThis.gc?.();
  log(`run ${i + 1}/${runs}…`);
  const state = new core.StateBag();
  state.set(core.CALIBRATION, calib);
  const progress = {
    start(label) {
      const t0 = performance.now();
      const key = label.replace(/ \(.*/, '');
      return { tick() {}, done() { (phases[key] ??= []).push(performance.now() - t0); } };
    },
  };
  const ctx = { logger: core.silentLogger, progress, signal: new AbortController().signal, state, outputs: new core.RunStager(), dryRun: true, ...contractCtx() };
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  plan = await channel.channelPruning(opts).plan(model, ctx);
  times.push(performance.now() - t0);
  const c1 = process.cpuUsage(c0);
  cpuMs.push((c1.user + c1.system) / 1000);
  log(`  ${fmt(times.at(-1))} wall, ${fmt(cpuMs.at(-1))} CPU (user+system, all threads), load ${loadavg()[0].toFixed(1)}`);
  clearInterval(timer);
}
const applyT0 = performance.now();
const pruned = core.cloneModel(model);
core.applyPlan(pruned, plan);
const applyMs = performance.now() - applyT0;
// Results are in plan.details since v0.2 (plan.options before).
const details = plan.details ?? plan.options;
const layers = details.layers;
const rows = layers.reduce((a, l) => Math.max(a, l.rows), 0);
const result = {
  machine: machine(),
  model: file,
  options: opts,
  defaults: isDefault,
  planMs: median(times),
  runs: times,
  cpuMs: median(cpuMs),
  loadBefore: load0,
  loadAfter: loadavg()[0],
  phasesMs: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, median(v.length > runs ? sumPerRun(v) : v)])),
  applyMs,
  peakRssMB: peak / 2 ** 20,
  rowsPerLayer: rows,
  channelsRemoved: details.estimate.channels,
  layers: layers.length,
  meanErrorBefore: layers.reduce((a, l) => a + l.errorBefore, 0) / layers.length,
  meanErrorAfter: layers.reduce((a, l) => a + l.errorAfter, 0) / layers.length,
};
/** The dataset's first `images` samples in memory, as one array dataset. */
async function materialize(ds) {
  const x = new Float32Array(images * 3 * 224 * 224);
  let at = 0;
  for await (const bt of ds.batches(32, { limit: images })) {
    x.set(bt.x, at);
    at += bt.x.length;
  }
  return data.arrayDataset(`random:${images}`, { dtype: 'float32', shape: [images, 3, 224, 224], data: x });
}
function sumPerRun(v) {
  const per = v.length / runs;
  return Array.from({ length: runs }, (_, i) => v.slice(i * per, (i + 1) * per).reduce((a, b) => a + b, 0));
}
if (json) console.log(JSON.stringify(result, null, 2));
else {
  log(`resnet18, ${images} images (random), 50% channels, mode ${mode}, ${positions} positions/image, ${outputs} outputs/position${isDefault ? ' (the defaults)' : ' (NOT the defaults)'} → ${rows} rows per conv layer`);
  log(`plan (calibration + selection + reconstruction)  median ${fmt(result.planMs)} of ${runs}  (goal < 30 s at the defaults, issue #20); CPU ${fmt(result.cpuMs)}`);
  for (const [k, v] of Object.entries(result.phasesMs)) log(`  ${k.padEnd(44)} ${fmt(v)}`);
  log(`apply                                            ${fmt(applyMs)}`);
  log(`peak RSS                                         ${result.peakRssMB.toFixed(0)} MB (calibration images in memory: ${((images * 3 * 224 * 224 * 4) / 2 ** 20).toFixed(0)} MB)`);
  log(`load average                                     ${load0.toFixed(1)} before, ${result.loadAfter.toFixed(1)} after`);
  log(`${result.channelsRemoved} channels removed; ${layers.length} layers refit; mean relative output error ${result.meanErrorBefore.toFixed(3)} → ${result.meanErrorAfter.toFixed(3)}`);
}
