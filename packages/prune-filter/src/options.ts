import { z } from 'zod';

const regex = z.string().superRefine((s, ctx) => {
  try {
    new RegExp(s);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: `not a regular expression (${(e as Error).message})` });
  }
});

/** Options shared by the structured strategies: how the dependency graph is built. */
export const structureSchema = {
  /** Grouped convs: prune whole groups, or the same positions in every group (divisible). */
  groupedConv: z.enum(['groups', 'divisible']).default('groups'),
  /** Ops mixing the channel axis (LayerNorm over channels…): block (exact) or prune (approximate). */
  crossChannel: z.enum(['block', 'prune']).default('block'),
  /** Static sizes for dynamic inputs. */
  inputShapes: z.record(z.string(), z.array(z.number().int().positive())).optional(),
  /** Groups whose id or layer names match stay whole. */
  exclude: regex.optional(),
};

export const filterSchema = z
  .object({
    /** Fraction of each group's channels (scope layer) or of all channels (scope global) to prune, in [0, 1). */
    amount: z.number().min(0).lt(1).optional(),
    /**
     * Per-group amounts {layerNameOrRegex: amount}: a group takes the first key
     * equal to its id or one of its layer names, else the first regex key
     * matching one of them; groups not in the table get `amount`, or stay whole.
     */
    amountTable: z.record(z.string(), z.number().min(0, 'must be in [0, 1)').lt(1, 'must be in [0, 1)')).optional(),
    /** Prune until MACs are this fraction of the original (within ±0.02 where reachable), in (0, 1]. */
    targetMacs: z.number().gt(0).max(1).optional(),
    /** Prune until parameters are this fraction of the original (within ±0.02 where reachable), in (0, 1]. */
    targetParams: z.number().gt(0).max(1).optional(),
    /** layer: the same amount in every group; global: one ranking across groups (default: layer for amount, global for targets). */
    scope: z.enum(['layer', 'global']).optional(),
    /** Kept channel counts stay multiples of this (default 8); every group keeps at least this many. */
    roundTo: z.number().int().min(1).max(1024).default(8),
    /** At most this fraction of any group is pruned (default 1: only round-to limits it). */
    maxLayerAmount: z.number().gt(0).max(1).default(1),
    /** Calibration samples for data-aware criteria. */
    calibSamples: z.number().int().min(1).optional(),
    ...structureSchema,
  })
  .strict()
  .superRefine((o, ctx) => {
    if (o.amountTable !== undefined) {
      for (const k of Object.keys(o.amountTable))
        try {
          new RegExp(k);
        } catch (e) {
          ctx.addIssue({ code: 'custom', path: ['amountTable'], message: `key ${JSON.stringify(k)} is neither a layer name nor a regular expression (${(e as Error).message})` });
        }
      if (o.targetMacs !== undefined || o.targetParams !== undefined)
        ctx.addIssue({ code: 'custom', path: ['amountTable'], message: `give either amountTable (with amount as the default) or ${o.targetMacs !== undefined ? 'targetMacs' : 'targetParams'}` });
      else if (o.scope === 'global') ctx.addIssue({ code: 'custom', path: ['scope'], message: 'amountTable sets amounts per group; use scope layer' });
    } else oneAmount(o, ctx);
  });

/** Exactly one of amount, targetMacs and targetParams (the issue names those given, or all three). */
export function oneAmount(o: { amount?: number; targetMacs?: number; targetParams?: number }, ctx: z.RefinementCtx): void {
  const given = (['amount', 'targetMacs', 'targetParams'] as const).filter((k) => o[k] !== undefined);
  if (given.length === 1) return;
  ctx.addIssue({ code: 'custom', path: [given[1] ?? 'amount'], message: given.length ? `give one of amount, targetMacs and targetParams, not ${given.join(' and ')}` : 'give one of amount, targetMacs and targetParams' });
}

export type FilterOptions = z.input<typeof filterSchema>;

export const compactSchema = z
  .object({
    /** |w| ≤ tolerance counts as zero (default 0: exact zeros, so outputs stay identical). */
    tolerance: z.number().min(0).default(0),
    ...structureSchema,
  })
  .strict();

export type CompactOptions = z.input<typeof compactSchema>;
