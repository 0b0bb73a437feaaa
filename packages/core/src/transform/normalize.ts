// The normalize pass: make graphs from any exporter look alike to strategies,
// criteria and exporters. Constant nodes become initializers, and weight
// subgraphs computed only from constants (a Reshape of an initializer, a
// Transpose of a kernel, a Cast, an elementwise op of constants…) are folded
// into initializers with the op table's fold rules, without an element limit.
import { ShearsError } from '../errors.js';
import type { Graph } from '../ir/graph.js';
import { Model } from '../ir/model.js';
import { Node } from '../ir/node.js';
import { Tensor } from '../ir/tensor.js';
import { Value } from '../ir/value.js';
import { constantNodeTensor } from '../ops/helpers.js';
import { defaultOpRegistry, type OpRegistry } from '../ops/registry.js';
import type { ChannelKind, OpSpec } from '../ops/types.js';
import { definePlugin, definePluginFactory } from '../plugin/define.js';
import type { PassPlugin, PluginFactory } from '../plugin/types.js';
import { inferShapes } from '../shape/infer.js';
import { isNumeric, tensorFromKnown } from '../shape/known.js';

/** How an op moves or combines values, as the table says: the kinds whose constant results are weights. */
const WEIGHT_KINDS: ReadonlySet<ChannelKind> = new Set(['reshape', 'flatten', 'transpose', 'unary', 'elementwise', 'concat']);

/** The rule names errors and details use. */
export type NormalizeRule = 'constant-to-initializer' | 'fold-weights';

export interface NormalizeReport {
  /** Constant nodes that became initializers (or were dropped, when they fed only folded nodes). */
  constants: number;
  /** Weight subgraphs folded: values now held by an initializer in place of a constant-only computation. */
  subgraphs: number;
  /** Nodes removed by folding (every node of those subgraphs). */
  foldedNodes: number;
  /** Initializers that fed only folded nodes and were removed. */
  removedInitializers: number;
  /** The first few Constant node labels moved, and the first few nodes whose outputs became initializers. */
  examples: { constants: string[]; subgraphs: string[] };
}

export interface NormalizeOptions {
  /** The op table whose fold rules and channel kinds decide what folds (default: the built-in one). */
  registry?: OpRegistry;
}

/** One Constant node and the tensor its output becomes. */
interface ConstantMove {
  node: Node;
  tensor: Tensor;
}

/** One value computed only from constants, and its contents. */
interface FoldedValue {
  value: Value;
  tensor: Tensor;
}

/** Everything normalize will do, computed before the model is touched. */
interface NormalizePlan {
  constants: ConstantMove[];
  folded: Set<Node>;
  materialize: FoldedValue[];
}

const EXAMPLES = 5;

/**
 * Normalize `model` in place: every main-graph Constant node (whose output is
 * not a graph output) becomes an initializer of the same name, and nodes whose
 * inputs are all constants and whose op the table marks as moving or combining
 * values (reshape, flatten, transpose, unary, elementwise, concat kinds, with a
 * fold rule) are evaluated with those rules and replaced by initializers.
 * Everything is computed first, then applied: a failure leaves the model as it
 * was. A model with nothing to do is not touched at all.
 */
export function normalizeModel(model: Model, opts: NormalizeOptions = {}): NormalizeReport {
  const registry = opts.registry ?? defaultOpRegistry();
  const plan = planNormalize(model, registry);
  const removedInitializers = applyNormalize(model, plan);
  return {
    constants: plan.constants.length,
    subgraphs: plan.materialize.length,
    foldedNodes: plan.folded.size,
    removedInitializers,
    examples: {
      constants: plan.constants.slice(0, EXAMPLES).map((c) => c.node.label),
      subgraphs: plan.materialize.slice(0, EXAMPLES).map((f) => f.value.producer!.label),
    },
  };
}

// ---------------------------------------------------------------- plan

