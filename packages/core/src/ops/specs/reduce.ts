// Reductions over axes: Reduce*, ArgMax/ArgMin, TopK, CumSum.
import type { Dim } from '../../ir/types.js';
import { normAxes, normAxis } from '../../shape/dims.js';
import { reduceKnown } from '../../shape/kernels.js';
import type { FoldRule, OpContext, OpSpec, StructureInfo } from '../types.js';
import { DEFAULT, scalarNum, t } from './common.js';

/** Axes moved from attribute to input: ReduceSum at opset 13, the others at 18. */
function reduceAxes(ctx: OpContext, inputSince: number, rank: number): number[] | null {
  const noop = ctx.node.attrInt('noop_with_empty_axes', 0) === 1;
  let axes: number[] | undefined;
  if (ctx.opset >= inputSince) {
    if (ctx.has(1)) {
      const k = ctx.ints(1);
      if (!k) return null;
      axes = k;
    }
  } else axes = ctx.node.attrInts('axes');
  if (!axes || axes.length === 0) return noop ? [] : [...Array(rank).keys()];
  return normAxes(axes, rank);
}

function reduceShapeRule(inputSince: number) {
  return (ctx: OpContext) => {
    const x = ctx.shape(0);
    const keep = ctx.node.attrInt('keepdims', 1) === 1;
    if (!x) return [t(ctx.dtype(0))];
    const axes = reduceAxes(ctx, inputSince, x.length);
    if (axes === null) return [t(ctx.dtype(0), keep ? x.map(() => null) : undefined)];
    const set = new Set(axes);
    const out: Dim[] = [];
    x.forEach((d, i) => {
      if (!set.has(i)) out.push(d);
      else if (keep) out.push(1);
    });
    return [t(ctx.dtype(0), out)];
  };
}

const FOLDERS: Record<string, [number, (a: number, v: number) => number, ((a: number, n: number) => number)?]> = {
  ReduceSum: [0, (a, v) => a + v],
  ReduceProd: [1, (a, v) => a * v],
  ReduceMax: [-Infinity, Math.max],
  ReduceMin: [Infinity, Math.min],
  ReduceMean: [0, (a, v) => a + v, (a, n) => a / n],
};

function reduceFold(opType: string, inputSince: number): FoldRule | undefined {
  const f = FOLDERS[opType];
  if (!f) return undefined;
  return (ctx) => {
    const k = ctx.known(0);
    if (!k) return undefined;
    const axes = reduceAxes(ctx, inputSince, k.dims.length);
    if (!axes) return undefined;
    return [reduceKnown(k, axes, ctx.node.attrInt('keepdims', 1) === 1, f[0], f[1], f[2])];
  };
}

function reduceStructure(inputSince: number) {
  return (ctx: OpContext): StructureInfo | undefined => {
    const r = ctx.shape(0)?.length;
    const axes = r === undefined ? null : reduceAxes(ctx, inputSince, r);
    return axes ? { axes, keepdims: ctx.node.attrInt('keepdims', 1) === 1 } : undefined;
  };
}

// f(0) = 0 for all but the log-sum forms.
const REDUCE_OPS: [string, boolean][] = [
  ['ReduceMean', true],
  ['ReduceMax', true],
  ['ReduceMin', true],
  ['ReduceProd', true],
  ['ReduceL1', true],
  ['ReduceL2', true],
  ['ReduceSumSquare', true],
  ['ReduceLogSum', false],
  ['ReduceLogSumExp', false],
];

function reduceSpecs(opType: string, inputSince: number, zeroPreserving: boolean): OpSpec[] {
  const base = {
    ...DEFAULT,
    opType,
    channel: 'reduce' as const,
    zeroPreserving,
    params: (opset: number) => ({ slots: { axes: opset < inputSince ? { attr: 'axes' } : { input: 1 } } }),
  };
  return [
    { ...base, until: inputSince - 1, infer: reduceShapeRule(inputSince), fold: reduceFold(opType, inputSince), structure: reduceStructure(inputSince) },
    { ...base, since: inputSince, infer: reduceShapeRule(inputSince), fold: reduceFold(opType, inputSince), structure: reduceStructure(inputSince) },
  ];
}

function argShape(ctx: OpContext) {
  const x = ctx.shape(0);
  if (!x) return [t('int64')];
  const axis = normAxis(ctx.node.attrInt('axis', 0), x.length);
  const keep = ctx.node.attrInt('keepdims', 1) === 1;
  return [t('int64', keep ? x.map((d, i) => (i === axis ? 1 : d)) : x.filter((_, i) => i !== axis))];
}

export const REDUCE_SPECS: OpSpec[] = [
  ...reduceSpecs('ReduceSum', 13, true),
  ...REDUCE_OPS.flatMap(([op, z]) => reduceSpecs(op, 18, z)),
  ...['ArgMax', 'ArgMin'].map(
    (opType): OpSpec => ({
      ...DEFAULT,
      opType,
      channel: 'reduce',
      infer: argShape,
      structure: (ctx) => {
        const r = ctx.shape(0)?.length;
        return r === undefined ? undefined : { axes: [normAxis(ctx.node.attrInt('axis', 0), r)], keepdims: ctx.node.attrInt('keepdims', 1) === 1 };
      },
    }),
  ),
  {
    // k: attribute before opset 10, input 1 after.
    ...DEFAULT,
    opType: 'TopK',
    channel: 'opaque',
    infer: (ctx) => {
      const x = ctx.shape(0);
      if (!x) return [t(ctx.dtype(0)), t('int64')];
      const axis = normAxis(ctx.node.attrInt('axis', -1), x.length);
      const k = ctx.opset < 10 ? ctx.node.attrInt('k') : scalarNum(ctx.known(1));
      const out = x.map((d, i) => (i === axis ? (k ?? null) : d));
      return [t(ctx.dtype(0), out), t('int64', [...out])];
    },
  },
  {
    ...DEFAULT,
    since: 11,
    opType: 'CumSum',
    channel: 'unary',
    crossChannel: true,
    zeroPreserving: true,
    infer: (ctx) => [t(ctx.dtype(0), ctx.shape(0) && [...ctx.shape(0)!])],
    structure: (ctx) => {
      const r = ctx.shape(0)?.length;
      const a = scalarNum(ctx.known(1));
      return r === undefined || a === undefined ? undefined : { axis: normAxis(a, r) };
    },
  },
];
