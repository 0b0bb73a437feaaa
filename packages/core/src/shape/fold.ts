import type { Graph } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import { Node } from '../ir/node.js';
import type { Value } from '../ir/value.js';
import type { OpRegistry } from '../ops/registry.js';
import { inferShapes } from './infer.js';
import { isNumeric, tensorFromKnown } from './known.js';

export interface FoldOptions {
  /** Largest folded tensor, in elements (default 1024). */
  maxElements?: number;
  inputShapes?: Record<string, number[]>;
  registry?: OpRegistry;
}

export interface FoldReport {
  /** Nodes replaced by constants. */
  folded: number;
  /** Nodes and initializers that became dead and were removed. */
  removedNodes: number;
  removedInitializers: number;
}

/**
 * Replace main-graph nodes whose outputs inference fully determined with
 * initializers, then drop what only fed them. Graph outputs keep their value
 * (a Constant node produces them). Nodes without inputs are left alone.
 */
export function foldConstants(model: Model, opts: FoldOptions = {}): FoldReport {
  const res = inferShapes(model, { inputShapes: opts.inputShapes, registry: opts.registry, maxFoldElements: opts.maxElements ?? 1024 });
  const g = model.graph;
  const graphOutputs = new Set(g.outputs);
  const removed: Node[] = [];
  for (const node of [...g.nodes]) {
    if (node.inputs.length === 0) continue;
    const needed = node.outputs.filter((o) => o.uses().length > 0 || graphOutputs.has(o));
    if (needed.length === 0) continue;
    if (!needed.every((o) => res.known.has(o) && isNumeric(res.known.get(o)!))) continue;
    for (const o of needed) {
      const tensor = tensorFromKnown(res.known.get(o)!, o.name);
      if (graphOutputs.has(o)) {
        // Keep the output value (and its name) alive: re-home it on a Constant node.
        o.producer = null;
        const c = new Node({ opType: 'Constant', name: node.name ? `${node.name}_folded` : '', outputs: [o], attributes: { value: { type: 'tensor', value: tensor } } });
        g.insertNode(c, { before: node });
      } else {
        o.replaceAllUsesWith(g.addInitializer(tensor, o.name));
      }
    }
    removed.push(node);
  }
  const inputsOfRemoved = removed.flatMap((n) => n.inputs.filter((v): v is Value => v !== null));
  g.removeNodes(removed);
  const dead = removeDead(g, inputsOfRemoved, graphOutputs);
  return { folded: removed.length, removedNodes: dead.nodes, removedInitializers: dead.initializers };
}

/** Remove producers and initializers that only fed removed nodes (worklist from `seeds`). */
function removeDead(g: Graph, seeds: Value[], graphOutputs: Set<Value>): { nodes: number; initializers: number } {
  const graphInputs = new Set(g.inputs);
  const work = [...seeds];
  const seen = new Set<Value>();
  let nodes = 0;
  let initializers = 0;
  while (work.length) {
    const v = work.pop()!;
    if (seen.has(v) || v.uses().length > 0 || graphOutputs.has(v) || graphInputs.has(v)) continue;
    seen.add(v);
    if (v.constValue && g.initializers.get(v.name) === v) {
      g.removeInitializer(v.name);
      initializers++;
      continue;
    }
    const p = v.producer;
    if (!p || p.graph !== g) continue;
    if (p.outputs.some((o) => o.uses().length > 0 || graphOutputs.has(o))) continue;
    const ins = p.inputs.filter((x): x is Value => x !== null);
    g.removeNode(p, { force: true });
    nodes++;
    work.push(...ins);
  }
  return { nodes, initializers };
}