function planNormalize(model: Model, registry: OpRegistry): NormalizePlan {
  const g = model.graph;
  const constants = constantMoves(g);
  const candidates = foldCandidates(model, registry, new Set(constants.map((c) => c.node.outputs[0]!)));
  if (candidates.length === 0) return { constants, folded: new Set(), materialize: [] };
  const known = evaluate(model, registry, candidates, constants);
  return { constants, ...foldedValues(candidates, known) };
}

/** Constant nodes of the main graph that can become initializers. */
function constantMoves(g: Graph): ConstantMove[] {
  const outputs = new Set(g.outputs);
  const moves: ConstantMove[] = [];
  for (const node of g.nodes) {
    if (node.opType !== 'Constant' || node.domain !== '' || node.inputs.length > 0 || node.outputs.length !== 1) continue;
    if (outputs.has(node.outputs[0]!)) continue;
    let tensor: Tensor | undefined;
    try {
      tensor = constantNodeTensor(node);
    } catch (e) {
      throw normalizeError(node, 'constant-to-initializer', e instanceof Error ? e.message : String(e), e);
    }
    if (!tensor) throw normalizeError(node, 'constant-to-initializer', `no decodable value (attributes: ${[...node.attributes.keys()].join(', ') || 'none'})`);
    moves.push({ node, tensor });
  }
  return moves;
}

/**
 * Nodes, in graph order, whose inputs are all constants (initializers that are
 * not graph inputs, Constant outputs, or outputs of earlier candidates) and
 * whose op the table lets fold as a weight computation.
 */
function foldCandidates(model: Model, registry: OpRegistry, constantOutputs: Set<Value>): Node[] {
  const g = model.graph;
  // IR ≥ 4: an initializer listed as an input is a default the caller may override, so not a constant.
  // IR < 4 lists every initializer as an input (the format requires it): those are constants.
  const inputs = new Set(overridableInputs(model));
  const outputs = new Set(g.outputs);
  const isConst = (v: Value) => constantOutputs.has(v) || (!!v.constValue && g.initializers.get(v.name) === v && !inputs.has(v));
  const out: Node[] = [];
  for (const node of g.nodes) {
    if (node.inputs.length === 0 || node.subgraphs().length > 0 || node.outputs.some((o) => outputs.has(o))) continue;
    if (!foldsAsWeight(registry.lookupNode(node, model))) continue;
    const present = node.inputs.filter((v): v is Value => v !== null);
    if (present.length === 0 || !present.every(isConst) || present.some(unsafeInt)) continue;
    // Folding a weight that other nodes also read would store its data twice (a shared weight behind an Identity):
    // leave those alone; small shape and scale constants may be copied.
    if (present.some((v) => sharedLarge(v, node))) continue;
    out.push(node);
    for (const o of node.outputs) constantOutputs.add(o);
  }
  return out;
}

/** Elements above which a constant read by other nodes too is not copied into a folded weight. */
const COPY_LIMIT = 1024;

function sharedLarge(v: Value, reader: Node): boolean {
  const t = v.constValue ?? (v.producer?.opType === 'Constant' ? constantNodeTensor(v.producer) : undefined);
  if (!t || t.size <= COPY_LIMIT) return false;
  return v.uses().some((u) => u.node !== reader);
}

function foldsAsWeight(spec: OpSpec | undefined): boolean {
  return !!spec?.fold && !!spec.infer && (WEIGHT_KINDS.has(spec.channel) || !!spec.identity);
}

/** 64-bit integers beyond 2^53 do not survive folding as JS numbers: leave such nodes alone. */
function unsafeInt(v: Value): boolean {
  const t = v.constValue ?? (v.producer?.opType === 'Constant' ? constantNodeTensor(v.producer) : undefined);
  if (!t || (t.dtype !== 'int64' && t.dtype !== 'uint64')) return false;
  const lim = BigInt(Number.MAX_SAFE_INTEGER);
  for (const x of t.values as BigInt64Array) if (x > lim || x < -lim) return true;
  return false;
}

