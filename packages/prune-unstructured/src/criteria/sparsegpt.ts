// SparseGPT (Frantar & Alistarh 2023): OBS-style layer-wise reconstruction.
// For each layer, H = X·Xᵀ of its input (im2col rows for a window layer),
// damped by λ·mean(diag H); U = upper Cholesky factor of H⁻¹ (Float64, via
// ../linalg.ts); then columns are swept in blocks of 128: in each block the
// mask is chosen by w²/U_jj² (on the weights as updated so far), each pruned
// weight's error is spread over the later columns of its row, and the block's
// errors update the remaining columns with one GEMM.
//
// It is a criterion with `reconstruct`: the strategy decides how many weights
// each layer loses (any scope, allocation or N:M pattern), SparseGPT decides
// which and returns the compensated weights.

import { definePlugin, definePluginFactory, findPruneTargets, parseOptions, requireRuntime, ShearsError, type CriterionPlugin, type Model, type OpRegistry, type PluginContext, type PruneBudget, type ScoreTarget } from '@shears/core';
import { z } from 'zod';
import { im2colRows, linearOffsets, samplePositions, windowGeom, windowOffsets, type WindowGeom } from '../im2col.js';
import { elementScratch, layerInput, layoutOfTarget, toGranularity, type WeightLayout } from '../layout.js';
import { Arena, inverseCholeskyUpperInPlace, NotPositiveDefinite, pack, runtimeEngine, unpack, type MatrixEngine } from '../linalg.js';
import { pruneNM } from '../nm.js';
import { pruneLowest } from '../select.js';
import { calibrationSet, forEachActivationBatch, type ActivationBatch } from './calibration.js';

const schema = z
  .object({
    /** Columns per block of the sweep. */
    blocksize: z.number().int().positive().default(128),
    /** Dampening λ: H += λ·mean(diag H)·I. */
    dampening: z.number().positive().max(1).default(0.01),
    /** Calibration samples to use: the first this many of the calibration set. */
    samples: z.number().int().positive().default(128),
    /** Rows of X per layer at most; positions are subsampled per image (seeded) beyond it. */
    maxRows: z.number().int().positive().default(8192),
    /** Memory for Hessians gathered in one calibration pass (more layers → more passes). */
    hessianMemoryMB: z.number().positive().default(1024),
    /** Samples per runtime call (default: chosen from activation sizes). */
    batchSize: z.number().int().positive().optional(),
    /** onnxruntime threads for the matrix products (default: all cores). */
    threads: z.number().int().positive().optional(),
  })
  .strict();

export type SparseGPTOptions = z.input<typeof schema>;

/** What reconstruction needs for one layer. */
interface LayerStats {
  layout: WeightLayout;
  /** Columns of the matrix view (per group). */
  n: number;
  groups: { h: Float32Array; rowOffset: Int32Array; colOffset: Int32Array }[];
  /** Rows of X accumulated per group. */
  rows: number;
}

interface Pending {
  target: ScoreTarget;
  layout: WeightLayout;
  input: string;
  n: number;
  groupCount: number;
  geom?: WindowGeom;
  /** Rows per sample (window: positions; linear: leading elements). */
  perSample: number;
}

interface State {
  layers: Map<string, LayerStats | string>;
}

/** Rows of X buffered (all layers of a calibration pass together) before they are added to the Hessians. */
const ROW_BUFFER_FLOATS = 48 << 20;

/**
 * The SparseGPT sweep on one matrix (rows × n, row-major, float64, modified
 * in place: pruned entries become 0, the rest compensated). `u` is the upper
 * Cholesky factor of the damped H⁻¹ (n×n). Unstructured: exactly `count`
 * pruned, spread over blocks in proportion to their size; N:M: in every run
 * of m columns of a row (aligned to m), m − n pruned.
 */
