// Stage 1 of the packed-tarball smoke test (scripts/smoke-packed.mjs), run by
// plain Node inside a clean npm project that installed only the packed
// @shears/core, onnx, criteria and prune-filter (and what they depend on).
// Data-free pruning: filters ranked by L1 norm, removed until MACs ≤ half.
//
//   node l1-filter.mjs <model.onnx> <out.onnx>   →   one JSON line on stdout
import { analyzeModel, pipeline } from '@shears/core';
import { l1 } from '@shears/criteria';
import { onnxImport, onnxWrite, readModel } from '@shears/onnx';
import { filterPruning } from '@shears/prune-filter';

const [input, out] = process.argv.slice(2);
if (!input || !out) {
  console.error('usage: node l1-filter.mjs <model.onnx> <out.onnx>');
  process.exit(2);
}
const before = analyzeModel(await readModel(input)).macs;
const result = await pipeline().use(onnxImport()).use(l1()).use(filterPruning({ targetMacs: 0.5 })).use(onnxWrite({ out })).run(input);
const after = analyzeModel(await readModel(out)).macs;
console.log(JSON.stringify({ before, after, ratio: after / before, steps: result.steps.map((s) => s.plugin) }));