/**
 * Run the candidates' shape and fold rules on a private copy holding only
 * them and their constant inputs (so the model's own values are not retyped),
 * with no element limit. Returns the contents by original value.
 */
function evaluate(model: Model, registry: OpRegistry, candidates: Node[], constants: ConstantMove[]): Map<Value, Tensor> {
  const mini = new Model({ opsetImports: model.opsetImports, irVersion: model.irVersion });
  const constTensors = new Map(constants.map((c) => [c.node.outputs[0]!, c.tensor]));
  const copyOf = new Map<Value, Value>();
  const local = (v: Value): Value => {
    let c = copyOf.get(v);
    if (!c) {
      const t = v.constValue ?? constTensors.get(v);
      c = t ? mini.graph.addInitializer(shareTensor(t), v.name) : new Value(v.name);
      copyOf.set(v, c);
    }
    return c;
  };
  for (const n of candidates) {
    const outs = n.outputs.map((o) => {
      const c = new Value(o.name);
      copyOf.set(o, c);
      return c;
    });
    const copy = new Node({ opType: n.opType, domain: n.domain, name: n.name, inputs: n.inputs.map((v) => v && local(v)), outputs: outs, attributes: [...n.attributes.values()] });
    mini.graph.appendNode(copy);
  }
  return contentsOf(mini, registry, candidates, copyOf);
}

/** A tensor object of its own over the same data (addInitializer renames the tensor it gets; the model's stays as it was). */
function shareTensor(t: Tensor): Tensor {
  return new Tensor({ name: t.name, dtype: t.dtype, dims: t.dims, data: t.data, docString: t.docString, storage: t.storage, metadataProps: t.metadataProps });
}

function contentsOf(mini: Model, registry: OpRegistry, candidates: Node[], copyOf: Map<Value, Value>): Map<Value, Tensor> {
  let res: ReturnType<typeof inferShapes>;
  try {
    res = inferShapes(mini, { registry, maxFoldElements: Number.POSITIVE_INFINITY });
  } catch (e) {
    const label = (e as { node?: string }).node;
    const node = candidates.find((n) => n.label === label) ?? candidates[0]!;
    throw normalizeError(node, 'fold-weights', e instanceof Error ? e.message : String(e), e);
  }
  const failed = new Map(res.issues.map((i) => [i.node, i.message]));
  const out = new Map<Value, Tensor>();
  for (const n of candidates) {
    const issue = failed.get(n.label);
    if (issue !== undefined) throw normalizeError(n, 'fold-weights', issue);
    for (const o of n.outputs) {
      const k = res.known.get(copyOf.get(o)!);
      if (k && isNumeric(k)) out.set(o, tensorFromKnown(k, o.name));
    }
  }
  return out;
}

/**
 * The candidates that folded (every output with a use has contents, and
 * every input is a constant or folded), and the folded values something
 * outside the folded set reads: those become initializers.
 */
function foldedValues(candidates: Node[], known: Map<Value, Tensor>): { folded: Set<Node>; materialize: FoldedValue[] } {
  const folded = new Set<Node>();
  const foldedOut = new Set<Value>();
  const candidate = new Set(candidates);
  for (const n of candidates) {
    const inputsOk = n.inputs.every((v) => !v || !v.producer || !candidate.has(v.producer) || foldedOut.has(v));
    const live = n.outputs.filter((o) => o.uses().length > 0);
    // Dead nodes are not normalize's business: they stay as they are.
    if (!inputsOk || live.length === 0 || !live.every((o) => known.has(o))) continue;
    folded.add(n);
    for (const o of live) foldedOut.add(o);
  }
  const materialize: FoldedValue[] = [];
  for (const v of foldedOut) if (v.uses().some((u) => !folded.has(u.node))) materialize.push({ value: v, tensor: known.get(v)! });
  return { folded, materialize };
}

// ---------------------------------------------------------------- apply

