// Ops that read only shapes (Shape, Size) or produce values from attributes
// and scalars (Constant, ConstantOfShape, Range, random generators).
import { dtypeFromCode } from '../../ir/dtype.js';
import type { Dim } from '../../ir/types.js';
import { dimProduct, isNum, normAxis } from '../../shape/dims.js';
import { castNumber, elements } from '../../shape/known.js';
import { constantNodeTensor } from '../helpers.js';
import type { OpContext, OpSpec } from '../types.js';
import { DEFAULT, many, scalarNum, t } from './common.js';

/** Shape's [start, end) window (opset 15), clamped like Slice. */
function shapeWindow(ctx: OpContext, rank: number): [number, number] {
  const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + rank : v, 0), rank);
  const start = clamp(ctx.node.attrInt('start', 0));
  const end = clamp(ctx.node.attrInt('end', rank));
  return [start, Math.max(start, end)];
}

function constantOfShapeValue(ctx: OpContext) {
  const v = ctx.node.attrTensor('value');
  return { dtype: v?.dtype ?? 'float32', value: v ? Number(v.values[0] ?? 0) : 0 };
}

function rangeCount(ctx: OpContext): number | undefined {
  const [s, l, d] = [scalarNum(ctx.known(0)), scalarNum(ctx.known(1)), scalarNum(ctx.known(2))];
  if (s === undefined || l === undefined || d === undefined || d === 0) return undefined;
  return Math.max(Math.ceil((l - s) / d), 0);
}

const likeInput = (ctx: OpContext) => {
  const dt = ctx.node.attrInt('dtype');
  return [t(dt !== undefined ? dtypeFromCode(dt) : ctx.dtype(0), ctx.shape(0) && [...ctx.shape(0)!])];
};

export const GENERATOR_SPECS: OpSpec[] = [
  {
    ...DEFAULT,
    opType: 'Shape',
    channel: 'shape',
    infer: (ctx) => {
      const x = ctx.shape(0);
      if (!x) return [t('int64', [null])];
      const [s, e] = shapeWindow(ctx, x.length);
      return [t('int64', [e - s])];
    },
    fold: (ctx) => {
      const x = ctx.shape(0);
      if (!x) return undefined;
      const [s, e] = shapeWindow(ctx, x.length);
      return [{ dtype: 'int64', dims: [e - s], data: x.slice(s, e) }];
    },
  },
  {
    ...DEFAULT,
    opType: 'Size',
    channel: 'shape',
    infer: () => [t('int64', [])],
    fold: (ctx) => {
      const x = ctx.shape(0);
      return x && [{ dtype: 'int64', dims: [], data: [dimProduct(x)] }];
    },
  },
  {
    ...DEFAULT,
    opType: 'Constant',
    channel: 'source',
    infer: (ctx) => {
      const c = constantNodeTensor(ctx.node);
      return [c && { dtype: c.dtype, shape: [...c.dims] }];
    },
    fold: (ctx) => {
      const c = constantNodeTensor(ctx.node);
      return c && [ctx.toKnown(c)];
    },
  },
  {
    ...DEFAULT,
    since: 9,
    opType: 'ConstantOfShape',
    channel: 'source',
    infer: (ctx) => {
      const k = ctx.known(0);
      const len = ctx.shape(0)?.[0];
      const shape = k ? [...k.data] : isNum(len) ? new Array<Dim>(len).fill(null) : undefined;
      return [t(constantOfShapeValue(ctx).dtype, shape)];
    },
    fold: (ctx) => {
      const dims = ctx.ints(0);
      if (!dims || elements(dims) > ctx.maxElements) return undefined;
      const { dtype, value } = constantOfShapeValue(ctx);
      return [{ dtype, dims, data: new Array<Dim>(elements(dims)).fill(value) }];
    },
  },
  {
    ...DEFAULT,
    since: 11,
    opType: 'Range',
    channel: 'source',
    infer: (ctx) => {
      // arange(n) over a symbolic n has length n.
      const limit = ctx.known(1)?.data[0];
      const sym = typeof limit === 'string' && scalarNum(ctx.known(0)) === 0 && scalarNum(ctx.known(2)) === 1 ? limit : null;
      return [t(ctx.dtype(0), [rangeCount(ctx) ?? sym])];
    },
    fold: (ctx) => {
      const n = rangeCount(ctx);
      const start = scalarNum(ctx.known(0));
      const delta = scalarNum(ctx.known(2));
      const dtype = ctx.dtype(0);
      if (n === undefined || n > ctx.maxElements || start === undefined || delta === undefined || !dtype) return undefined;
      return [{ dtype, dims: [n], data: Array.from({ length: n }, (_, i) => castNumber(start + i * delta, dtype)) }];
    },
  },
  { ...DEFAULT, opType: 'EyeLike', channel: 'shape', infer: likeInput },
  ...many(['RandomNormalLike', 'RandomUniformLike'], { ...DEFAULT, channel: 'shape', infer: likeInput }),
  ...many(['RandomNormal', 'RandomUniform'], {
    ...DEFAULT,
    channel: 'source',
    infer: (ctx) => [t(dtypeFromCode(ctx.node.attrInt('dtype', 1)), ctx.node.attrInts('shape'))],
  }),
  { ...DEFAULT, since: 15, opType: 'Bernoulli', channel: 'opaque', infer: likeInput },
  {
    ...DEFAULT,
    opType: 'Multinomial',
    channel: 'opaque',
    infer: (ctx) => [t(dtypeFromCode(ctx.node.attrInt('dtype', 6)), [ctx.shape(0)?.[0] ?? null, ctx.node.attrInt('sample_size', 1)])],
  },
  {
    // indices, depth, values: depth is inserted at `axis`.
    ...DEFAULT,
    since: 9,
    opType: 'OneHot',
    channel: 'opaque',
    infer: (ctx) => {
      const idx = ctx.shape(0);
      if (!idx) return [t(ctx.dtype(2))];
      const axis = normAxis(ctx.node.attrInt('axis', -1), idx.length + 1);
      const depth = scalarNum(ctx.known(1));
      const out: Dim[] = [...idx];
      out.splice(axis, 0, depth ?? null);
      return [t(ctx.dtype(2), out)];
    },
  },
];
