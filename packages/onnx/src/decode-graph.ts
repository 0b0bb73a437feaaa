import { Graph, Node, nodeDependencies, Value, type Attribute, type QuantizationAnnotation } from '@shears/core';
import { decodeAttribute, decodeSparse, type AttributeContext } from './decode-attribute.js';
import { decodeTensor, metadataOf, type TensorContext } from './decode-tensor.js';
import { decodeType } from './decode-type.js';
import { DecodeError, parseError, quote } from './errors.js';
import { checkUnknowns, has, type onnx, type TensorMsg } from './proto.js';
import { markPresent, orphanValueInfos, outputInfos, PRESENT, rawTypes, unknownFields, valueInfoOrder } from './side-tables.js';

/**
 * Names visible in a graph: its own values, then the enclosing graphs' (a
 * subgraph reads outer values by name). Names nobody defines share one
 * placeholder Value per model or function, so their uses are kept together.
 */
export class Scope {
  readonly names = new Map<string, Value>();
  readonly dangling: Map<string, Value>;

  constructor(readonly parent: Scope | null) {
    this.dangling = parent ? parent.dangling : new Map();
  }

  lookup(name: string): Value | undefined {
    for (let s: Scope | null = this; s; s = s.parent) {
      const v = s.names.get(name);
      if (v) return v;
    }
    return undefined;
  }

  resolve(name: string): Value {
    const v = this.lookup(name);
    if (v) return v;
    let d = this.dangling.get(name);
    if (!d) this.dangling.set(name, (d = new Value(name)));
    return d;
  }
}

/** Applies a ValueInfoProto's type, doc string and metadata to a value. */
export function applyValueInfo(v: Value, vi: onnx.IValueInfoProto): void {
  try {
    const unknowns = checkUnknowns(vi as onnx.ValueInfoProto, 'ValueInfoProto');
    if (unknowns) unknownFields.set(v, unknowns);
    if (vi.type) {
      const t = decodeType(vi.type);
      if (t) v.type = t;
      else rawTypes.set(v, vi.type as onnx.TypeProto);
    }
  } catch (e) {
    throw e instanceof DecodeError ? new DecodeError(`value ${quote(v.name)}: ${e.message}`) : e;
  }
  if (has(vi, 'doc_string')) v.docString = vi.doc_string ?? undefined;
  if (vi.metadata_props?.length) v.metadataProps = metadataOf(vi.metadata_props);
}

/** Which of a node's name and domain the file spelled out as the default (see PRESENT). */
function nodePresence(n: onnx.INodeProto): number {
  let bits = n.name === '' && has(n, 'name') ? PRESENT.name : 0;
  if (n.domain === '' && has(n, 'domain')) bits |= PRESENT.domain;
  else if (n.domain === 'ai.onnx') bits |= PRESENT.aiOnnxDomain;
  return bits;
}

function hasInfo(v: Value): boolean {
  return v.type !== undefined || v.docString !== undefined || v.metadataProps !== undefined || rawTypes.has(v);
}

export class GraphDecoder {
  constructor(readonly ctx: TensorContext) {}

  /** Creates the nodes of a graph or function body, in file order. */
  nodes(g: Graph, list: onnx.INodeProto[], scope: Scope): void {
    // Outputs first, so an input may name a value produced further down
    // (files that are not topologically sorted).
    const outputs = list.map((n) =>
      (n.output ?? []).map((name) => {
        const v = new Value(name);
        if (name !== '') scope.names.set(name, v);
        return v;
      }),
    );
    const actx: AttributeContext = { ...this.ctx, subgraph: (sg) => this.graph(sg, new Scope(scope)) };
    list.forEach((n, i) => {
      const label = n.name || `${n.op_type ?? '?'}(${n.output?.[0] ?? '?'})`;
      try {
        const unknowns = checkUnknowns(n as onnx.NodeProto, 'NodeProto');
        const attributes: Attribute[] = [];
        const seen = new Set<string>();
        for (const a of n.attribute ?? []) {
          const attr = decodeAttribute(a as onnx.AttributeProto, actx);
          if (seen.has(attr.name)) throw new DecodeError(`attribute ${quote(attr.name)} given twice`);
          seen.add(attr.name);
          attributes.push(attr);
        }
        const node = new Node({
          opType: n.op_type ?? '',
          domain: n.domain ?? '',
          name: n.name ?? '',
          ...(has(n, 'overload') ? { overload: n.overload! } : {}),
          inputs: (n.input ?? []).map((name) => (name === '' ? null : scope.resolve(name))),
          outputs: outputs[i],
          attributes,
          ...(has(n, 'doc_string') ? { docString: n.doc_string! } : {}),
          ...(n.metadata_props?.length ? { metadataProps: metadataOf(n.metadata_props) } : {}),
        });
        if (unknowns) unknownFields.set(node, unknowns);
        markPresent(node, nodePresence(n));
        g.appendNode(node);
      } catch (e) {
        if (e instanceof DecodeError) throw parseError(this.ctx.file, `node ${quote(label)}: ${e.message}`, label);
        throw e;
      }
    });
  }

