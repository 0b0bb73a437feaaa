// Spatial resampling and padding: channel-preserving, configured by extra inputs.
import type { Node } from '../../ir/node.js';
import type { Dim } from '../../ir/types.js';
import { addDim, isNum, normAxes, ShapeConflict } from '../../shape/dims.js';
import { constTensorOf } from '../helpers.js';
import type { OpContext, OpSpec } from '../types.js';
import { DEFAULT, numsOrUndefined, t } from './common.js';

/** Known contents of an optional input that may be given as an empty tensor. */
function nonEmpty(ctx: OpContext, i: number): Dim[] | undefined | null {
  if (!ctx.has(i)) return undefined;
  const s = ctx.shape(i);
  if (s && s.length === 1 && s[0] === 0) return undefined;
  const k = ctx.known(i);
  return k ? k.data : null;
}

const scaleDim = (d: Dim, s: number): Dim => (s === 1 ? d : isNum(d) ? Math.floor(d * s) : null);

function resizeShape(ctx: OpContext) {
  const x = ctx.shape(0);
  const dtype = ctx.dtype(0);
  if (!x) return [t(dtype)];
  const r = x.length;
  const node = ctx.node;
  const axes = normAxes(node.attrInts('axes') ?? [...Array(r).keys()], r);
  const unknown = () => [t(dtype, x.map((d, i) => (axes.includes(i) ? null : d)))];
  // Opset 10: (X, scales); 11+: (X, roi, scales, sizes).
  const scalesIn = ctx.opset < 11 ? 1 : 2;
  const sizes = ctx.opset < 11 ? undefined : nonEmpty(ctx, 3);
  const out = [...x];
  if (sizes !== undefined) {
    const s = sizes && numsOrUndefined(sizes);
    if (!s) return sizes ? [t(dtype, x.map((d, i) => (axes.includes(i) ? (sizes[axes.indexOf(i)] ?? null) : d)))] : unknown();
    if (s.length !== axes.length) throw new ShapeConflict(`resize sizes has ${s.length} entries for ${axes.length} axes`);
    const policy = node.attrString('keep_aspect_ratio_policy', 'stretch');
    if (policy === 'stretch') axes.forEach((a, i) => (out[a] = s[i]!));
    else {
      const dims = axes.map((a) => x[a]);
      if (!dims.every(isNum)) return unknown();
      const ratios = axes.map((_, i) => s[i]! / (dims[i] as number));
      const scale = policy === 'not_larger' ? Math.min(...ratios) : Math.max(...ratios);
      axes.forEach((a, i) => (out[a] = Math.round(scale * (dims[i] as number))));
    }
    return [t(dtype, out)];
  }
  // Scales may be partly known (PyTorch computes H/W scales but writes N/C as 1).
  const scales = nonEmpty(ctx, scalesIn);
  if (!scales) return unknown();
  if (scales.length !== axes.length) throw new ShapeConflict(`resize scales has ${scales.length} entries for ${axes.length} axes`);
  const roi = node.attrString('coordinate_transformation_mode', 'half_pixel') === 'tf_crop_and_resize' ? numsOrUndefined(nonEmpty(ctx, 1) ?? undefined) : undefined;
  axes.forEach((a, i) => {
    const s = scales[i];
    const crop = roi ? roi[axes.length + i]! - roi[i]! : 1;
    out[a] = isNum(s) ? scaleDim(x[a]!, s * crop) : null;
  });
  return [t(dtype, out)];
}

function upsampleShape(ctx: OpContext) {
  const x = ctx.shape(0);
  const scales = ctx.opset < 9 ? ctx.node.attr('scales') : undefined;
  const s: Dim[] | undefined = scales?.type === 'floats' ? scales.value : ctx.opset >= 9 ? ctx.known(1)?.data : undefined;
  if (!x) return [t(ctx.dtype(0))];
  return [t(ctx.dtype(0), x.map((d, i) => (s && isNum(s[i]) ? scaleDim(d, s[i] as number) : null)))];
}

/** Pads: `paddings` (opset 1), `pads` attribute (2-10), input 1 (11+) with optional axes input 3 (18+). */
function padsOf(ctx: OpContext, rank: number): { pads: number[]; axes: number[] } | null {
  const all = [...Array(rank).keys()];
  if (ctx.opset < 11) {
    const p = ctx.node.attrInts(ctx.opset < 2 ? 'paddings' : 'pads');
    return p ? { pads: p, axes: all } : null;
  }
  const p = ctx.ints(1);
  if (!p) return null;
  const axes = ctx.has(3) ? ctx.ints(3) : all;
  return axes ? { pads: p, axes: normAxes(axes, rank) } : null;
}

