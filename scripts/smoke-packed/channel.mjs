// Stage 2 of the packed-tarball smoke test (scripts/smoke-packed.mjs): the same
// clean npm project with the packed @shears/runtime (onnxruntime-node) and
// @shears/prune-channel added. The channel strategy chooses filters on
// calibration images and refits the next layer, through ctx.runtime.
//
//   node channel.mjs <model.onnx> <calib.npz> <val.npz> <out.onnx>   →   one JSON line on stdout
import { analyzeModel, CALIBRATION, pipeline, StateBag } from '@shears/core';
import { openDataset } from '@shears/data';
import { onnxImport, onnxWrite, readModel } from '@shears/onnx';
import { channelPruning } from '@shears/prune-channel';
import { createRuntime, evaluate } from '@shears/runtime';

const [input, calib, val, out] = process.argv.slice(2);
if (!input || !calib || !val || !out) {
  console.error('usage: node channel.mjs <model.onnx> <calib.npz> <val.npz> <out.onnx>');
  process.exit(2);
}
const dense = await readModel(input);
const inputShape = dense.graph.inputs[0].shape;
const state = new StateBag();
state.set(CALIBRATION, await openDataset(calib, { inputShape }));
const result = await pipeline()
  .use(onnxImport())
  .use(channelPruning({ targetMacs: 0.5, calibSamples: 256 }))
  .use(onnxWrite({ out }))
  .run(input, { runtime: createRuntime(), state });
const pruned = await readModel(out);
const before = analyzeModel(dense).macs;
const after = analyzeModel(pruned).macs;
// The pruned file runs in onnxruntime and still classifies held-out images (no fine-tuning).
const data = await openDataset(val, { inputShape });
const { accuracy } = await evaluate(pruned, data, { limit: 1000 });
const { accuracy: denseAccuracy } = await evaluate(dense, data, { limit: 1000 });
console.log(JSON.stringify({ before, after, ratio: after / before, accuracy, denseAccuracy, steps: result.steps.map((s) => s.plugin) }));
