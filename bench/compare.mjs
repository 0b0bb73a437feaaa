#!/usr/bin/env node
// Before/after in one run: the same bench scripts in two built trees (say a
// worktree of the previous release and this one), alternated base / new /
// base / new … so load from anything else on the machine hits both alike.
// Each run's figures are parsed from the bench's output; the whole bench
// process's CPU time (user + sys, its children included, from /usr/bin/time)
// and the 1-minute load average at its start are recorded beside them.
//
//   git worktree add /tmp/shears-base <commit> && (cd /tmp/shears-base && pnpm install --frozen-lockfile --offline && pnpm build)
//   cp bench/*.mjs /tmp/shears-base/bench/    # the same scripts in both trees
//   node bench/compare.mjs --base /tmp/shears-base --new . [--rounds 3] [--only prune-filter,io] [--out runs.jsonl]
//
// Prints a table: bench, metric, base median, new median, ratio new/base
// (for times, above 1 is slower), and the median load average of the runs.
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { median } from './lib.mjs';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const trees = { base: resolve(opt('base', '')), new: resolve(opt('new', '.')) };
const rounds = Number(opt('rounds', 3));
const only = opt('only', '')?.split(',').filter(Boolean) ?? [];
const out = opt('out');

const num = (re, text) => {
  const m = re.exec(text);
  return m ? Number(m[1]) : undefined;
};
const jsonOf = (text) => JSON.parse(text.slice(text.indexOf('\n{') + 1));

/** name → script, arguments, and the figures to read from its output (all "lower is better" unless higherIsBetter). */
const BENCHES = [
  {
    name: 'prune-unstructured',
    file: 'prune-unstructured.bench.mjs',
    args: ['--skip-torch', '--skip-sparsegpt'],
    parse: (t) => ({
      'plan (ms)': 1000 * num(/\| plan \(score, select, collect\) \| ([\d.]+) s/, t),
      'apply (ms)': 1000 * num(/\| apply \(zeros \+ masks\) \| ([\d.]+) s/, t),
      'pruning alone, wall (ms)': 1000 * num(/\| pruning alone \(plan \+ apply\) \| ([\d.]+) s/, t),
      'pruning alone, CPU (ms)': 1000 * num(/pruning alone[^\n]*\n\| \(its CPU time, user \+ sys\) \| ([\d.]+) s/, t),
      'shears prune process, wall (ms)': 1000 * num(/\| wall time \| ([\d.]+) s/, t),
      'shears prune process, CPU (ms)': 1000 * num(/wall time[^\n]*\n\| \(its CPU time, user \+ sys\) \| ([\d.]+) s/, t),
      'shears prune peak RSS (MB)': num(/\| peak RSS \| ([\d.]+) MB/, t),
    }),
  },
  {
    name: 'prune-filter',
    file: 'prune-filter.bench.mjs',
    args: ['--json', '--skip-coverage', '--runs', '20'],
    parse: (t) => {
      const j = jsonOf(t);
      return {
        'dependency graph (ms)': j.planning.graphMs,
        'graph + planning (ms)': j.planning.graphAndPlanMs,
        'first plan, weights decoded (ms)': j.planning.firstPlanMs,
        'pruned model latency, 2 threads (ms)': j.latency.threads2?.prunedMs,
        'pruned model latency, 1 thread (ms)': j.latency.threads1?.prunedMs,
        'shears prune process (ms)': j.cli.ms,
        'shears convert process (ms)': j.cli.convertMs,
      };
    },
  },
  {
    name: 'prune-channel',
    file: 'prune-channel.bench.mjs',
    args: ['--json', '--runs', '1'],
    parse: (t) => {
      const j = jsonOf(t);
      return { 'plan, wall (ms)': j.planMs, 'plan, CPU (ms)': j.cpuMs, 'apply (ms)': j.applyMs, 'peak RSS (MB)': j.peakRssMB, 'mean error after': j.meanErrorAfter };
    },
  },
  {
    name: 'io',
    file: 'io.bench.mjs',
    args: [],
    parse: (t) => ({
      'inspect in-process (ms)': num(/inspect \(read \+ analyze\)\s+([\d.]+) ms/, t),
      'convert in-process (ms)': num(/convert \(read \+ write\)\s+([\d.]+) ms/, t),
      'shears inspect --json process (ms)': num(/shears inspect --json\s+([\d.]+) ms/, t),
      'shears convert process (ms)': num(/shears convert\s+([\d.]+) ms/, t),
      'shears inspect peak RSS (MB)': num(/shears inspect\s+([\d.]+) MB/, t),
      'shears convert peak RSS (MB)': num(/shears convert\s+([\d.]+) MB/, t),
    }),
  },
  {
    name: 'onnx-codec',
    file: 'onnx-codec.bench.mjs',
    args: ['--runs', '5'],
    parse: (t) => {
      const row = (label) => new RegExp(`\\| ${label.replace(/[()/+]/g, '\\$&')} \\| ([\\d.]+) \\| ([\\d.]+) \\| ([\\d.]+) \\|`).exec(t);
      const mem = row('@shears/onnx decodeModel / encodeModel');
      const files = row('@shears/onnx readModelSync / writeModelSync (files)');
      return {
        'decodeModel (ms)': Number(mem?.[1]),
        'encodeModel (ms)': Number(mem?.[2]),
        'readModelSync (ms)': Number(files?.[1]),
        'writeModelSync (ms)': Number(files?.[2]),
        'read + write peak RSS (MB)': num(/\| @shears\/onnx readModelSync \+ writeModelSync \| ([\d.]+) \|/, t),
      };
    },
  },
  {
    name: 'export-tflite',
    file: 'export-tflite.bench.mjs',
    args: ['--json', '--skip-python', '--runs', '5'],
    parse: (t) => {
      const j = jsonOf(t);
      const ok = j.coverage.filter((r) => r.ok);
      return {
        'convertToTflite resnet50 (ms)': j.resnet50.convertMs,
        'shears export --format tflite process (ms)': j.resnet50.processMs,
        'convert, 15 families summed (ms)': ok.reduce((a, r) => a + r.ms, 0),
        'families exported': ok.length,
        'resnet50 dense .tflite (MB)': j.sizes[0].bytes / 1e6,
      };
    },
  },
  {
    name: 'finetune',
    file: 'finetune.bench.mjs',
    args: ['--rounds', '1', '--backends', 'wasm'],
    parse: (t) => ({
      'wasm steps/s (higher is better)': num(/tfjs wasm\s+([\d.]+)/, t),
    }),
  },
];

