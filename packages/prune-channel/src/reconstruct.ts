// Least-squares reconstruction: each consumer's kept weights and bias refit
// against its original outputs, on the calibration inputs it sees once the
// channels are gone (and, in sequential mode, once earlier layers are refit).
import { cloneModel, requireRuntime, type ChannelGraph, type Dataset, type Model, type NamedTensor, type Node, type PluginContext } from '@shears/core';
import type { Selection } from '@shears/prune-filter';
import { forEachBatch, type CutOptions } from './calibrate.js';
import { inputRow, outputDims, samplePositions, weightIndex } from './consumers.js';
import { NAME, type LayerReport } from './details.js';
import { fitRidge, type RidgeFit } from './linalg.js';
import { MatMul } from './matmul.js';
import type { ChannelParsed } from './options.js';
import { removedFeatures, type Ancestors, type Stat } from './stats.js';

/** Rows of the consumer's least-squares problem that the per-layer errors are measured on. */
const EVAL_ROWS = 256;

/** What the reconstruction needs besides the consumers to refit. */
export interface ReconstructInput {
  model: Model;
  graph: ChannelGraph;
  selection: Selection;
  data: Dataset;
  samples: number;
  opts: ChannelParsed;
  ctx: PluginContext;
  ancestors: Ancestors;
}

/** One consumer's least-squares problem: its kept input features and sampled rows of them. */
interface Job {
  s: Stat;
  /** Kept input features (indices into D) and their count. */
  kept: Int32Array;
  nk: number;
  /** Sampled rows × kept features, `r` of them filled. */
  X: Float32Array;
  /** One row's scratch. */
  x: Float64Array;
  r: number;
  /** Its rows come from a calibration pass (not from the rows the statistics pass kept). */
  pass: boolean;
}

/**
 * Refit each consumer's kept weights and bias by ridge least squares against
 * the original outputs. Sequential mode runs the calibration data through a
 * working copy in which every earlier consumer is already refit (dropped
 * inputs zeroed), so later layers absorb the error of earlier ones.
 * Returns the new full-shape tensors (dropped input features zero), which
 * the plan sets before the channels are removed; appends one report per layer.
 */
export async function reconstruct(todo: Stat[], input: ReconstructInput, layers: LayerReport[]): Promise<Map<string, Float32Array>> {
  const { model, opts, ctx } = input;
  const order = new Map(model.graph.nodes.map((n, i) => [n, i]));
  todo.sort((a, b) => order.get(a.c.node)! - order.get(b.c.node)!);
  const result = new Map<string, Float32Array>();
  const working = opts.mode === 'sequential' ? cloneModel(model) : model;
  const batches = passBatches(todo, opts.mode, input.ancestors);
  const cache = opts.mode === 'sequential' && !model.graph.nodes.some((n) => n.subgraphs().length > 0) ? new PassCache(model) : undefined;
  const mm = new MatMul(requireRuntime(ctx, NAME));
  try {
    for (const [bi, batch] of batches.entries()) {
      const jobs = batch.map((s) => newJob(s, todo, input));
      const passJobs = jobs.filter((j) => j.pass);
      const names = [...new Set(passJobs.map((j) => j.s.c.input.name))];
      const pass = cache && passJobs.length ? cache.plan(names, batch, batches[bi + 1]) : undefined;
      const kept = passJobs.length ? await gatherRows(working, passJobs, names, input, pass?.cut ?? {}) : new Map<string, NamedTensor[]>();
      cache?.passed(batch, kept, pass?.avail ?? new Set());
      for (const j of jobs) {
        const { w, b, report } = await refit(j, opts, ctx, mm);
        const c = j.s.c;
        result.set(c.weightName, w);
        if (opts.mode === 'sequential') (working.graph.initializer(c.weightName)!.values as Float32Array).set(w);
        if (b && c.biasName) {
          result.set(c.biasName, b);
          if (opts.mode === 'sequential') (working.graph.initializer(c.biasName)!.values as Float32Array).set(b);
        }
        layers.push(report);
        j.X = new Float32Array(0);
      }
    }
  } finally {
    await mm.release();
  }
  return result;
}

/**
 * Batches of consumers (in graph order) none of which feeds another's input:
 * one calibration pass each (one pass in all for mode layer).
 */
function passBatches(todo: Stat[], mode: ChannelParsed['mode'], ancestors: Ancestors): Stat[][] {
  if (mode === 'layer') return [todo];
  const batches: Stat[][] = [];
  let cur: Stat[] = [];
  for (const s of todo) {
    const a = ancestors.of(s.c.node);
    if (cur.some((t) => a.has(t.c.node))) {
      batches.push(cur);
      cur = [];
    }
    cur.push(s);
  }
  if (cur.length) batches.push(cur);
  return batches;
}

