#!/usr/bin/env node
// Issue #17 goals on the YOLOv8n-style fixture (scripts/yolo_models.py),
// measured in one run (medians; ratios against baselines from the same run):
//  - the whole `shears prune yolov8n.onnx --strategy filter --target-macs 0.5`
//    process < 3 s (median of 5);
//  - onnxruntime CPU latency at 640×640, batch 1, 2 threads: dense vs the
//    50%-MACs model, interleaved runs, ≥ 1.6× (the MACs ratio, 2×, is the
//    ideal), for each --round-to asked (default 8 and 16);
//  - with --profile: where the time goes, per op type (onnxruntime's own
//    profiler, the same runs for dense and pruned).
//
//   pnpm build && node scripts/fixtures.mjs
//   node --expose-gc bench/yolo.bench.mjs [--model yolov8n] [--runs 30] [--round-to 8,16] [--threads 2,1] [--profile] [--json]
//
// Under load (other processes on the cores) a 2-thread pool waits for its
// descheduled thread at every parallel region: smaller (pruned) convs lose
// more of their time to that than big ones, so compare with --threads 1.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fixture } from '../tooling/fixtures/index.js';
import { fmt, machine, median, timeProcess } from './lib.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const name = opt('model', 'yolov8n');
const runs = Number(opt('runs', 30));
const roundTos = String(opt('round-to', '8,16')).split(',').map(Number);
const json = args.includes('--json');
const profile = args.includes('--profile');
const threadList = String(opt('threads', '2')).split(',').map(Number);
const THREADS = threadList[0];
const dist = (pkg) => import(pathToFileURL(join(root, pkg, 'dist/index.js')).href);
const [core, onnx, runtime] = await Promise.all(['packages/core', 'packages/onnx', 'packages/runtime'].map(dist));
const ort = createRequire(join(root, 'packages/runtime/package.json'))('onnxruntime-node');

const log = (...a) => !json && console.log(...a);
const load = () => loadavg().map((x) => x.toFixed(1)).join(' ');
const result = { machine: machine(), model: name, loadBefore: loadavg()[0] };
log(`yolo bench (${name}) on ${machine()}, load average ${load()} on ${cpus().length} cores`);

const src = process.env.SHEARS_BENCH_MODEL ?? fixture(name);
if (!src) {
  console.log(`yolo.bench: no ${name} fixture (run \`node scripts/fixtures.mjs\`); skipped`);
  process.exit(0);
}
const bin = join(root, 'apps/cli/dist/bin.js');
const dir = mkdtempSync(join(tmpdir(), 'shears-yolo-bench-'));

/** `shears prune` as a user runs it; returns the JSON report. */
function prune(out, extra) {
  const p = spawnSync(process.execPath, [bin, 'prune', src, '-o', out, '--strategy', 'filter', '--target-macs', '0.5', '--json', '-q', ...extra], { encoding: 'utf8' });
  if (p.status !== 0) throw new Error(`shears prune failed: ${p.stderr}`);
  return JSON.parse(p.stdout);
}

/** Median latencies of two models, runs interleaved so other load on the machine hits both alike. */
async function interleaved(a, b, feeds, n, threads) {
  const sa = await runtime.Session.create(a, { threads });
  const sb = await runtime.Session.create(b, { threads });
  try {
    for (let i = 0; i < 3; i++) {
      await sa.run(feeds);
      await sb.run(feeds);
    }
    const ta = [];
    const tb = [];
    for (let i = 0; i < n; i++) {
      globalThis.gc?.();
      let t0 = performance.now();
      await sa.run(feeds);
      ta.push(performance.now() - t0);
      t0 = performance.now();
      await sb.run(feeds);
      tb.push(performance.now() - t0);
    }
    return [median(ta), median(tb)];
  } finally {
    await sa.release();
    await sb.release();
  }
}

