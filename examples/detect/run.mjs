#!/usr/bin/env node
// `pnpm demo:detect`: make the synthetic detection set if it is missing,
// inspect the embedded YOLO-style detector, then run recipe.yaml (channels
// removed to 50% MACs → mAP right after pruning → label-free distillation from
// the dense model → ONNX, TensorRT-ready ONNX and TFLite → mAP and latency of
// each → HTML report).
//   node examples/detect/run.mjs [--out <dir>] [--data <dir>] [--limit N] [--epochs N]
//        [--calib N] [--runs N] [--train N] [--val N] [--backend wasm|node|cpu] [--json]
// --out puts the outputs elsewhere (the recipe is copied there, pointing back
// at the embedded model and at the data); --data reads (or makes) the set
// elsewhere; --train/--val set the sizes of a set made here (default 4000/500);
// --limit and --epochs shorten distillation, --calib the calibration, --runs
// the latency runs (the CI test runs a small set).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
// The workspace's CLI (built: `pnpm build`), also before this package's links exist.
const bin = (() => {
  try {
    return createRequire(import.meta.url).resolve('@shears/cli/bin').replace(/\.cjs$/, '.js');
  } catch {
    return resolve(here, '../../apps/cli/dist/bin.js');
  }
})();
const args = process.argv.slice(2);
const arg = (name) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const json = args.includes('--json');
const log = (line) => (json ? process.stderr : process.stdout).write(`${line}\n`);

function run(title, argv, capture = false) {
  log(`\n$ ${argv.map((a) => a.replace(here, 'examples/detect')).join(' ')}    # ${title}`);
  const r = spawnSync(process.execPath, argv, { stdio: capture ? ['ignore', 'pipe', 'inherit'] : ['ignore', json ? process.stderr : 'inherit', 'inherit'], encoding: 'utf8' });
  if (r.status !== 0) process.exit(r.status ?? 1);
  return r.stdout;
}

const data = resolve(arg('data') ?? join(here, 'data'));
if (!existsSync(join(data, 'train', 'images')) || !existsSync(join(data, 'val', 'images'))) {
  run('the synthetic set: Fashion-MNIST items on 256x256 canvases, YOLO labels (seeded)', [join(here, 'make-data.mjs'), '--out', data, '--train', arg('train') ?? '4000', '--val', arg('val') ?? '500']);
}

let recipe = join(here, 'recipe.yaml');
const outDir = arg('out');
const [epochs, limit, calib, runs, backend] = ['epochs', 'limit', 'calib', 'runs', 'backend'].map(arg);
if (outDir || arg('data') || epochs || limit || calib || runs || backend) {
  // A copy of the recipe in the output folder, with the inputs pointing back here.
  const dir = resolve(outDir ?? join(here, 'out'));
  mkdirSync(dir, { recursive: true });
  let text = readFileSync(recipe, 'utf8').replace(/(?<=[ :])detector\.onnx(?=\n)/, join(here, 'detector.onnx'));
  text = text.replaceAll(/(?<=[ :])data\/(train|val)/g, (_m, split) => join(data, split));
  if (epochs) text = text.replace(/epochs: \d+/, `epochs: ${Number(epochs)}`);
  if (limit) text = text.replace(/limit: \d+/, `limit: ${Number(limit)}`);
  if (calib) text = text.replace(/calibSamples: \d+/, `calibSamples: ${Number(calib)}`);
  if (runs) text = text.replace(/runs: \d+/, `runs: ${Number(runs)}`);
  if (backend) text = text.replace(/seed: 1 }/, `seed: 1, backend: ${JSON.stringify(backend)} }`);
  recipe = join(dir, 'recipe.yaml');
  writeFileSync(recipe, text);
}

if (!json) run('the embedded model: a YOLO-style detector trained by examples/detect/train.py', [bin, 'inspect', join(here, 'detector.onnx')]);
const t0 = performance.now();
const result = run('channels to 50% MACs → snapshot → label-free distillation → export ×3 → mAP and latency → report', [bin, 'run', recipe, ...(json ? ['--json'] : [])], json);
if (json) process.stdout.write(result);
else console.log(`\ndetector demo finished in ${((performance.now() - t0) / 1000).toFixed(0)} s; open the report in a browser.`);
