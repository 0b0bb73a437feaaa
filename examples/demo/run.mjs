#!/usr/bin/env node
// `pnpm demo`: inspect the embedded Fashion-MNIST CNN, then run recipe.yaml
// (sensitivity → filters removed to 50% MACs, chosen and refit on calibration
// images → fine-tuning with distillation →
// ONNX, TensorRT-ready ONNX and TFLite → evaluation and latency of each → HTML
// report). Prints the before/after table and the report's path.
//   node examples/demo/run.mjs [--out <dir>] [--epochs N] [--backend wasm|node|cpu] [--json]
// --out puts the outputs elsewhere (the recipe is copied there, pointing back
// at the embedded model and data); --epochs shortens fine-tuning (CI runs 1);
// --backend picks the tfjs backend (default: tfjs-node when installed, else wasm).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const bin = createRequire(import.meta.url).resolve('@shears/cli/bin').replace(/\.cjs$/, '.js');
const args = process.argv.slice(2);
const arg = (name) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const json = args.includes('--json');

function shears(title, argv) {
  if (!json) console.log(`\n$ shears ${argv.join(' ')}    # ${title}`);
  const r = spawnSync(process.execPath, [bin, ...argv], { stdio: json ? ['ignore', 'pipe', 'inherit'] : 'inherit', encoding: 'utf8' });
  if (r.status !== 0) process.exit(r.status ?? 1);
  return r.stdout;
}

let recipe = join(here, 'recipe.yaml');
const outDir = arg('out');
const epochs = arg('epochs');
const backend = arg('backend');
if (outDir || epochs || backend) {
  // A copy of the recipe in the output folder, with the inputs pointing back here.
  const dir = resolve(outDir ?? join(here, 'out'));
  mkdirSync(dir, { recursive: true });
  let text = readFileSync(recipe, 'utf8');
  for (const f of ['fmnist-cnn.onnx', 'val.npz', 'train.npz']) text = text.replaceAll(new RegExp(`(?<=[ :])${f.replace('.', '\\.')}(?=[ ,}\\n])`, 'g'), join(here, f));
  if (epochs) text = text.replace(/epochs: \d+/, `epochs: ${Number(epochs)}`);
  if (backend) text = text.replace(/seed: 1,/, `seed: 1, backend: ${JSON.stringify(backend)},`);
  recipe = join(dir, 'recipe.yaml');
  writeFileSync(recipe, text);
}

if (!json) shears('the embedded model: Fashion-MNIST CNN, trained by examples/demo/train-model.mjs', ['inspect', join(here, 'fmnist-cnn.onnx')]);
const t0 = performance.now();
const result = shears('sensitivity → remove filters to 50% MACs (channel, refit) → fine-tune (KD) → export ×3 → evaluate → report', ['run', recipe, ...(json ? ['--json'] : [])]);
if (json) process.stdout.write(result);
else console.log(`\ndemo finished in ${((performance.now() - t0) / 1000).toFixed(0)} s; open the report in a browser.`);
