// Data-aware criteria: channel statistics of activations on calibration data.
import {
  CALIBRATION,
  CALIBRATION_SAMPLES,
  captureSession,
  channelAxisOf,
  chunkBatch,
  definePlugin,
  definePluginFactory,
  parseOptions,
  primaryInput,
  requireRuntime,
  weightRolesOf,
  type ChannelGroup,
  type CriterionPlugin,
  type Dataset,
  type Model,
  type NamedTensor,
  type PluginContext,
} from '@shears/core';
import { randomDataset } from '@shears/data';
import { z } from 'zod';
import { aggregate, broadcastAlong, normalizeSchema, normalizeScores, pickMembers, sliceSums } from './common.js';

type Stat = 'mean' | 'apoz' | 'hrank';

const schema = z
  .object({
    /** Calibration samples to run (from --calib, else random noise). */
    samples: z.number().int().min(1).max(100000).optional(),
    batchSize: z.number().int().min(1).max(1024).default(4),
    normalize: normalizeSchema.default('mean'),
  })
  .strict();

export type ActivationOptions = z.input<typeof schema>;

/** Per-channel sums over calibration samples. */
interface Acc {
  axis: number;
  absSum: Float64Array;
  zeros: Float64Array;
  count: Float64Array;
  rankSum: Float64Array;
  maps: Float64Array;
}

/** Numerical rank of a rows×cols matrix (Gaussian elimination with partial pivoting). */
export function matrixRank(m: Float64Array, rows: number, cols: number): number {
  let maxAbs = 0;
  for (const x of m) maxAbs = Math.max(maxAbs, Math.abs(x));
  if (maxAbs === 0) return 0;
  const tol = Math.max(rows, cols) * 1.2e-7 * maxAbs;
  let rank = 0;
  for (let col = 0; col < cols && rank < rows; col++) {
    let piv = rank;
    for (let r = rank + 1; r < rows; r++) if (Math.abs(m[r * cols + col]!) > Math.abs(m[piv * cols + col]!)) piv = r;
    if (Math.abs(m[piv * cols + col]!) <= tol) continue;
    if (piv !== rank)
      for (let k = col; k < cols; k++) {
        const t = m[rank * cols + k]!;
        m[rank * cols + k] = m[piv * cols + k]!;
        m[piv * cols + k] = t;
      }
    const p = m[rank * cols + col]!;
    for (let r = rank + 1; r < rows; r++) {
      const f = m[r * cols + col]! / p;
      if (f === 0) continue;
      for (let k = col; k < cols; k++) m[r * cols + k] -= f * m[rank * cols + k]!;
    }
    rank++;
  }
  return rank;
}

function accumulate(acc: Acc, t: NamedTensor, rows: number, withRank: boolean): void {
  const x = t.data as Float32Array;
  const dims = t.dims;
  const axis = acc.axis;
  const C = dims[axis]!;
  const rowSize = x.length / Math.max(1, dims[0]!);
  const used = axis === 0 ? x.length : rows * rowSize;
  let inner = 1;
  for (let a = axis + 1; a < dims.length; a++) inner *= dims[a]!;
  let off = 0;
  while (off < used) {
    for (let c = 0; c < C; c++) {
      let s = 0;
      let z = 0;
      for (let q = off; q < off + inner; q++) {
        const v = x[q]!;
        s += Math.abs(v);
        if (v === 0) z++;
      }
      acc.absSum[c] += s;
      acc.zeros[c] += z;
      acc.count[c] += inner;
      off += inner;
    }
  }
  if (!withRank || axis === 0) return;
  // The feature map of (sample, channel): every element over the other axes, as a matrix.
  let pre = 1;
  for (let a = 1; a < axis; a++) pre *= dims[a]!;
  const n = pre * inner;
  const mr = pre > 1 ? dims[1]! : inner > 1 ? dims[axis + 1]! : 1;
  const mc = n / mr;
  const m = new Float64Array(n);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < C; c++) {
      let k = 0;
      for (let p = 0; p < pre; p++) {
        const base = r * rowSize + p * C * inner + c * inner;
        for (let q = 0; q < inner; q++) m[k++] = x[base + q]!;
      }
      acc.rankSum[c] += matrixRank(m, mr, mc);
      acc.maps[c] += 1;
    }
}

