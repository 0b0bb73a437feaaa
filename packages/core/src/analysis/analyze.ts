import { ShearsError } from '../errors.js';
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
import { batchOnlyShapes, dynamicInputs } from '../shape/inputs.js';
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

function assertStaticInputs(model: Model, given: Record<string, number[]> | undefined): void {
  for (const d of dynamicInputs(model)) {
    if (given && d.name in given) continue;
    const shape = d.shape ? `[${d.shape.map((x) => x ?? '?').join(',')}]` : '(unknown rank)';
    const example = d.shape ? d.shape.map((x) => (typeof x === 'number' && x >= 0 ? x : 1)).join('x') : '1x3x224x224';
    throw new ShearsError('E_DYNAMIC_SHAPE', `input ${d.name} has dynamic shape ${shape}; pass --input-shape ${d.name}:${example}`, { option: 'input-shape' });
  }
}

/**
 * Params, non-zeros, MACs and bytes, in total and per weight/MAC-bearing
 * node. Runs shape inference (setting Value.type on node outputs), so every
 * dynamic input needs a shape in `inputShapes`.
 */
export function analyzeModel(model: Model, opts: AnalyzeOptions = {}): ModelStats {
  const assumed = batchOnlyShapes(model, opts.inputShapes, opts.batch ?? 1);
  if (assumed) {
    inferShapes(model, { registry: opts.registry }); // symbolic shapes on the model itself, as documented
    const stats = analyzeModel(cloneModel(model, { shareWeights: true }), { ...opts, inputShapes: { ...opts.inputShapes, ...assumed }, batch: 0 });
    return { ...stats, assumedBatch: { batch: opts.batch ?? 1, inputs: Object.keys(assumed) } };
  }
  assertStaticInputs(model, opts.inputShapes);
  const inferred = inferShapes(model, { inputShapes: opts.inputShapes, registry: opts.registry });

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
