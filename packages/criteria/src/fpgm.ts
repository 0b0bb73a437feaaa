import { definePlugin, definePluginFactory, parseOptions, type CriterionPlugin, type Tensor } from '@shears/core';
import { z } from 'zod';
import { aggregate, broadcastAlong, normalizeSchema, normalizeScores, pickMembers } from './common.js';

const schema = z
  .object({
    normalize: normalizeSchema.default('mean'),
    /** Weiszfeld iterations for the geometric median. */
    iterations: z.number().int().min(1).max(100).default(10),
  })
  .strict();

export type FpgmOptions = z.input<typeof schema>;

/**
 * Each slice along `axis` (a filter) as a vector; its distance to the
 * geometric median of all of them (Weiszfeld). Filters near the median are
 * the most replaceable (He et al., FPGM, CVPR 2019), so distance is importance.
 */
export function medianDistances(t: Tensor, axis: number, iterations: number): Float64Array {
  const w = t.floats();
  const dims = t.dims;
  const d = dims[axis]!;
  let inner = 1;
  for (let a = axis + 1; a < dims.length; a++) inner *= dims[a]!;
  const outer = w.length / (d * inner);
  const len = outer * inner;
  // Gather filters into rows.
  const rows = new Float32Array(d * len);
  let off = 0;
  for (let o = 0; o < outer; o++)
    for (let i = 0; i < d; i++) {
      rows.set(w.subarray(off, off + inner), i * len + o * inner);
      off += inner;
    }
  const med = new Float64Array(len);
  for (let i = 0; i < d; i++) for (let k = 0; k < len; k++) med[k] += rows[i * len + k]! / d;
  const dist = new Float64Array(d);
  const measure = () => {
    for (let i = 0; i < d; i++) {
      let s = 0;
      for (let k = 0; k < len; k++) {
        const x = rows[i * len + k]! - med[k]!;
        s += x * x;
      }
      dist[i] = Math.sqrt(s);
    }
  };
  for (let it = 0; it < iterations; it++) {
    measure();
    const next = new Float64Array(len);
    let wsum = 0;
    for (let i = 0; i < d; i++) {
      const wt = 1 / Math.max(dist[i]!, 1e-12);
      wsum += wt;
      for (let k = 0; k < len; k++) next[k] += wt * rows[i * len + k]!;
    }
    for (let k = 0; k < len; k++) med[k] = next[k]! / wsum;
  }
  measure();
  return dist;
}

export const fpgm = definePluginFactory(
  { name: 'fpgm', kind: 'criterion', description: 'FPGM: distance of each filter to the geometric median of its layer (near the median = redundant)' },
  (options?: FpgmOptions): CriterionPlugin => {
    const opts = parseOptions('fpgm', schema, options);
    return definePlugin({
      name: 'fpgm',
      kind: 'criterion',
      version: '0.1.0',
      options: { ...opts },
      mutates: false,
      async score(target) {
        const axis = target.granularity.kind === 'channel' ? target.granularity.axis : 0;
        const dist = medianDistances(target.weight, axis, opts.iterations);
        return target.granularity.kind === 'channel' ? Float32Array.from(dist) : broadcastAlong(target.weight, axis, dist);
      },
      async scoreGroup({ group }) {
        const parts = pickMembers(group, 'producers').map((member) => ({ channelOf: member.channelOf, perIndex: medianDistances(member.tensor, member.axis, opts.iterations) }));
        return normalizeScores(aggregate(group, parts, 'mean'), opts.normalize);
      },
    });
  },
);
