import {
  CURRENT_CRITERION,
  definePlugin,
  definePluginFactory,
  findPruneTargets,
  listSome,
  opSummary,
  parseOptions,
  ShearsError,
  type CriterionPlugin,
  type BitsetMaskAction,
  type PlanAction,
  type PluginContext,
  type PruneTarget,
  type PruningPlan,
  type ScoreTarget,
  type StrategyPlugin,
} from '@shears/core';
import { z } from 'zod';
import { countsFromAmounts, erkAmounts, globalSplit, lampCounts, prunedOf, tableAmounts, uniformCounts, type LayerShape } from './allocation.js';
import { l1 } from '@shears/criteria';
import { forEachGroup, parsePattern, pruneNM, type NMPattern } from './nm.js';
import { magnitudeMasks } from './magnitude-masks.js';
import { pruneLowest, pruneLowestStreaming } from './select.js';

const NAME = 'unstructured';

/** Above this many prunable weights, a global threshold streams the scores instead of keeping them all. */
const KEEP_SCORES = 8 << 20;

const amountSchema = z.number().min(0, 'must be in [0, 1)').lt(1, 'must be in [0, 1)');

const validRegex = (s: string) => {
  try {
    new RegExp(s);
    return true;
  } catch {
    return false;
  }
};

const tableSchema = z.record(z.string().refine(validRegex, 'keys must be layer names or valid regular expressions'), amountSchema);

const schema = z
  .object({
    /** Fraction of the prunable weights to prune, in [0, 1). */
    amount: amountSchema.optional(),
    /** 'layer': the amount in every layer; 'global': one threshold across all layers. */
    scope: z.enum(['layer', 'global']).default('layer'),
    /** Per-layer amounts (scope layer): uniform, ERK, LAMP, or a table {layerNameOrRegex: amount}. */
    allocation: z.union([z.enum(['uniform', 'erk', 'lamp']), tableSchema]).default('uniform'),
    /** Same as allocation: {table} (the CLI's --amount-table); layers not in it get `amount`, or stay dense. */
    amountTable: tableSchema.optional(),
    /** No layer loses more than this fraction. */
    maxLayerAmount: z.number().min(0, 'must be in [0, 1]').max(1, 'must be in [0, 1]').optional(),
    /** Layers (node or weight names) matching this regex stay dense. */
    exclude: z.string().refine(validRegex, 'must be a valid regular expression').optional(),
    /** Keep the first prunable layer (usually the stem conv) dense. */
    keepFirst: z.boolean().default(true),
    /** Keep the last prunable layer (usually the classifier) dense. */
    keepLast: z.boolean().default(true),
    /** Semi-structured N:M along each weight's input-channel axis, e.g. "2:4". */
    pattern: z
      .string()
      .refine((s) => parsePattern(s) !== undefined, 'must be N:M with 0 < N < M, e.g. 2:4')
      .optional(),
  })
  .strict()
  .superRefine((o, ctx) => {
    const table = o.amountTable ?? (typeof o.allocation === 'object' ? o.allocation : undefined);
    if (o.pattern) {
      const p = parsePattern(o.pattern)!;
      if (o.amount !== undefined && Math.abs(o.amount - (1 - p.n / p.m)) > 1e-9)
        ctx.addIssue({ code: 'custom', path: ['amount'], message: `pattern ${o.pattern} fixes the amount at ${1 - p.n / p.m}; leave amount out` });
      if (o.scope === 'global' || o.allocation !== 'uniform' || o.amountTable)
        ctx.addIssue({ code: 'custom', path: ['pattern'], message: 'an N:M pattern prunes every eligible group alike; it takes no scope or allocation' });
    } else if (o.amount === undefined && !table) ctx.addIssue({ code: 'custom', path: ['amount'], message: 'required (or give pattern or amountTable)' });
    if (o.amountTable && o.allocation !== 'uniform') ctx.addIssue({ code: 'custom', path: ['amountTable'], message: 'give either allocation or amountTable' });
    if (o.scope === 'global' && (o.allocation !== 'uniform' || o.amountTable))
      ctx.addIssue({ code: 'custom', path: ['allocation'], message: 'allocations are per-layer schemes; use scope layer (global is one threshold)' });
    if ((o.allocation === 'erk' || o.allocation === 'lamp') && o.amount === undefined) ctx.addIssue({ code: 'custom', path: ['amount'], message: `required by allocation ${o.allocation}` });
  });

