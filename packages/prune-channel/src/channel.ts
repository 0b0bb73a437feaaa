import {
  buildDependencyGraph,
  CALIBRATION,
  cloneModel,
  definePlugin,
  definePluginFactory,
  parseOptions,
  requireRuntime,
  ShearsError,
  type ChannelGroup,
  type Dataset,
  type Model,
  type NamedTensor,
  type Node,
  type PlanAction,
  type PluginContext,
  type PruningPlan,
  type StrategyPlugin,
} from '@shears/core';
import { byAmount, candidates, globalAmount, keepNonEmpty, removeAction, scored, targetMacs, type Notes, type Selection } from '@shears/prune-filter';
import { forEachBatch } from './calibrate.js';
import { groupConsumers, inputRow, outputDims, samplePositions, weightIndex, type Consumer } from './consumers.js';
import { fitRidge, rank1Upper, symmetrize } from './linalg.js';
import { MatMul } from './matmul.js';
import { channelSchema, type ChannelOptions, type ChannelParsed } from './options.js';
import { greedyScores, lassoScores } from './rank.js';

const NAME = 'channel';

/** Rows of the consumer's least-squares problem that the per-layer errors are measured on. */
const EVAL_ROWS = 256;

export const NO_CALIBRATION =
  `${NAME}: calibration data is required (--calib data.npz, an IDX file or an image folder; in a recipe, calibration: {data: …}). ` +
  'Channel pruning chooses channels by how much each layer’s output on real inputs changes, and refits the remaining weights ' +
  'by least squares to rebuild that output; both need activations of representative inputs. ' +
  '--calib random:N is accepted but poor: noise activations do not show which channels real data relies on, and weights refit to noise generalize badly.';

/** Per-layer outcome of the reconstruction, for the JSON report. */
export interface LayerReport {
  layer: string;
  weight: string;
  /** Input features (channels × kernel positions) kept, of all. */
  kept: number;
  of: number;
  rows: number;
  unknowns: number;
  underdetermined: boolean;
  ridge: number;
  /** Relative squared error ||y − ŷ||² / ||y||² on sampled rows: dropped channels zeroed, then after the refit. */
  errorBefore: number;
  errorAfter: number;
}

/**
 * A consumer least squares cannot refit here (grouped convolution in
 * `groupedConv: 'divisible'` mode, ConvTranspose, 1-D/3-D or auto_pad convs,
 * batched MatMul, shared or non-float weights…). Its group is left unpruned
 * rather than pruned without a refit, so it loses nothing; `plan.skipped`
 * has the same reason.
 */
export interface NotRefitReport {
  group: string;
  /** The consumer that cannot be refit (absent when no layer reads the group through weights). */
  layer?: string;
  reason: string;
  effect: 'group not pruned';
}

export interface GroupReport {
  group: string;
  consumers: string[];
  removed: number;
  of: number;
  /** Estimated relative output error of the dropped channels before reconstruction (sum over consumers; 0 for l1 without data). */
  selectionError: number;
}

