import type { Graph } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import { cloneModel } from '../ir/clone.js';
import { elementCount, type Tensor } from '../ir/tensor.js';
import type { Dim } from '../ir/types.js';
import type { Value } from '../ir/value.js';
import { channelAxisOf, constTensorOf, dataInputsOf, weightRolesOf } from '../ops/helpers.js';
import type { OpSpec } from '../ops/types.js';
import type { OpRegistry } from '../ops/registry.js';
import { inferShapes } from '../shape/infer.js';
import { dynamicShapeError, resolveInputShapes, type AssumedShapeSource, type DynamicInput, type DynamicShapeDetails } from '../shape/inputs.js';
import { countNonzero, isParamTensor } from './nonzero.js';

export interface LayerStats {
  /** Node name, or op type and first output when unnamed. */
  name: string;
  op: string;
  params: number;
  nonzero: number;
  macs: number;
  /** 1 - nonzero/params (0 without params). */
  sparsity: number;
  outputShape: Dim[] | undefined;
  /** Output channels: output 0's dim on the op table's channel axis (NCHW: 1, MatMul: last), when static. */
  channels?: number;
}

export interface ModelStats {
  /** Elements of floating-point constants (initializers and Constant nodes), each counted once. */
  params: number;
  nonzeroParams: number;
  /** Conv, ConvTranspose, Gemm, MatMul (and their integer/quantized forms). */
  macs: number;
  /** Bytes of all constant data, any dtype. */
  bytes: number;
  layers: LayerStats[];
  /** Nodes whose MACs could not be computed because a shape stayed unknown. */
  unresolved: string[];
  /** Inputs whose dynamic batch dim was counted as `batch` samples (see AnalyzeOptions.batch). */
  assumedBatch?: { batch: number; inputs: string[] };
  /** Dynamic inputs sized from the model itself (not `inputShapes`), and how (resolveInputShapes). */
  assumedShapes?: Record<string, { shape: number[]; source: AssumedShapeSource }>;
}

/** analyzeModel with `dynamic: 'unknown'`: MACs are null while some input dims stay unknown. */
export interface PartialModelStats extends Omit<ModelStats, 'macs' | 'layers'> {
  macs: number | null;
  layers: (Omit<LayerStats, 'macs'> & { macs: number | null })[];
  /** The inputs whose unknown dims left MACs unknown (absent when MACs are known). */
  dynamicInputs?: DynamicInput[];
  /** Their example shapes, as E_DYNAMIC_SHAPE would give them (for hints in the caller's syntax). */
  dynamicDetails?: DynamicShapeDetails;
}

export interface AnalyzeOptions {
  inputShapes?: Record<string, number[]>;
  registry?: OpRegistry;
  /**
   * An input whose only dynamic dim is the leading (batch) one is analyzed
   * with this batch size (default 1: MACs per sample). The model keeps its
   * dynamic batch; the analysis runs on a weight-sharing copy. 0 requires
   * `inputShapes` for every dynamic input.
   */
  batch?: number;
  /** Inputs whose sizes stay unknown: 'error' (default) throws E_DYNAMIC_SHAPE; 'unknown' reports MACs as null. */
  dynamic?: 'error' | 'unknown';
}

/** A constant value of the graph: initializer or Constant-node output. */
interface ConstEntry {
  value: Value;
  tensor: Tensor;
}

/** Initializers of the graph and its subgraphs, and Constant-node outputs. */
function constants(g: Graph): ConstEntry[] {
  const out: ConstEntry[] = [];
  const visit = (graph: Graph) => {
    for (const v of graph.initializers.values()) out.push({ value: v, tensor: v.constValue! });
    for (const n of graph.nodes) {
      if (n.inputs.length === 0 && n.outputs.length === 1) {
        const t = constTensorOf(n.outputs[0]!);
        if (t) out.push({ value: n.outputs[0]!, tensor: t });
      }
      for (const sub of n.subgraphs()) visit(sub);
    }
  };
  visit(g);
  return out;
}

function sparseParams(g: Graph): { params: number; nonzero: number; bytes: number } {
  let params = 0;
  let nonzero = 0;
  let bytes = 0;
  for (const s of g.sparseInitializers) {
    bytes += s.values.byteLength + s.indices.byteLength;
    if (!isParamTensor(s.values)) continue;
    params += elementCount(s.dims);
    nonzero += countNonzero(s.values);
  }
  return { params, nonzero, bytes };
}

/** Parameter count without shapes or reading tensor data (external data stays unloaded). */
export function countParams(model: Model): number {
  let n = 0;
  for (const c of constants(model.graph)) if (isParamTensor(c.tensor)) n += c.tensor.size;
  for (const s of model.graph.sparseInitializers) if (isParamTensor(s.values)) n += elementCount(s.dims);
  return n;
}

/**
 * Params, non-zeros, MACs and bytes, in total and per weight/MAC-bearing
 * node. Runs shape inference (setting Value.type on node outputs, symbolic
 * where inputs are dynamic). MACs need concrete sizes: `inputShapes`, else
 * what the model says (resolveInputShapes: dims bound by given inputs,
 * metadata, a dynamic batch as `batch`). When some stay unknown it throws
 * E_DYNAMIC_SHAPE, or with `dynamic: 'unknown'` returns the other figures
 * with `macs: null` and `dynamicInputs` naming what is missing.
 */