export type UnstructuredOptions = z.input<typeof schema>;

interface Layer {
  target: PruneTarget;
  st: ScoreTarget;
  shape: LayerShape;
}

const isAscending = (a: Uint32Array, size: number) => {
  for (let i = 0; i < a.length; i++) if (a[i]! >= size || (i > 0 && a[i]! <= a[i - 1]!)) return false;
  return true;
};

/** A mask action whose pruned set is a bitset of `count` set bits (see core's BitsetMaskAction). */
export function bitsetMaskAction(tensor: string, layer: string, bits: Int32Array, count: number): BitsetMaskAction {
  return { type: 'mask', tensor, layer, bits, count };
}

/** Exactly m − n pruned in every group of m along `axis`. */
function checkPattern(prune: Uint32Array, dims: readonly number[], axis: number, p: NMPattern): boolean {
  const mask = new Uint8Array(dims.reduce((a, b) => a * b, 1));
  for (const i of prune) mask[i] = 1;
  let ok = true;
  forEachGroup(dims, axis, p.m, (base, stride) => {
    let c = 0;
    for (let j = 0; j < p.m; j++) c += mask[base + j * stride]!;
    if (c !== p.m - p.n) ok = false;
  });
  return ok;
}

/**
 * Unstructured (and N:M semi-structured) pruning: masks the lowest-scoring
 * weights of every prunable layer, by the current criterion (|w| when none).
 * Criteria with `reconstruct` (SparseGPT) choose the weights and update the
 * rest; the strategy only sets how many per layer.
 */
