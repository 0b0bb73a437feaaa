import { definePlugin, definePluginFactory, fillUniform, parseOptions, type CriterionPlugin } from '@shears/core';
import { z } from 'zod';
import { hash, toGranularity } from './common.js';

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
  /** Fill `out` with the stream of (seed, key): the same numbers for the same key, whatever is asked before. */
  const draw = (key: string, out: Float32Array) => fillUniform(out, hash(key, opts.seed));
  return definePlugin({
    name: 'random',
    kind: 'criterion',
    version: '0.1.0',
    options: { ...opts },
    mutates: false,
    async score(target) {
      const n = target.weight.size;
      // The caller's scratch, when it offers one of the right length (element scores only).
      const s = target.granularity.kind === 'element' && target.out && target.out.length === n ? target.out : new Float32Array(n);
      return toGranularity(draw(target.weight.name || target.node.label, s), target);
    },
    async scoreGroup({ group }) {
      return draw(group.id, new Float32Array(group.size));
    },
  });
});