export async function sparsegptSweep(
  w: Float64Array,
  rows: number,
  n: number,
  u: Float64Array,
  budget: { count: number } | { nm: { n: number; m: number } },
  blocksize: number,
  engine: MatrixEngine,
  arena: Arena,
): Promise<{ mask: Uint8Array; loss: number }> {
  const mask = new Uint8Array(rows * n);
  const nm = 'nm' in budget ? budget.nm : undefined;
  const bs = nm ? Math.max(nm.m, Math.floor(blocksize / nm.m) * nm.m) : blocksize;
  const total = rows * n;
  const count = 'count' in budget ? budget.count : 0;
  let loss = 0;
  const blockMark = arena.mark();
  const metric = new Float32Array(rows * Math.min(bs, n));
  const err = arena.alloc(rows * Math.min(bs, n));
  for (let i1 = 0; i1 < n; i1 += bs) {
    const i2 = Math.min(i1 + bs, n);
    const cnt = i2 - i1;
    if (!nm) {
      // Exact total: this block's share by cumulative rounding.
      const kb = Math.round((count * rows * i2) / total) - Math.round((count * rows * i1) / total);
      const mview = metric.subarray(0, rows * cnt);
      for (let r = 0; r < rows; r++) {
        for (let j = 0; j < cnt; j++) {
          const d = u[(i1 + j) * n + i1 + j]!;
          const x = w[r * n + i1 + j]!;
          mview[r * cnt + j] = (x * x) / (d * d);
        }
      }
      const picked = pruneLowest(mview, kb, 'sparsegpt');
      for (const f of picked) mask[Math.floor(f / cnt) * n + i1 + (f % cnt)] = 1;
    }
    for (let j = 0; j < cnt; j++) {
      const col = i1 + j;
      const d = u[col * n + col]!;
      if (nm && j % nm.m === 0) {
        // Choose this run's m − n by w²/d² on the weights as updated so far.
        const drop = nm.m - nm.n;
        for (let r = 0; r < rows; r++) {
          for (let a = 0; a < drop; a++) {
            let best = -1;
            let bestV = Infinity;
            for (let b = 0; b < nm.m; b++) {
              const c = col + b;
              if (mask[r * n + c]) continue;
              const x = w[r * n + c]!;
              const dd = u[c * n + c]!;
              const v = (x * x) / (dd * dd);
              if (v < bestV) {
                bestV = v;
                best = c;
              }
            }
            mask[r * n + best] = 1;
          }
        }
      }
      const urow = col * n;
      for (let r = 0; r < rows; r++) {
        const ro = r * n;
        const x = w[ro + col]!;
        if (!mask[ro + col]) {
          err[r * cnt + j] = 0;
          continue;
        }
        const e = x / d;
        loss += (e * e) / 2;
        err[r * cnt + j] = e;
        w[ro + col] = 0;
        for (let c = col + 1; c < i2; c++) w[ro + c] -= e * u[urow + c]!;
      }
    }
    if (i2 < n) {
      // W[:, i2:] −= Err · U[i1:i2, i2:]
      const rest = n - i2;
      const mark = arena.mark();
      const ub = pack(u, n, i1, i2, cnt, rest, arena.alloc(cnt * rest));
      const wr = pack(w, n, 0, i2, rows, rest, arena.alloc(rows * rest));
      const out = await engine.gemm(err.subarray(0, rows * cnt), ub, { m: rows, k: cnt, n: rest, alpha: -1, beta: 1, c: wr, out: arena.alloc(rows * rest) });
      unpack(w, n, 0, i2, out, rows, rest);
      arena.reset(mark);
    }
  }
  arena.reset(blockMark);
  return { mask, loss };
}

/** Columns [c0, c1) of a rows×n row-major matrix, contiguous. */
function packCols(x: Float32Array, rows: number, n: number, c0: number, c1: number, out: Float32Array): Float32Array {
  const w = c1 - c0;
  for (let r = 0; r < rows; r++) out.set(x.subarray(r * n + c0, r * n + c1), r * w);
  return out;
}

function packBlock32(src: Float32Array, ld: number, r0: number, c0: number, rows: number, cols: number, out: Float32Array): Float32Array {
  for (let i = 0; i < rows; i++) out.set(src.subarray((r0 + i) * ld + c0, (r0 + i) * ld + c0 + cols), i * cols);
  return out;
}

function unpackBlock32(dst: Float32Array, ld: number, r0: number, c0: number, src: Float32Array, rows: number, cols: number): void {
  for (let i = 0; i < rows; i++) dst.set(src.subarray(i * cols, (i + 1) * cols), (r0 + i) * ld + c0);
}

