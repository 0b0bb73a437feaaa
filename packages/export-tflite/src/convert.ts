import { applyInputShapes, batchOnlyShapes, cloneModel, dynamicInputs, dynamicShapeError, foldBatchNorms, foldConstants, inferShapes, runtimeInputs, ShearsError, type Model, type OpRegistry, type Value } from '@shears/core';
import { Converter, tflType, type ConvertOptions, type SparseRecord } from './converter.js';
import { channelsLast, identity, physicalShape } from './layout.js';
import { TFLITE_OPS, type CheckContext } from './ops.js';
import { fuseGelu } from './passes.js';
import { serialize } from './writer.js';

export interface TfliteConvertOptions extends ConvertOptions {
  /** Static shapes for dynamic inputs, by input name (TFLite tensors are static here). */
  inputShapes?: Record<string, number[]>;
  /** The op table (the exporter passes the run's `ctx.ops`; default: the built-in one). */
  registry?: OpRegistry;
}

export interface TfliteIO {
  name: string;
  /** Shape of the TFLite tensor. */
  shape: number[];
  /** 'NHWC' when a rank-4 tensor is stored channels-last (--nhwc-io), else the ONNX layout. */
  layout: 'NCHW' | 'NHWC' | 'ONNX';
}

export interface TfliteConversion {
  /** The .tflite file. */
  bytes: Uint8Array;
  /** TFLite ops by name, e.g. { CONV_2D: 20, ADD: 8 }. */
  ops: Record<string, number>;
  inputs: TfliteIO[];
  outputs: TfliteIO[];
  tensors: number;
  /** Weight bytes as dense float32 (the buffers without --fp16 and --sparse). */
  denseWeightBytes: number;
  /** Bytes of all buffers as written (weights, shapes, axes). */
  weightBytes: number;
  /** Bytes the float weights take as written (float16 / sparse when asked). */
  storedWeightBytes: number;
  fp16Tensors: number;
  sparse: SparseRecord[];
  /** What the pre-conversion rewrites did. */
  rewrites: { batchNormsFolded: number; geluFused: number; activationsFused: number; constantsFolded: number };
  warnings: string[];
  /** Inputs whose dynamic batch dim was exported as 1 (no inputShapes for them). */
  batchOne: string[];
  seconds: number;
}

interface Problem {
  op: string;
  node: string;
  reason: string;
}

/**
 * Convert an ONNX IR model to a TFLite flatbuffer. The model is not modified
 * (the converter works on a weight-sharing copy). Throws a ShearsError that
 * lists every unsupported node at once, E_DYNAMIC_SHAPE for dynamic inputs
 * without inputShapes (a dynamic batch dim alone is exported as 1), and
 * E_DTYPE for int64 activations.
 */
export function convertToTflite(model: Model, opts: TfliteConvertOptions = {}): TfliteConversion {
  const t0 = performance.now();
  const m = cloneModel(model, { shareWeights: true });
  if (opts.inputShapes && Object.keys(opts.inputShapes).length) applyInputShapes(m.graph, opts.inputShapes);
  // A dynamic batch alone becomes 1, as TensorFlow's converter does: TFLite runs one sample at a time.
  const batchOne = batchOnlyShapes(m, opts.inputShapes);
  if (batchOne) applyInputShapes(m.graph, batchOne);
  const dyn = dynamicInputs(m);
  if (dyn.length) throw dynamicShapeError(dyn, 'tflite: TFLite tensors');
  const folded = foldConstants(m, { registry: opts.registry });
  const batchNormsFolded = foldBatchNorms(m, opts.registry).length;
  const geluFused = fuseGelu(m);
  const inference = inferShapes(m, { registry: opts.registry });
  const cx = new Converter(m, opts, inference);
  check(m, cx);

  const g = cx.g;
  for (const v of runtimeInputs(m.graph)) {
    const shape = cx.shape(v);
    const perm = ioLayout(opts, shape.length);
    const t = g.addTensor({ shape: physicalShape(shape, perm), type: tflType(cx.dtype(v), v.name), name: v.name });
    cx.define(v, t, perm);
    g.inputs.push(t);
  }
  for (const node of m.graph.nodes) {
    if (cx.consumed.has(node)) continue;
    TFLITE_OPS[node.domain ? `${node.domain}::${node.opType}` : node.opType]!.convert(node, cx);
  }
  for (const v of m.graph.outputs) {
    const shape = cx.shape(v);
    const perm = ioLayout(opts, shape.length);
    const s = cx.slot(v);
    let t = cx.relayout(s, shape, perm, v.name);
    if (g.inputs.includes(t)) {
      // An input passed straight through: TFLite wants a distinct output tensor.
      const copy = g.addTensor({ shape: physicalShape(shape, perm), type: g.tensors[t]!.type, name: v.name });
      g.addOperator({ op: 'RESHAPE', inputs: [t, cx.i32(physicalShape(shape, perm))], outputs: [copy], options: { type: 'ReshapeOptions', values: { new_shape: physicalShape(shape, perm) } } });
      t = copy;
    }
    g.rename(t, v.name);
    g.outputs.push(t);
  }
  g.description = `Shears export of ${model.producerName ?? 'an ONNX model'}${model.graph.name ? ` (${model.graph.name})` : ''}`;
  const bytes = serialize(g);
  const io = (ids: number[]) =>
    ids.map((id): TfliteIO => {
      const t = g.tensors[id]!;
      return { name: t.name, shape: [...t.shape], layout: t.shape.length === 4 ? (opts.nhwcIo ? 'NHWC' : 'NCHW') : 'ONNX' };
    });
  return {
    bytes,
    ops: sortedCounts(cx.opCounts),
    inputs: io(g.inputs),
    outputs: io(g.outputs),
    tensors: g.tensors.length,
    denseWeightBytes: cx.denseWeightBytes,
    weightBytes: g.weightBytes,
    storedWeightBytes: cx.storedWeightBytes,
    fp16Tensors: cx.fp16Tensors,
    sparse: cx.sparseRecords,
    rewrites: { batchNormsFolded, geluFused, activationsFused: cx.fusedActivations, constantsFolded: folded.folded },
    warnings: cx.warnings,
    batchOne: Object.keys(batchOne ?? {}),
    seconds: (performance.now() - t0) / 1000,
  };
}

