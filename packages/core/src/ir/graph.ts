import type { SparseTensor } from './attribute.js';
import { Node } from './node.js';
import type { Tensor } from './tensor.js';
import { Value } from './value.js';

export interface QuantizationAnnotation {
  tensorName: string;
  entries: [string, string][];
}

/**
 * A computation graph. Nodes are kept in topological order; the mutation
 * methods keep use-def links right (Value.uses / Value.producer).
 */
export class Graph {
  name: string;
  docString?: string;
  metadataProps?: [string, string][];
  inputs: Value[] = [];
  outputs: Value[] = [];
  sparseInitializers: SparseTensor[] = [];
  quantizationAnnotations: QuantizationAnnotation[] = [];
  /** The node whose attribute holds this graph, for subgraphs. */
  parentNode: Node | null = null;
  #nodes: Node[] = [];
  #initializers = new Map<string, Value>();

  constructor(name = '') {
    this.name = name;
  }

  get nodes(): readonly Node[] {
    return this.#nodes;
  }

  /** Initializer values in insertion order (each with constValue). */
  get initializers(): ReadonlyMap<string, Value> {
    return this.#initializers;
  }

  initializer(name: string): Tensor | undefined {
    return this.#initializers.get(name)?.constValue;
  }

  /** Add an initializer; returns its value. Replaces the tensor if the name exists. */
  addInitializer(tensor: Tensor, name = tensor.name): Value {
    const existing = this.#initializers.get(name);
    if (existing) {
      existing.constValue = tensor;
      tensor.name = name;
      return existing;
    }
    const v = new Value(name);
    tensor.name = name;
    v.constValue = tensor;
    v.graph = this;
    this.#initializers.set(name, v);
    return v;
  }

  /** Swap the tensor behind an initializer, keeping its value and uses. */
  replaceInitializer(name: string, tensor: Tensor): Value {
    const v = this.#initializers.get(name);
    if (!v) throw new Error(`graph ${this.name || '(main)'} has no initializer ${name}`);
    tensor.name = name;
    v.constValue = tensor;
    return v;
  }

  removeInitializer(name: string): void {
    const v = this.#initializers.get(name);
    if (!v) return;
    if (v._uses.length > 0) throw new Error(`initializer ${name} is still used by ${v._uses[0]!.node.label}`);
    this.#initializers.delete(name);
    v.constValue = undefined;
  }

