// Sensitivity analysis: prune each layer alone at each amount, evaluate
// top-1 accuracy, and propose per-layer amounts within a tolerance.
import { availableParallelism } from 'node:os';
import {
  applyPlan,
  maskCount,
  buildDependencyGraph,
  cloneModel,
  CURRENT_CRITERION,
  defaultOpRegistry,
  findPruneTargets,
  primaryInput,
  ShearsError,
  silentLogger,
  silentProgress,
  StateBag,
  type CriterionPlugin,
  type Model,
  type OpRegistry,
  type PluginContext,
  type PruningPlan,
} from '@shears/core';
import { openDataset, type Dataset } from '@shears/data';
import { encodeModel, readModel } from '@shears/onnx';
import { filterPruning } from '@shears/prune-filter';
import { unstructuredPruning } from '@shears/prune-unstructured';
import { EvalPool } from './pool.js';
import { countTop1, type EvalArrays, type InputSpec } from './top1.js';

export type SensitivityStrategy = 'filter' | 'unstructured';

/** Accuracy of the model with one layer pruned alone, at each amount (fractions in [0, 1]); the shape @shears/report draws. */
export interface SensitivityCurve {
  layer: string;
  points: { amount: number; accuracy: number }[];
}

export interface SensitivityResult {
  strategy: SensitivityStrategy;
  /** Top-1 accuracy of the unpruned model, in [0, 1]. */
  baseline: number;
  /** Samples evaluated per model. */
  samples: number;
  amounts: number[];
  tolerance: number;
  curves: SensitivityCurve[];
  /** Per layer, the largest amount whose accuracy drop is within tolerance (0 if none); usable as `amountTable`. */
  proposal: Record<string, number>;
  /** Models evaluated (pruned variants that changed nothing reuse the baseline). */
  evaluations: number;
  seconds: number;
}