export const unstructuredPruning = definePluginFactory(
  { name: NAME, kind: 'strategy', description: 'unstructured / N:M weight pruning: per layer or global threshold, ERK/LAMP/table allocation' },
  (options?: UnstructuredOptions): StrategyPlugin => {
    const opts = parseOptions(NAME, schema, options);
    const pattern = opts.pattern ? parsePattern(opts.pattern) : undefined;
    const exclude = opts.exclude ? new RegExp(opts.exclude) : undefined;
    const table = opts.amountTable ?? (typeof opts.allocation === 'object' ? opts.allocation : undefined);

    async function scoresOf(criterion: CriterionPlugin, l: Layer, ctx: PluginContext): Promise<Float32Array> {
      const s = await criterion.score(l.st, ctx);
      if (!(s instanceof Float32Array) || s.length !== l.shape.size)
        throw new ShearsError('E_PLUGIN', `${criterion.name}: scores for ${l.shape.name} must be a Float32Array(${l.shape.size})`, { plugin: criterion.name });
      return s;
    }

    return definePlugin({
      name: NAME,
      kind: 'strategy',
      version: '0.1.0',
      options: { ...opts },
      mutates: false,
      async plan(model, ctx): Promise<PruningPlan> {
        const criterion = ctx.state.get(CURRENT_CRITERION) ?? l1();
        const scan = findPruneTargets(model, ctx.ops);
        // The first few skips by name, the rest as a count: one line each, however many layers are skipped.
        const skipNotes = scan.skipped.map((s) => `${s.target}: ${s.reason}`);
        if (scan.targets.length && skipNotes.length) ctx.logger.warn(`${NAME}: skipping ${listSome(skipNotes, 3, '; ')}`);
        if (!scan.targets.length) {
          const why = skipNotes.length > 1 ? ` (${skipNotes.length} layers skipped, e.g. ${skipNotes[0]})` : skipNotes.length ? ` (skipped ${skipNotes[0]})` : '';
          throw new ShearsError('E_GRAPH', `${NAME}: the model has no prunable layer${why}; its ops are ${opSummary(model) || 'none'}. Prunable are the ops the op table marks so: Conv, ConvTranspose, Gemm, MatMul with a constant weight, and ops plugins register`, { plugin: NAME });
        }
        const skipped = [...scan.skipped];
        const targets = scan.targets;
        const layers: Layer[] = [];
        for (const t of targets) {
          const label = t.node.label;
          if (opts.keepFirst && t === targets[0]) skipped.push({ target: label, reason: 'first prunable layer, kept dense (keepFirst)', code: 'excluded' });
          else if (opts.keepLast && t === targets[targets.length - 1]) skipped.push({ target: label, reason: 'last prunable layer (the classifier), kept dense (keepLast)', code: 'excluded' });
          else if (exclude && (exclude.test(t.node.name) || exclude.test(t.value.name))) skipped.push({ target: label, reason: `excluded by ${opts.exclude}`, code: 'excluded' });
          else if (pattern && t.tensor.dims[t.role.inAxis ?? 0]! % pattern.m !== 0)
            skipped.push({ target: label, reason: `${pattern.n}:${pattern.m}: input-channel axis ${t.role.inAxis} has ${t.tensor.dims[t.role.inAxis ?? 0]} channels, not a multiple of ${pattern.m}`, code: 'unsupported' });
          else
            layers.push({
              target: t,
              st: { model, node: t.node, input: t.input, weight: t.tensor, granularity: { kind: 'element' } },
              shape: { name: label, weight: t.value.name, size: t.tensor.size, dims: t.tensor.dims },
            });
        }
        const actions: PlanAction[] = [];
        const base = { version: 1 as const, strategy: NAME, criterion: criterion.name, options: { ...opts } };
        if (!layers.length) {
          ctx.logger.warn(`${NAME}: every prunable layer is excluded; nothing to prune`);
          return { ...base, actions, skipped };
        }
        await criterion.prepare?.(model, layers.map((l) => l.st), ctx);
        const task = ctx.progress.start(`${NAME}: ${criterion.name}`, layers.length);
        // A criterion that declares its element scores are |w| bit for bit (l1): select on the weights directly, never calling score().
        const magnitude = criterion.capabilities?.elementMagnitude === true && !criterion.reconstruct;

        // Scratch for scores and for quickselect's copy, reused layer after layer.
        const maxSize = Math.max(...layers.map((l) => l.shape.size));
        let scoreScratch: Float32Array | undefined;
        let selectScratch: Float32Array | undefined;
        const scratchScores = (l: Layer) => {
          scoreScratch ??= new Float32Array(maxSize);
          return scoresOf(criterion, { ...l, st: { ...l.st, out: scoreScratch.subarray(0, l.shape.size) } }, ctx);
        };
        let pruned = 0;
        const push = async (l: Layer, count: number, prune?: Uint32Array | Int32Array) => {
          pruned += count;
          if (count === 0) {
            actions.push({ type: 'mask', tensor: l.shape.weight, prune: new Uint32Array(0), layer: l.shape.name });
          } else if (criterion.reconstruct) {
            const budget = pattern ? { count, pattern: { ...pattern, axis: l.target.role.inAxis ?? 0 } } : { count };
            const r = await criterion.reconstruct(l.st, budget, ctx);
            if (!(r.prune instanceof Uint32Array) || r.prune.length !== count || !isAscending(r.prune, l.shape.size))
              throw new ShearsError('E_PLUGIN', `${criterion.name}: reconstruct() for ${l.shape.name} must prune exactly ${count} distinct ascending indices (got ${r.prune?.length})`, { plugin: criterion.name });
            if (!(r.data instanceof Float32Array) || r.data.length !== l.shape.size)
              throw new ShearsError('E_PLUGIN', `${criterion.name}: reconstruct() for ${l.shape.name} must return Float32Array(${l.shape.size}) data`, { plugin: criterion.name });
            if (pattern && !checkPattern(r.prune, l.shape.dims, budget.pattern!.axis, pattern))
              throw new ShearsError('E_PLUGIN', `${criterion.name}: reconstruct() for ${l.shape.name} broke the ${opts.pattern} pattern`, { plugin: criterion.name });
            actions.push({ type: 'mask', tensor: l.shape.weight, prune: r.prune, layer: l.shape.name });
            actions.push({ type: 'set-tensor', tensor: l.shape.weight, data: r.data });
          } else {
            // |w|: select on the weight bits, no score or scratch arrays.
            if (!prune && !pattern && magnitude) prune = magnitudeMasks([l.target.tensor.floats()], count, criterion.name).words[0]!;
            if (prune instanceof Int32Array) {
              actions.push(bitsetMaskAction(l.shape.weight, l.shape.name, prune, count));
            } else {
              if (!prune) {
                const scores = await scratchScores(l);
                prune = pattern ? pruneNM(scores, l.shape.dims, l.target.role.inAxis ?? 0, pattern) : pruneLowest(scores, count, criterion.name, (selectScratch ??= new Float32Array(maxSize)));
              }
              pruned += prune.length - count;
              actions.push({ type: 'mask', tensor: l.shape.weight, prune, layer: l.shape.name });
            }
          }
          task.tick();
        };

        if (pattern) {
          for (const l of layers) await push(l, (l.shape.size / pattern.m) * (pattern.m - pattern.n));
        } else if (opts.scope === 'global' && magnitude && opts.maxLayerAmount === undefined) {
          // Global |w| (global_unstructured with L1Unstructured): one radix
          // select over the weights' own bits; no scores are ever materialized.
          const total = layers.reduce((a, l) => a + l.shape.size, 0);
          const sel = magnitudeMasks(
            layers.map((l) => l.target.tensor.floats()),
            Math.round(opts.amount! * total),
            criterion.name,
          );
          for (const [i, l] of layers.entries()) await push(l, sel.counts[i]!, sel.words[i]!);
        } else if (opts.scope === 'global' && !criterion.reconstruct && opts.maxLayerAmount === undefined && layers.reduce((a, l) => a + l.shape.size, 0) > KEEP_SCORES) {
          // Large model: never hold every score at once (two streaming radix
          // passes; the criterion scores each layer twice, into one scratch).
          const total = layers.reduce((a, l) => a + l.shape.size, 0);
          const lists = await pruneLowestStreaming(layers.length, (i) => scratchScores(layers[i]!), Math.round(opts.amount! * total), criterion.name);
          for (const [i, l] of layers.entries()) await push(l, lists[i]!.length, lists[i]!);
        } else if (opts.scope === 'global' || opts.allocation === 'lamp') {
          const scores: (Float32Array | undefined)[] = [];
          for (const l of layers) scores.push(await scoresOf(criterion, l, ctx));
          if (opts.allocation === 'lamp') {
            const counts = lampCounts(scores as Float32Array[], opts.amount!, opts.maxLayerAmount);
            for (const [i, l] of layers.entries()) {
              await push(l, counts[i]!, criterion.reconstruct ? undefined : pruneLowest(scores[i]!, counts[i]!, criterion.name));
              scores[i] = undefined;
            }
          } else {
            const split = globalSplit(scores as Float32Array[], opts.amount!, opts.maxLayerAmount, criterion.name);
            for (const [i, l] of layers.entries()) {
              await push(l, split.counts[i]!, criterion.reconstruct ? undefined : prunedOf(split, i, scores[i]!, criterion.name));
              scores[i] = undefined; // let it go as soon as the layer is planned
            }
          }
        } else {
          const shapes = layers.map((l) => l.shape);
          const counts = table
            ? countsFromAmounts(shapes, tableAmounts(shapes, table, opts.amount), opts.maxLayerAmount)
            : opts.allocation === 'erk'
              ? countsFromAmounts(shapes, erkAmounts(shapes, opts.amount!, opts.maxLayerAmount), opts.maxLayerAmount)
              : uniformCounts(shapes, opts.amount!, opts.maxLayerAmount);
          for (const [i, l] of layers.entries()) await push(l, counts[i]!);
        }
        task.done();
        const total = layers.reduce((a, l) => a + l.shape.size, 0);
        ctx.logger.info(`${NAME}: ${criterion.name}: pruned ${pruned} of ${total} weights (${((100 * pruned) / total).toFixed(2)}%) in ${layers.length} layers`);
        return { ...base, actions, skipped };
      },
    });
  },
);

/** The name ARCHITECTURE.md uses: `pipeline().use(l1()).use(unstructured({amount: 0.5}))`. */
export const unstructured = unstructuredPruning;
