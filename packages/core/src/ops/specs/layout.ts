// Data-movement ops that change the shape but not the values.
import type { Dim } from '../../ir/types.js';
import { broadcastIndex, broadcastShapes } from '../../shape/broadcast.js';
import { dimProduct, isNum, mulDim, normAxes, reshapeTarget, ShapeConflict } from '../../shape/dims.js';
import { elements } from '../../shape/known.js';
import { transposeKnown } from '../../shape/kernels.js';
import type { FoldRule, OpContext, OpSpec, ParamSlots, StructureInfo } from '../types.js';
import { DEFAULT, intsFrom, t } from './common.js';

/** Fold that keeps input 0's elements and gives them the output's inferred dims. */
const foldRedim: FoldRule = (ctx) => {
  const k = ctx.known(0);
  const s = ctx.outputShape(0);
  if (!k || !s || !s.every(isNum)) return undefined;
  return [{ dtype: k.dtype, dims: s as number[], data: k.data }];
};

/** Reshape's target: the `shape` attribute before opset 5, input 1 after. Elements may be symbolic. */
function reshapeShape(ctx: OpContext) {
  const x = ctx.shape(0);
  const allowZero = ctx.node.attrInt('allowzero', 0) === 1;
  let target: Dim[] | undefined;
  if (ctx.opset < 5) target = ctx.node.attrInts('shape');
  else {
    const k = ctx.known(1);
    if (k) target = k.data;
    else {
      const len = ctx.shape(1)?.[0];
      return [t(ctx.dtype(0), isNum(len) ? new Array<Dim>(len).fill(null) : undefined)];
    }
  }
  if (!target) return [t(ctx.dtype(0))];
  if (x && isNum(dimProduct(x)) && target.every(isNum) && !target.includes(-1)) {
    const want = dimProduct(reshapeTarget(x, target, allowZero));
    if (want !== dimProduct(x)) throw new ShapeConflict(`cannot reshape ${dimProduct(x)} elements into [${target.join(',')}]`);
  }
  return [t(ctx.dtype(0), reshapeTarget(x, target, allowZero))];
}

function flattenShape(ctx: OpContext) {
  const x = ctx.shape(0);
  if (!x) return [t(ctx.dtype(0))];
  const a = ctx.node.attrInt('axis', 1);
  const axis = a < 0 ? a + x.length : a;
  if (axis < 0 || axis > x.length) throw new ShapeConflict(`flatten axis ${a} out of range for rank ${x.length}`);
  return [t(ctx.dtype(0), [dimProduct(x.slice(0, axis)), dimProduct(x.slice(axis))])];
}

function permOf(ctx: OpContext): number[] | undefined {
  const r = ctx.shape(0)?.length ?? ctx.known(0)?.dims.length;
  const perm = ctx.node.attrInts('perm');
  if (perm) return normAxes(perm, perm.length, 'perm');
  return r === undefined ? undefined : [...Array(r).keys()].reverse();
}

/** Squeeze/Unsqueeze axes: attribute before opset 13, input 1 from 13. */
const squeezeAxes = (ctx: OpContext) => intsFrom(ctx, 'axes', 1, 13);

function squeezeShape(ctx: OpContext) {
  const x = ctx.shape(0);
  const axes = squeezeAxes(ctx);
  if (!x || axes === null) return [t(ctx.dtype(0))];
  if (axes === undefined) {
    // No axes: drop every 1; unknowable if a dim might be 1.
    if (!x.every(isNum)) return [t(ctx.dtype(0))];
    return [t(ctx.dtype(0), x.filter((d) => d !== 1))];
  }
  const drop = new Set(normAxes(axes, x.length));
  for (const a of drop) if (isNum(x[a]) && x[a] !== 1) throw new ShapeConflict(`cannot squeeze axis ${a} of size ${x[a]}`);
  return [t(ctx.dtype(0), x.filter((_, i) => !drop.has(i)))];
}

function unsqueezeShape(ctx: OpContext) {
  const x = ctx.shape(0) ?? ctx.known(0)?.dims;
  const axes = squeezeAxes(ctx);
  if (!x || !axes) return [t(ctx.dtype(0))];
  const rank = x.length + axes.length;
  const ins = new Set(normAxes(axes, rank));
  const out: Dim[] = [];
  let j = 0;
  for (let i = 0; i < rank; i++) out.push(ins.has(i) ? 1 : x[j++]!);
  return [t(ctx.dtype(0), out)];
}

function expandShape(ctx: OpContext) {
  const x = ctx.shape(0);
  const k = ctx.known(1);
  if (k) return [t(ctx.dtype(0), broadcastShapes(x, k.data))];
  const len = ctx.shape(1)?.[0];
  return [t(ctx.dtype(0), x && isNum(len) ? new Array<Dim>(Math.max(len, x.length)).fill(null) : undefined)];
}

const foldExpand: FoldRule = (ctx) => {
  const k = ctx.known(0);
  const s = ctx.outputShape(0);
  if (!k || !s || !s.every(isNum)) return undefined;
  const map = broadcastIndex(s as number[], k.dims);
  return [{ dtype: k.dtype, dims: s as number[], data: Array.from(map, (i) => k.data[i]!) }];
};

