import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import type { Tensor } from '../ir/tensor.js';
import type { SkipNote } from '../plugin/plan.js';
import type { Value } from '../ir/value.js';
import { resolveFlag, weightRolesOf } from '../ops/helpers.js';
import { defaultOpRegistry, type OpRegistry } from '../ops/registry.js';
import type { WeightRole } from '../ops/types.js';

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
        skipped.push({ target: node.label, reason: `weight ${value.name} is not a constant initializer`, code: 'unsupported' });
        continue;
      }
      if (tensor.dtype !== 'float32') {
        skipped.push({ target: node.label, reason: `weight ${value.name} is ${tensor.dtype}; only float32 weights are pruned`, code: 'unsupported' });
        continue;
      }
      if (seen.has(value)) continue; // a weight shared by two nodes is pruned once
      seen.add(value);
      targets.push({ node, input: role.input, value, tensor, role, order: targets.length });
    }
  }
  return { targets, skipped };
}

/** Op types present in the graph, for "nothing prunable here" messages. */
export function opSummary(model: Model): string {
  const counts = new Map<string, number>();
  for (const n of model.graph.nodes) counts.set(n.opType, (counts.get(n.opType) ?? 0) + 1);
  return [...counts].map(([op, c]) => `${op}×${c}`).join(', ');
}