/** Rewire the model as planned (nothing here can fail on a valid plan). Returns the initializers removed. */
function applyNormalize(model: Model, plan: NormalizePlan): number {
  const g = model.graph;
  if (plan.constants.length === 0 && plan.folded.size === 0) return 0;
  const taken = new Set(g.valuesByName().keys());
  const added = new Set<Value>();
  for (const { node, tensor } of plan.constants) {
    const o = node.outputs[0]!;
    const init = g.addInitializer(shareTensor(tensor), freeName(o.name, g, taken));
    o.replaceAllUsesWith(init);
    g.removeNode(node);
    added.add(init);
  }
  for (const { value, tensor } of plan.materialize) {
    const init = g.addInitializer(tensor, freeName(value.name, g, taken));
    value.replaceAllUsesWith(init);
  }
  const seeds = [...plan.folded].flatMap((n) => n.inputs.filter((v): v is Value => v !== null));
  g.removeNodes(plan.folded);
  return removeUnused(model, [...seeds, ...added]);
}

/** Graph inputs a caller may feed: every input at IR ≥ 4; at IR < 4, those that are not initializers. */
function overridableInputs(model: Model): Value[] {
  const g = model.graph;
  return model.irVersion >= 4 ? g.inputs : g.inputs.filter((v) => g.initializers.get(v.name) !== v);
}

/** An initializer name: the value's own, unless an initializer already holds it. */
function freeName(name: string, g: Graph, taken: Set<string>): string {
  if (!g.initializers.has(name) && name !== '') return name;
  let i = 1;
  while (taken.has(`${name}_const${i > 1 ? i : ''}`)) i++;
  const fresh = `${name}_const${i > 1 ? i : ''}`;
  taken.add(fresh);
  return fresh;
}

/**
 * Remove initializers among `values` that nothing reads any more (not graph
 * outputs, nor inputs a caller may feed; at IR < 4 an unused initializer leaves
 * the input list with it).
 */
function removeUnused(model: Model, values: Value[]): number {
  const g = model.graph;
  const keep = new Set([...overridableInputs(model), ...g.outputs]);
  let n = 0;
  for (const v of new Set(values)) {
    if (keep.has(v) || v.uses().length > 0 || g.initializers.get(v.name) !== v) continue;
    const at = g.inputs.indexOf(v);
    if (at >= 0) g.inputs.splice(at, 1);
    g.removeInitializer(v.name);
    n++;
  }
  return n;
}

function normalizeError(node: Node, rule: NormalizeRule, message: string, cause?: unknown): ShearsError {
  return new ShearsError('E_GRAPH', `normalize: node ${node.label} (${node.opType}), rule ${rule}: ${message}`, { node: node.label, op: node.opType, plugin: 'normalize', cause });
}

// ---------------------------------------------------------------- plugin

/**
 * The normalize pass plugin (`normalize()`): runs `normalizeModel` with the
 * run's op table (`ctx.ops`). Edits the model in place (`mutates: true`);
 * `modified` is false, and the model untouched, when there is nothing to do.
 */
export const normalize: PluginFactory<Record<string, never>, PassPlugin> = definePluginFactory(
  { name: 'normalize', kind: 'pass', description: 'Constant nodes become initializers; constant-only weight subgraphs (Reshape, Transpose, Cast, elementwise…) fold into initializers' },
  (options?: Record<string, never>): PassPlugin => {
    const extra = Object.keys(options ?? {});
    if (extra.length) throw new ShearsError('E_OPTION', `normalize: option ${extra[0]}: normalize takes no options`, { plugin: 'normalize', option: extra[0] });
    return definePlugin({
      name: 'normalize',
      kind: 'pass',
      version: '0.1.0',
      mutates: true,
      options: {},
      async run(model, ctx) {
        const r = normalizeModel(model, { registry: ctx.ops });
        const modified = r.constants + r.foldedNodes > 0;
        if (modified) ctx.logger.info(`normalize: ${r.constants} Constant node(s) became initializers, ${r.subgraphs} weight subgraph(s) folded (${r.foldedNodes} nodes)`);
        return { model, modified, details: { ...r } };
      },
    });
  },
);