function tileShape(ctx: OpContext) {
  const x = ctx.shape(0);
  const reps = ctx.ints(1);
  if (!x) return [t(ctx.dtype(0))];
  if (!reps) return [t(ctx.dtype(0), x.map(() => null))];
  if (reps.length !== x.length) throw new ShapeConflict(`tile repeats has ${reps.length} entries for rank ${x.length}`);
  return [t(ctx.dtype(0), x.map((d, i) => mulDim(d, reps[i]!)))];
}

const foldTile: FoldRule = (ctx) => {
  const k = ctx.known(0);
  const s = ctx.outputShape(0);
  if (!k || !s || !s.every(isNum)) return undefined;
  const dims = s as number[];
  const data: Dim[] = new Array(elements(dims));
  const counter = new Array<number>(dims.length).fill(0);
  for (let i = 0; i < data.length; i++) {
    let src = 0;
    for (let a = 0; a < dims.length; a++) src = src * k.dims[a]! + (counter[a]! % k.dims[a]!);
    data[i] = k.data[src]!;
    for (let a = dims.length - 1; a >= 0; a--) {
      if (++counter[a]! < dims[a]!) break;
      counter[a] = 0;
    }
  }
  return [{ dtype: k.dtype, dims, data }];
};

function spaceDepth(toSpace: boolean) {
  return (ctx: OpContext) => {
    const x = ctx.shape(0);
    const b = ctx.node.attrInt('blocksize', 1);
    if (!x || x.length !== 4) return [t(ctx.dtype(0), x && x.map(() => null))];
    const [n, c, h, w] = x;
    const div = (d: Dim, k: number): Dim => (isNum(d) ? d / k : null);
    return [
      t(ctx.dtype(0), toSpace ? [n!, div(c!, b * b), mulDim(h!, b), mulDim(w!, b)] : [n!, mulDim(c!, b * b), div(h!, b), div(w!, b)]),
    ];
  };
}

const squeezeParams = (opset: number): ParamSlots => ({ slots: { axes: opset < 13 ? { attr: 'axes' } : { input: 1 } } });

const axesStructure = (ctx: OpContext): StructureInfo | undefined => {
  const axes = squeezeAxes(ctx);
  return axes ? { axes } : undefined;
};

export const LAYOUT_SPECS: OpSpec[] = [
  {
    ...DEFAULT,
    opType: 'Reshape',
    channel: 'reshape',
    zeroPreserving: true,
    infer: reshapeShape,
    fold: foldRedim,
    params: (opset) => ({ slots: { shape: opset < 5 ? { attr: 'shape' } : { input: 1 } }, zeroCopies: (node) => !node.attrInt('allowzero', 0) }),
  },
  {
    ...DEFAULT,
    opType: 'Flatten',
    channel: 'flatten',
    zeroPreserving: true,
    infer: flattenShape,
    fold: foldRedim,
    structure: (ctx) => {
      const r = ctx.shape(0)?.length;
      const a = ctx.node.attrInt('axis', 1);
      return r === undefined ? undefined : { axis: a < 0 ? a + r : a };
    },
  },
  {
    ...DEFAULT,
    opType: 'Transpose',
    channel: 'transpose',
    zeroPreserving: true,
    infer: (ctx) => {
      const x = ctx.shape(0);
      const perm = permOf(ctx);
      if (x && perm && perm.length !== x.length) throw new ShapeConflict(`perm has ${perm.length} entries for rank ${x.length}`);
      return [t(ctx.dtype(0), x && perm && perm.map((p) => x[p]!))];
    },
    fold: (ctx) => {
      const k = ctx.known(0);
      const perm = permOf(ctx);
      return k && perm ? [transposeKnown(k, perm)] : undefined;
    },
    structure: (ctx) => {
      const perm = permOf(ctx);
      return perm && { perm };
    },
  },
  { ...DEFAULT, opType: 'Squeeze', channel: 'reshape', zeroPreserving: true, infer: squeezeShape, fold: foldRedim, structure: axesStructure, params: squeezeParams },
  { ...DEFAULT, opType: 'Unsqueeze', channel: 'reshape', zeroPreserving: true, infer: unsqueezeShape, fold: foldRedim, structure: axesStructure, params: squeezeParams },
  {
    ...DEFAULT,
    opType: 'Expand',
    since: 8,
    channel: 'elementwise',
    dataInputs: [0],
    zeroPreserving: true,
    infer: expandShape,
    fold: foldExpand,
    params: () => ({ slots: { shape: { input: 1 } } }),
  },
  { ...DEFAULT, opType: 'Tile', since: 6, channel: 'opaque', zeroPreserving: true, infer: tileShape, fold: foldTile },
  { ...DEFAULT, opType: 'DepthToSpace', channel: 'opaque', zeroPreserving: true, infer: spaceDepth(true) },
  { ...DEFAULT, opType: 'SpaceToDepth', channel: 'opaque', zeroPreserving: true, infer: spaceDepth(false) },
];
