import { oneAmount, structureSchema } from '@shears/prune-filter';
import { z } from 'zod';

export const channelSchema = z
  .object({
    /** Fraction of each group's channels (scope layer) or of all channels (scope global) to prune, in [0, 1). */
    amount: z.number().min(0).lt(1).optional(),
    /** Prune until MACs are this fraction of the original (within ±0.02 where reachable), in (0, 1]. */
    targetMacs: z.number().gt(0).max(1).optional(),
    /** Prune until parameters are this fraction of the original (within ±0.02 where reachable), in (0, 1]. */
    targetParams: z.number().gt(0).max(1).optional(),
    /** layer: the same amount in every group; global: one ranking (default: layer for amount, global for targetMacs). */
    scope: z.enum(['layer', 'global']).optional(),
    /** Kept channel counts stay multiples of this (default 8). */
    roundTo: z.number().int().min(1).max(1024).default(8),
    /** At most this fraction of any group is pruned. */
    maxLayerAmount: z.number().gt(0).max(1).default(1),
    /** How channels are chosen: greedy ThiNet, LASSO (He et al.), or L1 of the consumers' input-channel weights. */
    selection: z.enum(['greedy', 'lasso', 'l1']).default('greedy'),
    /** Refit the consumers' remaining weights and bias by least squares. */
    reconstruct: z.boolean().default(true),
    /** sequential: each layer's inputs pass through the already-pruned earlier layers; layer: every layer sees the original inputs. */
    mode: z.enum(['sequential', 'layer']).default('sequential'),
    /** Calibration images used (memory and time scale with calibSamples × positionsPerImage, not with the dataset). */
    calibSamples: z.number().int().min(1).max(100000).default(256),
    /** Output positions sampled per image and conv layer. */
    positionsPerImage: z.number().int().min(1).max(4096).default(10),
    /** Output channels sampled per position for the selection statistics. */
    outputsPerPosition: z.number().int().min(1).max(64).default(2),
    /** Ridge term, relative to the mean diagonal of the normal equations. */
    ridge: z.number().min(0).max(10).default(1e-4),
    batchSize: z.number().int().min(1).max(1024).default(32),
    seed: z.number().int().default(0),
    ...structureSchema,
  })
  .strict()
  .superRefine(oneAmount);

export type ChannelOptions = z.input<typeof channelSchema>;
export type ChannelParsed = z.output<typeof channelSchema>;
