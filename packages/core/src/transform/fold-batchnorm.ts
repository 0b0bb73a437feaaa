// BatchNorm folding: the one implementation behind export-onnx's
// fold-batchnorm pass and the TFLite converter's rewrite.
import type { Graph } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import { Tensor } from '../ir/tensor.js';
import type { Value } from '../ir/value.js';
import { constTensorOf } from '../ops/helpers.js';
import { defaultOpRegistry, type OpRegistry } from '../ops/registry.js';
import type { OpSpec, WeightRole } from '../ops/types.js';
import { redirectOutput } from './rewire.js';

/** One normalization folded into the compute op before it (node labels). */
export interface FoldedNorm {
  norm: string;
  into: string;
}

/** A normalization with running statistics, its producer, and what the fold rewrites. */
interface FoldSite {
  norm: Node;
  /** The normalization's input, written by `into` and read by the normalization alone. */
  x: Value;
  into: Node;
  weightRole: WeightRole & { outAxis: number };
  biasRole: WeightRole;
  /** Per-channel statistics in float32: scale γ, bias β, mean μ, variance σ². */
  stats: { gamma: Float32Array; beta: Float32Array; mean: Float32Array; variance: Float32Array; epsilon: number };
}

/** The folded weight and bias of a site. */
interface Folded {
  weight: Float32Array;
  bias: Float32Array;
}

/**
 * Fold every normalization with running statistics (an op whose table entry
 * lists 'scale', 'bias', 'mean' and 'var' weights, e.g. BatchNormalization)
 * into the compute op before it, when that op's output feeds only the
 * normalization: W' = W·s along the weight's output-channel axis and
 * b' = (β_b·b − μ)·s + β with s = γ/√(σ²+ε). Which inputs are the weight
 * and bias, the weight's output-channel axis, and an attribute that scales the
 * bias (Gemm's beta, reset to 1) come from `registry`, never from op names.
 *
 * Edits `model` in place with new tensors (shared weight tensors are never
 * written to): a weight or bias read only by the folded op keeps its name,
 * otherwise the op gets a fresh one. A pruning mask on the weight stays valid
 * and is kept (a copy goes with a renamed weight); one on the bias is dropped,
 * since a pruned channel's folded bias is β − μ·s, not zero. Initializers the
 * fold leaves unused are removed. Only float32 tensors of the main graph are
 * folded; anything else is left as it is.
 */
export function foldBatchNorms(model: Model, registry: OpRegistry = defaultOpRegistry()): FoldedNorm[] {
  const g = model.graph;
  const names = new Set(g.valuesByName().keys());
  const folded: FoldedNorm[] = [];
  for (const norm of [...g.nodes]) {
    const site = foldSite(model, norm, registry);
    const values = site && foldedValues(site);
    if (!site || !values) continue;
    const into = site.into.label;
    rewriteSite(g, site, values, names);
    folded.push({ norm: norm.label, into });
  }
  return folded;
}

/** The spec's weight roles for a node, including roles whose (optional) input is absent. */
function allRoles(spec: OpSpec | undefined, node: Node): WeightRole[] {
  if (!spec?.weights) return [];
  return typeof spec.weights === 'function' ? spec.weights(node) : [...spec.weights];
}

/** A float32 constant of `size` elements, as its data. */
function floatsOf(v: Value | null, size?: number): Float32Array | undefined {
  const t = constTensorOf(v);
  return t && t.dtype === 'float32' && (size === undefined || t.size === size) ? t.floats() : undefined;
}

/** The normalization's float32 statistics, when the table lists all four and they are constant. */
function normStats(spec: OpSpec | undefined, norm: Node): FoldSite['stats'] | undefined {
  const roles = allRoles(spec, norm);
  const input = (r: WeightRole['role']) => roles.find((x) => x.role === r)?.input;
  const [gamma, beta, mean, variance] = (['scale', 'bias', 'mean', 'var'] as const).map((r) => {
    const i = input(r);
    return i === undefined ? undefined : floatsOf(norm.input(i));
  });
  if (!gamma || !beta || !mean || !variance) return undefined;
  const C = gamma.length;
  if ([beta, mean, variance].some((t) => t.length !== C)) return undefined;
  return { gamma, beta, mean, variance, epsilon: norm.attrFloat('epsilon', 1e-5) };
}