  /** value_info entries: types for the graph's own intermediate values; the rest kept verbatim. */
  valueInfos(g: Graph, list: onnx.IValueInfoProto[], scope: Scope): void {
    const order: Value[] = [];
    const orphans: onnx.ValueInfoProto[] = [];
    const taken = new Set<Value>([...g.inputs, ...g.outputs]);
    for (const vi of list) {
      const v = scope.names.get(vi.name ?? '');
      if (!v || taken.has(v)) orphans.push(vi as onnx.ValueInfoProto);
      else {
        applyValueInfo(v, vi);
        order.push(v);
        taken.add(v);
      }
    }
    if (order.length) valueInfoOrder.set(g, order);
    if (orphans.length) orphanValueInfos.set(g, orphans);
  }

  /** Graph outputs; an output that is an input, initializer or outer value keeps its own entry when it differs. */
  outputs(g: Graph, list: onnx.IValueInfoProto[], scope: Scope, local: Set<Value>): void {
    const kept = new Map<number, { value: Value; info: onnx.ValueInfoProto }>();
    list.forEach((vi, i) => {
      const v = scope.resolve(vi.name ?? '');
      if (!local.has(v) && hasInfo(v)) kept.set(i, { value: v, info: vi as onnx.ValueInfoProto });
      else applyValueInfo(v, vi);
      g.outputs.push(v);
    });
    if (kept.size) outputInfos.set(g, kept);
  }

  graph(m: onnx.IGraphProto, scope: Scope): Graph {
    const file = this.ctx.file;
    const g = new Graph(m.name ?? '');
    if (m.name === '' && has(m, 'name')) markPresent(g, PRESENT.name);
    const unknowns = checkUnknowns(m as onnx.GraphProto, 'GraphProto');
    if (unknowns) unknownFields.set(g, unknowns);
    if (has(m, 'doc_string')) g.docString = m.doc_string ?? undefined;
    if (m.metadata_props?.length) g.metadataProps = metadataOf(m.metadata_props);
    for (const t of m.initializer ?? []) {
      const msg = t as unknown as TensorMsg;
      const name = msg.name ?? '';
      if (g.initializers.has(name)) throw parseError(file, `initializer ${quote(name)} given twice`);
      const v = g.addInitializer(this.tensor(msg), name);
      scope.names.set(name, v);
    }
    for (const vi of m.input ?? []) {
      const name = vi.name ?? '';
      const v = g.initializers.get(name) ?? new Value(name);
      applyValueInfo(v, vi);
      g.addInput(v);
      scope.names.set(name, v);
    }
    this.nodes(g, m.node ?? [], scope);
    const local = new Set<Value>(g.nodes.flatMap((n) => n.outputs));
    this.outputs(g, m.output ?? [], scope, local);
    this.valueInfos(g, m.value_info ?? [], scope);
    g.quantizationAnnotations = (m.quantization_annotation ?? []).map((q): QuantizationAnnotation => {
      checkUnknowns(q as onnx.TensorAnnotation, 'TensorAnnotation');
      return { tensorName: q.tensor_name ?? '', entries: metadataOf(q.quant_parameter_tensor_names) ?? [] };
    });
    g.sparseInitializers = (m.sparse_initializer ?? []).map((s) => this.wrap(() => decodeSparse(s, this.ctx)));
    sortIfNeeded(g, file);
    return g;
  }

  tensor(m: TensorMsg) {
    return this.wrap(() => decodeTensor(m, this.ctx));
  }

  wrap<T>(f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof DecodeError) throw parseError(this.ctx.file, e.message);
      throw e;
    }
  }
}

/**
 * Keeps file order when it is topological (the normal case); otherwise sorts
 * stably, since the rest of Shears relies on nodes being in order.
 */
function sortIfNeeded(g: Graph, file: string): void {
  const index = new Map<Node, number>();
  g.nodes.forEach((n, i) => index.set(n, i));
  const sorted = g.nodes.every((n, i) => nodeDependencies(n).every((v) => !v.producer || v.producer.graph !== g || index.get(v.producer)! < i));
  if (sorted) return;
  try {
    g.sortTopologically();
  } catch {
    throw parseError(file, `graph ${quote(g.name || '(main)')} has a cycle`);
  }
}