export function analyzeModel(model: Model, opts: AnalyzeOptions & { dynamic: 'unknown' }): PartialModelStats;
export function analyzeModel(model: Model, opts?: AnalyzeOptions): ModelStats;
export function analyzeModel(model: Model, opts: AnalyzeOptions = {}): ModelStats | PartialModelStats {
  const batch = opts.batch ?? 1;
  const r = resolveInputShapes(model, opts.inputShapes, { batch });
  if (r.unresolved.length > 0) {
    if (opts.dynamic !== 'unknown') throw dynamicShapeError(r.unresolved, 'MACs');
    inferShapes(model, { inputShapes: opts.inputShapes, registry: opts.registry });
    const stats = analyzeInferred(model, opts.registry, opts.inputShapes);
    return { ...stats, macs: null, layers: nullMacs(stats), dynamicInputs: r.unresolved, dynamicDetails: dynamicShapeError(r.unresolved, 'MACs').details as unknown as DynamicShapeDetails };
  }
  const assumedNames = Object.keys(r.assumed);
  if (assumedNames.length === 0) return analyzeInferred(model, opts.registry, opts.inputShapes);
  inferShapes(model, { inputShapes: opts.inputShapes, registry: opts.registry }); // symbolic shapes on the model itself, as documented
  const stats = analyzeInferred(cloneModel(model, { shareWeights: true }), opts.registry, r.shapes);
  const byBatch = assumedNames.filter((n) => r.assumed[n] === 'batch');
  return {
    ...stats,
    assumedShapes: Object.fromEntries(assumedNames.map((n) => [n, { shape: r.shapes[n]!, source: r.assumed[n]! }])),
    ...(byBatch.length ? { assumedBatch: { batch, inputs: byBatch } } : {}),
  };
}

/** Layers whose MAC rule found no shapes get null MACs. */
function nullMacs(stats: ModelStats): PartialModelStats['layers'] {
  const unknown = new Set(stats.unresolved);
  return stats.layers.map((l) => (unknown.has(l.name) ? { ...l, macs: null } : l));
}

function analyzeInferred(model: Model, registry: OpRegistry | undefined, inputShapes: Record<string, number[]> | undefined): ModelStats {
  const inferred = inferShapes(model, { inputShapes, registry });

  const nonzeroOf = new Map<Value, number>();
  let params = 0;
  let nonzeroParams = 0;
  let bytes = 0;
  for (const { value, tensor } of constants(model.graph)) {
    bytes += tensor.byteLength;
    if (!isParamTensor(tensor)) continue;
    const nz = countNonzero(tensor);
    nonzeroOf.set(value, nz);
    params += tensor.size;
    nonzeroParams += nz;
  }
  const sparse = sparseParams(model.graph);
  params += sparse.params;
  nonzeroParams += sparse.nonzero;
  bytes += sparse.bytes;

  let macs = 0;
  const layers: LayerStats[] = [];
  const unresolved: string[] = [];
  for (const node of model.graph.allNodes()) {
    const spec = inferred.specOf(node);
    let m = 0;
    if (spec?.macs) {
      const r = spec.macs(inferred.contextOf(node));
      if (r === undefined) unresolved.push(node.label);
      else m = r;
    }
    let p = 0;
    let nz = 0;
    for (const v of weightInputs(node, spec)) {
      const t = constTensorOf(v)!;
      p += t.size;
      nz += nonzeroOf.get(v) ?? countNonzero(t);
    }
    macs += m;
    if (p > 0 || m > 0) {
      const outputShape = node.outputs[0]?.shape;
      const channels = channelsOf(spec, node, outputShape);
      layers.push({ name: node.label, op: node.opType, params: p, nonzero: nz, macs: m, sparsity: p ? 1 - nz / p : 0, outputShape, ...(channels === undefined ? {} : { channels }) });
    }
  }
  return { params, nonzeroParams, macs, bytes, layers, unresolved };
}

/** Output 0's dim on the spec's channel axis (negative axes count from the end), when the op is known and the dim static. */
function channelsOf(spec: OpSpec | undefined, node: Node, shape: Dim[] | undefined): number | undefined {
  if (!spec || !shape || shape.length < 2) return undefined;
  const a = channelAxisOf(spec, node);
  const d = shape[a < 0 ? shape.length + a : a];
  return typeof d === 'number' && d >= 0 ? d : undefined;
}

/**
 * A node's parameter inputs: float constants among its weight roles and data
 * inputs (a constant bias of Add counts, Resize scales or Clip bounds do not).
 * Ops without a spec count every float constant input.
 */
function weightInputs(node: Node, spec: ReturnType<ReturnType<typeof inferShapes>['specOf']>): Value[] {
  const idx = spec ? new Set([...weightRolesOf(spec, node).map((r) => r.input), ...dataInputsOf(spec, node)]) : undefined;
  const out: Value[] = [];
  node.inputs.forEach((v, i) => {
    if (!v || (idx && !idx.has(i)) || out.includes(v)) return;
    const t = constTensorOf(v);
    if (t && isParamTensor(t)) out.push(v);
  });
  return out;
}