function statOf(acc: Acc, stat: Stat): Float64Array {
  const C = acc.absSum.length;
  const out = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    const mean = acc.count[c] ? acc.absSum[c]! / acc.count[c]! : 0;
    if (stat === 'mean') out[c] = mean;
    // APoZ (Hu et al. 2016): the share of zeros; a channel that is mostly zero matters less.
    else if (stat === 'apoz') out[c] = acc.count[c] ? 1 - acc.zeros[c]! / acc.count[c]! : 0;
    // HRank (Lin et al., CVPR 2020): average rank of the feature maps; mean |x| breaks ties.
    else out[c] = (acc.maps[c] ? acc.rankSum[c]! / acc.maps[c]! : 0) + 1e-6 * Math.tanh(mean);
  }
  return out;
}

/** Calibration data from the run state (--calib), or seeded noise with a warning. */
function calibration(model: Model, ctx: PluginContext, name: string, samples: number): Dataset {
  const given = ctx.state.get(CALIBRATION);
  if (given) return given;
  const input = model.graph.inputs.find((v) => v.name === primaryInput(model).name)!;
  const shape = (input.shape ?? []).slice(1).map((d) => (typeof d === 'number' && d > 0 ? d : 1));
  ctx.logger.warn(`${name}: no calibration data (--calib); using random:${samples}, so channels are ranked by their response to noise`);
  return randomDataset(samples, shape);
}

/** Run the calibration data once and gather per-channel statistics of the named values. */
async function collect(model: Model, sites: Map<string, number>, ctx: PluginContext, name: string, samples: number, batchSize: number, withRank: boolean): Promise<Map<string, Acc>> {
  const accs = new Map<string, Acc>();
  for (const [v, axis] of sites) {
    const value = model.graph.valuesByName().get(v);
    const C = value?.shape?.[axis];
    if (typeof C !== 'number') continue;
    accs.set(v, { axis, absSum: new Float64Array(C), zeros: new Float64Array(C), count: new Float64Array(C), rankSum: new Float64Array(C), maps: new Float64Array(C) });
  }
  if (accs.size === 0) return accs;
  const runtime = requireRuntime(ctx, name);
  const data = calibration(model, ctx, name, samples);
  const { name: inputName, batch } = primaryInput(model);
  const capture = await captureSession(runtime, model, [...accs.keys()]);
  const task = ctx.progress.start(`${name}: calibration`, Math.min(samples, data.size));
  try {
    for await (const bt of data.batches(batchSize, { limit: samples })) {
      for (const { feeds, rows } of chunkBatch(bt, inputName, batch)) {
        if (ctx.signal.aborted) throw new Error('aborted');
        const out = await capture.run(feeds);
        for (const [v, acc] of accs) accumulate(acc, out[v]!, rows, withRank);
        task.tick(rows);
      }
    }
  } finally {
    task.done();
    await capture.release();
  }
  return accs;
}

