// Convolutions: output channels come from the weight (channel 'compute').
import type { DType } from '../../ir/dtype.js';
import type { Node } from '../../ir/node.js';
import type { Dim } from '../../ir/types.js';
import { allNum, isNum, ShapeConflict, windowOut } from '../../shape/dims.js';
import type { OpContext, OpSpec, TensorInfo, WeightRole } from '../types.js';
import { DEFAULT, t } from './common.js';

export interface WindowAttrs {
  kernel: number[];
  strides: number[];
  dilations: number[];
  pads: number[];
  autoPad: string;
  ceil: boolean;
}

/** Conv/pool window attributes, with ONNX defaults filled in for n spatial axes. */
export function windowAttrs(node: Node, n: number, kernel: number[] | undefined): WindowAttrs | undefined {
  const k = node.attrInts('kernel_shape') ?? kernel;
  if (!k || k.length !== n) return undefined;
  return {
    kernel: k,
    strides: node.attrInts('strides') ?? new Array(n).fill(1),
    dilations: node.attrInts('dilations') ?? new Array(n).fill(1),
    pads: node.attrInts('pads') ?? new Array(2 * n).fill(0),
    autoPad: node.attrString('auto_pad', 'NOTSET'),
    ceil: node.attrInt('ceil_mode', 0) === 1,
  };
}

/** Spatial output dims of a sliding window op (Conv, pools). */
export function windowOutDims(x: readonly Dim[], w: WindowAttrs): Dim[] {
  const n = w.kernel.length;
  return x.slice(x.length - n).map((d, i) => {
    const s = w.strides[i]!;
    if (w.autoPad === 'SAME_UPPER' || w.autoPad === 'SAME_LOWER') return isNum(d) ? Math.ceil(d / s) : s === 1 ? d : null;
    if (w.autoPad === 'VALID') return windowOut(d, w.kernel[i]!, s, w.dilations[i]!, 0, 0, w.ceil);
    return windowOut(d, w.kernel[i]!, s, w.dilations[i]!, w.pads[i]!, w.pads[i + n]!, w.ceil);
  });
}

/** Conv-shaped output: X [N, C, d...], W [M, C/g, k...] -> [N, M, o...]. */
function convShape(ctx: OpContext, xIn: number, wIn: number, dtype: DType | undefined): TensorInfo | undefined {
  const x = ctx.shape(xIn);
  const w = ctx.shape(wIn);
  if (!x || x.length < 3) return t(dtype, undefined);
  const n = x.length - 2;
  const group = ctx.node.attrInt('group', 1);
  if (w && isNum(w[1]) && isNum(x[1]) && w[1] * group !== x[1])
    throw new ShapeConflict(`input has ${x[1]} channels but weight expects ${w[1]} x group ${group}`);
  const wa = windowAttrs(ctx.node, n, w && allNum(w.slice(2)) ? (w.slice(2) as number[]) : undefined);
  const spatial = wa ? windowOutDims(x, wa) : new Array<Dim>(n).fill(null);
  return t(dtype, [x[0]!, w ? w[0]! : null, ...spatial]);
}

/** Conv MACs: N·K·Ho·Wo·(C/g)·kh·kw = output elements × W[1] × prod(kernel). */
function convMacs(wIn: number) {
  return (ctx: OpContext) => {
    const out = ctx.outputShape(0);
    const w = ctx.shape(wIn);
    if (!out || !w || !allNum(out) || !allNum(w)) return undefined;
    return out.reduce((a, b) => a * b, 1) * w.slice(1).reduce((a, b) => a * b, 1);
  };
}

const CONV_WEIGHTS: WeightRole[] = [
  { input: 1, role: 'weight', outAxis: 0, inAxis: 1, groupsAttr: 'group' },
  { input: 2, role: 'bias', outAxis: 0 },
];