/** Per op type: total node time (µs) per run, from onnxruntime's profiler over `n` runs. */
async function opProfile(file, feeds, n) {
  const s = await ort.InferenceSession.create(file, {
    intraOpNumThreads: THREADS,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    enableProfiling: true,
    profileFilePrefix: join(dir, 'profile'),
  });
  const f = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, new ort.Tensor('float32', v.data, v.dims)]));
  for (let i = 0; i < 3; i++) await s.run(f);
  for (let i = 0; i < n; i++) await s.run(f);
  // onnxruntime-node writes the trace on endProfiling and returns nothing: the newest file with the prefix.
  s.endProfiling();
  await s.release();
  const path = readdirSync(dir).filter((x) => x.startsWith('profile')).map((x) => join(dir, x)).sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  const events = JSON.parse(readFileSync(path, 'utf8'));
  rmSync(path);
  const byOp = new Map();
  // The last n runs' kernel events (the warm-up runs are in the file too).
  const kernels = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'));
  const perRun = kernels.length / (n + 3);
  for (const e of kernels.slice(kernels.length - perRun * n)) {
    const op = e.args?.op_name ?? '?';
    const cur = byOp.get(op) ?? { us: 0, nodes: 0 };
    cur.us += e.dur / n;
    cur.nodes += 1 / n;
    byOp.set(op, cur);
  }
  return byOp;
}

try {
  // --- the whole CLI process -----------------------------------------------------------------
  const cliMs = timeProcess(process.execPath, [bin, 'prune', src, '-o', join(dir, 'cli.onnx'), '--strategy', 'filter', '--target-macs', '0.5', '--json', '-q'], 5);
  const convertMs = timeProcess(process.execPath, [bin, 'convert', src, '-o', join(dir, 'copy.onnx')], 3);
  result.cli = { ms: cliMs, convertMs };
  log(`shears prune ${name} --strategy filter --target-macs 0.5 (whole process, median of 5)   ${fmt(cliMs)}   (goal < 3000 ms)`);
  log(`  baseline: shears convert ${name} (read + write only)                                    ${fmt(convertMs)}`);

  // --- latency at 640×640 ----------------------------------------------------------------------
  const dense = await onnx.readModel(src);
  const feeds = runtime.randomFeeds(dense);
  result.latency = { runs, rows: [] };
  log(`onnxruntime CPU, batch 1, ${runs} interleaved runs per pair, graph optimization 'all'`);
  const files = [];
  for (const r of roundTos) {
    const out = join(dir, `pruned-r${r}.onnx`);
    const rep = prune(out, ['--round-to', String(r)]);
    const pruned = await onnx.readModel(out);
    const macs = rep.after.macs / rep.before.macs;
    files.push([r, out]);
    for (const threads of threadList) {
      const [md, mp] = await interleaved(dense, pruned, feeds, runs, threads);
      result.latency.rows.push({ roundTo: r, threads, macsRatio: macs, denseMs: md, prunedMs: mp, speedup: md / mp, idealSpeedup: 1 / macs, load: loadavg()[0] });
      log(`  --round-to ${String(r).padEnd(3)} ${threads} thread${threads > 1 ? 's' : ' '}  MACs ×${macs.toFixed(3)}   dense ${fmt(md)}   pruned ${fmt(mp)}   speedup ×${(md / mp).toFixed(2)}  (ideal ×${(1 / macs).toFixed(2)}; goal ≥ 1.6 at 2 threads)  load ${load()}`);
    }
  }

  // --- where the time goes ---------------------------------------------------------------------------
  if (profile) {
    const n = Math.max(5, Math.round(runs / 3));
    const base = await opProfile(src, feeds, n);
    const rows = [];
    for (const [r, file] of files) {
      const p = await opProfile(file, feeds, n);
      const ops = [...new Set([...base.keys(), ...p.keys()])];
      const table = ops
        .map((op) => ({ op, denseUs: base.get(op)?.us ?? 0, prunedUs: p.get(op)?.us ?? 0, nodes: Math.round(base.get(op)?.nodes ?? 0) }))
        .sort((a, b) => b.denseUs - a.denseUs);
      const total = (k) => table.reduce((s, x) => s + x[k], 0);
      rows.push({ roundTo: r, denseUs: total('denseUs'), prunedUs: total('prunedUs'), ops: table });
      log(`profile (--round-to ${r}, onnxruntime's node times, mean of ${n} runs): dense ${fmt(total('denseUs') / 1000)}, pruned ${fmt(total('prunedUs') / 1000)}`);
      for (const x of table.filter((t) => t.denseUs > 0.01 * total('denseUs')))
        log(`  ${x.op.padEnd(22)} ${String(x.nodes).padStart(3)} nodes   dense ${fmt(x.denseUs / 1000).padStart(9)}   pruned ${fmt(x.prunedUs / 1000).padStart(9)}   ×${(x.denseUs / Math.max(1, x.prunedUs)).toFixed(2)}`);
    }
    result.profile = rows;
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
result.loadAfter = loadavg()[0];
if (json) console.log(JSON.stringify(result, null, 2));