function padShape(ctx: OpContext) {
  const x = ctx.shape(0);
  if (!x) return [t(ctx.dtype(0))];
  const p = padsOf(ctx, x.length);
  if (!p) return [t(ctx.dtype(0), x.map(() => null))];
  const n = p.axes.length;
  if (p.pads.length !== 2 * n) throw new ShapeConflict(`pads has ${p.pads.length} entries for ${n} axes`);
  const out = [...x];
  p.axes.forEach((a, i) => (out[a] = addDim(x[a]!, p.pads[i]! + p.pads[i + n]!)));
  return [t(ctx.dtype(0), out)];
}

/** Constant-mode padding preserves zeros only with a zero pad value; edge/reflect copy inputs. */
function padPreservesZero(node: Node): boolean {
  if (node.attrString('mode', 'constant') !== 'constant') return true;
  if (node.attributes.has('value')) return node.attrFloat('value', 0) === 0;
  const v = node.input(2);
  if (!v) return true;
  const c = constTensorOf(v);
  return !!c && c.size <= 1 && (c.size === 0 || Number(c.values[0]) === 0);
}

export const RESIZE_SPECS: OpSpec[] = [
  {
    ...DEFAULT,
    since: 10,
    opType: 'Resize',
    channel: 'unary',
    zeroPreserving: true,
    infer: resizeShape,
    params: (opset) => (opset < 11 ? { slots: { scales: { input: 1 } } } : { slots: { roi: { input: 1 }, scales: { input: 2 }, sizes: { input: 3 } } }),
  },
  {
    ...DEFAULT,
    opType: 'Upsample',
    channel: 'unary',
    zeroPreserving: true,
    infer: upsampleShape,
    params: (opset) => ({ slots: opset < 9 ? {} : { scales: { input: 1 } } }),
  },
  {
    ...DEFAULT,
    opType: 'Pad',
    channel: 'unary',
    zeroPreserving: padPreservesZero,
    infer: padShape,
    params: (opset) => ({ slots: opset < 11 ? { pads: { attr: opset < 2 ? 'paddings' : 'pads' } } : { pads: { input: 1 }, axes: { input: 3 } } }),
    structure: (ctx) => {
      const r = ctx.shape(0)?.length;
      const p = r === undefined ? null : padsOf(ctx, r);
      if (!p) return undefined;
      const n = p.axes.length;
      return { axes: p.axes.filter((_, i) => p.pads[i] !== 0 || p.pads[i + n] !== 0) };
    },
  },
  {
    // X, rois [num_rois, 4], batch_indices -> [num_rois, C, output_height, output_width]
    ...DEFAULT,
    since: 10,
    opType: 'RoiAlign',
    channel: 'unary',
    zeroPreserving: true,
    infer: (ctx) => {
      const x = ctx.shape(0);
      const rois = ctx.shape(1);
      return [t(ctx.dtype(0), [rois?.[0] ?? null, x?.[1] ?? null, ctx.node.attrInt('output_height', 1), ctx.node.attrInt('output_width', 1)])];
    },
  },
  {
    // X [N, C, D...], grid [N, D_out..., r] -> [N, C, D_out...]
    ...DEFAULT,
    since: 16,
    opType: 'GridSample',
    channel: 'unary',
    zeroPreserving: true,
    infer: (ctx) => {
      const x = ctx.shape(0);
      const g = ctx.shape(1);
      if (!x || !g) return [t(ctx.dtype(0))];
      return [t(ctx.dtype(0), [x[0]!, x[1]!, ...g.slice(1, -1)])];
    },
  },
  {
    ...DEFAULT,
    since: 18,
    opType: 'CenterCropPad',
    channel: 'unary',
    infer: (ctx) => {
      const x = ctx.shape(0);
      const s = ctx.ints(1);
      if (!x) return [t(ctx.dtype(0))];
      const axes = normAxes(ctx.node.attrInts('axes') ?? [...Array(x.length).keys()], x.length);
      return [t(ctx.dtype(0), x.map((d, i) => (axes.includes(i) ? (s ? s[axes.indexOf(i)]! : null) : d)))];
    },
  },
];
