import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import type { Tensor } from '../ir/tensor.js';
import type { SkipNote } from '../plugin/plan.js';
import type { Value } from '../ir/value.js';
import { resolveFlag, weightRolesOf } from '../ops/helpers.js';
import { defaultOpRegistry, type OpRegistry } from '../ops/registry.js';
import type { WeightRole } from '../ops/types.js';
import { listSome } from '../list-some.js';

/** A weight that unstructured pruning may sparsify, as the op table describes it. */
export interface PruneTarget {
  node: Node;
  /** Input index of the weight on the node. */
  input: number;
  /** The initializer value (its `mask` lives here). */
  value: Value;
  tensor: Tensor;
  role: WeightRole;
  /** Index of the node among targets, in graph order (first = 0). */
  order: number;
}

export interface TargetScan {
  targets: PruneTarget[];
  /** Weights of prunable ops left alone, with why (int8 weights, non-constant …). */
  skipped: SkipNote[];
}

/**
 * Every prunable weight of the main graph: ops the table marks `prunable`,
 * their `weight` role inputs, when that input is a float32 initializer.
 * Strategies call this instead of switching on op types.
 */
export function findPruneTargets(model: Model, registry: OpRegistry = defaultOpRegistry()): TargetScan {
  const targets: PruneTarget[] = [];
  const skipped: TargetScan['skipped'] = [];
  const seen = new Set<Value>();
  for (const node of model.graph.nodes) {
    const spec = registry.lookupNode(node, model);
    if (!spec || !resolveFlag(spec.prunable, node)) continue;
    for (const role of weightRolesOf(spec, node)) {
      if (role.role !== 'weight') continue;
      const value = node.input(role.input)!;
      const tensor = value.constValue;
      if (!tensor) {
        skipped.push({ target: node.label, reason: notConstantReason(model, value), code: 'unsupported' });
        continue;
      }
      if (tensor.dtype !== 'float32') {
        skipped.push({ target: node.label, reason: `weight ${value.name} is ${tensor.dtype}; only float32 weights are pruned`, code: 'unsupported' });
        continue;
      }
      const dist = distributionRead(model, registry, node, value);
      if (dist) {
        skipped.push({ target: node.label, reason: `reads the ${dist.opType} output of ${dist.label}: its weights turn a probability distribution into values (an expectation, as YOLO's DFL over box bins); left dense`, code: 'pinned' });
        continue;
      }
      if (seen.has(value)) continue; // a weight shared by two nodes is pruned once
      seen.add(value);
      targets.push({ node, input: role.input, value, tensor, role, order: targets.length });
    }
  }
  return { targets, skipped };
}

/**
 * The Softmax (an op the table marks `distribution`) whose output a layer with constant weight `weight` reads as its
 * data: such weights are fixed read-outs of a distribution (YOLO's DFL conv
 * computes the expected box offset over 16 bins with weights 0..15), not
 * learned features, and zeroing any of them shifts every decoded value.
 */
function distributionRead(model: Model, registry: OpRegistry, node: Node, weight: Value): Node | undefined {
  for (const v of node.inputs) {
    if (!v || v === weight || v.constValue) continue;
    const p = v.producer;
    if (p && p.outputs[0] === v && registry.lookupNode(p, model)?.distribution) return p;
  }
  return undefined;
}

/** Nodes walked back from a weight to tell where it comes from. */
const MAX_WALK = 256;

/**
 * Why a weight is not a constant initializer: computed at run time from a
 * graph input (that layer stays dense), held by a Constant node, or computed
 * from constants only (the normalize pass makes both initializers).
 */
export function notConstantReason(model: Model, value: Value): string {
  const p = value.producer;
  if (!p) return `weight ${value.name} is a graph input, fed at run time, not a constant: left dense`;
  if (p.opType === 'Constant' && p.domain === '') return `weight ${value.name} is held by Constant node ${p.label}, not a constant initializer (the normalize pass converts it)`;
  const inputs = new Set(model.graph.inputs.filter((v) => !v.constValue));
  const seen = new Set<Value>([value]);
  const stack = [value];
  while (stack.length && seen.size <= MAX_WALK) {
    const v = stack.pop()!;
    if (inputs.has(v)) return `weight ${value.name} is computed from graph input ${v.name} at run time, not a constant: left dense`;
    for (const i of v.producer?.inputs ?? []) if (i && !i.constValue && !seen.has(i)) seen.add(i) && stack.push(i);
  }
  return seen.size > MAX_WALK
    ? `weight ${value.name} is computed by ${p.opType} ${p.label}, not a constant initializer`
    : `weight ${value.name} is computed from constants by ${p.opType} ${p.label}, not a constant initializer (the normalize pass folds it)`;
}

/** Op types present in the graph, most frequent first (the first 8, then a count), for "nothing prunable here" messages. */
export function opSummary(model: Model): string {
  const counts = new Map<string, number>();
  for (const n of model.graph.nodes) counts.set(n.opType, (counts.get(n.opType) ?? 0) + 1);
  const sorted = [...counts].sort((a, b) => b[1] - a[1]);
  return listSome(
    sorted.map(([op, c]) => `${op}×${c}`),
    8,
  );
}
