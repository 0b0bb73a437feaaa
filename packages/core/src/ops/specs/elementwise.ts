// Broadcasting elementwise ops: arithmetic, comparison, logic, variadic, Where, PRelu.
import type { DType } from '../../ir/dtype.js';
import type { Dim } from '../../ir/types.js';
import { broadcastShapes } from '../../shape/broadcast.js';
import { isIntDType } from '../../shape/known.js';
import { mapElementwise } from '../../shape/kernels.js';
import type { FoldRule, Known, OpContext, OpSpec, ShapeRule } from '../types.js';
import { DEFAULT, t } from './common.js';

function presentInputs(ctx: OpContext, from = 0): number[] {
  const out: number[] = [];
  for (let i = from; i < ctx.inputCount; i++) if (ctx.has(i)) out.push(i);
  return out;
}

/**
 * Input i's dims as numpy broadcasting sees them. Before opset 7, binary ops
 * broadcast only with broadcast=1, B onto A with B's dims matching A's from
 * `axis` (default: the trailing dims); B padded with trailing 1s is the same.
 */
function aligned<T extends Dim>(ctx: OpContext, i: number, dims: T[] | undefined): T[] | undefined {
  if (i !== 1 || !dims || ctx.opset >= 7 || ctx.node.attrInt('broadcast', 0) !== 1) return dims;
  const a = ctx.shape(0);
  const axis = ctx.node.attrInt('axis');
  if (!a || axis === undefined) return dims;
  const pad = a.length - (axis < 0 ? axis + a.length : axis) - dims.length;
  return pad > 0 ? [...dims, ...(new Array<number>(pad).fill(1) as T[])] : dims;
}

/** Output shape = broadcast of all present inputs; dtype from `dtypeInput` or a fixed dtype. */
const broadcastRule =
  (dtype: number | DType = 0): ShapeRule =>
  (ctx) => {
    const ins = presentInputs(ctx);
    const shape = broadcastShapes(...ins.map((i) => aligned(ctx, i, ctx.shape(i))));
    return [t(typeof dtype === 'number' ? ctx.dtype(dtype) : dtype, shape)];
  };

/** Fold when every present input is known and small. */
const foldMap =
  (fn: (v: number[], isInt: boolean) => number, opts: { out?: DType | number; sym?: (v: Dim[]) => Dim } = {}): FoldRule =>
  (ctx) => {
    const ks: Known[] = [];
    for (const i of presentInputs(ctx)) {
      const k = ctx.known(i);
      if (!k) return undefined;
      ks.push({ ...k, dims: aligned(ctx, i, k.dims)! });
    }
    if (ks.length === 0) return undefined;
    const out = opts.out ?? 0;
    const outDtype = typeof out === 'number' ? ks[out]!.dtype : out;
    const isInt = isIntDType(ks[0]!.dtype);
    return [mapElementwise(ks, outDtype, (v) => fn(v, isInt), opts.sym)];
  };

// Symbolic identities keep dims like `batch` alive through shape arithmetic.
const symAdd = ([a, b]: Dim[]): Dim => (b === 0 ? a! : a === 0 ? b! : null);
const symSub = ([a, b]: Dim[]): Dim => (b === 0 ? a! : a !== null && a === b ? 0 : null);
const symMul = ([a, b]: Dim[]): Dim => (b === 1 ? a! : a === 1 ? b! : a === 0 || b === 0 ? 0 : null);
const symDiv = ([a, b]: Dim[]): Dim => (b === 1 ? a! : a !== null && a === b ? 1 : null);
const symEq = ([a, b]: Dim[]): Dim => (a !== null && a === b ? 1 : null);
const symMinMax = (v: Dim[]): Dim => (v.every((x) => x !== null && x === v[0]) ? v[0]! : null);

const divide = ([a, b]: number[], isInt: boolean) => (isInt ? (b === 0 ? 0 : Math.trunc(a! / b!)) : a! / b!);

function arith(opType: string, fn: (v: number[], isInt: boolean) => number, sym: ((v: Dim[]) => Dim) | undefined, zeroPreserving: boolean, zeroAbsorbing = false): OpSpec {
  return { ...DEFAULT, opType, channel: 'elementwise', zeroPreserving, zeroAbsorbing, infer: broadcastRule(0), fold: foldMap(fn, { sym }) };
}

