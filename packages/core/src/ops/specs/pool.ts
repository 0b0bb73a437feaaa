// Pooling: channel-preserving windows and global reductions over space.
import type { Dim } from '../../ir/types.js';
import type { OpContext, OpSpec } from '../types.js';
import { DEFAULT, many, t } from './common.js';
import { windowAttrs, windowOutDims } from './conv.js';

function poolShape(ctx: OpContext) {
  const x = ctx.shape(0);
  const dtype = ctx.dtype(0);
  if (!x || x.length < 3) return ctx.node.outputs.map((_, i) => t(i === 0 ? dtype : 'int64'));
  const n = x.length - 2;
  const w = windowAttrs(ctx.node, n, undefined);
  const shape: Dim[] = [x[0]!, x[1]!, ...(w ? windowOutDims(x, w) : new Array<Dim>(n).fill(null))];
  // MaxPool's optional second output holds int64 indices.
  return ctx.node.outputs.map((_, i) => t(i === 0 ? dtype : 'int64', [...shape]));
}

function globalPoolShape(ctx: OpContext) {
  const x = ctx.shape(0);
  return [t(ctx.dtype(0), x && x.map((d, i) => (i < 2 ? d : 1)))];
}

export const POOL_SPECS: OpSpec[] = [
  // max/avg/Lp of all-zero windows is zero (MaxPool pads with -inf, so still 0).
  ...many(['MaxPool', 'AveragePool', 'LpPool'], { ...DEFAULT, channel: 'unary', zeroPreserving: true, infer: poolShape }),
  ...many(['GlobalAveragePool', 'GlobalMaxPool', 'GlobalLpPool'], { ...DEFAULT, channel: 'unary', zeroPreserving: true, infer: globalPoolShape }),
  {
    ...DEFAULT,
    opType: 'MaxRoiPool',
    channel: 'unary',
    zeroPreserving: true,
    infer: (ctx) => {
      const x = ctx.shape(0);
      const rois = ctx.shape(1);
      const ps = ctx.node.attrInts('pooled_shape') ?? [null, null];
      return [t(ctx.dtype(0), [rois ? rois[0]! : null, x ? x[1]! : null, ...ps])];
    },
  },
];
