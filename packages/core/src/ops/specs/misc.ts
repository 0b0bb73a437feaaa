// Data-dependent and sequence-model ops, plus com.microsoft activations.
import type { Dim } from '../../ir/types.js';
import type { OpContext, OpSpec } from '../types.js';
import { DEFAULT, many, sameAs, t } from './common.js';

/** RNN/GRU/LSTM: Y [seq, dirs, batch, hidden] (layout 0) or [batch, seq, dirs, hidden] (layout 1). */
function recurrentShape(ctx: OpContext) {
  const x = ctx.shape(0);
  const hidden = ctx.node.attrInt('hidden_size') ?? null;
  const dirs = ctx.node.attrString('direction', 'forward') === 'bidirectional' ? 2 : 1;
  const layout = ctx.node.attrInt('layout', 0);
  const [seq, batch]: Dim[] = x ? (layout === 0 ? [x[0]!, x[1]!] : [x[1]!, x[0]!]) : [null, null];
  const y = layout === 0 ? [seq, dirs, batch, hidden] : [batch, seq, dirs, hidden];
  const state = layout === 0 ? [dirs, batch, hidden] : [batch, dirs, hidden];
  return ctx.node.outputs.map((_, i) => t(ctx.dtype(0), i === 0 ? y : [...state]));
}

export const MISC_SPECS: OpSpec[] = [
  { ...DEFAULT, since: 9, opType: 'NonZero', channel: 'opaque', infer: (ctx) => [t('int64', [ctx.shape(0)?.length ?? null, null])] },
  { ...DEFAULT, since: 14, opType: 'Trilu', channel: 'opaque', zeroPreserving: true, infer: sameAs(0) },
  { ...DEFAULT, opType: 'ReverseSequence', channel: 'opaque', zeroPreserving: true, infer: sameAs(0) },
  { ...DEFAULT, opType: 'NonMaxSuppression', channel: 'opaque', infer: () => [t('int64', [null, 3])] },
  {
    ...DEFAULT,
    opType: 'Unique',
    channel: 'opaque',
    infer: (ctx) => {
      const axis = ctx.node.attrInt('axis');
      const x = ctx.shape(0);
      const y = axis === undefined || !x ? [null] : x.map((d, i) => (i === (axis < 0 ? axis + x.length : axis) ? null : d));
      return [t(ctx.dtype(0), y), t('int64', [null]), t('int64', [null]), t('int64', [null])];
    },
  },
  {
    ...DEFAULT,
    opType: 'Det',
    channel: 'opaque',
    infer: (ctx) => [t(ctx.dtype(0), ctx.shape(0)?.slice(0, -2))],
  },
  ...many(['RNN', 'GRU', 'LSTM'], {
    ...DEFAULT,
    channel: 'opaque',
    weights: [
      { input: 1, role: 'weight' },
      { input: 2, role: 'weight' },
      { input: 3, role: 'bias' },
    ],
    infer: recurrentShape,
  }),
  ...many(['Gelu', 'QuickGelu'], { domain: 'com.microsoft', since: 1, channel: 'unary', zeroPreserving: true, infer: sameAs(0) }),
  // Gelu(x + bias): the bias broadcasts onto x.
  ...many(['FastGelu', 'BiasGelu'], { domain: 'com.microsoft', since: 1, channel: 'elementwise', zeroPreserving: true, infer: sameAs(0) }),
];
