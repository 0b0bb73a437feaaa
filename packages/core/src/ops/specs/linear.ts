// Matrix products: Gemm, MatMul (+ integer/quantized forms) and basic Einsum.
import type { DType } from '../../ir/dtype.js';
import type { Node } from '../../ir/node.js';
import type { Dim } from '../../ir/types.js';
import { broadcastShapes } from '../../shape/broadcast.js';
import { allNum, ShapeConflict, unifyDim } from '../../shape/dims.js';
import { constTensorOf } from '../helpers.js';
import type { OpContext, OpSpec, TensorInfo, WeightRole } from '../types.js';
import { DEFAULT, t } from './common.js';

/** numpy.matmul shape: rank-1 operands are promoted and the promoted axis dropped. */
export function matmulShape(a: readonly Dim[] | undefined, b: readonly Dim[] | undefined): Dim[] | undefined {
  if (!a || !b || a.length === 0 || b.length === 0) return undefined;
  const A = a.length === 1 ? [1, a[0]!] : [...a];
  const B = b.length === 1 ? [b[0]!, 1] : [...b];
  unifyDim(A[A.length - 1]!, B[B.length - 2]!);
  const batch = broadcastShapes(A.slice(0, -2), B.slice(0, -2))!;
  const out: Dim[] = [...batch];
  if (a.length > 1) out.push(A[A.length - 2]!);
  if (b.length > 1) out.push(B[B.length - 1]!);
  return out;
}

const product = (dims: number[]) => dims.reduce((x, y) => x * y, 1);

/** MatMul MACs: prod(batch)·M·N·K = output elements × K. */
function matmulMacs(aIn: number) {
  return (ctx: OpContext) => {
    const a = ctx.shape(aIn);
    const out = ctx.outputShape(0);
    if (!a || !out || !allNum(a) || !allNum(out) || a.length === 0) return undefined;
    return product(out) * a[a.length - 1]!;
  };
}

const matmulRule =
  (aIn: number, bIn: number, dtype: (ctx: OpContext) => DType | undefined) =>
  (ctx: OpContext): (TensorInfo | undefined)[] => [t(dtype(ctx), matmulShape(ctx.shape(aIn), ctx.shape(bIn)))];

/** A constant B [.., K, N]: output channels on its last axis, input channels on the one before. */
function constantRhsWeights(bIn: number, role: WeightRole['role'] = 'weight') {
  return (node: Node): WeightRole[] => {
    const b = constTensorOf(node.input(bIn));
    if (!b || b.dims.length === 0) return [];
    const r = b.dims.length;
    return r === 1 ? [{ input: bIn, role, inAxis: 0 }] : [{ input: bIn, role, outAxis: r - 1, inAxis: r - 2 }];
  };
}

function gemmWeights(node: Node): WeightRole[] {
  const transB = node.attrInt('transB', 0) === 1;
  const roles: WeightRole[] = [{ input: 1, role: 'weight', outAxis: transB ? 0 : 1, inAxis: transB ? 1 : 0 }];
  const c = node.input(2);
  const rank = c ? (constTensorOf(c)?.dims.length ?? c.shape?.length) : undefined;
  if (c) roles.push(rank ? { input: 2, role: 'bias', outAxis: rank - 1, scaleAttr: 'beta' } : { input: 2, role: 'bias', scaleAttr: 'beta' });
  return roles;
}

function gemmShape(ctx: OpContext): TensorInfo | undefined {
  const a = ctx.shape(0);
  const b = ctx.shape(1);
  const ta = ctx.node.attrInt('transA', 0) === 1;
  const tb = ctx.node.attrInt('transB', 0) === 1;
  if (a && a.length !== 2) throw new ShapeConflict(`Gemm A must be 2-D, got rank ${a.length}`);
  if (b && b.length !== 2) throw new ShapeConflict(`Gemm B must be 2-D, got rank ${b.length}`);
  if (a && b) unifyDim(ta ? a[0]! : a[1]!, tb ? b[1]! : b[0]!);
  const m = a ? (ta ? a[1]! : a[0]!) : null;
  const n = b ? (tb ? b[0]! : b[1]!) : null;
  return t(ctx.dtype(0), [m, n]);
}

// --- Einsum (explicit and implicit output, with ellipsis) -------------------

