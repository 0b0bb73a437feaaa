import type { Attribute } from './attribute.js';
import { Graph } from './graph.js';
import { Model } from './model.js';
import { Node } from './node.js';
import { Tensor } from './tensor.js';
import { Value } from './value.js';

export interface CloneOptions {
  /** Share tensor data with the source instead of copying it (cheap; do not mutate in place). */
  shareWeights?: boolean;
}

/** Deep-copy a model: graph, subgraphs, functions, tensors (unless shareWeights). */
export function cloneModel(model: Model, opts: CloneOptions = {}): Model {
  const out = new Model({ irVersion: model.irVersion, opsetImports: model.opsetImports });
  out.producerName = model.producerName;
  out.producerVersion = model.producerVersion;
  out.domain = model.domain;
  out.modelVersion = model.modelVersion;
  out.docString = model.docString;
  out.metadataProps = model.metadataProps.map(([k, v]) => [k, v]);
  out.trainingInfo = [...model.trainingInfo];
  out.graph = cloneGraph(model.graph, opts);
  out.functions = model.functions.map((f) => ({
    ...f,
    attributes: [...f.attributes],
    attributeDefaults: f.attributeDefaults.map((a) => cloneAttribute(a, new Map(), opts)),
    opsetImports: new Map(f.opsetImports),
    body: cloneGraph(f.body, opts),
    metadataProps: f.metadataProps?.map(([k, v]) => [k, v]),
  }));
  return out;
}

export function cloneGraph(graph: Graph, opts: CloneOptions = {}, outer = new Map<Value, Value>()): Graph {
  const map = new Map(outer);
  const g = new Graph(graph.name);
  g.docString = graph.docString;
  g.metadataProps = graph.metadataProps?.map(([k, v]) => [k, v]);
  g.quantizationAnnotations = graph.quantizationAnnotations.map((q) => ({ tensorName: q.tensorName, entries: q.entries.map(([k, v]) => [k, v]) }));
  g.sparseInitializers = graph.sparseInitializers.map((s) => ({ values: copyTensor(s.values, opts), indices: copyTensor(s.indices, opts), dims: [...s.dims] }));
  for (const [name, v] of graph.initializers) {
    const nv = g.addInitializer(copyTensor(v.constValue!, opts), name);
    copyValueInfo(v, nv);
    map.set(v, nv);
  }
  for (const v of graph.inputs) {
    const nv = map.get(v) ?? new Value(v.name);
    copyValueInfo(v, nv);
    g.addInput(nv);
    map.set(v, nv);
  }
  for (const n of graph.nodes) {
    const outputs = n.outputs.map((o) => {
      const nv = new Value(o.name);
      copyValueInfo(o, nv);
      map.set(o, nv);
      return nv;
    });
    const attrs = [...n.attributes.values()].map((a) => cloneAttribute(a, map, opts));
    const inputs = n.inputs.map((v) => (v ? lookup(map, v) : null));
    g.appendNode(
      new Node({ opType: n.opType, domain: n.domain, name: n.name, overload: n.overload, inputs, outputs, attributes: attrs, docString: n.docString, metadataProps: n.metadataProps?.map(([k, v]) => [k, v]) }),
    );
  }
  g.outputs = graph.outputs.map((v) => lookup(map, v));
  return g;
}

function lookup(map: Map<Value, Value>, v: Value): Value {
  const found = map.get(v);
  if (found) return found;
  // A value from an enclosing scope that was not mapped: keep the reference.
  return v;
}

function copyValueInfo(from: Value, to: Value): void {
  to.type = from.type ? structuredClone(from.type) : undefined;
  to.docString = from.docString;
  to.metadataProps = from.metadataProps?.map(([k, v]) => [k, v]);
}

function copyTensor(t: Tensor, opts: CloneOptions): Tensor {
  if (!opts.shareWeights) return t.clone();
  return new Tensor({ name: t.name, dtype: t.dtype, dims: t.dims, data: t.data, docString: t.docString, storage: t.storage, metadataProps: t.metadataProps });
}

function cloneAttribute(a: Attribute, map: Map<Value, Value>, opts: CloneOptions): Attribute {
  switch (a.type) {
    case 'tensor':
      return { ...a, value: copyTensor(a.value, opts) };
    case 'tensors':
      return { ...a, value: a.value.map((t) => copyTensor(t, opts)) };
    case 'graph':
      return { ...a, value: cloneGraph(a.value, opts, map) };
    case 'graphs':
      return { ...a, value: a.value.map((g) => cloneGraph(g, opts, map)) };
    case 'sparse_tensor':
      return { ...a, value: { values: copyTensor(a.value.values, opts), indices: copyTensor(a.value.indices, opts), dims: [...a.value.dims] } };
    case 'sparse_tensors':
      return { ...a, value: a.value.map((s) => ({ values: copyTensor(s.values, opts), indices: copyTensor(s.indices, opts), dims: [...s.dims] })) };
    case 'floats':
    case 'ints':
    case 'strings':
      return { ...a, value: [...a.value] } as Attribute;
    case 'type_proto':
      return { ...a, value: structuredClone(a.value) };
    case 'type_protos':
      return { ...a, value: structuredClone(a.value) };
    default:
      return { ...a };
  }
}