export interface ScanOptions {
  /** The model, or an ONNX file path. */
  model: Model | string;
  /** A labelled dataset, or a spec for `openDataset` (npz, IDX dir:split, image folder). */
  data: Dataset | string;
  strategy: SensitivityStrategy;
  /** Amounts to try, each in [0, 1). */
  amounts: number[];
  /** Only layers whose label (or group id, layer or weight name) matches. */
  layers?: RegExp | string;
  /** Worker threads (default: os.availableParallelism()); 0 evaluates in this thread. */
  workers?: number;
  /** Evaluate only the first N samples. */
  limit?: number;
  /** Samples per run (default 64, or the model's fixed batch). */
  batchSize?: number;
  /** Largest accuracy drop (fraction, default 0.01 = 1 point) the proposal accepts. */
  tolerance?: number;
  /** Static sizes for dynamic inputs (dependency graph and dataset shape). */
  inputShapes?: Record<string, number[]>;
  /** Extra options for the strategy (e.g. `{ roundTo: 1 }` for filter). */
  strategyOptions?: Record<string, unknown>;
  /** Criterion ranking what to prune (default: the strategy's, L1). */
  criterion?: CriterionPlugin;
  /** The op table (the pass gives its run's `ctx.ops`; default: the built-in one). */
  registry?: OpRegistry;
  /** Called after every evaluation: done of total (baseline included). */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/** One prunable unit: the label used as the amountTable key, and every name it answers to. */
export interface ScanLayer {
  label: string;
  names: string[];
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');

/** An amountTable key matching exactly this label (and nothing else by regex). */
export const exactKey = (label: string) => `^${escapeRegExp(label)}$`;

/** The units a strategy prunes: channel groups (filter) or weight layers (unstructured). */
export function scanLayers(model: Model, strategy: SensitivityStrategy, inputShapes?: Record<string, number[]>, registry: OpRegistry = defaultOpRegistry()): ScanLayer[] {
  if (strategy === 'filter') {
    const graph = buildDependencyGraph(model, { inputShapes, registry });
    return graph.groups.filter((g) => g.prunable > 0).map((g) => ({ label: g.layers[0] ?? g.id, names: [...new Set([g.id, ...g.layers])] }));
  }
  return findPruneTargets(model, registry).targets.map((t) => ({ label: t.node.label, names: [...new Set([t.node.label, t.node.name, t.value.name])] }));
}

function checkOptions(o: ScanOptions): void {
  const bad = (option: string, detail: string): never => {
    throw new ShearsError('E_OPTION', `sensitivity: option ${option}: ${detail}`, { option, plugin: 'sensitivity' });
  };
  if (o.strategy !== 'filter' && o.strategy !== 'unstructured') bad('strategy', `must be filter or unstructured (got ${JSON.stringify(o.strategy)})`);
  if (!Array.isArray(o.amounts) || o.amounts.length === 0) bad('amounts', 'give at least one amount');
  for (const a of o.amounts) if (!(typeof a === 'number' && a >= 0 && a < 1)) bad('amounts', `every amount must be in [0, 1) (got ${a})`);
  if (o.workers !== undefined && !(Number.isInteger(o.workers) && o.workers >= 0)) bad('workers', `must be a whole number ≥ 0 (got ${o.workers})`);
  if (o.limit !== undefined && !(Number.isInteger(o.limit) && o.limit >= 1)) bad('limit', `must be a whole number ≥ 1 (got ${o.limit})`);
  if (o.batchSize !== undefined && !(Number.isInteger(o.batchSize) && o.batchSize >= 1)) bad('batchSize', `must be a whole number ≥ 1 (got ${o.batchSize})`);
  if (o.tolerance !== undefined && !(o.tolerance >= 0 && o.tolerance <= 1)) bad('tolerance', `must be in [0, 1] (got ${o.tolerance})`);
  if (typeof o.layers === 'string')
    try {
      new RegExp(o.layers);
    } catch (e) {
      bad('layers', `not a regular expression (${(e as Error).message})`);
    }
}

/** The dataset's first `limit` samples and labels, in memory. */
export async function loadArrays(data: Dataset, batchSize: number, limit?: number): Promise<EvalArrays> {
  const n = Math.min(data.size, limit ?? Infinity);
  const per = data.sampleShape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(new SharedArrayBuffer(n * per * 4));
  const y = new Int32Array(new SharedArrayBuffer(n * 4));
  let k = 0;
  for await (const b of data.batches(batchSize, { limit: n })) {
    if (!b.y) throw new ShearsError('E_DATA', `${data.name}: dataset has no labels, so accuracy cannot be measured`);
    const rows = b.dims[0]!;
    x.set(b.x.subarray(0, rows * per), k * per);
    y.set(b.y.subarray(0, rows), k);
    k += rows;
  }
  if (k === 0) throw new ShearsError('E_DATA', `${data.name}: dataset is empty`);
  return { x: x.subarray(0, k * per), y: y.subarray(0, k), sampleShape: [...data.sampleShape], batchSize, name: data.name };
}

/** The largest amount whose accuracy is within `tolerance` of the baseline; 0 if none. */
export function proposeAmount(points: readonly { amount: number; accuracy: number }[], baseline: number, tolerance: number): number {
  let best = 0;
  for (const p of points) if (baseline - p.accuracy <= tolerance + 1e-12 && p.amount > best) best = p.amount;
  return best;
}

/**
 * The proposal as an amountTable: plain labels, except where a label read as
 * a regular expression would also match another layer (then `^label$`).
 */
export function proposalTable(curves: readonly SensitivityCurve[], baseline: number, tolerance: number, layers: readonly ScanLayer[] = []): Record<string, number> {
  const table: Record<string, number> = {};
  for (const c of curves) {
    let key = c.layer;
    try {
      const re = new RegExp(c.layer);
      if (layers.some((l) => l.label !== c.layer && l.names.some((n) => re.test(n)))) key = exactKey(c.layer);
    } catch {
      key = exactKey(c.layer);
    }
    table[key] = proposeAmount(c.points, baseline, tolerance);
  }
  return table;
}

function pluginContext(signal: AbortSignal | undefined, criterion: CriterionPlugin | undefined, ops: OpRegistry): PluginContext {
  const state = new StateBag();
  if (criterion) state.set(CURRENT_CRITERION, criterion);
  return {
    logger: silentLogger,
    progress: silentProgress,
    signal: signal ?? new AbortController().signal,
    state,
    ops,
    outputs: { stage: () => { throw new ShearsError('E_INTERNAL', 'sensitivity: strategies write no files'); } } as unknown as PluginContext['outputs'],
    dryRun: false,
  };
}

const changes = (plan: PruningPlan) => plan.actions.some((a) => (a.type === 'mask' ? maskCount(a) > 0 : true));

/** The model with one layer pruned by `amount`, or undefined when the plan changes nothing. */
export async function prunedAlone(model: Model, strategy: SensitivityStrategy, label: string, amount: number, opts: Pick<ScanOptions, 'strategyOptions' | 'inputShapes' | 'criterion' | 'signal' | 'registry'> = {}): Promise<Model | undefined> {
  const amountTable = { [exactKey(label)]: amount };
  const plugin =
    strategy === 'filter'
      ? filterPruning({ ...(opts.inputShapes ? { inputShapes: opts.inputShapes } : {}), ...opts.strategyOptions, amountTable })
      : unstructuredPruning({ keepFirst: false, keepLast: false, ...opts.strategyOptions, amountTable });
  const plan = await plugin.plan(model, pluginContext(opts.signal, opts.criterion, opts.registry ?? defaultOpRegistry()));
  if (!changes(plan)) return undefined;
  const m = cloneModel(model);
  applyPlan(m, plan, { ctx: pluginContext(opts.signal, opts.criterion, opts.registry ?? defaultOpRegistry()) });
  return m;
}

const aborted = () => new ShearsError('E_ABORTED', 'sensitivity: aborted');

/**
 * Prune each layer alone at each amount and evaluate top-1 accuracy. This
 * thread plans and applies each variant and encodes it to ONNX; a pool of
 * worker threads (one onnxruntime thread each) evaluates them on the same
 * in-memory samples. Results do not depend on the number of workers.
 */
export async function scanSensitivity(options: ScanOptions): Promise<SensitivityResult> {
  checkOptions(options);
  const t0 = performance.now();
  const { strategy, signal } = options;
  const tolerance = options.tolerance ?? 0.01;
  const amounts = [...new Set(options.amounts)].sort((a, b) => a - b);
  const model = typeof options.model === 'string' ? await readModel(options.model) : options.model;
  const input: InputSpec = primaryInput(model);
  const batchSize = options.batchSize ?? input.batch ?? 64;
  const inputShape = options.inputShapes?.[input.name] ?? model.graph.inputs.find((v) => v.name === input.name)?.shape?.map((d) => (typeof d === 'number' ? d : 1));
  const data = typeof options.data === 'string' ? await openDataset(options.data, { inputShape }) : options.data;
  const arrays = await loadArrays(data, batchSize, options.limit);
  const samples = arrays.y.length;

  const all = scanLayers(model, strategy, options.inputShapes, options.registry);
  const re = options.layers === undefined ? undefined : typeof options.layers === 'string' ? new RegExp(options.layers) : options.layers;
  const layers = re ? all.filter((l) => l.names.some((n) => re.test(n))) : all;
  if (!layers.length)
    throw new ShearsError(re ? 'E_OPTION' : 'E_GRAPH', re ? `sensitivity: option layers: ${re} matches none of the ${all.length} prunable layers` : `sensitivity: the model has no layer the ${strategy} strategy can prune`, re ? { option: 'layers' } : {});

  const total = 1 + layers.length * amounts.length;
  let done = 0;
  const tick = () => options.onProgress?.(++done, total);
  const workers = Math.min(options.workers ?? availableParallelism(), total);
  const pool = workers > 0 ? new EvalPool(workers, arrays, input) : undefined;
  const onAbort = () => void pool?.close(aborted());
  signal?.addEventListener('abort', onAbort, { once: true });
  let evaluations = 0;
  const evaluate = async (m: Model): Promise<number> => {
    if (signal?.aborted) throw aborted();
    evaluations++;
    const bytes = encodeModel(m);
    const correct = pool ? await pool.evaluate(bytes) : await countTop1(bytes, input, arrays);
    return correct / samples;
  };
  try {
    let failure: unknown;
    const baselineP = evaluate(model).then((a) => (tick(), a));
    baselineP.catch((e) => {
      failure ??= e;
    });
    // Plan and encode here while the pool evaluates; at most 2 × workers models wait.
    const inFlight = new Set<Promise<unknown>>();
    const results: Promise<number | undefined>[][] = [];
    for (const layer of layers) {
      const row: Promise<number | undefined>[] = [];
      for (const amount of amounts) {
        if (signal?.aborted) throw aborted();
        if (failure) throw failure;
        while (inFlight.size >= Math.max(1, 2 * workers)) await Promise.race(inFlight);
        const m = await prunedAlone(model, strategy, layer.label, amount, options);
        const p = m ? evaluate(m) : Promise.resolve(undefined);
        const tracked = p.then((v) => (tick(), v));
        const settle = tracked.catch((e) => {
          failure ??= e;
        });
        inFlight.add(settle);
        void settle.finally(() => inFlight.delete(settle));
        row.push(tracked);
        if (!pool) await tracked;
      }
      results.push(row);
    }
    const baseline = await baselineP;
    const curves: SensitivityCurve[] = [];
    for (const [i, layer] of layers.entries()) {
      const accs = await Promise.all(results[i]!);
      curves.push({ layer: layer.label, points: amounts.map((amount, j) => ({ amount, accuracy: accs[j] ?? baseline })) });
    }
    return {
      strategy,
      baseline,
      samples,
      amounts,
      tolerance,
      curves,
      proposal: proposalTable(curves, baseline, tolerance, all),
      evaluations,
      seconds: (performance.now() - t0) / 1000,
    };
  } catch (e) {
    if (signal?.aborted) throw aborted();
    throw e;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await pool?.close();
  }
}
