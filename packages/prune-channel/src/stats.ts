// The calibration statistics of the consumers: one pass of the original model
// samples each consumer's im2col rows, its original outputs on them (the
// reconstruction's targets) and the Grams of the group channels' contributions
// to its outputs (the selection's statistics).
import { requireRuntime, type ChannelGraph, type ChannelGroup, type Dataset, type Model, type NamedTensor, type Node, type PluginContext } from '@shears/core';
import type { Selection } from '@shears/prune-filter';
import { forEachBatch } from './calibrate.js';
import { inputRow, outputDims, samplePositions, weightIndex, type Consumer } from './consumers.js';
import { NAME } from './details.js';
import { MatMul } from './matmul.js';
import type { ChannelParsed } from './options.js';

export interface Stat {
  c: Consumer;
  salt: number;
  /** Sampled original outputs (rows × O) and their count. */
  Y?: Float32Array;
  rows: number;
  /** Per output-channel-major weights W[o, f] in Float64. */
  W: Float64Array;
  /** Group index → per input feature: the group channel, or -1. */
  featChan: Map<number, Int32Array>;
  gz: Map<number, Float64Array>;
  ey: number;
  /**
   * Full im2col rows (rows × D) kept from the calibration pass when the
   * reconstruction will see the same inputs (mode layer, or no refit layer
   * upstream): the reconstruction then needs no second pass for this layer.
   */
  Xfull?: Float32Array;
}

/** Every node upstream of a node, memoized for one plan (the graph does not change while it is planned). */
export class Ancestors {
  readonly #memo = new Map<Node, Set<Node>>();

  of(node: Node): Set<Node> {
    let s = this.#memo.get(node);
    if (s) return s;
    s = new Set();
    const stack = node.inputs.map((v) => v?.producer).filter((n): n is Node => !!n);
    while (stack.length) {
      const n = stack.pop()!;
      if (s.has(n)) continue;
      s.add(n);
      for (const v of n.inputs) if (v?.producer && !s.has(v.producer)) stack.push(v.producer);
    }
    this.#memo.set(node, s);
    return s;
  }
}

/**
 * One statistics record per consumer of the prunable groups, with its weights
 * as W[o, f] and, per group it reads, which group channel each input feature
 * is. A consumer whose weights some skipped group also reads keeps that
 * group's channels (featChan −1 there). `grams`: the selection needs the
 * contribution Grams (not for l1).
 */
export function consumerStats(graph: ChannelGraph, groups: readonly ChannelGroup[], consumersOf: Map<ChannelGroup, Consumer[]>, grams: boolean): Map<Consumer, Stat> {
  const stats = new Map<Consumer, Stat>();
  let salt = 0;
  for (const g of groups)
    for (const c of consumersOf.get(g)!) {
      let s = stats.get(c);
      if (!s) {
        const W = new Float64Array(c.O * c.D);
        const src = c.weight.values as Float32Array;
        for (let o = 0; o < c.O; o++) for (let f = 0; f < c.D; f++) W[o * c.D + f] = src[weightIndex(c, o, f)]!;
        stats.set(c, (s = { c, salt: salt++, rows: 0, W, featChan: new Map(), gz: new Map(), ey: 0 }));
      }
      const gi = graph.groupIndex(g.id)!;
      const chOf = c.groups.get(gi)!;
      const fc = new Int32Array(c.D);
      for (let f = 0; f < c.D; f++) fc[f] = chOf[Math.floor(f / c.K)]!;
      s.featChan.set(gi, fc);
      if (grams) s.gz.set(gi, new Float64Array(g.size * g.size));
    }
  return stats;
}

/**
 * The consumers whose sampled im2col rows the calibration pass keeps for the
 * reconstruction: all of them in mode layer, else those with no other
 * consumer upstream (their inputs do not change when earlier layers are refit).
 */
export function rowsToKeep(stats: Map<Consumer, Stat>, opts: ChannelParsed, ancestors: Ancestors): Set<Stat> {
  const keepRows = new Set<Stat>();
  if (opts.reconstruct) {
    const consumerNodes = new Set([...stats.keys()].map((c) => c.node));
    for (const s of stats.values()) if (opts.mode === 'layer' || ![...ancestors.of(s.c.node)].some((n) => consumerNodes.has(n))) keepRows.add(s);
  }
  return keepRows;
}

