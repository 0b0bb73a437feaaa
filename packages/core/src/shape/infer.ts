import { ShearsError } from '../errors.js';
import type { DType } from '../ir/dtype.js';
import type { Graph } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import type { Tensor } from '../ir/tensor.js';
import type { Dim } from '../ir/types.js';
import type { Value } from '../ir/value.js';
import { defaultOpRegistry, type OpRegistry } from '../ops/registry.js';
import type { Known, OpContext, OpSpec, SubgraphResult, TensorInfo } from '../ops/types.js';
import { ShapeConflict } from './dims.js';
import { applyInputShapes } from './inputs.js';
import { knownFromTensor } from './known.js';

export interface InferOptions {
  /** Static shapes for graph inputs by name (validated against the declared rank and fixed dims). */
  inputShapes?: Record<string, number[]>;
  registry?: OpRegistry;
  /** Throw on ops without a shape rule and on failing rules, instead of leaving outputs untyped. */
  strict?: boolean;
  /** Largest value (in elements) tracked for constant folding; default 1024. */
  maxFoldElements?: number;
}

export interface ShapeIssue {
  node: string;
  op: string;
  message: string;
}

export interface InferResult {
  /** Values whose contents inference worked out (constants and folded shape subgraphs). */
  known: ReadonlyMap<Value, Known>;
  /** Nodes with an output left untyped (no rule, or a rule that could not decide). */
  untyped: Node[];
  /** Rule failures tolerated in non-strict mode. */
  issues: ShapeIssue[];
  /** An OpContext over the inferred state, for structure and MAC rules. */
  contextOf(node: Node): OpContext;
  /** The spec used for a node. */
  specOf(node: Node): OpSpec | undefined;
}

const DEFAULT_MAX_FOLD = 1024;

/**
 * Infer dtype and shape of every node output (Value.type), folding shape
 * subgraphs (Shape→Gather→Unsqueeze→Concat→Reshape…) so reshape targets
 * resolve. Outputs of ops without a rule keep any type the model declared.
 */
export function inferShapes(model: Model, opts: InferOptions = {}): InferResult {
  if (opts.inputShapes) applyInputShapes(model.graph, opts.inputShapes);
  const engine = new Engine(model, opts);
  engine.runGraph(model.graph, 0);
  return {
    known: engine.known,
    untyped: engine.untyped,
    issues: engine.issues,
    contextOf: (node) => new Ctx(engine, node, engine.opset(node.domain), 0),
    specOf: (node) => engine.spec(node),
  };
}

function typeOf(v: Value): TensorInfo | undefined {
  if (v.constValue) return { dtype: v.constValue.dtype, shape: v.constValue.dims };
  const t = v.type;
  return t && (t.kind === 'tensor' || t.kind === 'sparse_tensor') ? { dtype: t.dtype, shape: t.shape } : undefined;
}

class Engine {
  readonly known = new Map<Value, Known>();
  readonly untyped: Node[] = [];
  readonly issues: ShapeIssue[] = [];
  readonly registry: OpRegistry;
  readonly strict: boolean;
  readonly maxElements: number;
  readonly #converted = new Set<Value>();
  readonly #opsets = new Map<string, number>();
  readonly #specs = new Map<Node, OpSpec | undefined>();

  constructor(
    readonly model: Model,
    opts: InferOptions,
  ) {
    this.registry = opts.registry ?? defaultOpRegistry();
    this.strict = !!opts.strict;
    this.maxElements = opts.maxFoldElements ?? DEFAULT_MAX_FOLD;
  }

  opset(domain: string): number {
    let v = this.#opsets.get(domain);
    if (v === undefined) {
      v = this.model.opset(domain) ?? 1;
      this.#opsets.set(domain, v);
    }
    return v;
  }