function convTransposeShape(ctx: OpContext): TensorInfo | undefined {
  const x = ctx.shape(0);
  const w = ctx.shape(1);
  const dtype = ctx.dtype(0);
  if (!x || x.length < 3) return t(dtype, undefined);
  const n = x.length - 2;
  const node = ctx.node;
  const group = node.attrInt('group', 1);
  const outC = w && isNum(w[1]) ? w[1] * group : null;
  const explicit = node.attrInts('output_shape');
  if (explicit) return t(dtype, [x[0]!, outC, ...explicit.slice(explicit.length - n)]);
  const k = node.attrInts('kernel_shape') ?? (w && allNum(w.slice(2)) ? (w.slice(2) as number[]) : undefined);
  if (!k) return t(dtype, [x[0]!, outC, ...new Array<Dim>(n).fill(null)]);
  const strides = node.attrInts('strides') ?? new Array(n).fill(1);
  const dil = node.attrInts('dilations') ?? new Array(n).fill(1);
  const outPad = node.attrInts('output_padding') ?? new Array(n).fill(0);
  const pads = node.attrInts('pads') ?? new Array(2 * n).fill(0);
  const autoPad = node.attrString('auto_pad', 'NOTSET');
  const spatial = x.slice(2).map((d, i) => {
    if (!isNum(d)) return null;
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return d * strides[i]!;
    const [pb, pe] = autoPad === 'VALID' ? [0, 0] : [pads[i]!, pads[i + n]!];
    return strides[i]! * (d - 1) + outPad[i]! + (k[i]! - 1) * dil[i]! + 1 - pb - pe;
  });
  return t(dtype, [x[0]!, outC, ...spatial]);
}

// com.microsoft FusedConv builds on Conv in contrib.ts.
export const CONV_SPECS: OpSpec[] = [
  {
    ...DEFAULT,
    opType: 'Conv',
    channel: 'compute',
    weights: CONV_WEIGHTS,
    prunable: true,
    infer: (ctx) => [convShape(ctx, 0, 1, ctx.dtype(0))],
    macs: convMacs(1),
  },
  {
    ...DEFAULT,
    opType: 'ConvTranspose',
    channel: 'compute',
    // W is [C_in, K/g, k...]: output channels on axis 1.
    weights: [
      { input: 1, role: 'weight', outAxis: 1, inAxis: 0, groupsAttr: 'group' },
      { input: 2, role: 'bias', outAxis: 0 },
    ],
    prunable: true,
    infer: (ctx) => [convTransposeShape(ctx)],
    // N·C_in·H_in·W_in·(K/g)·kh·kw = input elements × W[1] × prod(kernel)
    macs: (ctx) => {
      const x = ctx.shape(0);
      const w = ctx.shape(1);
      if (!x || !w || !allNum(x) || !allNum(w)) return undefined;
      return x.reduce((a, b) => a * b, 1) * w.slice(1).reduce((a, b) => a * b, 1);
    },
  },
  {
    ...DEFAULT,
    since: 10,
    opType: 'ConvInteger',
    channel: 'compute',
    weights: [
      { input: 1, role: 'weight', outAxis: 0, inAxis: 1, groupsAttr: 'group' },
      { input: 3, role: 'param', outAxis: 0 },
    ],
    infer: (ctx) => [convShape(ctx, 0, 1, 'int32')],
    macs: convMacs(1),
  },
  {
    // x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, B
    ...DEFAULT,
    since: 10,
    opType: 'QLinearConv',
    channel: 'compute',
    weights: [
      { input: 3, role: 'weight', outAxis: 0, inAxis: 1, groupsAttr: 'group' },
      { input: 4, role: 'param', outAxis: 0 },
      { input: 5, role: 'param', outAxis: 0 },
      { input: 8, role: 'bias', outAxis: 0 },
    ],
    infer: (ctx) => [convShape(ctx, 0, 3, ctx.dtype(7) ?? 'uint8')],
    macs: convMacs(3),
  },
];