export const sparsegpt = definePluginFactory(
  { name: 'sparsegpt', kind: 'criterion', description: 'SparseGPT: OBS layer-wise reconstruction with the input Hessian (needs calibration data; updates weights)' },
  (options?: SparseGPTOptions): CriterionPlugin => {
    const opts = parseOptions('sparsegpt', schema, options);
    const states = new WeakMap<Model, State>();
    // Kept across layers and plans: large scratch is touched once.
    const arena = new Arena();
    let ubuf = new Float64Array(0);

    function plan(model: Model, t: ScoreTarget, ops: OpRegistry): Pending | string {
      const layout = layoutOfTarget(t, ops);
      const input = layerInput(model, t.node, layout, ops);
      if (typeof input === 'string') return input;
      const shape = input.value.shape;
      if (!shape) return `the shape of input ${input.value.name} is not known`;
      const rank = layout.dims.length;
      if (rank >= 3 && layout.outAxis === 0 && layout.inAxis === 1 && input.channelAxis === 1 && (layout.groups === 1 || input.perGroup)) {
        const geom = windowGeom(t.node, layout, shape);
        if (typeof geom === 'string') return geom;
        const n = geom.kh * geom.kw * geom.cg;
        return { target: t, layout, input: input.value.name, n, groupCount: geom.groups, geom, perSample: geom.oh * geom.ow };
      }
      if (rank === 2 && layout.outAxis !== undefined && input.channelAxis === shape.length - 1) {
        const lead = shape.slice(1, -1);
        if (!lead.every((d): d is number => typeof d === 'number')) return `input ${input.value.name} has dynamic inner dimensions`;
        return { target: t, layout, input: input.value.name, n: layout.dims[layout.inAxis]!, groupCount: 1, perSample: lead.reduce((a, b) => a * b, 1) };
      }
      return 'its weight layout has no matrix view for reconstruction (a window [K, C/g, k…] or a 2-D weight is needed)';
    }

    async function gather(model: Model, targets: readonly ScoreTarget[], ctx: PluginContext, state: State): Promise<void> {
      const todo: Pending[] = [];
      for (const t of targets) {
        if (state.layers.has(t.weight.name)) continue;
        const p = plan(model, t, ctx.ops);
        if (typeof p === 'string') {
          ctx.logger.warn(`sparsegpt: ${t.node.label}: ${p}; it is pruned by magnitude, without reconstruction`);
          state.layers.set(t.weight.name, p);
        } else todo.push(p);
      }
      if (!todo.length) return;
      const maxN = Math.max(...todo.map((p) => p.n));
      if (ubuf.length < maxN * maxN) ubuf = new Float64Array(maxN * maxN);
      const data = await calibrationSet(model, ctx, 'sparsegpt');
      const samples = Math.min(data.size, opts.samples ?? Infinity);
      // Passes that each hold at most hessianMemoryMB of Hessians.
      const budget = opts.hessianMemoryMB * 1024 * 1024;
      const passes: (typeof todo)[] = [];
      let used = Infinity;
      for (const p of todo) {
        const bytes = p.groupCount * p.n * p.n * 4;
        if (used + bytes > budget) passes.push([]), (used = 0);
        passes[passes.length - 1]!.push(p);
        used += bytes;
      }
      const engine = runtimeEngine(requireRuntime(ctx, 'sparsegpt'), { threads: opts.threads });
      try {
        for (const pass of passes) {
          const t0 = performance.now();
          await gatherPass(model, pass, data, samples, ctx, state, engine);
          ctx.logger.debug(`sparsegpt: Hessians of ${pass.length} layers from ${samples} samples in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
        }
      } finally {
        await engine.release();
      }
    }

    async function gatherPass(model: Model, pass: Pending[], data: Awaited<ReturnType<typeof calibrationSet>>, samples: number, ctx: PluginContext, state: State, engine: MatrixEngine) {
      // Rows of X are buffered per layer and group across images, so that
      // XᵀX is added to H in a few large GEMMs (the buffers share a budget).
      const share = Math.floor(ROW_BUFFER_FLOATS / pass.length);
      const pending = pass.map((p) => {
        const take = Math.min(p.perSample, Math.ceil(opts.maxRows / samples));
        const capacity = Math.max(16, Math.min(take * samples, Math.floor(share / (p.n * p.groupCount))));
        const groups = Array.from({ length: p.groupCount }, (_, g) => ({
          h: new Float32Array(p.n * p.n),
          ...(p.geom ? windowOffsets(p.layout, p.geom, g) : linearOffsets(p.layout)),
        }));
        const rows = Array.from({ length: p.groupCount }, () => ({ x: new Float32Array(capacity * p.n), fill: 0 }));
        return { ...p, take, capacity, rows, stats: { layout: p.layout, n: p.n, groups, rows: 0 } as LayerStats };
      });
      const maxN = Math.max(...pending.map((p) => p.n));
      const maxBlock = Math.ceil(maxN / (maxN >= 2048 ? 4 : maxN >= 512 ? 2 : 1));
      const spare = new Float32Array(maxBlock * maxBlock);
      const spare2 = new Float32Array(maxBlock * maxBlock);
      const colScratch: Float32Array[] = [];
      const scratchFor = (i: number, len: number) => {
        if (!colScratch[i] || colScratch[i]!.length < len) colScratch[i] = new Float32Array(len);
        return colScratch[i]!.subarray(0, len);
      };
      const posScratch = new Int32Array(Math.max(...pending.map((p) => p.perSample)));

      let flushMs = 0;
      let im2colMs = 0;
      /** H += XᵀX for the buffered rows of one layer and group. */
      const flush = async (p: (typeof pending)[number], g: number) => {
        const t0 = performance.now();
        await addRows(p, g);
        flushMs += performance.now() - t0;
      };
      const addRows = async (p: (typeof pending)[number], g: number) => {
        const buf = p.rows[g]!;
        const rows = buf.fill;
        if (rows === 0) return;
        const n = p.n;
        const h = p.stats.groups[g]!.h;
        const x = buf.x;
        if (n < 128) {
          // Small: upper triangle in JS, mirrored at the end.
          for (let r = 0; r < rows; r++) {
            const ro = r * n;
            for (let i = 0; i < n; i++) {
              const xi = x[ro + i]!;
              if (xi === 0) continue;
              const hi = i * n;
              for (let j = i; j < n; j++) h[hi + j] += xi * x[ro + j]!;
            }
          }
        } else {
          // Upper block triangle of XᵀX only (H is symmetric): nb(nb+1)/2 of nb² block products.
          const nb = n >= 2048 ? 4 : n >= 512 ? 2 : 1;
          const edges = Array.from({ length: nb + 1 }, (_, i) => Math.round((n * i) / nb));
          const blocks = edges.slice(0, -1).map((c0, i) => packCols(x, rows, n, c0, edges[i + 1]!, scratchFor(i, rows * (edges[i + 1]! - c0))));
          for (let i = 0; i < nb; i++) {
            for (let j = i; j < nb; j++) {
              const [r0, r1, c0, c1] = [edges[i]!, edges[i + 1]!, edges[j]!, edges[j + 1]!];
              const c = packBlock32(h, n, r0, c0, r1 - r0, c1 - c0, spare.subarray(0, (r1 - r0) * (c1 - c0)));
              const out = await engine.gemm(blocks[i]!, blocks[j]!, { m: r1 - r0, k: rows, n: c1 - c0, transA: true, alpha: 1, beta: 1, c, out: spare2.subarray(0, (r1 - r0) * (c1 - c0)) });
              unpackBlock32(h, n, r0, c0, out, r1 - r0, c1 - c0);
            }
          }
        }
        buf.fill = 0;
      };

      const onBatch = async (b: ActivationBatch) => {
        for (const [li, p] of pending.entries()) {
          const act = b.get(p.input).data as Float32Array;
          for (let s = 0; s < b.rows; s++) {
            const pos = samplePositions(p.perSample, p.take, ((b.offset + s) * 0x9e3779b1) ^ (li * 0x85ebca6b), posScratch);
            for (let g = 0; g < p.groupCount; g++) {
              const buf = p.rows[g]!;
              for (let k = 0; k < pos.length; ) {
                if (buf.fill === p.capacity) await flush(p, g);
                const cnt = Math.min(p.capacity - buf.fill, pos.length - k);
                const t0 = performance.now();
                if (p.geom) im2colRows(act, s, p.geom, g, pos.subarray(k, k + cnt), cnt, buf.x, buf.fill);
                else for (let r = 0; r < cnt; r++) buf.x.set(act.subarray((s * p.perSample + pos[k + r]!) * p.n, (s * p.perSample + pos[k + r]! + 1) * p.n), (buf.fill + r) * p.n);
                im2colMs += performance.now() - t0;
                buf.fill += cnt;
                k += cnt;
              }
            }
            p.stats.rows += pos.length;
          }
        }
      };
      await forEachActivationBatch(model, pending.map((p) => p.input), data, ctx, { plugin: 'sparsegpt', samples, batchSize: opts.batchSize }, onBatch);
      for (const p of pending) for (let g = 0; g < p.groupCount; g++) await flush(p, g);
      ctx.logger.debug(`sparsegpt: calibration pass: im2col ${(im2colMs / 1000).toFixed(1)} s, XᵀX ${(flushMs / 1000).toFixed(1)} s (the rest is inference)`);
      for (const p of pending) {
        // Only the upper triangle was accumulated: mirror it.
        for (const { h } of p.stats.groups) for (let i = 0; i < p.n; i++) for (let j = 0; j < i; j++) h[i * p.n + j] = h[j * p.n + i]!;
        state.layers.set(p.target.weight.name, p.stats);
      }
    }

    async function stateFor(target: ScoreTarget, ctx: PluginContext): Promise<State> {
      let state = states.get(target.model);
      if (!state) {
        state = { layers: new Map() };
        states.set(target.model, state);
        const all = findPruneTargets(target.model, ctx.ops).targets.map((p) => ({ ...target, node: p.node, input: p.input, weight: p.tensor, granularity: { kind: 'element' as const } }));
        await gather(target.model, [...all, target], ctx, state);
      }
      if (!state.layers.has(target.weight.name)) await gather(target.model, [target], ctx, state);
      return state;
    }

    /** U for one group's Hessian (damped; dead inputs fixed), in the shared buffer. Returns the dead columns too. */
    async function factor(h32: Float32Array, n: number, engine: MatrixEngine, label: string, ctx: PluginContext): Promise<{ u: Float64Array; dead: Uint8Array }> {
      if (ubuf.length < n * n) ubuf = new Float64Array(n * n);
      const dead = new Uint8Array(n);
      let mean = 0;
      for (let i = 0; i < n; i++) {
        if (h32[i * n + i]! <= 0) dead[i] = 1;
        mean += dead[i] ? 1 : h32[i * n + i]!;
      }
      mean /= n;
      for (let damp = opts.dampening, tries = 0; ; damp *= 10, tries++) {
        const h = ubuf.subarray(0, n * n);
        for (let i = 0; i < n * n; i++) h[i] = h32[i]!;
        for (let i = 0; i < n; i++) {
          if (dead[i]) {
            for (let j = 0; j < n; j++) h[i * n + j] = h[j * n + i] = 0;
            h[i * n + i] = 1;
          }
          h[i * n + i] += damp * mean;
        }
        try {
          return { u: await inverseCholeskyUpperInPlace(h, n, engine, arena), dead };
        } catch (e) {
          if (!(e instanceof NotPositiveDefinite) || tries >= 4) throw e;
          ctx.logger.warn(`sparsegpt: ${label}: Hessian not positive definite with dampening ${damp}; retrying with ${damp * 10}`);
        }
      }
    }

    async function reconstructLayer(target: ScoreTarget, stats: LayerStats, budget: PruneBudget, ctx: PluginContext) {
      const src = target.weight.floats();
      const data = Float32Array.from(src);
      const pruned = new Uint8Array(src.length);
      const engine = runtimeEngine(requireRuntime(ctx, 'sparsegpt'), { threads: opts.threads });
      let loss = 0;
      let factorMs = 0;
      let sweepMs = 0;
      try {
        const G = stats.groups.length;
        const { n } = stats;
        for (const [g, grp] of stats.groups.entries()) {
          const rows = grp.rowOffset.length;
          let t0 = performance.now();
          const { u, dead } = await factor(grp.h, n, engine, target.node.label, ctx);
          factorMs += performance.now() - t0;
          t0 = performance.now();
          const w = new Float64Array(rows * n);
          for (let r = 0; r < rows; r++) for (let j = 0; j < n; j++) w[r * n + j] = dead[j] ? 0 : src[grp.rowOffset[r]! + grp.colOffset[j]!]!;
          const share = budget.pattern ? { nm: budget.pattern } : { count: Math.round((budget.count * (g + 1)) / G) - Math.round((budget.count * g) / G) };
          const r = await sparsegptSweep(w, rows, n, u, share, opts.blocksize, engine, arena);
          sweepMs += performance.now() - t0;
          loss += r.loss;
          for (let i = 0; i < rows; i++) {
            for (let j = 0; j < n; j++) {
              const f = grp.rowOffset[i]! + grp.colOffset[j]!;
              data[f] = r.mask[i * n + j] ? 0 : w[i * n + j]!;
              pruned[f] = r.mask[i * n + j]!;
            }
          }
        }
      } finally {
        await engine.release();
      }
      const prune = new Uint32Array(budget.count);
      let k = 0;
      for (let i = 0; i < pruned.length; i++) if (pruned[i]) prune[k++] = i;
      if (k !== budget.count) throw new ShearsError('E_INTERNAL', `sparsegpt: ${target.node.label}: pruned ${k}, expected ${budget.count}`, { plugin: 'sparsegpt' });
      return { prune, data, details: { loss, rows: stats.rows, factorSeconds: factorMs / 1000, sweepSeconds: sweepMs / 1000 } };
    }

    return definePlugin({
      name: 'sparsegpt',
      kind: 'criterion',
      version: '0.1.0',
      options: { ...opts },
      mutates: false,
      needsData: true,
      async prepare(model, targets, ctx) {
        const state: State = { layers: new Map() };
        states.set(model, state);
        await gather(model, targets, ctx, state);
      },
      /** OBS saliency w²/U_jj² of the first sweep step (magnitude where there is no matrix view). */
      async score(target, ctx) {
        const state = await stateFor(target, ctx);
        const stats = state.layers.get(target.weight.name)!;
        const w = target.weight.floats();
        const s = elementScratch(target);
        if (typeof stats === 'string') {
          for (let i = 0; i < w.length; i++) s[i] = w[i]! * w[i]!;
          return toGranularity(s, target);
        }
        const engine = runtimeEngine(requireRuntime(ctx, 'sparsegpt'), { threads: opts.threads });
        try {
          for (const grp of stats.groups) {
            const { u, dead } = await factor(grp.h, stats.n, engine, target.node.label, ctx);
            const n = stats.n;
            for (let r = 0; r < grp.rowOffset.length; r++) {
              for (let j = 0; j < n; j++) {
                const f = grp.rowOffset[r]! + grp.colOffset[j]!;
                const d = u[j * n + j]!;
                s[f] = dead[j] ? 0 : (w[f]! * w[f]!) / (d * d);
              }
            }
          }
        } finally {
          await engine.release();
        }
        return toGranularity(s, target);
      },
      async reconstruct(target, budget, ctx) {
        const state = await stateFor(target, ctx);
        const stats = state.layers.get(target.weight.name)!;
        if (typeof stats === 'string') {
          const w = target.weight.floats();
          const mag = w.map(Math.abs);
          const prune = budget.pattern ? pruneNM(mag, target.weight.dims, budget.pattern.axis, budget.pattern) : pruneLowest(mag, budget.count, 'sparsegpt');
          const data = Float32Array.from(w);
          for (const i of prune) data[i] = 0;
          return { prune, data };
        }
        const t0 = performance.now();
        const r = await reconstructLayer(target, stats, budget, ctx);
        ctx.logger.debug(`sparsegpt: ${target.node.label}: ${stats.groups.length}×${stats.n}² Hessian, ${stats.rows} rows, loss ${r.details.loss.toExponential(3)}, ${((performance.now() - t0) / 1000).toFixed(2)} s (H⁻¹ factor ${r.details.factorSeconds.toFixed(2)} s, sweep ${r.details.sweepSeconds.toFixed(2)} s)`);
        // The Hessian is spent; drop it (a later call gathers again).
        state.layers.delete(target.weight.name);
        return r;
      },
    });
  },
);