/**
 * The consumer's problem: its kept features, and its rows taken from the
 * statistics pass when the inputs it sees are those of that pass (mode layer,
 * or no other refit consumer upstream); otherwise a calibration pass fills them.
 */
function newJob(s: Stat, todo: Stat[], { graph, selection, opts, ancestors }: ReconstructInput): Job {
  const removed = removedFeatures(s, graph, selection);
  const kept = Int32Array.from([...removed.keys()].filter((f) => !removed[f]));
  const nk = kept.length;
  const X = new Float32Array(s.rows * nk);
  let r = 0;
  if (s.Xfull && (opts.mode === 'layer' || !todo.some((t) => t !== s && ancestors.of(s.c.node).has(t.c.node)))) {
    const D = s.c.D;
    for (; r < s.rows; r++) for (let k = 0; k < nk; k++) X[r * nk + k] = s.Xfull[r * D + kept[k]!]!;
  }
  s.Xfull = undefined;
  return { s, kept, nk, X, x: new Float64Array(nk), r, pass: r === 0 };
}

/**
 * One calibration pass of the working model: the kept features of each job's
 * sampled rows (the same positions as the statistics pass). Returns the
 * activations `cut.keep` asked for, per chunk.
 */
function gatherRows(working: Model, jobs: Job[], names: string[], { data, samples, opts, ctx }: ReconstructInput, cut: CutOptions): Promise<Map<string, NamedTensor[]>> {
  const label = `${NAME}: reconstruction (${jobs.map((j) => j.s.c.node.label).join(', ')})`;
  return forEachBatch(
    working,
    names,
    data,
    samples,
    opts.batchSize,
    ctx,
    label,
    (out, rows, image0) => {
      for (const j of jobs) {
        const c = j.s.c;
        const xt = out[c.input.name]!;
        const outDims = outputDims(c, xt.dims);
        const outW = c.kind === 'conv' ? outDims[3]! : 1;
        for (let n = 0; n < rows; n++) {
          const pos = samplePositions(c, outDims, image0 + n, opts.positionsPerImage, opts.seed, j.s.salt);
          for (const p of pos) {
            if (j.r >= j.s.rows) break;
            inputRow(c, xt.data as Float32Array, xt.dims, n, p, outW, j.x, j.kept);
            j.X.set(j.x, j.r * j.nk);
            j.r++;
          }
        }
      }
    },
    cut,
  );
}

/**
 * The job's ridge fit (the ridge raised, with a warning, when there are fewer
 * than two rows per unknown), as full-shape weight and bias tensors, and its
 * layer report.
 */
async function refit(j: Job, opts: ChannelParsed, ctx: PluginContext, mm: MatMul): Promise<{ w: Float32Array; b?: Float32Array; report: LayerReport }> {
  const c = j.s.c;
  const O = c.O;
  const R = j.r;
  const nk = j.nk;
  const unknowns = nk + (c.bias ? 1 : 0);
  const under = R < unknowns * 2;
  let ridge = opts.ridge;
  if (under) {
    ridge = Math.max(opts.ridge, 1e-4) * Math.max(10, (10 * unknowns) / Math.max(1, R));
    ctx.logger.warn(`${NAME}: ${c.node.label}: ${R} calibration rows for ${unknowns} unknowns per output; raising the ridge term to ${ridge.toExponential(2)} (more --calib-samples or --positions-per-image would fit better)`);
  }
  const fit = await fitRidge(j.X, j.s.Y!, R, nk, O, !!c.bias, ridge, (A, ad, B, bd, ta, tb) => mm.mul(A, ad, B, bd, ta, tb), (A, ad, B, bd, ta, tb) => mm.mul64(A, ad, B, bd, ta, tb));
  const { before, after } = await refitErrors(j, fit, mm);
  const w = new Float32Array(c.weight.size);
  for (let k = 0; k < nk; k++) for (let o = 0; o < O; o++) w[weightIndex(c, o, j.kept[k]!)] = fit.W[k * O + o]!;
  const report = { layer: c.node.label, weight: c.weightName, kept: nk, of: c.D, rows: R, unknowns, underdetermined: under, ridge: fit.lambda, errorBefore: before, errorAfter: after };
  return { w, ...(c.bias && c.biasName ? { b: Float32Array.from(fit.b) } : {}), report };
}

/**
 * Relative output errors on up to EVAL_ROWS of the job's rows: with the
 * dropped inputs zeroed (before) and refit (after); products in onnxruntime.
 */