interface Stat {
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

export function parseChannelOptions(options: ChannelOptions | undefined): ChannelParsed {
  return parseOptions(NAME, channelSchema, options);
}

function rowsPerImage(c: Consumer, perImage: number, outDims: number[]): number {
  return c.kind === 'fc' ? 1 : Math.min(perImage, outDims[2]! * outDims[3]!);
}

async function planChannel(model: Model, opts: ChannelParsed, ctx: PluginContext): Promise<PruningPlan> {
  const graph = buildDependencyGraph(model, { groupedConv: opts.groupedConv, crossChannel: opts.crossChannel, inputShapes: opts.inputShapes, registry: ctx.ops });
  const needsData = opts.reconstruct || opts.selection !== 'l1';
  const data = ctx.state.get(CALIBRATION);
  // A missing option, not bad data: a usage error (exit 2 in the CLI).
  if (needsData && !data) throw new ShearsError('E_OPTION', NO_CALIBRATION, { plugin: NAME, option: 'calib' });
  const skipped: Notes = [];
  const byNode = new Map<Node, Consumer | string>();
  const groups: ChannelGroup[] = [];
  const consumersOf = new Map<ChannelGroup, Consumer[]>();
  const notRefit: NotRefitReport[] = [];
  for (const g of candidates(graph, opts.exclude, skipped)) {
    if (g.size <= 1) {
      skipped.push({ target: g.id, reason: 'one input channel: nothing to choose', code: 'too-small' });
      continue;
    }
    const gi = graph.groupIndex(g.id)!;
    const cs = groupConsumers(model, graph, gi, byNode);
    if (!Array.isArray(cs)) {
      skipped.push({ target: g.id, reason: `not reconstructable: ${cs.reason}`, code: 'unsupported' });
      notRefit.push({ group: g.id, ...(cs.layer ? { layer: cs.layer } : {}), reason: cs.reason, effect: 'group not pruned' });
    } else {
      groups.push(g);
      consumersOf.set(g, cs);
    }
  }
  // A consumer whose weights some skipped group also reads keeps that group's channels (featChan −1 there).
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
      if (opts.selection !== 'l1') s.gz.set(gi, new Float64Array(g.size * g.size));
    }

  const samples = data ? Math.min(opts.calibSamples, data.size) : 0;
  const keepRows = new Set<Stat>();
  if (opts.reconstruct) {
    const consumerNodes = new Set([...stats.keys()].map((c) => c.node));
    for (const s of stats.values()) if (opts.mode === 'layer' || ![...ancestorsOf(s.c.node)].some((n) => consumerNodes.has(n))) keepRows.add(s);
  }
  if (data) await statsPass(model, [...stats.values()], data, samples, opts, ctx, keepRows);

  // Scores per group: the Gram of channel contributions, each consumer normalized by its output energy.
  const list = groups.map((g) => {
    const gi = graph.groupIndex(g.id)!;
    const free = g.pinned.map((p) => !p);
    const C = g.size;
    const G = new Float64Array(C * C);
    const l1 = new Float64Array(C);
    for (const c of consumersOf.get(g)!) {
      const s = stats.get(c)!;
      const gz = s.gz.get(gi);
      if (gz) {
        symmetrize(gz, C);
        const e = s.ey > 0 ? s.ey : 1;
        for (let i = 0; i < gz.length; i++) G[i] += gz[i]! / e;
      }
      const fc = s.featChan.get(gi)!;
      const sum = new Float64Array(C);
      const cnt = new Float64Array(C);
      for (let f = 0; f < c.D; f++) {
        const ch = fc[f]!;
        if (ch < 0) continue;
        cnt[ch] += c.O;
        for (let o = 0; o < c.O; o++) sum[ch] += Math.abs(s.W[o * c.D + f]!);
      }
      let mean = 0;
      for (let ch = 0; ch < C; ch++) mean += cnt[ch] ? sum[ch]! / cnt[ch]! : 0;
      mean = mean / C || 1;
      for (let ch = 0; ch < C; ch++) l1[ch] += (cnt[ch] ? sum[ch]! / cnt[ch]! : 0) / mean;
    }
    const scores = opts.selection === 'greedy' ? greedyScores(G, C, free) : opts.selection === 'lasso' ? lassoScores(G, C, free) : Float32Array.from(l1);
    return { s: scored(g, scores), G };
  });
  const lim = { roundTo: opts.roundTo, maxLayerAmount: opts.maxLayerAmount };
  const sc = list.map((x) => x.s);
  let selection: Selection;
  let macsAfter: number;
  if (opts.targetMacs !== undefined) {
    const r = targetMacs(graph, sc, opts.targetMacs, opts.scope ?? 'global', lim, skipped);
    selection = r.selection;
    macsAfter = r.macs;
    if (!r.reached) skipped.push({ target: 'model', reason: `target MACs ${opts.targetMacs} not reachable: best is ${(r.macs / Math.max(1, graph.macs)).toFixed(3)} of the original`, code: 'target-unreachable' });
  } else {
    selection = (opts.scope ?? 'layer') === 'global' ? globalAmount(sc, opts.amount!, lim, skipped) : byAmount(sc, opts.amount!, lim, skipped);
    macsAfter = 0;
  }
  keepNonEmpty(graph, selection, skipped);
  if (opts.targetMacs === undefined) macsAfter = graph.estimateMacs(selection);