/** Per input feature of the consumer: 1 where the selection removes the group channel it reads. */
export function removedFeatures(s: Stat, graph: ChannelGraph, selection: Selection): Uint8Array {
  const out = new Uint8Array(s.c.D);
  for (const [gi, fc] of s.featChan) {
    const chans = selection.get(graph.groups[gi]!.id);
    if (!chans?.length) continue;
    const set = new Set(chans);
    for (let f = 0; f < fc.length; f++) if (fc[f]! >= 0 && set.has(fc[f]!)) out[f] = 1;
  }
  return out;
}

/** Scratch buffers of one consumer for the calibration pass. */
interface Buffers {
  /** One im2col row. */
  x: Float64Array;
  /** Group index → a vector of that group's width (C). */
  z: Map<number, Float64Array>;
  /** Group index and its feature → group channel map, for the groups with a Gram. */
  zsByGroup: [number, Int32Array][];
  /** Group index → the chunk's contributions, rows × C (grown as needed). */
  zRows: Map<number, Float64Array>;
  /** The chunk's sampled rows, when they are not kept in Xfull. */
  rows: Float32Array;
}

/** A seeded uniform [0, 1) generator (mulberry32) for the sampled output channels. */
function seededRandom(seed: number): () => number {
  let a = (seed ^ 0x51ed27) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function rowsPerImage(c: Consumer, perImage: number, outDims: number[]): number {
  return c.kind === 'fc' ? 1 : Math.min(perImage, outDims[2]! * outDims[3]!);
}

/** One pass of the original model: sampled outputs (targets) and the contribution Grams for selection. */
export async function statsPass(model: Model, all: Stat[], data: Dataset, samples: number, opts: ChannelParsed, ctx: PluginContext, keepRows: Set<Stat>): Promise<void> {
  const work = all.filter((s) => s.gz.size > 0 || opts.reconstruct);
  if (work.length === 0) return;
  // Only the consumers' inputs are captured: their sampled outputs are W·x + b on the sampled im2col rows, one product
  // per chunk in onnxruntime. Capturing outputs too would double what onnxruntime copies out, and keep it from fusing
  // each Conv with its activation.
  const names = [...new Set(work.map((s) => s.c.input.name))];
  const rand = seededRandom(opts.seed);
  const bufs = new Map<Stat, Buffers>();
  const mm = new MatMul(requireRuntime(ctx, NAME));
  try {
    await forEachBatch(model, names, data, samples, opts.batchSize, ctx, `${NAME}: calibration`, async (out, rows, image0) => {
      for (const s of work) {
        const xt = out[s.c.input.name]!;
        const yDims = outputDims(s.c, xt.dims);
        const per = rowsPerImage(s.c, opts.positionsPerImage, yDims);
        if (opts.reconstruct && !s.Y) s.Y = new Float32Array(samples * per * s.c.O);
        if (keepRows.has(s) && !s.Xfull) s.Xfull = new Float32Array(samples * per * s.c.D);
        let b = bufs.get(s);
        if (!b) bufs.set(s, (b = buffersFor(s)));
        const r0 = s.rows;
        const { X, r } = sampleRows(s, b, xt, yDims, rows * per, rows, image0, opts);
        s.rows += r;
        if (s.Y) await sampledOutputs(s, X, r, r0, mm);
        if (s.gz.size > 0) await addContributions(s, b, X, r, opts.outputsPerPosition, rand, mm);
      }
    });
  } finally {
    await mm.release();
  }
}

function buffersFor(s: Stat): Buffers {
  const z = new Map([...s.gz.keys()].map((gi) => [gi, new Float64Array(Math.round(Math.sqrt(s.gz.get(gi)!.length)))]));
  const zsByGroup = [...s.featChan].filter(([gi]) => z.has(gi));
  return { x: new Float64Array(s.c.D), z, zsByGroup, zRows: new Map(), rows: new Float32Array(0) };
}

/**
 * This chunk's sampled im2col rows (up to `nr`, `rows` images from `image0`),
 * straight into Xfull when it is kept; returns them and their count.
 */
function sampleRows(s: Stat, b: Buffers, xt: NamedTensor, yDims: number[], nr: number, rows: number, image0: number, opts: ChannelParsed): { X: Float32Array; r: number } {
  const c = s.c;
  const D = c.D;
  const outW = c.kind === 'conv' ? yDims[3]! : 1;
  const r0 = s.rows;
  const X = s.Xfull ? s.Xfull.subarray(r0 * D, (r0 + nr) * D) : b.rows.length >= nr * D ? b.rows.subarray(0, nr * D) : (b.rows = new Float32Array(nr * D));
  let r = 0;
  for (let n = 0; n < rows; n++) {
    for (const p of samplePositions(c, yDims, image0 + n, opts.positionsPerImage, opts.seed, s.salt)) {
      inputRow(c, xt.data as Float32Array, xt.dims, n, p, outW, b.x);
      X.set(b.x, r * D);
      r++;
    }
  }
  return { X, r };
}

/** The original outputs W·x + b on the `r` sampled rows, one product in onnxruntime, stored from row `r0` of Y. */
async function sampledOutputs(s: Stat, X: Float32Array, r: number, r0: number, mm: MatMul): Promise<void> {
  const c = s.c;
  const D = c.D;
  const O = c.O;
  const w = c.weight.values as Float32Array;
  const Yc = c.transposed ? await mm.mul(X.subarray(0, r * D), [r, D], w, [D, O]) : await mm.mul(X.subarray(0, r * D), [r, D], w, [O, D], false, true);
  const bias = c.bias?.values as Float32Array | undefined;
  if (bias) for (let i = 0; i < r; i++) for (let o = 0; o < O; o++) Yc[i * O + o] += bias[o]!;
  s.Y!.set(Yc, r0 * O);
}

/**
 * Selection statistics: per row, the contributions z_c of each group channel
 * to `outputsPerPosition` random outputs, and their total's square added to
 * the output energy. The contributions of the chunk's rows are stacked into
 * one matrix Z per group (rows × outputs, C) and Zᵀ·Z is added to the group's
 * Gram in one float64 product in onnxruntime (a rank-1 update per row in JS
 * was the plan's largest cost at the defaults).
 */
async function addContributions(s: Stat, b: Buffers, X: Float32Array, r: number, outputsPerPosition: number, rand: () => number, mm: MatMul): Promise<void> {
  const D = s.c.D;
  const O = s.c.O;
  const n = r * outputsPerPosition;
  const Z = chunkZ(b, n);
  for (let i = 0; i < r; i++) {
    const xo = i * D;
    for (let k = 0; k < outputsPerPosition; k++) {
      const o = Math.floor(rand() * O);
      const row = i * outputsPerPosition + k;
      let tot = 0;
      const wo = o * D;
      if (Z.length === 1) {
        const [fc, z, C] = Z[0]!;
        const zo = row * C;
        for (let f = 0; f < D; f++) {
          const v = s.W[wo + f]! * X[xo + f]!;
          tot += v;
          const ch = fc[f]!;
          if (ch >= 0) z[zo + ch] += v;
        }
      } else {
        for (let f = 0; f < D; f++) {
          const v = s.W[wo + f]! * X[xo + f]!;
          if (v === 0) continue;
          tot += v;
          for (const [fc, z, C] of Z) {
            const ch = fc[f]!;
            if (ch >= 0) z[row * C + ch] += v;
          }
        }
      }
      s.ey += tot * tot;
    }
  }
  for (const [gi, z] of b.z) {
    const C = z.length;
    const zz = b.zRows.get(gi)!.subarray(0, n * C);
    const g = await mm.mul64(zz, [n, C], zz, [n, C], true, false);
    const G = s.gz.get(gi)!;
    for (let a = 0; a < g.length; a++) G[a] += g[a]!;
  }
}

/** The chunk's Z matrices (n rows, zeroed), one per group, with their feature → channel maps and widths. */
function chunkZ(b: Buffers, n: number): [Int32Array, Float64Array, number][] {
  const out: [Int32Array, Float64Array, number][] = [];
  for (const [gi, fc] of b.zsByGroup) {
    const C = b.z.get(gi)!.length;
    let z = b.zRows.get(gi);
    if (!z || z.length < n * C) b.zRows.set(gi, (z = new Float64Array(n * C)));
    else z.fill(0, 0, n * C);
    out.push([fc, z, C]);
  }
  return out;
}
