import { constTensorOf, defaultOpRegistry, paramSlotsOf, ShearsError, Tensor, type DType, type Model, type Node, type OpRegistry, type ParamSlot } from '@shears/core';

/**
 * Opset facts the export needs beyond the core op table. The core table
 * (OpSpec.params) already says where structural parameters live at each
 * opset (Squeeze, Unsqueeze, Reduce ops and Split axes and sizes, Slice, Pad pads):
 * those moves are derived from it. This table adds, as data, the parameter
 * moves that are not structural, the ops' first opsets, and changes with no
 * faithful conversion.
 */
export interface ExtraParam {
  /** Name of the parameter; the attribute carries this name on the attribute side. */
  name: string;
  /** Opset from which it is input `input`; an attribute before. */
  inputSince: number;
  input: number;
  /** Element type of the input: a fixed type, or the type of another input. */
  dtype: DType | { like: number };
  /** Scalar (attribute float/int) or list (attribute ints). */
  scalar: boolean;
}

export const OPSET_TABLE: {
  extraParams: Record<string, ExtraParam[]>;
  /** The first opset of the default domain that has the op. */
  introduced: Record<string, number>;
  /** Changes of meaning at an opset that no rewrite here reproduces: crossing them is an error. */
  breaking: Record<string, { at: number; why: string }[]>;
  /** Attributes added at an opset, dropped when converting below it if they hold their default. */
  addedAttrs: Record<string, { at: number; name: string; default: number | string }[]>;
} = {
  extraParams: {
    Clip: [
      { name: 'min', inputSince: 11, input: 1, dtype: { like: 0 }, scalar: true },
      { name: 'max', inputSince: 11, input: 2, dtype: { like: 0 }, scalar: true },
    ],
    Pad: [{ name: 'value', inputSince: 11, input: 2, dtype: { like: 0 }, scalar: true }],
  },
  introduced: {
    HardSwish: 14, Gelu: 20, Mish: 18, LayerNormalization: 17, GroupNormalization: 18, Resize: 10, Range: 11, Celu: 12,
    Einsum: 12, GatherND: 11, ScatterND: 11, ScatterElements: 11, Round: 11, Trilu: 14, Shrink: 9, NonZero: 9,
    Erf: 9, Sign: 9, IsNaN: 9, Where: 9, Expand: 8, MaxUnpool: 9, ConstantOfShape: 9, CumSum: 11, DequantizeLinear: 10,
    QuantizeLinear: 10, QLinearConv: 10, QLinearMatMul: 10, ConvInteger: 10, MatMulInteger: 10, Mod: 10, ThresholdedRelu: 10,
    GridSample: 16, CenterCropPad: 18, RMSNormalization: 23, Swish: 24, Attention: 23, AffineGrid: 20,
  },
  breaking: {
    Resize: [{ at: 11, why: 'opset 11 added coordinate_transformation_mode and roi; opset-10 Resize is "asymmetric" only' }],
    Upsample: [{ at: 10, why: 'Upsample is deprecated from opset 10; export with Resize instead' }],
    BatchNormalization: [{ at: 9, why: 'opset 9 dropped the spatial attribute' }],
    Dropout: [{ at: 12, why: 'opset 12 moved ratio to an input and added training_mode' }],
    Softmax: [{ at: 13, why: 'opset 13 changed Softmax from 2-D coerced to per-axis' }],
    LogSoftmax: [{ at: 13, why: 'opset 13 changed LogSoftmax from 2-D coerced to per-axis' }],
    Hardmax: [{ at: 13, why: 'opset 13 changed Hardmax from 2-D coerced to per-axis' }],
  },
  addedAttrs: {
    BatchNormalization: [{ at: 14, name: 'training_mode', default: 0 }],
    Resize: [
      { at: 18, name: 'antialias', default: 0 },
      { at: 18, name: 'keep_aspect_ratio_policy', default: 'stretch' },
    ],
    Reshape: [{ at: 14, name: 'allowzero', default: 0 }],
    Shape: [{ at: 15, name: 'start', default: 0 }],
    ReduceSum: [{ at: 13, name: 'noop_with_empty_axes', default: 0 }],
    ...Object.fromEntries(
      ['ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare'].map((op) => [op, [{ at: 18, name: 'noop_with_empty_axes', default: 0 }]]),
    ),
  },
};

/** Opsets of the default domain this converter targets. */
export const MIN_OPSET = 9;
export const MAX_OPSET = 21;

export interface OpsetReport {
  from: number;
  to: number;
  /** Nodes rewritten, as "node: what". */
  converted: string[];
}

/**
 * Convert the default-domain opset of a model in place. Throws E_GRAPH naming
 * the op and node for conversions that are not possible.
 */