function einsumShape(eq: string, shapes: (readonly Dim[] | undefined)[]): Dim[] | undefined {
  const clean = eq.replace(/\s+/g, '');
  const [lhs, rhs] = clean.split('->') as [string, string | undefined];
  const terms = lhs.split(',');
  if (terms.length !== shapes.length) throw new ShapeConflict(`einsum: ${terms.length} operands in equation, ${shapes.length} inputs`);
  const sizes = new Map<string, Dim>();
  const counts = new Map<string, number>();
  let ellipsis: Dim[] | undefined = [];
  terms.forEach((term, i) => {
    const s = shapes[i];
    const [pre, post] = term.includes('...') ? term.split('...') : [term, undefined];
    if (!s) {
      if (post !== undefined) ellipsis = undefined;
      for (const c of pre! + (post ?? '')) counts.set(c, (counts.get(c) ?? 0) + 1);
      return;
    }
    const ellRank = post === undefined ? 0 : s.length - pre!.length - post.length;
    if (ellRank < 0 || (post === undefined && pre!.length !== s.length)) throw new ShapeConflict(`einsum: term ${term} does not fit rank ${s.length}`);
    if (post !== undefined && ellipsis) ellipsis = broadcastShapes(ellipsis, s.slice(pre!.length, pre!.length + ellRank));
    const letters = [...pre!, ...(post ?? '')];
    const dims = [...s.slice(0, pre!.length), ...s.slice(s.length - (post?.length ?? 0))];
    letters.forEach((c, j) => {
      counts.set(c, (counts.get(c) ?? 0) + 1);
      const prev = sizes.get(c);
      sizes.set(c, prev === undefined ? dims[j]! : prev === 1 ? dims[j]! : dims[j] === 1 ? prev : unifyDim(prev, dims[j]!));
    });
  });
  const outTerm = rhs ?? (clean.includes('...') ? '...' : '') + [...counts].filter(([, n]) => n === 1).map(([c]) => c).sort().join('');
  const out: Dim[] = [];
  const [pre, post] = outTerm.includes('...') ? outTerm.split('...') : [outTerm, undefined];
  for (const c of pre!) out.push(sizes.get(c) ?? null);
  if (post !== undefined) {
    if (!ellipsis) return undefined;
    out.push(...(ellipsis as Dim[]));
    for (const c of post) out.push(sizes.get(c) ?? null);
  }
  return out;
}

export const LINEAR_SPECS: OpSpec[] = [
  {
    ...DEFAULT,
    opType: 'Gemm',
    channel: 'compute',
    channelAxis: 1,
    // A is [M, K], or [K, M] with transA: the consumed channels (K) follow.
    inputChannelAxis: (node) => (node.attrInt('transA', 0) === 1 ? 0 : 1),
    weights: gemmWeights,
    prunable: true,
    infer: (ctx) => [gemmShape(ctx)],
    // M·N·K
    macs: (ctx) => {
      const a = ctx.shape(0);
      const out = ctx.outputShape(0);
      if (!a || !out || !allNum(a) || !allNum(out)) return undefined;
      const k = ctx.node.attrInt('transA', 0) === 1 ? a[0]! : a[1]!;
      return product(out) * k;
    },
  },
  {
    ...DEFAULT,
    opType: 'MatMul',
    channel: 'compute',
    channelAxis: -1,
    weights: constantRhsWeights(1),
    prunable: (node) => constTensorOf(node.input(1)) !== undefined,
    infer: matmulRule(0, 1, (ctx) => ctx.dtype(0)),
    macs: matmulMacs(0),
  },
  {
    ...DEFAULT,
    since: 10,
    opType: 'MatMulInteger',
    channel: 'compute',
    channelAxis: -1,
    weights: constantRhsWeights(1),
    infer: matmulRule(0, 1, () => 'int32'),
    macs: matmulMacs(0),
  },
  {
    // a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point
    ...DEFAULT,
    since: 10,
    opType: 'QLinearMatMul',
    channel: 'compute',
    channelAxis: -1,
    weights: constantRhsWeights(3),
    infer: matmulRule(0, 3, (ctx) => ctx.dtype(7) ?? 'uint8'),
    macs: matmulMacs(0),
  },
  {
    ...DEFAULT,
    since: 12,
    opType: 'Einsum',
    channel: 'opaque',
    dataInputs: 'all',
    infer: (ctx) => {
      const shapes: (Dim[] | undefined)[] = [];
      for (let i = 0; i < ctx.inputCount; i++) shapes.push(ctx.shape(i));
      return [t(ctx.dtype(0), einsumShape(ctx.node.attrString('equation', ''), shapes))];
    },
  },
];
