import { definePlugin, definePluginFactory, parseOptions, type CriterionPlugin } from '@shears/core';
import { z } from 'zod';
import { hash, toGranularity, uniform } from './common.js';

const schema = z
  .object({
    /** Seed; scores depend only on (seed, weight or group name, index). */
    seed: z.number().int().nonnegative().default(0),
  })
  .strict();

export type RandomOptions = z.input<typeof schema>;

/** Seeded uniform scores in [0, 1): the baseline every criterion must beat. */
export const random = definePluginFactory({ name: 'random', kind: 'criterion', description: 'seeded uniform random scores (a baseline)' }, (options?: RandomOptions): CriterionPlugin => {
  const opts = parseOptions('random', schema, options);
  const draw = (key: string, n: number) => {
    const next = uniform(hash(key, opts.seed));
    return Float32Array.from({ length: n }, next);
  };
  return definePlugin({
    name: 'random',
    kind: 'criterion',
    version: '0.1.0',
    options: { ...opts },
    mutates: false,
    async score(target) {
      return toGranularity(draw(target.weight.name || target.node.label, target.weight.size), target);
    },
    async scoreGroup({ group }) {
      return draw(group.id, group.size);
    },
  });
});