  spec(node: Node): OpSpec | undefined {
    if (!this.#specs.has(node)) this.#specs.set(node, this.registry.lookup(node.opType, node.domain, this.opset(node.domain)));
    return this.#specs.get(node);
  }

  /** Contents of a value: folded, or an initializer converted on first use. */
  knownOf(v: Value | null): Known | undefined {
    if (!v) return undefined;
    const k = this.known.get(v);
    if (k || !v.constValue || this.#converted.has(v)) return k;
    this.#converted.add(v);
    const c = knownFromTensor(v.constValue, this.maxElements);
    if (c) this.known.set(v, c);
    return c;
  }

  runGraph(g: Graph, depth: number): void {
    for (const n of g.nodes) this.runNode(n, depth);
  }

  runNode(node: Node, depth: number): void {
    const spec = this.spec(node);
    const ctx = new Ctx(this, node, this.opset(node.domain), depth);
    if (!spec?.infer) {
      if (this.strict) throw new ShearsError('E_SHAPE', `node ${node.label}: no shape rule for op ${opName(node)}`, { node: node.label, op: node.opType });
      this.untyped.push(node);
      return;
    }
    let outs: (TensorInfo | undefined)[];
    try {
      outs = spec.infer(ctx);
    } catch (e) {
      this.#fail(node, e, depth);
      return;
    }
    let missing = false;
    node.outputs.forEach((o, i) => {
      const info = outs[i];
      if (info) o.type = { kind: 'tensor', dtype: info.dtype, shape: info.shape ? [...info.shape] : keepShape(o, info.dtype) };
      else if (o.name && !o.type) missing = true;
    });
    if (spec.fold) this.#fold(spec, ctx, node, depth);
    if (missing) this.untyped.push(node);
  }

  #fold(spec: OpSpec, ctx: Ctx, node: Node, depth: number): void {
    let ks: (Known | undefined)[] | undefined;
    try {
      ks = spec.fold!(ctx);
    } catch (e) {
      this.#fail(node, e, depth);
      return;
    }
    if (!ks) return;
    node.outputs.forEach((o, i) => {
      const k = ks![i];
      if (!k || k.data.length > this.maxElements) return;
      this.known.set(o, k);
      const t = o.type;
      if (t?.kind !== 'tensor' || !t.shape) o.type = { kind: 'tensor', dtype: k.dtype, shape: [...k.dims] };
    });
  }

  #fail(node: Node, e: unknown, depth: number): void {
    const message = e instanceof Error ? e.message : String(e);
    // Definite conflicts in the main graph are model/input errors; elsewhere (dead If
    // branches, rule bugs) we degrade to untyped outputs unless strict.
    if (this.strict || (e instanceof ShapeConflict && depth === 0))
      throw new ShearsError('E_SHAPE', `node ${node.label} (${opName(node)}): ${message}`, { node: node.label, op: node.opType, cause: e });
    this.issues.push({ node: node.label, op: node.opType, message });
    if (!this.untyped.includes(node)) this.untyped.push(node);
  }
}

/** A rule that cannot tell the shape keeps a declared one (from value_info) of the same dtype. */
function keepShape(o: Value, dtype: DType): Dim[] | undefined {
  const t = o.type;
  return t?.kind === 'tensor' && t.dtype === dtype ? t.shape : undefined;
}

function opName(node: Node): string {
  return node.domain ? `${node.domain}::${node.opType}` : node.opType;
}

class Ctx implements OpContext {
  constructor(
    readonly engine: Engine,
    readonly node: Node,
    readonly opset: number,
    readonly depth: number,
  ) {}

  get inputCount(): number {
    return this.node.inputs.length;
  }

  get maxElements(): number {
    return this.engine.maxElements;
  }

  has(i: number): boolean {
    return this.node.input(i) !== null;
  }

  type(i: number): TensorInfo | undefined {
    const v = this.node.input(i);
    return v ? typeOf(v) : undefined;
  }

  dtype(i: number): DType | undefined {
    return this.type(i)?.dtype;
  }

  shape(i: number): Dim[] | undefined {
    return this.type(i)?.shape;
  }

  known(i: number): Known | undefined {
    return this.engine.knownOf(this.node.input(i));
  }

  ints(i: number): number[] | undefined {
    const k = this.known(i);
    if (!k) return undefined;
    for (const d of k.data) if (typeof d !== 'number') return undefined;
    return k.data as number[];
  }

  toKnown(t: Tensor): Known | undefined {
    return knownFromTensor(t, this.engine.maxElements);
  }

  outputShape(i: number): Dim[] | undefined {
    return this.node.outputs[i]?.shape;
  }

  inferSubgraph(g: Graph, inputs: (TensorInfo | undefined)[]): SubgraphResult {
    g.inputs.forEach((v, i) => {
      const t = inputs[i];
      if (t) v.type = { kind: 'tensor', dtype: t.dtype, shape: t.shape && [...t.shape] };
    });
    this.engine.runGraph(g, this.depth + 1);
    return { outputs: g.outputs.map(typeOf), known: g.outputs.map((v) => this.engine.knownOf(v)) };
  }
}
