import type { Attribute, Graph, Model, Tensor } from '@shears/core';

/** Every tensor of a model: initializers, sparse tensors, attribute tensors, in subgraphs and functions too. */
export function* tensorsOf(model: Model): Generator<Tensor> {
  yield* graphTensors(model.graph);
  for (const f of model.functions) {
    yield* graphTensors(f.body);
    for (const a of f.attributeDefaults) yield* attributeTensors(a);
  }
}

function* graphTensors(g: Graph): Generator<Tensor> {
  for (const v of g.initializers.values()) if (v.constValue) yield v.constValue;
  for (const s of g.sparseInitializers) yield* [s.values, s.indices];
  for (const n of g.nodes) for (const a of n.attributes.values()) yield* attributeTensors(a);
}

function* attributeTensors(a: Attribute): Generator<Tensor> {
  if (a.refAttrName) return;
  switch (a.type) {
    case 'tensor':
      yield a.value;
      break;
    case 'tensors':
      yield* a.value;
      break;
    case 'sparse_tensor':
      yield* [a.value.values, a.value.indices];
      break;
    case 'sparse_tensors':
      for (const s of a.value) yield* [s.values, s.indices];
      break;
    case 'graph':
      yield* graphTensors(a.value);
      break;
    case 'graphs':
      for (const g of a.value) yield* graphTensors(g);
      break;
  }
}
