import { definePlugin, definePluginFactory, parseOptions, type CriterionPlugin } from '@shears/core';
import { z } from 'zod';
import { aggregate, membersSchema, normalizeSchema, normalizeScores, pickMembers, sliceSums, toGranularity } from './common.js';

const schema = z
  .object({
    /** How the members of a group combine: mean (default) or sum. */
    reduction: z.enum(['mean', 'sum']).default('mean'),
    /** Per-group normalization, so groups compare in a global ranking (default mean). */
    normalize: normalizeSchema.default('mean'),
    /** Members scored: filters only, filters and the input channels that read them (default), or every parameter. */
    members: membersSchema.default('weights'),
  })
  .strict();

export type MagnitudeOptions = z.input<typeof schema>;

function magnitude(name: 'l1' | 'l2', p: 1 | 2, description: string) {
  return definePluginFactory({ name, kind: 'criterion', description }, (options?: MagnitudeOptions): CriterionPlugin => {
    const opts = parseOptions(name, schema, options);
    return definePlugin({
      name,
      kind: 'criterion',
      version: '0.1.0',
      options: { ...opts },
      mutates: false,
      async score(target) {
        const w = target.weight.floats();
        if (target.granularity.kind === 'channel') {
          const s = sliceSums(target.weight, target.granularity.axis, p);
          return Float32Array.from(s, (x) => (p === 2 ? Math.sqrt(x) : x));
        }
        // The caller's scratch, when it offers one of the right length (element scores only).
        const s = target.out && target.out.length === w.length ? target.out : new Float32Array(w.length);
        for (let i = 0; i < w.length; i++) s[i] = p === 1 ? Math.abs(w[i]!) : w[i]! * w[i]!;
        return toGranularity(s, target);
      },
      async scoreGroup({ group }) {
        const parts = pickMembers(group, opts.members).map((member) => {
          const s = sliceSums(member.tensor, member.axis, p);
          return { channelOf: member.channelOf, perIndex: p === 2 ? s.map(Math.sqrt) : s };
        });
        return normalizeScores(aggregate(group, parts, opts.reduction), opts.normalize);
      },
    });
  });
}

/** L1 magnitude: |w| per element; per channel and per group, the sum of |w| over the slice. */
export const l1 = magnitude('l1', 1, 'L1 magnitude: |w|; channels and groups by the sum of |w| (mean or sum over the group, normalized per group)');

/** L2 magnitude: w² per element; per channel and per group, the L2 norm of the slice. */
export const l2 = magnitude('l2', 2, 'L2 magnitude: channels and groups by the L2 norm of their weights (mean or sum over the group, normalized per group)');