  /** Rename an initializer (map key and value name together). */
  renameInitializer(from: string, to: string): void {
    const v = this.#initializers.get(from);
    if (!v) throw new Error(`graph has no initializer ${from}`);
    if (this.#initializers.has(to)) throw new Error(`initializer ${to} exists already`);
    const entries = [...this.#initializers.entries()].map(([k, val]) => (k === from ? ([to, val] as const) : ([k, val] as const)));
    this.#initializers = new Map(entries);
    v.name = to;
    if (v.constValue) v.constValue.name = to;
  }

  addInput(value: Value): Value {
    value.graph = this;
    this.inputs.push(value);
    return value;
  }

  /** Append a node at the end (it must come after its producers). */
  appendNode(node: Node): Node {
    this.#adopt(node);
    this.#nodes.push(node);
    return node;
  }

  /** Insert a node before or after an anchor node already in this graph. */
  insertNode(node: Node, where: { before: Node } | { after: Node }): Node {
    const anchor = 'before' in where ? where.before : where.after;
    const i = this.#nodes.indexOf(anchor);
    if (i < 0) throw new Error(`node ${anchor.label} is not in this graph`);
    this.#adopt(node);
    this.#nodes.splice('before' in where ? i : i + 1, 0, node);
    return node;
  }

  /**
   * Remove a node. Its outputs must be unused (and not graph outputs) unless
   * `force` is set; its inputs are detached.
   */
  removeNode(node: Node, opts: { force?: boolean } = {}): void {
    const i = this.#nodes.indexOf(node);
    if (i < 0) throw new Error(`node ${node.label} is not in this graph`);
    if (!opts.force) {
      for (const o of node.outputs) {
        if (o._uses.length > 0) throw new Error(`cannot remove ${node.label}: output ${o.name} is used by ${o._uses[0]!.node.label}`);
        if (this.outputs.includes(o)) throw new Error(`cannot remove ${node.label}: output ${o.name} is a graph output`);
      }
    }
    node.clearInputs();
    this.#nodes.splice(i, 1);
    node.graph = null;
  }

  /** Remove many nodes in one O(n) pass. */
  removeNodes(nodes: Iterable<Node>): void {
    const drop = new Set(nodes);
    for (const n of drop) {
      n.clearInputs();
      n.graph = null;
    }
    this.#nodes = this.#nodes.filter((n) => !drop.has(n));
  }

  /** Replace a graph output value, keeping its position. */
  replaceOutput(old: Value, next: Value): void {
    const i = this.outputs.indexOf(old);
    if (i < 0) throw new Error(`${old.name} is not a graph output`);
    this.outputs[i] = next;
  }

  /** Every value reachable by name in this graph (inputs, initializers, node outputs). */
  valuesByName(): Map<string, Value> {
    const m = new Map<string, Value>();
    for (const v of this.inputs) m.set(v.name, v);
    for (const [k, v] of this.#initializers) if (!m.has(k)) m.set(k, v);
    for (const n of this.#nodes) for (const o of n.outputs) if (o.name) m.set(o.name, o);
    return m;
  }

  /** Re-sort nodes topologically (Kahn, stable w.r.t. the current order). */
  sortTopologically(): void {
    const index = new Map(this.#nodes.map((n, i) => [n, i]));
    const pending = new Map<Node, number>();
    const users = new Map<Node, Node[]>();
    for (const n of this.#nodes) {
      const deps = new Set<Node>();
      for (const v of nodeDependencies(n)) if (v.producer && index.has(v.producer) && v.producer !== n) deps.add(v.producer);
      pending.set(n, deps.size);
      for (const d of deps) (users.get(d) ?? users.set(d, []).get(d)!).push(n);
    }
    const ready = this.#nodes.filter((n) => pending.get(n) === 0);
    const out: Node[] = [];
    while (ready.length) {
      // Smallest original index first keeps the order stable.
      let best = 0;
      for (let k = 1; k < ready.length; k++) if (index.get(ready[k]!)! < index.get(ready[best]!)!) best = k;
      const n = ready.splice(best, 1)[0]!;
      out.push(n);
      for (const u of users.get(n) ?? []) {
        const left = pending.get(u)! - 1;
        pending.set(u, left);
        if (left === 0) ready.push(u);
      }
    }
    if (out.length !== this.#nodes.length) throw new Error(`graph ${this.name || '(main)'} has a cycle`);
    this.#nodes = out;
  }

  /** Nodes of this graph and, recursively, of its subgraphs. */
  *allNodes(): Generator<Node> {
    for (const n of this.#nodes) {
      yield n;
      for (const g of n.subgraphs()) yield* g.allNodes();
    }
  }

  #adopt(node: Node): void {
    if (node.graph && node.graph !== this) throw new Error(`node ${node.label} belongs to another graph`);
    node.graph = this;
    for (const g of node.subgraphs()) g.parentNode = node;
  }
}

/** Values a node depends on, including outer-scope values its subgraphs read. */
export function nodeDependencies(node: Node): Value[] {
  const deps: Value[] = node.inputs.filter((v): v is Value => v !== null);
  for (const g of node.subgraphs()) {
    for (const inner of g.allNodes()) {
      for (const v of inner.inputs) {
        if (v && v.producer && v.producer.graph !== g && !isInside(v.producer, g)) deps.push(v);
        else if (v && !v.producer && v.graph && v.graph !== g && !isGraphInside(v.graph, g)) deps.push(v);
      }
    }
  }
  return deps;
}

function isGraphInside(inner: Graph, outer: Graph): boolean {
  for (let g: Graph | null = inner; g; g = g.parentNode?.graph ?? null) if (g === outer) return true;
  return false;
}

function isInside(node: Node, g: Graph): boolean {
  return node.graph ? isGraphInside(node.graph, g) : false;
}