function activationCriterion(pluginName: string, stat: Stat, description: string, defaultSamples: number) {
  return definePluginFactory({ name: pluginName, kind: 'criterion', description }, (options?: ActivationOptions): CriterionPlugin => {
    const opts = parseOptions(pluginName, schema, options);
    const samplesFor = (ctx: PluginContext) => opts.samples ?? ctx.state.get(CALIBRATION_SAMPLES) ?? defaultSamples;
    // One calibration pass per dependency graph (all its groups at once), and per model for score().
    const byGraph = new WeakMap<object, Promise<Map<string, Acc>>>();
    const byModel = new WeakMap<Model, Map<string, Promise<Map<string, Acc>>>>();
    return definePlugin({
      name: pluginName,
      kind: 'criterion',
      version: '0.1.0',
      options: { ...opts },
      mutates: false,
      needsData: true,
      async score(target, ctx) {
        const spec = ctx.ops.lookupNode(target.node, target.model);
        const role = spec && weightRolesOf(spec, target.node).find((r) => r.input === target.input);
        const out = target.node.outputs[0];
        const r = out?.shape?.length;
        const outAxis = role?.outAxis;
        if (!spec || outAxis === undefined || !out || r === undefined) {
          // Not a layer with output channels: magnitude.
          const s = sliceSums(target.weight, target.granularity.kind === 'channel' ? target.granularity.axis : 0, 1);
          return target.granularity.kind === 'channel' ? Float32Array.from(s) : broadcastAlong(target.weight, 0, s);
        }
        const a = channelAxisOf(spec, target.node);
        const axis = a < 0 ? a + r : a;
        let cache = byModel.get(target.model);
        if (!cache) byModel.set(target.model, (cache = new Map()));
        let p = cache.get(out.name);
        if (!p) cache.set(out.name, (p = collect(target.model, new Map([[out.name, axis]]), ctx, pluginName, samplesFor(ctx), opts.batchSize, stat === 'hrank')));
        const acc = (await p).get(out.name);
        const perChannel = acc ? statOf(acc, stat) : new Float64Array(target.weight.dims[outAxis]!).fill(1);
        if (target.granularity.kind === 'channel' && target.granularity.axis === outAxis) return Float32Array.from(perChannel);
        const full = broadcastAlong(target.weight, outAxis, perChannel);
        if (target.granularity.kind === 'element') return full;
        const d = target.weight.dims[target.granularity.axis]!;
        const sum = new Float32Array(d);
        let inner = 1;
        for (let k = target.granularity.axis + 1; k < target.weight.dims.length; k++) inner *= target.weight.dims[k]!;
        for (let i = 0; i < full.length; i++) sum[Math.floor(i / inner) % d] += full[i]!;
        return sum;
      },
      async scoreGroup({ model, graph, group }, ctx) {
        let p = byGraph.get(graph);
        if (!p) {
          const sites = new Map<string, number>();
          for (const g of graph.groups) for (const s of g.sites) sites.set(s.value.name, s.axis);
          byGraph.set(graph, (p = collect(model, sites, ctx, pluginName, samplesFor(ctx), opts.batchSize, stat === 'hrank')));
        }
        const accs = await p;
        const parts = group.sites.flatMap((s) => {
          const acc = accs.get(s.value.name);
          return acc ? [{ channelOf: s.channelOf, perIndex: statOf(acc, stat) }] : [];
        });
        if (parts.length === 0) return magnitudeFallback(group);
        return normalizeScores(aggregate(group, parts, 'mean'), opts.normalize);
      },
    });
  });
}

/** Groups nothing reads (no activation site): L1 of their weights. */
function magnitudeFallback(group: ChannelGroup): Float32Array {
  const parts = pickMembers(group, 'weights').map((m) => ({ channelOf: m.channelOf, perIndex: sliceSums(m.tensor, m.axis, 1) }));
  return normalizeScores(aggregate(group, parts, 'mean'), 'mean');
}

/** Mean |activation| of each channel where the next layers read it. */
export const meanActivation = activationCriterion('mean-activation', 'mean', 'mean |activation| of each channel on calibration data', 16);

/** 1 − APoZ: the share of non-zero activations of each channel (Hu et al., 2016). */
export const apoz = activationCriterion('apoz', 'apoz', '1 − average percentage of zeros of each channel on calibration data (APoZ)', 16);

/** HRank: the average rank of each channel's feature maps (Lin et al., CVPR 2020). */
export const hrank = activationCriterion('hrank', 'hrank', 'average rank of each channel’s feature maps on calibration data (HRank)', 8);
