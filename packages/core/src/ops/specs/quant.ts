// Quantize/dequantize: shape of X, dtype from the zero point / scale (or output_dtype).
import { dtypeFromCode, type DType } from '../../ir/dtype.js';
import type { Node } from '../../ir/node.js';
import type { OpContext, OpSpec } from '../types.js';
import { DEFAULT, t } from './common.js';

/** Per-axis scale/zero point follow X's `axis` (default 1); per-tensor ones are scalars. */
const qdqWeights = [
  { input: 1, role: 'param' as const, outAxis: 0 },
  { input: 2, role: 'param' as const, outAxis: 0 },
];
const qdqAxis = (node: Node) => node.attrInt('axis', 1);

const outDtype = (ctx: OpContext, fallback: DType | undefined) => {
  const code = ctx.node.attrInt('output_dtype', 0);
  return code ? dtypeFromCode(code) : fallback;
};

const qdq = (domain: string): OpSpec[] => [
  {
    domain,
    since: domain ? 1 : 10,
    opType: 'QuantizeLinear',
    channel: 'unary',
    channelAxis: qdqAxis,
    weights: qdqWeights,
    infer: (ctx) => [t(outDtype(ctx, ctx.dtype(2) ?? 'uint8'), ctx.shape(0) && [...ctx.shape(0)!])],
  },
  {
    domain,
    since: domain ? 1 : 10,
    opType: 'DequantizeLinear',
    channel: 'unary',
    channelAxis: qdqAxis,
    weights: qdqWeights,
    infer: (ctx) => [t(outDtype(ctx, ctx.dtype(1) ?? 'float32'), ctx.shape(0) && [...ctx.shape(0)!])],
  },
];

export const QUANT_SPECS: OpSpec[] = [
  ...qdq(''),
  ...qdq('com.microsoft'),
  {
    ...DEFAULT,
    since: 11,
    opType: 'DynamicQuantizeLinear',
    channel: 'unary',
    infer: (ctx) => [t('uint8', ctx.shape(0) && [...ctx.shape(0)!]), t('float32', []), t('uint8', [])],
  },
];