  const actions: PlanAction[] = [];
  const groupReports: GroupReport[] = [];
  for (const { s, G } of list) {
    const chans = selection.get(s.group.id);
    if (!chans?.length) continue;
    actions.push(removeAction(graph, s.group, chans, s.scores));
    let err = 0;
    for (const a of chans) for (const b of chans) err += G[a * s.group.size + b]!;
    groupReports.push({ group: s.group.id, consumers: consumersOf.get(s.group)!.map((c) => c.node.label), removed: chans.length, of: s.group.size, selectionError: err });
  }
  if (actions.length === 0) {
    const why = groups.length === 0 ? 'no group of coupled channels may be pruned and refit (see the reasons per group)' : 'the amount rounds to nothing in every group';
    skipped.push({ target: 'model', reason: `nothing pruned: ${why}`, code: 'nothing-pruned' });
    ctx.logger.warn(`${NAME}: nothing pruned: ${why}`);
  }

  const layers: LayerReport[] = [];
  if (opts.reconstruct && actions.length && data) {
    const todo = [...stats.values()].filter((s) => removedFeatures(s, graph, selection).some((x) => x));
    const refit = await reconstruct(model, todo, graph, selection, data, samples, opts, ctx, layers);
    for (const [name, values] of refit) actions.push({ type: 'set-tensor', tensor: name, data: values });
  }
  return {
    version: 1,
    strategy: NAME,
    // The channels are chosen by the strategy's own selection method (details.selection), not a criterion plugin; 'l1' is the l1 criterion's rule.
    ...(opts.selection === 'l1' ? { criterion: 'l1' } : {}),
    options: { ...opts },
    details: {
      selection: opts.selection,
      estimate: { groups: graph.groups.length, prunableGroups: groups.length, channels: groupReports.reduce((a, g) => a + g.removed, 0), macs: graph.macs, macsAfter, calibration: samples },
      groups: groupReports,
      layers,
      notRefit,
    },
    actions,
    skipped,
  };
}

type Graph = ReturnType<typeof buildDependencyGraph>;

function removedFeatures(s: Stat, graph: Graph, selection: Selection): Uint8Array {
  const out = new Uint8Array(s.c.D);
  for (const [gi, fc] of s.featChan) {
    const chans = selection.get(graph.groups[gi]!.id);
    if (!chans?.length) continue;
    const set = new Set(chans);
    for (let f = 0; f < fc.length; f++) if (fc[f]! >= 0 && set.has(fc[f]!)) out[f] = 1;
  }
  return out;
}

/** One pass of the original model: sampled outputs (targets) and the contribution Grams for selection. */
/** Every node upstream of `node` (memoized per graph in `memo`). */
const ancestorMemo = new WeakMap<Node, Set<Node>>();
function ancestorsOf(node: Node): Set<Node> {
  let s = ancestorMemo.get(node);
  if (s) return s;
  s = new Set();
  const stack = node.inputs.map((v) => v?.producer).filter((n): n is Node => !!n);
  while (stack.length) {
    const n = stack.pop()!;
    if (s.has(n)) continue;
    s.add(n);
    for (const v of n.inputs) if (v?.producer && !s.has(v.producer)) stack.push(v.producer);
  }
  ancestorMemo.set(node, s);
  return s;
}