function ioLayout(opts: ConvertOptions, rank: number): number[] {
  return opts.nhwcIo && rank === 4 ? channelsLast(4) : identity(rank);
}

function sortedCounts(c: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(c).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
}

/** Every reason the model cannot be exported, reported together in one error. */
function check(m: Model, cx: Converter): void {
  const problems: Problem[] = [];
  const ctx: CheckContext = {
    constOf: (v) => cx.constOf(v),
    structure: (n) => cx.structure(n),
    param: (n, p) => cx.param(n, p),
    opset: cx.opset,
    shape: (v: Value) => {
      const s = v.shape;
      return s && s.every((d) => typeof d === 'number' && d >= 0) ? (s as number[]) : undefined;
    },
  };
  const int64 = new Set<Value>();
  for (const v of runtimeInputs(m.graph)) if (v.dtype === 'int64') int64.add(v);
  // Values downstream of an unconvertible node: their unknown shapes are a consequence, not news.
  const tainted = new Set<Value>();
  for (const node of m.graph.nodes) {
    const op = node.domain ? `${node.domain}::${node.opType}` : node.opType;
    const mapping = TFLITE_OPS[op];
    const downstream = node.inputs.some((v) => v && tainted.has(v));
    const live = node.outputs.filter((o) => o.name && (o.uses().length || m.graph.outputs.includes(o)));
    const unknown = live.filter((o) => !ctx.shape(o));
    if (!mapping) {
      problems.push({ op, node: node.label, reason: 'no TFLite mapping' });
      for (const o of node.outputs) tainted.add(o);
      continue;
    }
    if (node.opType === 'Constant') continue;
    const consequence = downstream && unknown.length > 0;
    let reason: string | undefined;
    try {
      reason = mapping.check?.(node, ctx);
    } catch (e) {
      // A rule tripping over shapes that an earlier unsupported node left unknown is no news.
      reason = consequence ? undefined : (e as Error).message;
    }
    if (consequence) {
      if (reason) problems.push({ op, node: node.label, reason });
      for (const o of node.outputs) tainted.add(o);
      continue;
    }
    if (reason) problems.push({ op, node: node.label, reason });
    if (reason || downstream) for (const o of node.outputs) tainted.add(o);
    for (const o of live) if (o.dtype === 'int64' && !cx.constOf(o)) int64.add(o);
    if (unknown.length) problems.push({ op, node: node.label, reason: `output ${unknown[0]!.name} has no static shape` });
  }
  if (problems.length) {
    const groups = new Map<string, Problem[]>();
    for (const p of problems) {
      const k = `${p.op}: ${p.reason}`;
      groups.set(k, [...(groups.get(k) ?? []), p]);
    }
    const ops = new Set(problems.map((p) => p.op));
    const parts = [...groups].map(([k, ps]) => {
      const names = ps.slice(0, 5).map((p) => p.node);
      return `${k} (node${ps.length > 1 ? 's' : ''} ${names.join(', ')}${ps.length > 5 ? ` and ${ps.length - 5} more` : ''})`;
    });
    throw new ShearsError(
      'E_UNKNOWN_OP',
      `tflite: ${problems.length} node${problems.length > 1 ? 's' : ''} cannot be exported (unsupported: ${[...ops].sort().join(', ')}): ${parts.join('; ')}`,
      { op: [...ops].sort().join(','), node: problems[0]!.node },
    );
  }
  if (int64.size) {
    const list = [...int64].map((v) => `${v.name}${v.producer ? ` (from ${v.producer.label})` : ' (model input)'}`);
    throw new ShearsError('E_DTYPE', `tflite: int64 tensors computed at run time cannot be narrowed to int32 safely: ${list.slice(0, 8).join(', ')}${list.length > 8 ? ` and ${list.length - 8} more` : ''}; int64 constants are narrowed to int32 when every value fits`);
  }
}
