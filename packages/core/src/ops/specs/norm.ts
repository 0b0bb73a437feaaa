// Normalizations: per-channel params listed as weights; channel 'unary'.
import { dtypeFromCode } from '../../ir/dtype.js';
import type { Node } from '../../ir/node.js';
import type { Dim } from '../../ir/types.js';
import { normAxis } from '../../shape/dims.js';
import type { OpContext, OpSpec, StructureInfo } from '../types.js';
import { DEFAULT, many, sameAs, t } from './common.js';

/** Norm over axes [axis, rank): LayerNorm/RMSNorm/LpNorm. */
const trailingAxis = (fallback: number) => (ctx: OpContext): StructureInfo | undefined => {
  const r = ctx.shape(0)?.length;
  return r === undefined ? undefined : { axis: normAxis(ctx.node.attrInt('axis', fallback), r) };
};

/** LayerNorm scale/bias cover X.shape[axis:]; their last axis follows X's last axis. */
const layerNormWeights = (node: Node) => {
  const rank = (i: number) => node.input(i)?.shape?.length ?? 1;
  return [
    { input: 1, role: 'scale' as const, outAxis: rank(1) - 1 },
    { input: 2, role: 'bias' as const, outAxis: rank(2) - 1 },
  ];
};

function layerNormShape(ctx: OpContext) {
  const x = ctx.shape(0);
  const dtype = ctx.dtype(0);
  const stash = dtypeFromCode(ctx.node.attrInt('stash_type', 1)) ?? 'float32';
  if (!x) return [t(dtype), t(stash), t(stash)];
  const axis = normAxis(ctx.node.attrInt('axis', -1), x.length);
  const stats: Dim[] = x.map((d, i) => (i < axis ? d : 1));
  return [t(dtype, [...x]), t(stash, stats), t(stash, [...stats])];
}

/** BatchNormalization training outputs (running/saved mean and var) are [C]. */
function batchNormShape(ctx: OpContext) {
  const x = ctx.shape(0);
  const c: Dim[] = [x && x.length > 1 ? x[1]! : (ctx.shape(1)?.[0] ?? null)];
  const pdt = ctx.dtype(3) ?? ctx.dtype(0);
  return ctx.node.outputs.map((_, i) => (i === 0 ? t(ctx.dtype(0), x && [...x]) : t(pdt, [...c])));
}

const PER_CHANNEL = (roles: [number, 'scale' | 'bias' | 'mean' | 'var'][]) => roles.map(([input, role]) => ({ input, role, outAxis: 0 }));

export const NORM_SPECS: OpSpec[] = [
  {
    ...DEFAULT,
    opType: 'BatchNormalization',
    channel: 'unary',
    weights: PER_CHANNEL([
      [1, 'scale'],
      [2, 'bias'],
      [3, 'mean'],
      [4, 'var'],
    ]),
    infer: batchNormShape,
  },
  {
    ...DEFAULT,
    opType: 'InstanceNormalization',
    channel: 'unary',
    weights: PER_CHANNEL([
      [1, 'scale'],
      [2, 'bias'],
    ]),
    infer: sameAs(0),
  },
  {
    ...DEFAULT,
    since: 17,
    opType: 'LayerNormalization',
    channel: 'unary',
    crossChannel: true,
    channelAxis: -1,
    weights: layerNormWeights,
    infer: layerNormShape,
    structure: trailingAxis(-1),
  },
  {
    ...DEFAULT,
    since: 23,
    opType: 'RMSNormalization',
    channel: 'unary',
    crossChannel: true,
    channelAxis: -1,
    weights: (node) => layerNormWeights(node).slice(0, 1),
    infer: sameAs(0),
    structure: trailingAxis(-1),
  },
  {
    // Opsets 18-20 take scale/bias per group, which do not map to channels.
    ...DEFAULT,
    since: 18,
    until: 20,
    opType: 'GroupNormalization',
    channel: 'unary',
    crossChannel: true,
    weights: [
      { input: 1, role: 'scale' },
      { input: 2, role: 'bias' },
    ],
    infer: sameAs(0),
    structure: () => ({ axis: 1 }),
  },
  {
    ...DEFAULT,
    since: 21,
    opType: 'GroupNormalization',
    channel: 'unary',
    crossChannel: true,
    weights: PER_CHANNEL([
      [1, 'scale'],
      [2, 'bias'],
    ]),
    infer: sameAs(0),
    structure: () => ({ axis: 1 }),
  },
  // LRN normalizes across neighbouring channels; f(0) = 0 / bias^beta = 0.
  { ...DEFAULT, opType: 'LRN', channel: 'unary', crossChannel: true, zeroPreserving: true, infer: sameAs(0), structure: () => ({ axis: 1 }) },
  { ...DEFAULT, opType: 'LpNormalization', channel: 'unary', crossChannel: true, zeroPreserving: true, infer: sameAs(0), structure: trailingAxis(-1) },
  // Default axes [0,2,3]: statistics per channel, so channels stay independent.
  { ...DEFAULT, opType: 'MeanVarianceNormalization', channel: 'unary', zeroPreserving: true, infer: sameAs(0) },
  ...many(['SkipLayerNormalization', 'SkipSimplifiedLayerNormalization'], {
    domain: 'com.microsoft',
    since: 1,
    channel: 'opaque',
    dataInputs: [0, 1],
    infer: (ctx) => ctx.node.outputs.map((_, i) => (i === 0 || i === 3 ? t(ctx.dtype(0), ctx.shape(0) && [...ctx.shape(0)!]) : undefined)),
  }),
];