async function statsPass(model: Model, all: Stat[], data: Dataset, samples: number, opts: ChannelParsed, ctx: PluginContext, keepRows: Set<Stat>): Promise<void> {
  const work = all.filter((s) => s.gz.size > 0 || opts.reconstruct);
  if (work.length === 0) return;
  // Only the consumers' inputs are captured: their sampled outputs are W·x + b on the sampled im2col rows, one product
  // per chunk in onnxruntime. Capturing outputs too would double what onnxruntime copies out, and keep it from fusing
  // each Conv with its activation.
  const names = [...new Set(work.map((s) => s.c.input.name))];
  const rngState = { a: (opts.seed ^ 0x51ed27) >>> 0 };
  const rand = () => {
    rngState.a = (rngState.a + 0x6d2b79f5) >>> 0;
    let t = rngState.a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const bufs = new Map<Stat, { x: Float64Array; z: Map<number, Float64Array>; zs: (readonly [Int32Array, Float64Array])[]; rows: Float32Array }>();
  const mm = new MatMul(requireRuntime(ctx, NAME));
  try {
    await forEachBatch(model, names, data, samples, opts.batchSize, ctx, `${NAME}: calibration`, async (out, rows, image0) => {
      for (const s of work) {
        const c = s.c;
        const D = c.D;
        const O = c.O;
        const xt = out[c.input.name]!;
        const yDims = outputDims(c, xt.dims);
        const per = rowsPerImage(c, opts.positionsPerImage, yDims);
        if (opts.reconstruct && !s.Y) s.Y = new Float32Array(samples * per * O);
        if (keepRows.has(s) && !s.Xfull) s.Xfull = new Float32Array(samples * per * D);
        let b = bufs.get(s);
        if (!b) {
          const z = new Map([...s.gz.keys()].map((gi) => [gi, new Float64Array(Math.round(Math.sqrt(s.gz.get(gi)!.length)))]));
          const zs = [...s.featChan].filter(([gi]) => z.has(gi)).map(([gi, fc]) => [fc, z.get(gi)!] as const);
          bufs.set(s, (b = { x: new Float64Array(D), z, zs, rows: new Float32Array(0) }));
        }
        const outW = c.kind === 'conv' ? yDims[3]! : 1;
        // This chunk's sampled im2col rows, straight into Xfull when it is kept.
        const r0 = s.rows;
        const nr = rows * per;
        const X = s.Xfull ? s.Xfull.subarray(r0 * D, (r0 + nr) * D) : b.rows.length >= nr * D ? b.rows.subarray(0, nr * D) : (b.rows = new Float32Array(nr * D));
        let r = 0;
        for (let n = 0; n < rows; n++) {
          for (const p of samplePositions(c, yDims, image0 + n, opts.positionsPerImage, opts.seed, s.salt)) {
            inputRow(c, xt.data as Float32Array, xt.dims, n, p, outW, b.x);
            X.set(b.x, r * D);
            r++;
          }
        }
        s.rows += r;
        if (s.Y) {
          const w = c.weight.values as Float32Array;
          const Yc = c.transposed ? await mm.mul(X.subarray(0, r * D), [r, D], w, [D, O]) : await mm.mul(X.subarray(0, r * D), [r, D], w, [O, D], false, true);
          const bias = c.bias?.values as Float32Array | undefined;
          if (bias) for (let i = 0; i < r; i++) for (let o = 0; o < O; o++) Yc[i * O + o] += bias[o]!;
          s.Y.set(Yc, r0 * O);
        }
        if (s.gz.size === 0) continue;
        // Selection statistics: per row, the contributions z_c of each group channel to `outputsPerPosition` random outputs.
        const single = b.zs.length === 1 ? b.zs[0]! : undefined;
        for (let i = 0; i < r; i++) {
          const xo = i * D;
          for (let k = 0; k < opts.outputsPerPosition; k++) {
            const o = Math.floor(rand() * O);
            for (const z of b.z.values()) z.fill(0);
            let tot = 0;
            const wo = o * D;
            if (single) {
              const [fc, z] = single;
              for (let f = 0; f < D; f++) {
                const ch = fc[f]!;
                const v = s.W[wo + f]! * X[xo + f]!;
                tot += v;
                if (ch >= 0) z[ch] += v;
              }
            } else {
              for (let f = 0; f < D; f++) {
                const v = s.W[wo + f]! * X[xo + f]!;
                if (v === 0) continue;
                tot += v;
                for (const [fc, z] of b.zs) {
                  const ch = fc[f]!;
                  if (ch >= 0) z[ch] += v;
                }
              }
            }
            s.ey += tot * tot;
            for (const [gi, z] of b.z) rank1Upper(s.gz.get(gi)!, z, z.length);
          }
        }
      }
    });
  } finally {
    await mm.release();
  }
}

/**
 * Refit each consumer's kept weights and bias by ridge least squares against
 * the original outputs. Sequential mode runs the calibration data through a
 * working copy in which every earlier consumer is already refit (dropped
 * inputs zeroed), so later layers absorb the error of earlier ones.
 * Returns the new full-shape tensors (dropped input features zero), which
 * the plan sets before the channels are removed.
 */
async function reconstruct(model: Model, todo: Stat[], graph: Graph, selection: Selection, data: Dataset, samples: number, opts: ChannelParsed, ctx: PluginContext, layers: LayerReport[]): Promise<Map<string, Float32Array>> {
  const order = new Map(model.graph.nodes.map((n, i) => [n, i]));
  todo.sort((a, b) => order.get(a.c.node)! - order.get(b.c.node)!);
  const result = new Map<string, Float32Array>();
  const working = opts.mode === 'sequential' ? cloneModel(model) : model;
  // Batches of consumers none of which feeds another's input: one calibration pass each (one pass in all for mode layer).
  const batches: Stat[][] = [];
  if (opts.mode === 'layer') batches.push(todo);
  else {
    let cur: Stat[] = [];
    for (const s of todo) {
      const a = ancestorsOf(s.c.node);
      if (cur.some((t) => a.has(t.c.node))) {
        batches.push(cur);
        cur = [];
      }
      cur.push(s);
    }
    if (cur.length) batches.push(cur);
  }
  // Sequential passes re-run the model only from the activations the previous pass left valid: values it computed (or
  // was fed) that no layer refit since then feeds are kept, for every calibration image, and fed to the next pass
  // instead of recomputing the prefix up to them.
  const caching = opts.mode === 'sequential' && !model.graph.nodes.some((n) => n.subgraphs().length > 0);
  const prodOf = new Map<string, Node>();
  for (const n of model.graph.nodes) for (const o of n.outputs) if (o.name) prodOf.set(o.name, n);
  const affectedBy = (refit: Set<Node>): Set<Node> => {
    const a = new Set<Node>();
    for (const n of model.graph.nodes) if (refit.has(n) || n.inputs.some((v) => v?.producer && a.has(v.producer))) a.add(n);
    return a;
  };
  const walk = (names: string[], availPrev: Set<string>, affected: Set<Node>) => {
    const cut = new Set<string>();
    const avail = new Set<string>();
    const seen = new Set<Node>();
    const visit = (u: string): void => {
      const p = prodOf.get(u);
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
  };
  let availPrev = new Set<string>();
  let cache = new Map<string, NamedTensor[]>();
  let refitLast = new Set<Node>();
  const mm = new MatMul(requireRuntime(ctx, NAME));
  try {
    for (const [bi, batch] of batches.entries()) {
      const jobs = batch.map((s) => {
        const removed = removedFeatures(s, graph, selection);
        const kept = Int32Array.from([...removed.keys()].filter((f) => !removed[f]));
        const nk = kept.length;
        const X = new Float32Array(s.rows * nk);
        let r = 0;
        // The inputs this layer sees are those of the calibration pass: take the kept columns of its rows.
        if (s.Xfull && (opts.mode === 'layer' || !todo.some((t) => t !== s && ancestorsOf(s.c.node).has(t.c.node)))) {
          const D = s.c.D;
          for (; r < s.rows; r++) for (let k = 0; k < nk; k++) X[r * nk + k] = s.Xfull[r * D + kept[k]!]!;
        }
        s.Xfull = undefined;
        return { s, kept, nk, X, x: new Float64Array(nk), r, pass: r === 0 };
      });
      const passJobs = jobs.filter((j) => j.pass);
      const names = [...new Set(passJobs.map((j) => j.s.c.input.name))];
      let cutOpts: { cut?: Map<string, NamedTensor[]>; keep?: string[] } = {};
      let plan: ReturnType<typeof walk> | undefined;
      if (caching && passJobs.length) {
        // Valid: not downstream of the layers refit since the previous pass (earlier refits were in its weights).
        plan = walk(names, availPrev, affectedBy(refitLast));
        const next = batches[bi + 1];
        const keep = next ? [...walk([...new Set(next.map((s) => s.c.input.name))], plan.avail, affectedBy(new Set(batch.map((s) => s.c.node)))).cut] : [];
        cutOpts = { cut: new Map([...plan.cut].map((n) => [n, cache.get(n)!])), keep };
      }
      refitLast = new Set(batch.map((s) => s.c.node));
      const kept = !passJobs.length ? new Map<string, NamedTensor[]>() : await forEachBatch(working, names, data, samples, opts.batchSize, ctx, `${NAME}: reconstruction (${passJobs.map((j) => j.s.c.node.label).join(', ')})`, (out, rows, image0) => {
        for (const j of passJobs) {
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
      }, cutOpts);
      cache = kept;
      availPrev = plan?.avail ?? new Set();
      for (const j of jobs) {
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
        const Y = j.s.Y!;
        const fit = await fitRidge(j.X, Y, R, nk, O, !!c.bias, ridge, (A, ad, B, bd, ta, tb) => mm.mul(A, ad, B, bd, ta, tb), (A, ad, B, bd, ta, tb) => mm.mul64(A, ad, B, bd, ta, tb));
        // Relative errors on up to EVAL_ROWS rows: dropped inputs zeroed (before) and refit (after); products in onnxruntime.
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
        const w = new Float32Array(c.weight.size);
        for (let k = 0; k < nk; k++) for (let o = 0; o < O; o++) w[weightIndex(c, o, j.kept[k]!)] = fit.W[k * O + o]!;
        result.set(c.weightName, w);
        if (opts.mode === 'sequential') (working.graph.initializer(c.weightName)!.values as Float32Array).set(w);
        if (c.bias && c.biasName) {
          const b = Float32Array.from(fit.b);
          result.set(c.biasName, b);
          if (opts.mode === 'sequential') (working.graph.initializer(c.biasName)!.values as Float32Array).set(b);
        }
        layers.push({ layer: c.node.label, weight: c.weightName, kept: nk, of: c.D, rows: R, unknowns, underdetermined: under, ridge: fit.lambda, errorBefore: ref ? e0 / ref : 0, errorAfter: ref ? e1 / ref : 0 });
        j.X = new Float32Array(0);
      }
    }
  } finally {
    await mm.release();
  }
  return result;
}

/**
 * Channel pruning from the consumer's side with least-squares reconstruction
 * (He et al. 2017, ThiNet): for each layer that reads a group's channels,
 * choose the channels whose loss changes its output least on calibration
 * data, remove them (and their producing filters, through the dependency
 * graph), and refit the layer's remaining weights and bias.
 */
export const channelPruning = definePluginFactory(
  { name: NAME, kind: 'strategy', description: 'channel pruning with least-squares reconstruction (ThiNet / He et al.): needs --calib' },
  (options?: ChannelOptions): StrategyPlugin => {
    const opts = parseChannelOptions(options);
    return definePlugin({
      name: NAME,
      kind: 'strategy',
      version: '0.1.0',
      options: { ...opts },
      mutates: false,
      needsData: true,
      // Before any work: the calibration data and the runtime this strategy's data-aware modes run on.
      requires(_model, ctx) {
        if (!(opts.reconstruct || opts.selection !== 'l1')) return;
        if (!ctx.state.get(CALIBRATION)) throw new ShearsError('E_OPTION', NO_CALIBRATION, { plugin: NAME, option: 'calib' });
        requireRuntime(ctx, NAME);
      },
      plan: (model, ctx) => planChannel(model, opts, ctx),
    });
  },
);
