import { Node } from '../ir/node.js';
import type { Value } from '../ir/value.js';

/**
 * Make `node` produce `next` in place of its output `old`, which must be
 * unused (its reader removed first). `next`, a graph output whose producer
 * is gone, keeps its name and type: this is how a rewrite that removes the
 * last node before a graph output (a folded BatchNormalization, an Identity)
 * keeps the output's name. The node is replaced by an equal one in the same
 * place; returns it.
 */
export function redirectOutput(node: Node, old: Value, next: Value): Node {
  const g = node.graph;
  if (!g) throw new Error(`redirectOutput: node ${node.label} is not in a graph`);
  const outs = node.outputs.map((o) => (o === old ? next : o));
  const fresh = new Node({
    opType: node.opType,
    domain: node.domain,
    name: node.name,
    inputs: [...node.inputs],
    outputs: [],
    attributes: [...node.attributes.values()],
    docString: node.docString,
    metadataProps: node.metadataProps,
  });
  g.insertNode(fresh, { before: node });
  g.removeNode(node, { force: true });
  for (const o of outs) {
    o.producer = null;
    fresh.appendOutput(o);
  }
  return fresh;
}