function runOnce(bench, side) {
  const script = join(trees[side], 'bench', bench.file);
  if (!existsSync(script)) throw new Error(`${script} missing: copy bench/*.mjs into the ${side} tree`);
  const load = loadavg()[0];
  const r = spawnSync('/usr/bin/time', ['-f', 'BENCH_TIME %U %S %e', process.execPath, '--expose-gc', script, ...bench.args], { cwd: trees[side], encoding: 'utf8', maxBuffer: 1 << 26 });
  const t = /BENCH_TIME ([\d.]+) ([\d.]+) ([\d.]+)/.exec(r.stderr);
  if (r.status !== 0) throw new Error(`${bench.name} (${side}) failed:\n${r.stderr.slice(-2000)}`);
  const figures = bench.parse(r.stdout);
  figures['whole bench process, CPU (s)'] = t ? Number(t[1]) + Number(t[2]) : undefined;
  return { bench: bench.name, side, load, wall: t ? Number(t[3]) : undefined, figures };
}

const chosen = BENCHES.filter((b) => only.length === 0 || only.includes(b.name));
if (!existsSync(join(trees.base, 'bench'))) throw new Error('--base: a built tree with bench/ (see the header)');
const runs = [];
for (const bench of chosen) {
  for (let round = 0; round < rounds; round++) {
    for (const side of ['base', 'new']) {
      const r = runOnce(bench, side);
      runs.push(r);
      if (out) appendFileSync(out, `${JSON.stringify(r)}\n`);
      console.error(`${bench.name} round ${round + 1} ${side}: load ${r.load.toFixed(2)}, ${r.wall}s ${JSON.stringify(r.figures)}`);
    }
  }
}

console.log(`\n| bench | metric | base median | new median | new/base | load (1-min avg, median) |\n| --- | --- | ---: | ---: | ---: | ---: |`);
for (const bench of chosen) {
  const mine = runs.filter((r) => r.bench === bench.name);
  const load = median(mine.map((r) => r.load)).toFixed(2);
  for (const metric of Object.keys(mine[0].figures)) {
    const m = (side) => median(mine.filter((r) => r.side === side).map((r) => r.figures[metric]).filter((v) => Number.isFinite(v)));
    const [b, n] = [m('base'), m('new')];
    const f = (v) => (Number.isFinite(v) ? (Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3)) : 'n/a');
    console.log(`| ${bench.name} | ${metric} | ${f(b)} | ${f(n)} | ${Number.isFinite(b / n) ? (n / b).toFixed(3) : 'n/a'} | ${load} |`);
  }
}
