// Issue #20 lottery-ticket goal: on the demo model (examples/demo/fmnist-cnn.onnx,
// train.npz / val.npz) at 90% unstructured sparsity, iterative magnitude
// pruning with learning-rate rewinding (k rounds × E epochs) against one-shot
// pruning to 90% + fine-tuning for the same total epochs (k·E), same data,
// optimizer, learning-rate schedule, seed and backend. Both run through
// `shears finetune --schedule iterative:k` (one-shot is iterative:1), each in
// its own process; prints per-round sparsity / val accuracy and the comparison.
//   node bench/lottery.bench.mjs [--rounds 3] [--epochs 1] [--sparsity 0.9] [--limit 2000]
//        [--rewind lr] [--lr-schedule cosine] [--lr 0.01] [--optimizer sgd] [--backend auto] [--json]
// Heavy: run it with `nice -n 10` when the machine is shared.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machine } from './lib.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const arg = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const k = Number(arg('rounds', '3'));
const epochs = Number(arg('epochs', '1'));
const sparsity = arg('sparsity', '0.9');
const limit = arg('limit', '2000');
const rewind = arg('rewind', 'lr');
const lrSchedule = arg('lr-schedule', 'cosine');
const lr = arg('lr', '0.01');
const optimizer = arg('optimizer', 'sgd');
const backend = arg('backend', 'auto');
const asJson = args.includes('--json');

const cli = join(root, 'apps/cli/dist/bin.js');
const demo = join(root, 'examples/demo');
const model = join(demo, 'fmnist-cnn.onnx');
const tmp = mkdtempSync(join(tmpdir(), 'shears-lottery-'));

function shears(argv) {
  const r = spawnSync(process.execPath, [cli, ...argv], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`shears ${argv.join(' ')} exited ${r.status}:\n${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** One run: `rounds` rounds of prune → `perRound` epochs. */
function run(label, rounds, perRound) {
  const t0 = performance.now();
  const load = loadavg()[0];
  const j = shears([
    'finetune', model, '-o', join(tmp, `${label}.onnx`), '--checkpoint-dir', join(tmp, `${label}.ckpt`),
    '--data', join(demo, 'train.npz'), '--val', join(demo, 'val.npz'), '--limit', limit,
    '--schedule', `iterative:${rounds}`, '--sparsity', sparsity, ...(rounds > 1 ? ['--rewind', rewind] : []),
    '--epochs', String(perRound), '--lr-schedule', lrSchedule, '--lr', lr, '--optimizer', optimizer, '--backend', backend, '--seed', '0', '--json',
  ]);
  const last = j.rounds.at(-1);
  return { label, rounds: j.rounds, epochs: j.epochs.length, steps: j.steps, backend: j.backend, sparsity: last.sparsity, valAccuracy: last.valAccuracy, seconds: (performance.now() - t0) / 1000, load: [load, loadavg()[0]] };
}

const dense = shears(['eval', model, '--data', join(demo, 'val.npz'), '--json']);
const imp = run(`imp-${rewind}`, k, epochs);
const oneShot = run('one-shot', 1, k * epochs);
const result = {
  machine: machine(),
  setup: { model: 'examples/demo/fmnist-cnn.onnx', sparsity: Number(sparsity), rounds: k, epochsPerRound: epochs, totalEpochs: k * epochs, limit: Number(limit), val: 'examples/demo/val.npz (2000)', rewind, lrSchedule, lr: Number(lr), optimizer },
  denseAccuracy: dense.accuracy,
  imp,
  oneShot,
  margin: imp.valAccuracy - oneShot.valAccuracy,
};
if (asJson) console.log(JSON.stringify(result, null, 2));
else {
  const pct = (x) => `${(100 * x).toFixed(2)}%`;
  console.log(`lottery ticket on ${result.setup.model}: ${pct(Number(sparsity))} unstructured (global magnitude), ${k * epochs} epochs in all over ${limit} samples each, ${optimizer} lr ${lr} (${lrSchedule}), backend ${imp.backend}`);
  console.log(`dense val accuracy ${pct(dense.accuracy)}`);
  console.log(`IMP, ${k} rounds × ${epochs} epoch(s), rewind ${rewind}:`);
  for (const r of imp.rounds) console.log(`  round ${r.round}: sparsity ${pct(r.sparsity)}  val accuracy ${pct(r.valAccuracy)}  (${r.seconds.toFixed(0)} s)`);
  console.log(`one-shot to ${pct(Number(sparsity))} + ${k * epochs} epoch(s): sparsity ${pct(oneShot.sparsity)}  val accuracy ${pct(oneShot.valAccuracy)}`);
  console.log(`IMP − one-shot: ${(100 * result.margin).toFixed(2)} pt (${result.margin > 0 ? 'IMP better' : 'one-shot better or equal'})`);
  console.log(`times ${imp.seconds.toFixed(0)} s / ${oneShot.seconds.toFixed(0)} s; load average at start ${imp.load[0].toFixed(2)} / ${oneShot.load[0].toFixed(2)} (indicative only on a shared machine)`);
}
