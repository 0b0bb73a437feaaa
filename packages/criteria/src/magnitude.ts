import { definePlugin, definePluginFactory, parseOptions, type CriterionPlugin } from '@shears/core';
import { z } from 'zod';
import { aggregate, membersSchema, normalizeSchema, normalizeScores, pickMembers, sliceSums } from './common.js';

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

/** |w| of every element into `out`, by clearing the sign bit: integer work, no float conversions, bit for bit Math.abs. */
function absInto(w: Float32Array, out: Float32Array): Float32Array {
  const wb = new Uint32Array(w.buffer, w.byteOffset, w.length);
  const ob = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < wb.length; i++) ob[i] = wb[i]! & 0x7fffffff;
  return out;
}

function magnitude(name: 'l1' | 'l2', p: 1 | 2, description: string) {
  return definePluginFactory({ name, kind: 'criterion', description }, (options?: MagnitudeOptions): CriterionPlugin => {
    const opts = parseOptions(name, schema, options);
    return definePlugin({
      name,
      kind: 'criterion',
      version: '0.1.0',
      options: { ...opts },
      mutates: false,
      // l1's element scores are |w| bit for bit: prune-unstructured selects on the weights' own bits and never asks for them.
      ...(p === 1 ? { capabilities: { elementMagnitude: true } } : {}),
      async score(target) {
        if (target.granularity.kind === 'channel') {
          const s = sliceSums(target.weight, target.granularity.axis, p);
          return Float32Array.from(s, (x) => (p === 2 ? Math.sqrt(x) : x));
        }
        const w = target.weight.floats();
        // The caller's scratch, when it offers one of the right length (element scores only).
        const s = target.out && target.out.length === w.length ? target.out : new Float32Array(w.length);
        if (p === 1) return absInto(w, s);
        for (let i = 0; i < w.length; i++) s[i] = w[i]! * w[i]!;
        return s;
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

/**
 * L1 magnitude: |w| per element; per channel and per group, the sum of |w|
 * over the slice. The one l1 of Shears (prune-unstructured's default
 * criterion too); it declares `capabilities.elementMagnitude`.
 */
export const l1 = magnitude('l1', 1, 'L1 magnitude: |w|; channels and groups by the sum of |w| (mean or sum over the group, normalized per group)');

/** L2 magnitude: w² per element; per channel and per group, the L2 norm of the slice. */
export const l2 = magnitude('l2', 2, 'L2 magnitude: channels and groups by the L2 norm of their weights (mean or sum over the group, normalized per group)');