export function convertOpset(model: Model, to: number, registry: OpRegistry = defaultOpRegistry()): OpsetReport {
  const from = model.opset('') ?? 1;
  const report: OpsetReport = { from, to, converted: [] };
  if (!Number.isInteger(to) || to < MIN_OPSET || to > MAX_OPSET)
    throw new ShearsError('E_OPTION', `opset ${to} is outside what the exporter converts to (${MIN_OPSET}-${MAX_OPSET})`, { option: 'opset' });
  if (from === to) return report;
  const [lo, hi] = from < to ? [from, to] : [to, from];
  for (const n of model.graph.allNodes()) {
    if (n.domain !== '') continue;
    const fail = (why: string) =>
      new ShearsError('E_GRAPH', `cannot convert ${n.opType} node ${n.label} from opset ${from} to ${to}: ${why}`, { node: n.label, op: n.opType });
    const since = OPSET_TABLE.introduced[n.opType];
    if (since !== undefined && to < since) throw fail(`${n.opType} exists only from opset ${since}; choose --opset ${since} or later, or replace the op before export`);
    for (const b of OPSET_TABLE.breaking[n.opType] ?? []) if (lo < b.at && b.at <= hi) throw fail(b.why);
    const g = n.graph!;
    // Structural parameters: where the core op table says they live at each opset.
    const sFrom = slotsAt(registry, n, from);
    const sTo = slotsAt(registry, n, to);
    const moves: { name: string; a: ParamSlot; b: ParamSlot; dtype: DType | { like: number }; scalar: boolean }[] = [];
    for (const [k, a] of Object.entries(sFrom)) {
      const b = sTo[k as keyof typeof sTo];
      if (a && b) moves.push({ name: k, a, b, dtype: 'int64', scalar: false });
    }
    for (const e of OPSET_TABLE.extraParams[n.opType] ?? []) {
      const slot = (v: number): ParamSlot => (v >= e.inputSince ? { input: e.input } : { attr: e.name });
      moves.push({ name: e.name, a: slot(from), b: slot(to), dtype: e.dtype, scalar: e.scalar });
    }
    for (const m of moves) {
      if ('attr' in m.a && 'input' in m.b) {
        const a = n.attr(m.a.attr);
        if (!a) continue;
        const dtype = typeof m.dtype === 'string' ? m.dtype : (n.input(m.dtype.like)?.dtype ?? 'float32');
        const values = a.type === 'ints' || a.type === 'floats' ? a.value : a.type === 'int' || a.type === 'float' ? [a.value] : undefined;
        if (!values) throw fail(`attribute ${m.a.attr} has an unexpected type ${a.type}`);
        const t = tensorOf(`${n.label}_${m.name}`, dtype, m.scalar ? [] : [values.length], values);
        while (n.inputs.length < m.b.input) n.appendInput(null);
        n.setInput(m.b.input, g.addInitializer(t, uniqueName(g, t.name)));
        n.attributes.delete(m.a.attr);
        report.converted.push(`${n.label}: ${m.name} attribute -> input ${m.b.input}`);
      } else if ('input' in m.a && 'attr' in m.b) {
        const v = n.input(m.a.input);
        if (!v) continue;
        const c = constTensorOf(v);
        if (!c) throw fail(`its ${m.name} input is computed at run time, but opset ${to} needs it as a constant attribute; fold constants first or keep opset ≥ ${from}`);
        const nums = c.toNumbers();
        if (m.scalar) n.setAttr(m.b.attr, { type: 'float', value: nums[0]! });
        else n.setAttr(m.b.attr, { type: 'ints', value: nums });
        n.setInput(m.a.input, null);
        report.converted.push(`${n.label}: ${m.name} input -> attribute`);
      } else if ('attr' in m.a && 'attr' in m.b && m.a.attr !== m.b.attr) {
        const a = n.attr(m.a.attr);
        if (!a) continue;
        n.attributes.delete(m.a.attr);
        n.attributes.set(m.b.attr, { ...a, name: m.b.attr });
      }
    }
    trimNullInputs(n);
    // Split at 18 needs num_outputs when sizes are not given.
    if (n.opType === 'Split' && to >= 18 && !n.input(1) && !n.attr('num_outputs')) n.setAttr('num_outputs', { type: 'int', value: n.outputs.length });
    if (n.opType === 'Split' && to < 18) n.attributes.delete('num_outputs');
    for (const a of OPSET_TABLE.addedAttrs[n.opType] ?? []) {
      if (to >= a.at) continue;
      const cur = n.attr(a.name);
      if (!cur) continue;
      const val = cur.type === 'int' || cur.type === 'string' ? cur.value : undefined;
      if (val !== a.default) throw fail(`attribute ${a.name}=${String(val)} exists only from opset ${a.at}`);
      n.attributes.delete(a.name);
    }
  }
  model.opsetImports.set('', to);
  model.opsetImports.delete('ai.onnx');
  model.irVersion = Math.max(irVersionFor(to), Math.min(model.irVersion, irVersionFor(to)));
  return report;
}

/** The IR version that goes with an opset (onnx's VERSION_TABLE). */
export function irVersionFor(opset: number): number {
  if (opset <= 8) return 3;
  if (opset <= 9) return 4;
  if (opset <= 10) return 5;
  if (opset <= 11) return 6;
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  return 10;
}

function slotsAt(registry: OpRegistry, n: Node, opset: number) {
  const spec = registry.lookup(n.opType, n.domain, opset);
  return spec ? paramSlotsOf(spec, opset).slots : {};
}

function trimNullInputs(n: Node): void {
  let k = n.inputs.length;
  while (k > 0 && n.inputs[k - 1] === null) k--;
  if (k < n.inputs.length) n.truncateInputs(k);
}

function uniqueName(g: { initializers: ReadonlyMap<string, unknown> }, base: string): string {
  let name = base;
  for (let i = 1; g.initializers.has(name); i++) name = `${base}_${i}`;
  return name;
}

function tensorOf(name: string, dtype: DType, dims: number[], values: number[]): Tensor {
  if (dtype === 'int64') return Tensor.fromInt64(name, dims, values.map((v) => Math.trunc(v)));
  if (dtype === 'float32') return Tensor.fromFloat32(name, dims, values);
  const t = new Tensor({ name, dtype, dims });
  const d = t.values as unknown as { [i: number]: number | bigint };
  values.forEach((v, i) => (d[i] = dtype === 'uint64' ? BigInt(v) : v));
  return t;
}