/** Where `norm` can fold: its private input comes from a compute op with a float32 weight over C output channels. */
function foldSite(model: Model, norm: Node, registry: OpRegistry): FoldSite | undefined {
  const g = model.graph;
  const stats = normStats(registry.lookupNode(norm, model), norm);
  if (!stats) return undefined;
  // Training-mode outputs (running mean/var) must be unused.
  if (norm.outputs.slice(1).some((o) => o.uses().length > 0 || g.outputs.includes(o))) return undefined;
  const x = norm.input(0);
  const into = x?.producer;
  if (!x || !into || into.graph !== g || x.uses().length !== 1 || g.outputs.includes(x)) return undefined;
  const spec = registry.lookupNode(into, model);
  if (spec?.channel !== 'compute') return undefined;
  // A fused activation or residual sum sits between the affine part and the norm: nothing to fold into.
  const epi = spec.epilogue?.(into);
  if (epi && (epi.activation !== '' || epi.sum.some((i) => into.input(i)))) return undefined;
  const roles = allRoles(spec, into);
  const weightRole = roles.find((r) => r.role === 'weight');
  const biasRole = roles.find((r) => r.role === 'bias');
  if (!weightRole || weightRole.outAxis === undefined || !biasRole) return undefined;
  const W = into.input(weightRole.input)?.constValue;
  const C = stats.gamma.length;
  if (!W || W.dtype !== 'float32' || W.dims[weightRole.outAxis] !== C) return undefined;
  const bias = into.input(biasRole.input);
  if (bias && !floatsOf(bias, C)) return undefined;
  return { norm, x, into, weightRole: { ...weightRole, outAxis: weightRole.outAxis }, biasRole, stats };
}

/** W·s along the output-channel axis, and (β_b·b − μ)·s + β. */
function foldedValues(site: FoldSite): Folded | undefined {
  const { gamma, beta, mean, variance, epsilon } = site.stats;
  const C = gamma.length;
  const s = new Float32Array(C);
  for (let c = 0; c < C; c++) s[c] = gamma[c]! / Math.sqrt(variance[c]! + epsilon);
  const W = site.into.input(site.weightRole.input)!.constValue!;
  const weight = Float32Array.from(W.floats());
  const axis = site.weightRole.outAxis;
  const outer = W.dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = W.dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  for (let o = 0; o < outer; o++) for (let c = 0; c < C; c++) for (let i = 0, base = (o * C + c) * inner; i < inner; i++) weight[base + i]! *= s[c]!;
  const b0 = floatsOf(site.into.input(site.biasRole.input));
  const scale = site.biasRole.scaleAttr ? site.into.attrFloat(site.biasRole.scaleAttr, 1) : 1;
  const bias = new Float32Array(C);
  for (let c = 0; c < C; c++) bias[c] = (scale * (b0?.[c] ?? 0) - mean[c]!) * s[c]! + beta[c]!;
  return { weight, bias };
}

/** A name no value of the graph has yet (`base`, then `base_1`, …), reserved in `names`. */
function freshName(names: Set<string>, base: string): string {
  let name = base;
  for (let i = 1; names.has(name); i++) name = `${base}_${i}`;
  names.add(name);
  return name;
}

/** Put the folded tensors in place, make the compute op produce the normalization's output, and drop what is left unused. */
function rewriteSite(g: Graph, site: FoldSite, values: Folded, names: Set<string>): void {
  const { norm, x, into, weightRole, biasRole } = site;
  const wv = into.input(weightRole.input)!;
  const W = wv.constValue!;
  const bv = into.input(biasRole.input);
  const B = constTensorOf(bv);
  const own = (v: Value | null): boolean => !!v && v.uses().length === 1 && g.initializers.get(v.name) === v;
  const label = into.name || into.outputs[0]!.name;
  const wName = own(wv) ? wv.name : freshName(names, `${into.name || wv.name}.weight_bnfolded`);
  const weight = g.addInitializer(new Tensor({ name: wName, dtype: 'float32', dims: W.dims, data: values.weight }), wName);
  if (weight !== wv && wv.hasMask) weight.mask = Uint8Array.from(wv.mask!);
  into.setInput(weightRole.input, weight);
  const bName = bv && own(bv) ? bv.name : freshName(names, `${label}.bias_bnfolded`);
  while (into.inputs.length < biasRole.input) into.appendInput(null);
  const bias = g.addInitializer(new Tensor({ name: bName, dtype: 'float32', dims: B ? B.dims : [values.bias.length], data: values.bias }), bName);
  bias.mask = undefined;
  into.setInput(biasRole.input, bias);
  if (biasRole.scaleAttr && into.attrFloat(biasRole.scaleAttr, 1) !== 1) into.setAttr(biasRole.scaleAttr, { type: 'float', value: 1 });
  const stale = [wv, bv, ...norm.inputs.slice(1)];
  const y = norm.outputs[0]!;
  if (g.outputs.includes(y)) {
    g.removeNode(norm, { force: true });
    redirectOutput(into, x, y);
  } else {
    y.replaceAllUsesWith(x);
    g.removeNode(norm);
  }
  removeIfUnused(g, stale);
}

/** Remove the initializers among `values` that nothing reads any more. */
function removeIfUnused(g: Graph, values: (Value | null)[]): void {
  const inputs = new Set(g.inputs.map((v) => v.name));
  for (const v of new Set(values)) {
    if (v && g.initializers.get(v.name) === v && v.uses().length === 0 && !inputs.has(v.name) && !g.outputs.includes(v)) g.removeInitializer(v.name);
  }
}
