// Channel-preserving single-input ops: math functions, activations, Clip,
// Softmax family, Identity/Dropout, Cast.
import type { Node } from '../../ir/node.js';
import type { Dim } from '../../ir/types.js';
import { normAxis } from '../../shape/dims.js';
import { castNumber } from '../../shape/known.js';
import { mapElementwise } from '../../shape/kernels.js';
import { castTarget, constTensorOf } from '../helpers.js';
import type { FoldRule, OpSpec } from '../types.js';
import { DEFAULT, foldPass, many, sameAs, t } from './common.js';

const foldUnary =
  (fn: (x: number) => number, sym?: (x: Dim) => Dim): FoldRule =>
  (ctx) => {
    const k = ctx.known(0);
    return k && [mapElementwise([k], k.dtype, ([x]) => fn(x!), sym && (([x]) => sym(x!)))];
  };

const roundHalfEven = (x: number) => {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

/** Unary math ops with f(0) = 0 and a cheap fold. */
const ZERO_PRESERVING_MATH: [string, ((x: number) => number) | undefined][] = [
  ['Neg', (x) => -x],
  ['Abs', Math.abs],
  ['Sqrt', Math.sqrt],
  ['Floor', Math.floor],
  ['Ceil', Math.ceil],
  ['Round', roundHalfEven],
  ['Sign', Math.sign],
  ['Sin', Math.sin],
  ['Tan', Math.tan],
  ['Asin', Math.asin],
  ['Atan', Math.atan],
  ['Sinh', Math.sinh],
  ['Asinh', Math.asinh],
  ['Atanh', Math.atanh],
  ['Tanh', Math.tanh],
  ['Erf', undefined],
];
const OTHER_MATH: [string, ((x: number) => number) | undefined][] = [
  ['Exp', Math.exp],
  ['Log', Math.log],
  ['Reciprocal', (x) => 1 / x],
  ['Cos', Math.cos],
  ['Cosh', Math.cosh],
  ['Acos', Math.acos],
  ['Acosh', Math.acosh],
];

const math = (zeroPreserving: boolean) => ([opType, fn]: [string, ((x: number) => number) | undefined]): OpSpec => ({
  ...DEFAULT,
  opType,
  channel: 'unary',
  zeroPreserving,
  infer: sameAs(0),
  // Neg/Abs keep a symbol's meaning only for Abs of a (non-negative) dim.
  fold: fn && foldUnary(fn, opType === 'Abs' ? (x) => x : undefined),
});

/** Activations: f(0) = 0 for all but the listed sigmoid-like ones. */
const ACTIVATIONS_ZERO = ['Relu', 'LeakyRelu', 'Elu', 'Selu', 'Celu', 'ThresholdedRelu', 'Shrink', 'Softsign', 'Gelu', 'Mish', 'HardSwish', 'Swish'];
const ACTIVATIONS_NONZERO = ['Sigmoid', 'HardSigmoid', 'Softplus'];

/** Clip bounds: attributes before opset 11, optional inputs after. */
function clipBounds(node: Node): [number, number] | undefined {
  if (node.attributes.has('min') || node.attributes.has('max') || node.inputs.length <= 1) {
    return [node.attrFloat('min', -Infinity), node.attrFloat('max', Infinity)];
  }
  const bound = (i: number, fallback: number) => {
    if (!node.input(i)) return fallback;
    const c = constTensorOf(node.input(i));
    return c && c.size === 1 ? Number(c.values[0]) : undefined;
  };
  const lo = bound(1, -Infinity);
  const hi = bound(2, Infinity);
  return lo === undefined || hi === undefined ? undefined : [lo, hi];
}

const softmaxAxis = (legacyDefault: number) => (ctx: Parameters<NonNullable<OpSpec['structure']>>[0]) => {
  const r = ctx.shape(0)?.length;
  return r === undefined ? undefined : { axis: normAxis(ctx.node.attrInt('axis', legacyDefault), r) };
};


const distributions = (spec: OpSpec): OpSpec => (spec.opType === 'LogSoftmax' ? spec : { ...spec, distribution: true });

export const UNARY_SPECS: OpSpec[] = [
  ...ZERO_PRESERVING_MATH.map(math(true)),
  ...OTHER_MATH.map(math(false)),
  ...many(['IsNaN', 'IsInf'], { ...DEFAULT, channel: 'unary', infer: (ctx) => [t('bool', ctx.shape(0) && [...ctx.shape(0)!])] }),
  ...many(ACTIVATIONS_ZERO, { ...DEFAULT, channel: 'unary', zeroPreserving: true, infer: sameAs(0) }),
  ...many(ACTIVATIONS_NONZERO, { ...DEFAULT, channel: 'unary', infer: sameAs(0) }),
  {
    ...DEFAULT,
    opType: 'Clip',
    channel: 'unary',
    zeroPreserving: (node) => {
      const b = clipBounds(node);
      return !!b && b[0] <= 0 && 0 <= b[1];
    },
    infer: sameAs(0),
    fold: (ctx) => {
      const b = clipBounds(ctx.node);
      return b && foldUnary((x) => Math.min(Math.max(x, b[0]), b[1]))(ctx);
    },
  },
  // Softmax before opset 13 flattens to 2-D at `axis` (default 1); from 13 it is per-axis (default -1).
  // Softmax and Hardmax outputs are distributions along that axis (LogSoftmax's are not).
  ...many(['Softmax', 'LogSoftmax', 'Hardmax'], { ...DEFAULT, until: 12, channel: 'unary', crossChannel: true, infer: sameAs(0), structure: softmaxAxis(1) }).map(distributions),
  ...many(['Softmax', 'LogSoftmax', 'Hardmax'], { ...DEFAULT, since: 13, channel: 'unary', crossChannel: true, infer: sameAs(0), structure: softmaxAxis(-1) }).map(distributions),
  { ...DEFAULT, opType: 'Identity', channel: 'unary', identity: true, zeroPreserving: true, infer: sameAs(0), fold: foldPass },
  {
    ...DEFAULT,
    opType: 'Dropout',
    channel: 'unary',
    // Inference: output 0 is the input (the mask output is all true).
    identity: true,
    zeroPreserving: true,
    infer: (ctx) => [t(ctx.dtype(0), ctx.shape(0) && [...ctx.shape(0)!]), t('bool', ctx.shape(0) && [...ctx.shape(0)!])],
    fold: foldPass,
  },
  {
    ...DEFAULT,
    opType: 'Cast',
    channel: 'unary',
    zeroPreserving: true,
    infer: (ctx) => [t(castTarget(ctx.node), ctx.shape(0) && [...ctx.shape(0)!])],
    fold: (ctx) => {
      const k = ctx.known(0);
      const to = castTarget(ctx.node);
      // Symbolic dims survive numeric casts (Shape -> Cast(float) -> Cast(int64) round trips).
      return k && to ? [mapElementwise([k], to, ([x]) => x!, ([x]) => (to === 'bool' ? null : x!))] : undefined;
    },
  },
  {
    ...DEFAULT,
    opType: 'CastLike',
    channel: 'unary',
    zeroPreserving: true,
    infer: (ctx) => [t(ctx.dtype(1), ctx.shape(0) && [...ctx.shape(0)!])],
    fold: (ctx) => {
      const k = ctx.known(0);
      const to = ctx.dtype(1);
      return k && to ? [mapElementwise([k], to, ([x]) => castNumber(x!, to), ([x]) => (to === 'bool' ? null : x!))] : undefined;
    },
  },
];
