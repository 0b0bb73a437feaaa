// Wanda (Sun et al. 2023): score = |W| × ‖X‖ of the input feature the weight
// multiplies. For a conv, the im2col view has one column per (c, kh, kw); its
// norm is taken as the norm of input channel c (over every position), so the
// channel's norm applies to every (c, kh, kw) of that channel.

import { definePlugin, definePluginFactory, findPruneTargets, parseOptions, type CriterionPlugin, type Model, type PluginContext, type ScoreTarget } from '@shears/core';
import { z } from 'zod';
import { elementScratch, inputChannelOf, layerInput, layoutOfTarget, toGranularity, type LayerInput } from '../layout.js';
import { calibrationSet, forEachActivationBatch } from './calibration.js';

const schema = z
  .object({
    /** Calibration samples to use: the first this many of the calibration set. */
    samples: z.number().int().positive().default(128),
    /** Samples per runtime call (default: chosen from activation sizes). */
    batchSize: z.number().int().positive().optional(),
  })
  .strict();

export type WandaOptions = z.input<typeof schema>;

/** Per-channel statistics of one layer input. */
interface Norms {
  /** Root mean square of each channel over samples × positions. */
  rms: Float64Array;
}

interface State {
  /** By activation value name. */
  norms: Map<string, Norms>;
  /** Targets (by weight name) whose input could not be mapped, with why. */
  unmapped: Map<string, string>;
}

/**
 * Sum of squares per channel of the first `rows` samples of t (batch axis 0),
 * channels on `axis`.
 */
export function accumulateSquares(data: Float32Array, dims: readonly number[], rows: number, axis: number, sums: Float64Array): number {
  let inner = 1;
  for (let i = axis + 1; i < dims.length; i++) inner *= dims[i]!;
  const c = dims[axis]!;
  let outerPerSample = 1;
  for (let i = 1; i < axis; i++) outerPerSample *= dims[i]!;
  const outer = axis === 0 ? 1 : rows * outerPerSample;
  for (let o = 0; o < outer; o++) {
    for (let ch = 0; ch < c; ch++) {
      const base = (o * c + ch) * inner;
      let s = 0;
      for (let i = 0; i < inner; i++) {
        const v = data[base + i]!;
        s += v * v;
      }
      sums[ch] += s;
    }
  }
  // Elements per channel contributed.
  return outer * inner;
}

export const wanda = definePluginFactory(
  { name: 'wanda', kind: 'criterion', description: '|W| × ‖X‖₂ of the input feature (needs calibration data)' },
  (options?: WandaOptions): CriterionPlugin => {
    const opts = parseOptions('wanda', schema, options);
    const states = new WeakMap<Model, State>();

    async function gather(model: Model, targets: readonly ScoreTarget[], ctx: PluginContext, state: State): Promise<void> {
      const wanted = new Map<string, LayerInput>();
      for (const t of targets) {
        const input = layerInput(model, t.node, layoutOfTarget(t, ctx.ops), ctx.ops);
        if (typeof input === 'string') {
          if (!state.unmapped.has(t.weight.name)) ctx.logger.warn(`wanda: ${t.node.label}: ${input}; scoring it by |W| alone`);
          state.unmapped.set(t.weight.name, input);
        } else if (!state.norms.has(input.value.name)) wanted.set(input.value.name, input);
      }
      if (!wanted.size) return;
      const data = await calibrationSet(model, ctx, 'wanda');
      const sums = new Map([...wanted].map(([n, inp]) => [n, { sq: new Float64Array(inp.channels), count: 0, axis: inp.channelAxis }]));
      await forEachActivationBatch(model, [...wanted.keys()], data, ctx, { plugin: 'wanda', samples: opts.samples, batchSize: opts.batchSize }, (b) => {
        for (const [name, acc] of sums) {
          const t = b.get(name);
          const axis = acc.axis < 0 ? acc.axis + t.dims.length : acc.axis;
          acc.count += accumulateSquares(t.data as Float32Array, t.dims, b.rows, axis, acc.sq);
        }
      });
      for (const [name, acc] of sums) state.norms.set(name, { rms: acc.sq.map((s) => Math.sqrt(s / Math.max(1, acc.count))) });
    }

    return definePlugin({
      name: 'wanda',
      kind: 'criterion',
      version: '0.1.0',
      options: { ...opts },
      mutates: false,
      needsData: true,
      async prepare(model, targets, ctx) {
        const state: State = { norms: new Map(), unmapped: new Map() };
        states.set(model, state);
        await gather(model, targets, ctx, state);
      },
      async score(target, ctx) {
        let state = states.get(target.model);
        if (!state) {
          // Not prepared by the strategy: gather for every prunable layer at once.
          state = { norms: new Map(), unmapped: new Map() };
          states.set(target.model, state);
          const all = findPruneTargets(target.model, ctx.ops).targets.map((p) => ({ ...target, node: p.node, input: p.input, weight: p.tensor }));
          await gather(target.model, [...all, target], ctx, state);
        }
        const layout = layoutOfTarget(target, ctx.ops);
        const input = layerInput(target.model, target.node, layout, ctx.ops);
        if (typeof input !== 'string' && !state.norms.has(input.value.name)) await gather(target.model, [target], ctx, state);
        const w = target.weight.floats();
        const s = elementScratch(target);
        if (typeof input === 'string') {
          for (let i = 0; i < w.length; i++) s[i] = Math.abs(w[i]!);
        } else {
          const rms = state.norms.get(input.value.name)!.rms;
          const ch = inputChannelOf(layout, input);
          for (let i = 0; i < w.length; i++) s[i] = Math.abs(w[i]!) * rms[ch[i]!]!;
        }
        return toGranularity(s, target);
      },
    });
  },
);
