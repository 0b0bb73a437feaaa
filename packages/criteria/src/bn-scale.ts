import { definePlugin, definePluginFactory, parseOptions, type CriterionPlugin } from '@shears/core';
import { z } from 'zod';
import { aggregate, normalizeSchema, normalizeScores, pickMembers, sliceSums, toGranularity } from './common.js';

const schema = z.object({ normalize: normalizeSchema.default('mean') }).strict();

export type BnScaleOptions = z.input<typeof schema>;

/**
 * Network Slimming (Liu et al., ICCV 2017): a channel's importance is |γ| of
 * the normalization after it. Groups without a per-channel scale (exports
 * fold BatchNorm into the convs) fall back to L1 of their weights, with a
 * warning naming the group.
 */
export const bnScale = definePluginFactory(
  { name: 'bn-scale', kind: 'criterion', description: 'Network Slimming: |γ| of the BatchNormalization (or other norm) scale on each channel; L1 where there is none' },
  (options?: BnScaleOptions): CriterionPlugin => {
    const opts = parseOptions('bn-scale', schema, options);
    const warned = new Set<string>();
    return definePlugin({
      name: 'bn-scale',
      kind: 'criterion',
      version: '0.1.0',
      options: { ...opts },
      mutates: false,
      async score(target) {
        // A single weight has no BatchNorm of its own: magnitude.
        const w = target.weight.floats();
        const s = new Float32Array(w.length);
        for (let i = 0; i < w.length; i++) s[i] = Math.abs(w[i]!);
        return toGranularity(s, target);
      },
      async scoreGroup({ group }, ctx) {
        const scales = group.members.filter((m) => m.role === 'param' && m.kind === 'scale' && m.tensor.dtype === 'float32');
        if (scales.length) return normalizeScores(aggregate(group, scales.map((m) => ({ channelOf: m.channelOf, perIndex: sliceSums(m.tensor, m.axis, 1) })), 'mean'), opts.normalize);
        if (!warned.has(group.id)) {
          warned.add(group.id);
          ctx.logger.warn(`bn-scale: group ${group.id} has no normalization scale (BatchNorm folded into the convs?); using L1 of its weights`);
        }
        const parts = pickMembers(group, 'weights').map((m) => ({ channelOf: m.channelOf, perIndex: sliceSums(m.tensor, m.axis, 1) }));
        return normalizeScores(aggregate(group, parts, 'mean'), opts.normalize);
      },
    });
  },
);