async function refitErrors(j: Job, fit: RidgeFit, mm: MatMul): Promise<{ before: number; after: number }> {
  const c = j.s.c;
  const O = c.O;
  const R = j.r;
  const nk = j.nk;
  const Y = j.s.Y!;
  const Wold = j.s.W;
  const bOld = c.bias ? (c.bias.values as Float32Array) : undefined;
  const stride = Math.max(1, Math.floor(R / EVAL_ROWS));
  const E = Math.ceil(R / stride);
  const Xe = new Float32Array(E * nk);
  for (let e = 0; e < E; e++) Xe.set(j.X.subarray(e * stride * nk, (e * stride + 1) * nk), e * nk);
  const Wk = new Float32Array(nk * O);
  for (let k = 0; k < nk; k++) for (let o = 0; o < O; o++) Wk[k * O + o] = Wold[o * c.D + j.kept[k]!]!;
  const P0 = await mm.mul(Xe, [E, nk], Wk, [nk, O]);
  const P1 = await mm.mul(Xe, [E, nk], Float32Array.from(fit.W), [nk, O]);
  let e0 = 0;
  let e1 = 0;
  let ref = 0;
  for (let e = 0; e < E; e++) {
    const yr = e * stride * O;
    for (let o = 0; o < O; o++) {
      const y = Y[yr + o]!;
      e0 += (y - P0[e * O + o]! - (bOld ? bOld[o]! : 0)) ** 2;
      e1 += (y - P1[e * O + o]! - fit.b[o]!) ** 2;
      ref += y * y;
    }
  }
  return { before: ref ? e0 / ref : 0, after: ref ? e1 / ref : 0 };
}

/**
 * Sequential passes re-run the model only from the activations the previous
 * pass left valid: values it computed (or was fed) that no layer refit since
 * then feeds are kept, for every calibration image, and fed to the next pass
 * instead of recomputing the prefix up to them.
 */
class PassCache {
  readonly #nodes: readonly Node[];
  /** Value name → the node computing it. */
  readonly #prodOf = new Map<string, Node>();
  /** Values the previous pass computed or was fed. */
  #avail = new Set<string>();
  /** The activations the previous pass kept, per chunk. */
  #kept = new Map<string, NamedTensor[]>();
  /** The layers refit after the previous pass. */
  #refitLast = new Set<Node>();

  constructor(model: Model) {
    this.#nodes = model.graph.nodes;
    for (const n of this.#nodes) for (const o of n.outputs) if (o.name) this.#prodOf.set(o.name, n);
  }

  /**
   * The cut for a pass capturing `names` before `batch` is refit: the kept
   * activations still valid (not downstream of the layers refit since the
   * previous pass; earlier refits were in its weights) are fed, and those the
   * pass for `next` can use are kept. Also the values this pass computes or is fed.
   */
  plan(names: string[], batch: Stat[], next: Stat[] | undefined): { cut: CutOptions; avail: Set<string> } {
    const plan = this.#walk(names, this.#avail, this.#affectedBy(this.#refitLast));
    const keep = next ? [...this.#walk([...new Set(next.map((s) => s.c.input.name))], plan.avail, this.#affectedBy(new Set(batch.map((s) => s.c.node)))).cut] : [];
    return { cut: { cut: new Map([...plan.cut].map((n) => [n, this.#kept.get(n)!])), keep }, avail: plan.avail };
  }

  /** After the pass for `batch` (if any): what it kept and the values it computed or was fed. */
  passed(batch: Stat[], kept: Map<string, NamedTensor[]>, avail: Set<string>): void {
    this.#refitLast = new Set(batch.map((s) => s.c.node));
    this.#kept = kept;
    this.#avail = avail;
  }

  /** The nodes downstream of (or in) `refit`. */
  #affectedBy(refit: Set<Node>): Set<Node> {
    const a = new Set<Node>();
    for (const n of this.#nodes) if (refit.has(n) || n.inputs.some((v) => v?.producer && a.has(v.producer))) a.add(n);
    return a;
  }

  /**
   * Walk up from `names`: stop at values available from the previous pass
   * whose producer is not `affected` (the cut, fed instead of computed);
   * `avail` is every value the pass then computes or is fed.
   */
  #walk(names: string[], availPrev: Set<string>, affected: Set<Node>): { cut: Set<string>; avail: Set<string> } {
    const cut = new Set<string>();
    const avail = new Set<string>();
    const seen = new Set<Node>();
    const visit = (u: string): void => {
      const p = this.#prodOf.get(u);
      if (!p) return;
      if (availPrev.has(u) && !affected.has(p)) {
        cut.add(u);
        avail.add(u);
        return;
      }
      if (seen.has(p)) return;
      seen.add(p);
      for (const o of p.outputs) if (o.name) avail.add(o.name);
      for (const v of p.inputs) if (v) visit(v.name);
    };
    for (const n of names) visit(n);
    return { cut, avail };
  }
}
