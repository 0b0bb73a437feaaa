import { definePlugin, definePluginFactory, parseOptions, type CriterionPlugin } from '@shears/core';
import { z } from 'zod';
import { elementScratch, toGranularity } from '../layout.js';

const l1Schema = z.object({}).strict();

/**
 * The l1 plugins made here: their element scores are exactly |w|, so the
 * strategy may select straight from the weights' bits (no score arrays).
 */
const MAGNITUDE = new WeakSet<CriterionPlugin>();

/** Whether `c` is this package's l1 (element scores = |w|, bit for bit). */
export const isMagnitude = (c: CriterionPlugin): boolean => MAGNITUDE.has(c);

/** |w|: magnitude pruning, as torch.nn.utils.prune.l1_unstructured. */
export const l1 = definePluginFactory(
  { name: 'l1', kind: 'criterion', description: 'weight magnitude |w| (L1); channel scores sum |w|' },
  (options?: z.input<typeof l1Schema>): CriterionPlugin => {
    parseOptions('l1', l1Schema, options);
    const plugin = definePlugin({
      name: 'l1',
      kind: 'criterion',
      version: '0.1.0',
      options: {},
      mutates: false,
      async score(target) {
        const w = target.weight.floats();
        const s = elementScratch(target);
        // |w| by clearing the sign bit: integer work, no float conversions.
        const wb = new Uint32Array(w.buffer, w.byteOffset, w.length);
        const sb = new Uint32Array(s.buffer, s.byteOffset, s.length);
        for (let i = 0; i < wb.length; i++) sb[i] = wb[i]! & 0x7fffffff;
        return toGranularity(s, target);
      },
    });
    MAGNITUDE.add(plugin);
    return plugin;
  },
);

const randomSchema = z
  .object({
    /** Seed; scores depend only on (seed, weight name, index). */
    seed: z.number().int().nonnegative().default(0),
  })
  .strict();

/** FNV-1a of a string, for per-tensor streams. */
function hash(s: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** Uniform random scores in [0, 1): the baseline every criterion must beat. */
export const random = definePluginFactory(
  { name: 'random', kind: 'criterion', description: 'seeded uniform random scores (a baseline)' },
  (options?: z.input<typeof randomSchema>): CriterionPlugin => {
    const opts = parseOptions('random', randomSchema, options);
    return definePlugin({
      name: 'random',
      kind: 'criterion',
      version: '0.1.0',
      options: { ...opts },
      mutates: false,
      async score(target) {
        const n = target.weight.size;
        const s = elementScratch(target);
        let a = hash(target.weight.name || target.node.label, opts.seed);
        for (let i = 0; i < n; i++) {
          // mulberry32
          a = (a + 0x6d2b79f5) >>> 0;
          let t = a;
          t = Math.imul(t ^ (t >>> 15), t | 1);
          t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
          s[i] = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
        }
        return toGranularity(s, target);
      },
    });
  },
);