const compare = (opType: string, fn: (a: number, b: number) => boolean, sym?: (v: Dim[]) => Dim): OpSpec => ({
  ...DEFAULT,
  opType,
  channel: 'elementwise',
  infer: broadcastRule('bool'),
  fold: foldMap(([a, b]) => (fn(a!, b!) ? 1 : 0), { out: 'bool', sym }),
});

const logic = (opType: string, fn: (a: boolean, b: boolean) => boolean, zeroAbsorbing = false): OpSpec => ({
  ...DEFAULT,
  opType,
  channel: 'elementwise',
  zeroAbsorbing,
  infer: broadcastRule('bool'),
  fold: foldMap(([a, b]) => (fn(a !== 0, b !== 0) ? 1 : 0), { out: 'bool' }),
});

const variadic = (opType: string, fn: (v: number[]) => number, sym: ((v: Dim[]) => Dim) | undefined, zeroPreserving = true): OpSpec => ({
  ...DEFAULT,
  opType,
  channel: 'elementwise',
  zeroPreserving,
  infer: broadcastRule(0),
  fold: foldMap(fn, { sym }),
});

function mod(a: number, b: number, fmod: boolean, isInt: boolean): number {
  if (b === 0) return isInt ? 0 : NaN;
  const r = a % b;
  if (fmod) return r;
  return r !== 0 && r < 0 !== b < 0 ? r + b : r; // Python-style: sign of the divisor
}

export const ELEMENTWISE_SPECS: OpSpec[] = [
  arith('Add', ([a, b]) => a! + b!, symAdd, true),
  arith('Sub', ([a, b]) => a! - b!, symSub, true),
  arith('Mul', ([a, b]) => a! * b!, symMul, true, true),
  arith('Div', divide, symDiv, false),
  arith('Pow', ([a, b]) => a! ** b!, undefined, false),
  {
    ...DEFAULT,
    opType: 'Mod',
    channel: 'elementwise',
    infer: broadcastRule(0),
    fold: (ctx) => foldMap(([a, b], isInt) => mod(a!, b!, ctx.node.attrInt('fmod', 0) === 1, isInt))(ctx),
  },
  ...['BitShift', 'BitwiseAnd', 'BitwiseOr', 'BitwiseXor'].map((opType): OpSpec => ({ ...DEFAULT, opType, channel: 'elementwise', infer: broadcastRule(0) })),
  compare('Equal', (a, b) => a === b, symEq),
  compare('Less', (a, b) => a < b),
  compare('LessOrEqual', (a, b) => a <= b),
  compare('Greater', (a, b) => a > b),
  compare('GreaterOrEqual', (a, b) => a >= b),
  logic('And', (a, b) => a && b, true),
  logic('Or', (a, b) => a || b),
  logic('Xor', (a, b) => a !== b),
  {
    ...DEFAULT,
    opType: 'Not',
    channel: 'unary',
    infer: (ctx) => [t('bool', ctx.shape(0))],
    fold: (ctx) => {
      const k = ctx.known(0);
      return k && [mapElementwise([k], 'bool', ([x]) => (x ? 0 : 1))];
    },
  },
  { ...DEFAULT, opType: 'BitwiseNot', channel: 'unary', infer: (ctx) => [ctx.type(0)] },
  variadic('Max', (v) => Math.max(...v), symMinMax),
  variadic('Min', (v) => Math.min(...v), symMinMax),
  variadic('Sum', (v) => v.reduce((a, b) => a + b, 0), undefined),
  variadic('Mean', (v) => v.reduce((a, b) => a + b, 0) / v.length, symMinMax),
  {
    ...DEFAULT,
    opType: 'Where',
    channel: 'elementwise',
    zeroPreserving: true,
    infer: broadcastRule(1),
    fold: foldMap(([c, x, y]) => (c ? x! : y!), { out: 1, sym: ([c, x, y]) => (typeof c === 'number' ? (c ? x! : y!) : x === y ? x! : null) }),
  },
  {
    // Slope broadcasts unidirectionally onto X (before opset 7: one slope per channel, shape [C] or [1]).
    ...DEFAULT,
    opType: 'PRelu',
    channel: 'elementwise',
    zeroPreserving: true,
    weights: [{ input: 1, role: 'param' }],
    infer: (ctx) => {
      const x = ctx.shape(0);
      if (x && ctx.shape(1) && ctx.opset >= 7) broadcastShapes(x, ctx.shape(1));
      return [t(ctx.dtype(0), x && [...x])];
    },
  },
];
